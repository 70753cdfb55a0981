/**
 * Which interfaces carry LAN beacons, from a snapshot of os.networkInterfaces() (pure).
 *
 * An interface takes part when it is not loopback and has an IPv6 link-local address: beacons go to a
 * link-local multicast group, and the kernel sends those from the link-local address. (Node lists only
 * interfaces that are up and running, so "up" needs no check here.) MoltNet's own devices are never
 * used, the mesh TUN (molt*) and WireGuard (mwg*): a beacon there would announce the mesh over itself.
 *
 * The endpoint address is what a beacon on the interface announces, where peers on that LAN reach
 * this node: the first global or ULA IPv6 address, else the first IPv4 address. An interface with
 * neither still listens but sends nothing.
 */
import type { NetworkInterfaceInfo } from 'node:os';
import { parseIpv6 } from '../../common/address.js';

/** MoltNet's own interfaces, never beaconed on. */
export const OWN_INTERFACE_PATTERNS: readonly string[] = ['molt*', 'mwg*'];

export interface BeaconInterface {
  name: string;
  /** The kernel's interface index (the scope id of its link-local address). */
  index: number;
  linkLocal: string;
  endpointAddress: string | undefined;
}

export interface InterfaceFilter {
  /** Only these names (a `*` matches any run of characters). */
  interfaces?: readonly string[];
  /** Never these names (same patterns). */
  exclude?: readonly string[];
}

export type InterfaceSnapshot = NodeJS.Dict<NetworkInterfaceInfo[]>;

/** The interfaces to beacon on, in name order. */
export function beaconInterfaces(snapshot: InterfaceSnapshot, filter: InterfaceFilter = {}): BeaconInterface[] {
  const out: BeaconInterface[] = [];
  for (const name of Object.keys(snapshot).sort()) {
    const addrs = snapshot[name] ?? [];
    if (addrs.length === 0 || addrs.some((a) => a.internal)) continue;
    if (OWN_INTERFACE_PATTERNS.some((p) => matchesName(p, name))) continue;
    if (filter.exclude?.some((p) => matchesName(p, name))) continue;
    if (filter.interfaces && !filter.interfaces.some((p) => matchesName(p, name))) continue;
    const v6 = addrs.filter(isV6);
    const ll = v6.find((a) => isLinkLocal(a.address));
    if (!ll) continue;
    const global = v6.find((a) => !isLinkLocal(a.address) && isUnicast(a.address));
    const v4 = addrs.find((a) => !isV6(a));
    out.push({ name, index: ll.scopeid ?? 0, linkLocal: bare(ll.address), endpointAddress: global ? bare(global.address) : v4?.address });
  }
  return out;
}

/** Shell-style: `*` is any run of characters, everything else is literal. */
export function matchesName(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(name);
}

function isV6(a: NetworkInterfaceInfo): boolean {
  // Node 18.0-18.3 reported the family as a number.
  return a.family === 'IPv6' || (a.family as unknown) === 6;
}

function bare(address: string): string {
  const zone = address.indexOf('%');
  return zone < 0 ? address : address.slice(0, zone);
}

/** fe80::/10 */
function isLinkLocal(address: string): boolean {
  const b = parseIpv6(bare(address));
  return b !== null && b[0] === 0xfe && (b[1]! & 0xc0) === 0x80;
}

/** Not loopback, unspecified or multicast: an address a peer can send to. */
function isUnicast(address: string): boolean {
  const b = parseIpv6(bare(address));
  if (b === null || b[0] === 0xff) return false;
  const zeroTo15 = b.subarray(0, 15).every((x) => x === 0);
  return !(zeroTo15 && (b[15] === 0 || b[15] === 1));
}
