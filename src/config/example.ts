/**
 * `moltnet config example --uuid U`: a documented config whose active settings are the defaults, with
 * the optional sections shown as comments.
 */
import { linkLocalFor, normalizeUuid, uuidToMeshAddress } from '../common/address.js';

/** A documented YAML config for this UUID. Throws InvalidInputError for a bad UUID. */
export function exampleConfig(uuid: string): string {
  const id = normalizeUuid(uuid);
  const address = uuidToMeshAddress(id);
  return `# MoltNet config (validate with: moltnet config check --config <this file>)
# Mesh address:  ${address}   (fd00:6d6f:6c74::/48 + the first 20 hex digits of the UUID)
# Link-local:    ${linkLocalFor(address)}   (on every mesh link)
# Every setting but uuid has a default; the values below are the defaults.
# Relative paths are taken from this file's directory.

uuid: ${id}   # required: the agent's UUID
# name: myagent                          # optional: label for mesh DNS (myagent.molt)

stateDir: /var/lib/moltnet               # identity keys, peer cache (files 0600)
controlSocket: /run/moltnet/moltnet.sock # Unix socket for "moltnet show"

interface:
  name: molt0                            # the TUN device carrying the mesh prefix
  mtu: 1380                              # 1280..9000; leaves room for tunnel headers on a 1500 underlay
  offload: true                          # TSO superpackets on molt0, UDP GSO/GRO underlay (where the kernel has them)
  workers: auto                          # forwarding threads, 1..16; auto: half the cores, 1 to 8

underlay:
  listen: "[::]:4789"                    # VXLAN (UDP)
  greListen: "[::]:4754"                 # GRE-in-UDP (RFC 8086)

peers: []                                # static peers; discovery adds more
# peers:
#   - name: clawdboy                               # letters, digits, "-"
#     uuid: 88833763-60b7-47db-8703-349c6b2c70ff   # or address: fd00:6d6f:6c74:8883:3763:60b7:47db:8703
#     endpoint: "[2001:db8::2]:4789"               # host:port; IPv4, [IPv6] or a DNS name;
#                                                  # port defaults to 4789 (vxlan), 4754 (gre), 51820 (wireguard)
#     link: vxlan                                  # vxlan | gre | wireguard
#     vni: 7171948                                 # VXLAN network identifier (default 0x6d6f6c)
#     moltid: "MOLTID:0x302a..."                   # pin the peer's identity
#     cost: 10                                     # OSPF cost of the link, 1..65535

routes: []                               # static routes
# routes:
#   - { prefix: "fd00:6d6f:6c74:f8a9::/64", via: clawdboy }   # via: a peer name from above

kernelLinks: []                          # a TUN handed to the host for a kernel router (BIRD, FRR)
# kernelLinks:
#   - { name: mlink0, netns: gw, address: "fe80::1/64", cost: 10 }
#     # netns: a name from "ip netns"; address: the kernel side's own link-local

ospf:
  enabled: true
  area: 0.0.0.0
  helloInterval: 10                      # seconds
  deadInterval: 40                       # seconds, more than helloInterval

bfd:
  enabled: true
  minTxMs: 100
  minRxMs: 100
  multiplier: 3                          # detection time = multiplier x interval

moltbook:
  baseUrl: "https://www.moltbook.com"
  apiKeyEnv: MOLTBOOK_API_KEY            # the environment variable holding the API key
  pollSeconds: 300

identity:                                # MoltID: the node's identity key
  backend: builtin                       # builtin (Ed25519 in stateDir) | minima (a local Minima node's Maxima key)
  minima:
    url: "http://127.0.0.1:9005"         # Minima RPC
    passwordEnv: MINIMA_PASSWORD         # the environment variable holding the RPC password (user "minima")

discovery:
  lan: true                              # LAN beacons
  exchange: true                         # peer exchange

services:
  rpc: true                              # agent RPC, tcp 6800
  mcp: true                              # MCP at http://[${address}]:6801/mcp
  dns: true                              # mesh DNS, port 53 on the mesh address
  http: true                             # dashboard, /api/, /metrics on [::1]:8080
`;
}
