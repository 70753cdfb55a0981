/**
 * A link as the daemon describes it to the forwarding worker: plain data that crosses postMessage.
 * createLink (links.ts) turns it into the DataplaneLink object the engine drives.
 */
export type LinkKind = 'vxlan' | 'gre' | 'kernel';

export interface LinkSpec {
  id: number;
  /** The peer's name from the config. */
  name: string;
  kind: LinkKind;
  /** The engine port id it uses (Engine.addPort; the daemon's are PORT_VXLAN, PORT_GRE, then kernel-link TUNs). */
  port: number;
  /** The peer's underlay endpoint as a 20-byte address record (zeros for kernel links: a TUN port has no sender). */
  remote: Uint8Array;
  /** Largest inner IPv6 packet. */
  mtu: number;
  /** This node's mesh address and link-local address (16 bytes each). */
  localMesh: Uint8Array;
  localLinkLocal: Uint8Array;
  /** The peer's mesh address (16 bytes); zeros for a kernel link, whose far end is a kernel router. */
  peerMesh: Uint8Array;
  /** VXLAN only. */
  vni?: number;
  /** GRE only: the RFC 2890 key. */
  greKey?: number;
  /**
   * The peer is behind NAT (it dialled in from an address it did not announce): send to the UDP port its
   * packets arrive from, as WireGuard roams, instead of the announced one.
   */
  roam?: boolean;
}

/** The port ids the daemon gives its underlay sockets. */
export const PORT_VXLAN = 0;
export const PORT_GRE = 1;
/** Kernel-link TUNs take port ids from here on. */
export const PORT_FIRST_KERNEL = 2;
