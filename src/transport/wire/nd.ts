/**
 * IPv6 Neighbor Discovery (RFC 4861) Neighbor Solicitation and Advertisement, as whole IPv6 packets.
 * The VXLAN link answers solicitations for the node's addresses and resolves peers with them, so that a
 * Linux `vxlan` device is a working peer (DESIGN.md "Link addressing").
 *
 * IPv6 header (RFC 8200 §3), offsets from the start of the packet:
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |Version| Traffic Class |           Flow Label                  |   0
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |         Payload Length        |  Next Header  |   Hop Limit   |   4, 6, 7
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                     Source Address (16)                       |   8
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                  Destination Address (16)                     |  24
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Neighbor Solicitation (RFC 4861 §4.3) and Advertisement (§4.4), offsets from the ICMPv6 header:
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  Type 135/136 |     Code      |          Checksum             |   0
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                      Reserved (NS)                            |   4
 *   |R|S|O|                     Reserved (NA)                       |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                     Target Address (16)                       |   8
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |   Options ...                                                    24
 *   +-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Options (§4.6): type (1 byte), length in units of 8 bytes (1 byte, 0 is invalid), data. The Source
 * (type 1, in NS) and Target (type 2, in NA) Link-Layer Address options carry a MAC; on Ethernet their
 * length is 1 (RFC 2464 §8):
 *
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Type      |  Length = 1   |    Link-Layer Address (6) ...
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Validation follows §7.1.1 (NS) and §7.1.2 (NA). The ICMPv6 header must follow the IPv6 header directly
 * (Next Header 58); ND with extension headers in front is not accepted (neither Linux nor we send it).
 * Bytes after Payload Length (link padding) are ignored. Unknown options (e.g. Linux's DAD Nonce, RFC 7527)
 * are skipped. A link-layer address option whose length is not 1 is rejected, as Linux does.
 *
 * parseNd fills a caller-owned NdMessage with offsets into the buffer (a view, nothing copied), so a link
 * can reuse one NdMessage for every packet. Bad packets give negative NdError codes, never exceptions.
 */
import { upperLayerChecksum } from '../../dataplane/wire/checksum.js';
import {
  IPPROTO_ICMPV6,
  IPV6_HEADER_LEN,
  IP6_DST,
  IP6_HOP_LIMIT,
  IP6_NEXT_HEADER,
  IP6_PAYLOAD_LEN,
  IP6_SRC,
  isUnspecified,
} from '../../dataplane/wire/ipv6.js';
import { copyMac, MAC_LEN } from './ethernet.js';

export const ICMPV6_NEIGHBOR_SOLICITATION = 135;
export const ICMPV6_NEIGHBOR_ADVERTISEMENT = 136;
/** Hop limit of every ND message; a received one with another value was forwarded: drop it (§7.1). */
export const ND_HOP_LIMIT = 255;
/** ICMPv6 header + reserved/flags + target: the fixed part of NS and NA. */
export const ND_MIN_LEN = 24;
export const ND_OPT_SOURCE_LLA = 1;
export const ND_OPT_TARGET_LLA = 2;
/** An Ethernet link-layer address option: type, length 1, 6-byte MAC. */
export const ND_LLA_OPT_LEN = 8;

/** NA flag bits in the first byte after the checksum (§4.4). */
export const NaFlag = {
  ROUTER: 0x80,
  SOLICITED: 0x40,
  OVERRIDE: 0x20,
} as const;

/** Offsets from the start of the ICMPv6 header. */
export const NdField = {
  TYPE: 0,
  CODE: 1,
  CHECKSUM: 2,
  FLAGS: 4,
  TARGET: 8,
  OPTIONS: 24,
} as const;

/** Negative results of parseNd. */
export const NdError = {
  /** Shorter than an IPv6 header, or than its Payload Length says. */
  Truncated: -1,
  /** IP version is not 6. */
  NotIpv6: -2,
  /** Next Header is not ICMPv6. */
  NotIcmpv6: -3,
  /** ICMPv6 type is neither NS nor NA. */
  NotNd: -4,
  /** IP hop limit is not 255. */
  BadHopLimit: -5,
  /** ICMPv6 code is not 0. */
  BadCode: -6,
  /** ICMPv6 length (from the IP length) below 24. */
  TooShort: -7,
  /** ICMPv6 checksum is wrong. */
  BadChecksum: -8,
  /** An option has length 0 or runs past the end of the message. */
  BadOption: -9,
  /** A source/target link-layer address option is not 8 bytes (an Ethernet MAC). */
  BadLinkLayerOption: -10,
  /** The target address is multicast. */
  MulticastTarget: -11,
  /** An NS from :: (DAD) not sent to a solicited-node address, or carrying a source link-layer option. */
  BadDad: -12,
  /** An NA to a multicast destination with the Solicited flag set. */
  SolicitedToMulticast: -13,
} as const;
export type NdErrorCode = (typeof NdError)[keyof typeof NdError];

