/**
 * Ethernet II (IEEE 802.3 / RFC 894) header and MAC address helpers for the VXLAN link.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                 Destination MAC Address (6)                   |
 *   +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                               |                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 *   |                    Source MAC Address (6)                     |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |           EtherType           |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The MAC-returning helpers (meshMac, parseMac, multicastMac) allocate and belong to the control path;
 * the `write*`/`is*`/`macEquals` helpers allocate nothing and are safe per packet.
 */
import { InvalidInputError } from '../../common/errors.js';

/** Field offsets from the start of the Ethernet header. */
export const EthField = {
  DST: 0,
  SRC: 6,
  ETHERTYPE: 12,
} as const;

export const MAC_LEN = 6;
export const ETH_HEADER_LEN = 14;
export const ETHERTYPE_IPV6 = 0x86dd;
/** IEEE 802.1Q customer VLAN tag. */
export const ETHERTYPE_VLAN = 0x8100;
/** IEEE 802.1ad service VLAN tag (QinQ). */
export const ETHERTYPE_QINQ = 0x88a8;

/**
 * The node's MAC on VXLAN links (DESIGN.md "Link addressing"): 02 (locally administered, unicast)
 * followed by the last 5 bytes of its 16-byte mesh address.
 *
 *   fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268  ->  02:c5:4a:f7:92:68
 */
export function meshMac(meshAddr: Uint8Array, off = 0): Buffer {
  if (off < 0 || off + 16 > meshAddr.length) {
    throw new InvalidInputError('meshMac: a mesh address is 16 bytes');
  }
  const mac = Buffer.allocUnsafe(MAC_LEN);
  mac[0] = 0x02;
  for (let i = 1; i < MAC_LEN; i++) mac[i] = meshAddr[off + 10 + i]!;
  return mac;
}

const HEX = '0123456789abcdef';

/** `02:c5:4a:f7:92:68` (lower case, colon separated). */
export function formatMac(mac: Uint8Array, off = 0): string {
  let s = '';
  for (let i = 0; i < MAC_LEN; i++) {
    const b = mac[off + i]!;
    if (i > 0) s += ':';
    s += HEX[b >> 4]! + HEX[b & 15]!;
  }
  return s;
}

const MAC_RE = /^([0-9a-f]{2})([:-])([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i;

/**
 * Parse `02:c5:4a:f7:92:68` or `02-c5-4a-f7-92-68` (one separator used throughout, two hex digits per
 * octet, any case). Throws InvalidInputError on anything else: MACs come from config and the CLI.
 */
export function parseMac(text: string): Buffer {
  const m = MAC_RE.exec(text.trim());
  if (m === null) throw new InvalidInputError(`invalid MAC address: ${JSON.stringify(text)}`);
  const mac = Buffer.allocUnsafe(MAC_LEN);
  mac[0] = parseInt(m[1]!, 16);
  for (let i = 1; i < MAC_LEN; i++) mac[i] = parseInt(m[i + 2]!, 16);
  return mac;
}

/**
 * Write the Ethernet multicast MAC for an IPv6 multicast address (RFC 2464 §7): 33:33 followed by the
 * last 4 bytes of the address. ff02::1:ffdb:8703 -> 33:33:ff:db:87:03. No allocation.
 */
export function writeMulticastMac(out: Uint8Array, outOff: number, ipv6: Uint8Array, ipOff = 0): void {
  out[outOff] = 0x33;
  out[outOff + 1] = 0x33;
  out[outOff + 2] = ipv6[ipOff + 12]!;
  out[outOff + 3] = ipv6[ipOff + 13]!;
  out[outOff + 4] = ipv6[ipOff + 14]!;
  out[outOff + 5] = ipv6[ipOff + 15]!;
}

/** The multicast MAC for an IPv6 multicast address (RFC 2464 §7), as a new 6-byte Buffer. */
export function multicastMac(ipv6: Uint8Array, off = 0): Buffer {
  const mac = Buffer.allocUnsafe(MAC_LEN);
  writeMulticastMac(mac, 0, ipv6, off);
  return mac;
}

/** The group bit (I/G, least significant bit of the first octet): multicast and broadcast. */
export function isMulticastMac(buf: Uint8Array, off: number): boolean {
  return (buf[off]! & 0x01) !== 0;
}

/** Byte comparison of two 6-byte MACs at offsets, without allocation. */
export function macEquals(a: Uint8Array, aOff: number, b: Uint8Array, bOff = 0): boolean {
  for (let i = 0; i < MAC_LEN; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}

/** Copy a 6-byte MAC without allocating (a loop beats `set(subarray())`, which allocates a view). */
export function copyMac(out: Uint8Array, outOff: number, mac: Uint8Array, macOff = 0): void {
  for (let i = 0; i < MAC_LEN; i++) out[outOff + i] = mac[macOff + i]!;
}
