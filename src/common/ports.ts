/**
 * Every well-known port MoltNet uses (spec §3.2, DESIGN.md "Ports"), defined once.
 */
export const PORTS = {
  /** BFD single hop (RFC 5881 §4). */
  bfdSingleHop: 3784,
  /** BFD multihop (RFC 5883 §5). */
  bfdMultihop: 4784,
  /** VXLAN (RFC 7348 §5). */
  vxlan: 4789,
  /** GRE-in-UDP (RFC 8086 §3). */
  greInUdp: 4754,
  /** WireGuard links' own UDP port. */
  wireguard: 51820,
  /** Agent RPC (spec §6.1). */
  rpc: 6800,
  /** MCP (spec §6.2). */
  mcp: 6801,
  /** The mesh control plane: peering (spec §3.2). */
  control: 6802,
  /** LAN discovery beacons (UDP, link-local multicast). */
  lanBeacon: 6803,
  /** REST API and dashboard. */
  http: 8080,
  /** Mesh DNS. */
  dns: 53,
} as const;