/** A parsed NS or NA: offsets into the buffer it was parsed from. Reusable; see createNdMessage. */
export interface NdMessage {
  /** ICMPV6_NEIGHBOR_SOLICITATION or ICMPV6_NEIGHBOR_ADVERTISEMENT. */
  type: number;
  /** Start of the IPv6 header (source at ipOff + 8, destination at ipOff + 24). */
  ipOff: number;
  /** Start of the ICMPv6 message and its length (from the IPv6 Payload Length). */
  icmpOff: number;
  icmpLen: number;
  /** The 16-byte target address. */
  targetOff: number;
  /** The 6-byte MAC of the Source (NS) or Target (NA) Link-Layer Address option, or -1 if absent. */
  llaOff: number;
  /** NA flags (false in an NS). */
  router: boolean;
  solicited: boolean;
  override: boolean;
  /** The IPv6 source is :: (a Duplicate Address Detection solicitation). */
  fromUnspecified: boolean;
}

export function createNdMessage(): NdMessage {
  return {
    type: 0,
    ipOff: 0,
    icmpOff: 0,
    icmpLen: 0,
    targetOff: 0,
    llaOff: -1,
    router: false,
    solicited: false,
    override: false,
    fromUnspecified: false,
  };
}

/** ff02::1:ffXX:XXXX (RFC 4291 §2.7.1): the first 13 bytes are fixed. */
const SOLICITED_NODE_PREFIX = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff] as const;

export function isSolicitedNodeAddress(buf: Uint8Array, off: number): boolean {
  for (let i = 0; i < SOLICITED_NODE_PREFIX.length; i++) {
    if (buf[off + i] !== SOLICITED_NODE_PREFIX[i]) return false;
  }
  return true;
}

/**
 * Check an IPv6 packet of `len` bytes at `off` as a Neighbor Solicitation or Advertisement (RFC 4861
 * §7.1.1, §7.1.2) and fill `out`. Returns the ICMPv6 type (135 or 136) or a negative NdError code; `out`
 * is meaningful only after a non-negative result.
 */
export function parseNd(buf: Uint8Array, off: number, len: number, out: NdMessage): number {
  if (off < 0 || len < IPV6_HEADER_LEN || off + len > buf.length) return NdError.Truncated;
  if (buf[off]! >> 4 !== 6) return NdError.NotIpv6;
  const icmpLen = (buf[off + IP6_PAYLOAD_LEN]! << 8) | buf[off + IP6_PAYLOAD_LEN + 1]!;
  if (IPV6_HEADER_LEN + icmpLen > len) return NdError.Truncated;
  if (buf[off + IP6_NEXT_HEADER] !== IPPROTO_ICMPV6) return NdError.NotIcmpv6;
  const icmp = off + IPV6_HEADER_LEN;
  if (icmpLen < 1) return NdError.TooShort;
  const type = buf[icmp]!;
  if (type !== ICMPV6_NEIGHBOR_SOLICITATION && type !== ICMPV6_NEIGHBOR_ADVERTISEMENT) return NdError.NotNd;
  if (buf[off + IP6_HOP_LIMIT] !== ND_HOP_LIMIT) return NdError.BadHopLimit;
  if (icmpLen < ND_MIN_LEN) return NdError.TooShort;
  if (buf[icmp + NdField.CODE] !== 0) return NdError.BadCode;
  if (upperLayerChecksum(buf, off, icmp, icmpLen, IPPROTO_ICMPV6) !== 0) return NdError.BadChecksum;
  const target = icmp + NdField.TARGET;
  if (buf[target] === 0xff) return NdError.MulticastTarget;

  // Options: every one must have a non-zero length and end inside the message (§7.1.1, §7.1.2).
  const llaType = type === ICMPV6_NEIGHBOR_SOLICITATION ? ND_OPT_SOURCE_LLA : ND_OPT_TARGET_LLA;
  const end = icmp + icmpLen;
  let llaOff = -1;
  let p = icmp + NdField.OPTIONS;
  while (p < end) {
    if (p + 2 > end) return NdError.BadOption;
    const optLen = buf[p + 1]! * 8;
    if (optLen === 0 || p + optLen > end) return NdError.BadOption;
    if (buf[p] === llaType) {
      if (optLen !== ND_LLA_OPT_LEN) return NdError.BadLinkLayerOption;
      if (llaOff < 0) llaOff = p + 2;
    }
    p += optLen;
  }

  const fromUnspecified = isUnspecified(buf, off + IP6_SRC);
  const flags = buf[icmp + NdField.FLAGS]!;
  const solicited = type === ICMPV6_NEIGHBOR_ADVERTISEMENT && (flags & NaFlag.SOLICITED) !== 0;
  if (type === ICMPV6_NEIGHBOR_SOLICITATION) {
    if (fromUnspecified && (!isSolicitedNodeAddress(buf, off + IP6_DST) || llaOff >= 0)) {
      return NdError.BadDad;
    }
  } else if (solicited && buf[off + IP6_DST] === 0xff) {
    return NdError.SolicitedToMulticast;
  }

  out.type = type;
  out.ipOff = off;
  out.icmpOff = icmp;
  out.icmpLen = icmpLen;
  out.targetOff = target;
  out.llaOff = llaOff;
  out.router = type === ICMPV6_NEIGHBOR_ADVERTISEMENT && (flags & NaFlag.ROUTER) !== 0;
  out.solicited = solicited;
  out.override = type === ICMPV6_NEIGHBOR_ADVERTISEMENT && (flags & NaFlag.OVERRIDE) !== 0;
  out.fromUnspecified = fromUnspecified;
  return type;
}

/** What emitNeighborAdvertisement writes. Addresses are 16 bytes, MACs 6, each read from index 0. */
export interface NeighborAdvertisementRepr {
  src: Uint8Array;
  dst: Uint8Array;
  target: Uint8Array;
  /** The Target Link-Layer Address option's MAC; null omits the option (allowed when answering a unicast NS). */
  targetMac: Uint8Array | null;
  router: boolean;
  solicited: boolean;
  override: boolean;
}

/** What emitNeighborSolicitation writes. */
export interface NeighborSolicitationRepr {
  /** Our address, or :: for Duplicate Address Detection (then no source link-layer option is sent). */
  src: Uint8Array;
  target: Uint8Array;
  /** Our MAC for the Source Link-Layer Address option; null omits it. */
  srcMac: Uint8Array | null;
  /** Unicast destination (a Neighbor Unreachability Detection probe); default: target's solicited-node address. */
  dst?: Uint8Array;
}

export function neighborAdvertisementLen(na: NeighborAdvertisementRepr): number {
  return IPV6_HEADER_LEN + ND_MIN_LEN + (na.targetMac !== null ? ND_LLA_OPT_LEN : 0);
}

export function neighborSolicitationLen(ns: NeighborSolicitationRepr): number {
  const withLla = ns.srcMac !== null && !isUnspecified(ns.src, 0);
  return IPV6_HEADER_LEN + ND_MIN_LEN + (withLla ? ND_LLA_OPT_LEN : 0);
}

function copy16(out: Uint8Array, at: number, src: Uint8Array, srcOff = 0): void {
  for (let i = 0; i < 16; i++) out[at + i] = src[srcOff + i]!;
}

function checkRoom(out: Uint8Array, off: number, need: number): void {
  if (off < 0 || off + need > out.length) {
    throw new RangeError(`ND emit needs ${need} bytes at offset ${off}, buffer has ${out.length}`);
  }
}

/** IPv6 header (flow label 0, hop limit 255, ICMPv6) + ICMPv6 type/code/zero checksum/zero word. */
function writeHeaders(out: Uint8Array, off: number, icmpLen: number, src: Uint8Array, dst: Uint8Array, type: number) {
  out[off] = 0x60;
  out[off + 1] = 0;
  out[off + 2] = 0;
  out[off + 3] = 0;
  out[off + 4] = icmpLen >>> 8;
  out[off + 5] = icmpLen & 0xff;
  out[off + IP6_NEXT_HEADER] = IPPROTO_ICMPV6;
  out[off + IP6_HOP_LIMIT] = ND_HOP_LIMIT;
  copy16(out, off + IP6_SRC, src);
  copy16(out, off + IP6_DST, dst);
  const icmp = off + IPV6_HEADER_LEN;
  out[icmp] = type;
  for (let i = 1; i < 8; i++) out[icmp + i] = 0;
}

function writeLlaOption(out: Uint8Array, at: number, type: number, mac: Uint8Array): void {
  out[at] = type;
  out[at + 1] = ND_LLA_OPT_LEN / 8;
  copyMac(out, at + 2, mac);
}

function writeChecksum(out: Uint8Array, off: number, icmpLen: number): void {
  const icmp = off + IPV6_HEADER_LEN;
  const c = upperLayerChecksum(out, off, icmp, icmpLen, IPPROTO_ICMPV6);
  out[icmp + NdField.CHECKSUM] = c >>> 8;
  out[icmp + NdField.CHECKSUM + 1] = c & 0xff;
}

/**
 * Write a whole Neighbor Advertisement packet (IPv6 header, hop limit 255, flow label 0) at `off` and
 * return its length (64, or 72 with the target link-layer option). Throws RangeError if `out` is too
 * small (a programming error, not a bad packet).
 */
export function emitNeighborAdvertisement(out: Uint8Array, off: number, na: NeighborAdvertisementRepr): number {
  const total = neighborAdvertisementLen(na);
  checkRoom(out, off, total);
  const icmpLen = total - IPV6_HEADER_LEN;
  writeHeaders(out, off, icmpLen, na.src, na.dst, ICMPV6_NEIGHBOR_ADVERTISEMENT);
  const icmp = off + IPV6_HEADER_LEN;
  out[icmp + NdField.FLAGS] =
    (na.router ? NaFlag.ROUTER : 0) | (na.solicited ? NaFlag.SOLICITED : 0) | (na.override ? NaFlag.OVERRIDE : 0);
  copy16(out, icmp + NdField.TARGET, na.target);
  if (na.targetMac !== null) writeLlaOption(out, icmp + NdField.OPTIONS, ND_OPT_TARGET_LLA, na.targetMac);
  writeChecksum(out, off, icmpLen);
  return total;
}

/**
 * Write a whole Neighbor Solicitation packet at `off` and return its length (64, or 72 with the source
 * link-layer option). It goes to the target's solicited-node multicast address unless `dst` is given.
 * From :: (DAD) the source link-layer option is never included (RFC 4861 §4.3).
 */
export function emitNeighborSolicitation(out: Uint8Array, off: number, ns: NeighborSolicitationRepr): number {
  const total = neighborSolicitationLen(ns);
  checkRoom(out, off, total);
  const icmpLen = total - IPV6_HEADER_LEN;
  writeHeaders(out, off, icmpLen, ns.src, ns.dst ?? ns.target, ICMPV6_NEIGHBOR_SOLICITATION);
  if (ns.dst === undefined) writeSolicitedNodeAddress(out, off + IP6_DST, ns.target);
  const icmp = off + IPV6_HEADER_LEN;
  copy16(out, icmp + NdField.TARGET, ns.target);
  if (total > IPV6_HEADER_LEN + ND_MIN_LEN) {
    writeLlaOption(out, icmp + NdField.OPTIONS, ND_OPT_SOURCE_LLA, ns.srcMac!);
  }
  writeChecksum(out, off, icmpLen);
  return total;
}

/** Write the solicited-node multicast address ff02::1:ffXX:XXXX of `target` (RFC 4291 §2.7.1). */
export function writeSolicitedNodeAddress(out: Uint8Array, outOff: number, target: Uint8Array, targetOff = 0): void {
  for (let i = 0; i < SOLICITED_NODE_PREFIX.length; i++) out[outOff + i] = SOLICITED_NODE_PREFIX[i]!;
  out[outOff + 13] = target[targetOff + 13]!;
  out[outOff + 14] = target[targetOff + 14]!;
  out[outOff + 15] = target[targetOff + 15]!;
}

/** The solicited-node multicast address of `target`, as a new 16-byte Buffer. */
export function solicitedNodeAddress(target: Uint8Array, off = 0): Buffer {
  const a = Buffer.allocUnsafe(16);
  writeSolicitedNodeAddress(a, 0, target, off);
  return a;
}

/** ff02::1, all nodes on the link. */
function allNodes(): Buffer {
  const a = Buffer.alloc(16);
  a[0] = 0xff;
  a[1] = 0x02;
  a[15] = 0x01;
  return a;
}

/**
 * The advertisement that answers a solicitation parsed from `buf` for one of our addresses (the caller has
 * checked the target is ours), per RFC 4861 §7.2.4:
 * - source: the target itself (an address of ours on this link, as Linux does);
 * - from :: (DAD): to ff02::1 with Solicited clear; otherwise to the solicitation's source, Solicited set;
 * - Override set (we never answer for anycast or as a proxy); Router as the caller says;
 * - the Target Link-Layer Address option always (required for a multicast NS, allowed for unicast).
 * Copies the addresses, so the answer may be emitted over the buffer the solicitation came in.
 */
export function neighborAdvertisementFor(
  buf: Uint8Array,
  ns: NdMessage,
  ourMac: Uint8Array,
  router: boolean,
): NeighborAdvertisementRepr {
  const target = Buffer.from(buf.subarray(ns.targetOff, ns.targetOff + 16));
  const dad = ns.fromUnspecified;
  const srcOff = ns.ipOff + IP6_SRC;
  return {
    src: target,
    dst: dad ? allNodes() : Buffer.from(buf.subarray(srcOff, srcOff + 16)),
    target,
    targetMac: Buffer.from(ourMac.subarray(0, MAC_LEN)),
    router,
    solicited: !dad,
    override: true,
  };
}
