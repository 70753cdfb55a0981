/**
 * The IPv6 header (RFC 8200 §3): a view at fixed offsets over a Buffer, a checked parse into a plain repr,
 * an emit, and the address helpers the forwarder needs (compare, scope tests, RFC 5952 text, parsing).
 *
 * The hot path is `checkIpv6` once per packet, then the accessors: after `checkIpv6` returns 0 for
 * [off, off+len) no accessor can read outside the packet. Accessors take `(buf, off)` instead of wrapping the
 * buffer in an object, so forwarding a packet allocates nothing. None of them throws.
 */

/*
 * RFC 8200 §3, IPv6 Header Format:
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |Version| Traffic Class |           Flow Label                  |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |         Payload Length        |  Next Header  |   Hop Limit   |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                                                               |
 *   +                                                               +
 *   |                                                               |
 *   +                         Source Address                        +
 *   |                                                               |
 *   +                                                               +
 *   |                                                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                                                               |
 *   +                                                               +
 *   |                                                               |
 *   +                      Destination Address                      +
 *   |                                                               |
 *   +                                                               +
 *   |                                                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
export const IPV6_HEADER_LEN = 40;
export const IP6_VER_TC_FL = 0; // 4 bytes: version (4 bits), traffic class (8), flow label (20)
export const IP6_PAYLOAD_LEN = 4; // 2 bytes: bytes after the 40-byte header, extension headers included
export const IP6_NEXT_HEADER = 6; // 1 byte
export const IP6_HOP_LIMIT = 7; // 1 byte
export const IP6_SRC = 8; // 16 bytes
export const IP6_DST = 24; // 16 bytes
export const IPV6_ADDR_LEN = 16;

/** Every IPv6 link carries at least this much (RFC 8200 §5); ICMPv6 errors never exceed it (RFC 4443 §2.4(c)). */
export const IPV6_MIN_MTU = 1280;

/** Next Header / protocol numbers (IANA "Assigned Internet Protocol Numbers") that the data plane meets. */
export const IPPROTO_HOPOPTS = 0;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_FRAGMENT = 44;
export const IPPROTO_ESP = 50;
export const IPPROTO_AH = 51;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_NONE = 59;
export const IPPROTO_DSTOPTS = 60;
export const IPPROTO_OSPF = 89;

// ---------------------------------------------------------------------------------------------------------
// Accessors. Callers have checked the packet (checkIpv6) or built it themselves; no bounds checks here.

export function ipv6Version(buf: Uint8Array, off: number): number {
  return buf[off]! >>> 4;
}

/** The 8-bit Traffic Class (DSCP in the high 6 bits, ECN in the low 2), straddling bytes 0 and 1. */
export function ipv6TrafficClass(buf: Uint8Array, off: number): number {
  return ((buf[off]! & 0x0f) << 4) | (buf[off + 1]! >>> 4);
}

export function ipv6FlowLabel(buf: Uint8Array, off: number): number {
  return ((buf[off + 1]! & 0x0f) << 16) | (buf[off + 2]! << 8) | buf[off + 3]!;
}

export function ipv6PayloadLength(buf: Uint8Array, off: number): number {
  return (buf[off + IP6_PAYLOAD_LEN]! << 8) | buf[off + IP6_PAYLOAD_LEN + 1]!;
}

export function ipv6NextHeader(buf: Uint8Array, off: number): number {
  return buf[off + IP6_NEXT_HEADER]!;
}

export function ipv6HopLimit(buf: Uint8Array, off: number): number {
  return buf[off + IP6_HOP_LIMIT]!;
}

export function setIpv6HopLimit(buf: Uint8Array, off: number, hopLimit: number): void {
  buf[off + IP6_HOP_LIMIT] = hopLimit;
}

/** Writes version 6, the traffic class and the flow label (the whole first word). */
export function setIpv6VerTcFl(buf: Uint8Array, off: number, trafficClass: number, flowLabel: number): void {
  buf[off] = 0x60 | ((trafficClass >>> 4) & 0x0f);
  buf[off + 1] = ((trafficClass & 0x0f) << 4) | ((flowLabel >>> 16) & 0x0f);
  buf[off + 2] = (flowLabel >>> 8) & 0xff;
  buf[off + 3] = flowLabel & 0xff;
}

export function setIpv6PayloadLength(buf: Uint8Array, off: number, length: number): void {
  buf[off + IP6_PAYLOAD_LEN] = (length >>> 8) & 0xff;
  buf[off + IP6_PAYLOAD_LEN + 1] = length & 0xff;
}

export function setIpv6NextHeader(buf: Uint8Array, off: number, nextHeader: number): void {
  buf[off + IP6_NEXT_HEADER] = nextHeader;
}

// ---------------------------------------------------------------------------------------------------------
// The one check.

/** Why `checkIpv6` refused a packet; 0 means valid. Negative so a caller can test `< 0`. */
export const Ipv6Error = {
  /** Fewer than 40 bytes, or the region runs past the end of the buffer. */
  Truncated: -1,
  /** The version nibble is not 6. */
  BadVersion: -2,
  /** 40 + Payload Length is more than the bytes we have. */
  BadLength: -3,
  /** Payload Length 0 with a Hop-by-Hop header next: a jumbogram (RFC 2675), which no mesh link can carry. */
  JumboUnsupported: -4,
} as const;
export type Ipv6Error = (typeof Ipv6Error)[keyof typeof Ipv6Error];

/** A line of text for each `Ipv6Error`, for counters' labels and parse results. */
export function ipv6ErrorMessage(code: number): string {
  switch (code) {
    case Ipv6Error.Truncated:
      return 'truncated IPv6 header';
    case Ipv6Error.BadVersion:
      return 'IP version is not 6';
    case Ipv6Error.BadLength:
      return 'IPv6 payload length exceeds the packet';
    case Ipv6Error.JumboUnsupported:
      return 'IPv6 jumbogram (payload length 0) not supported';
    default:
      return code === 0 ? 'valid' : `unknown IPv6 error ${code}`;
  }
}

/**
 * 0 when [off, off+len) of `buf` holds a valid IPv6 packet, else an `Ipv6Error` code.
 *
 * Bytes after 40 + Payload Length are allowed: link layers pad (Ethernet's 60-byte minimum) and the
 * forwarder should send only 40 + Payload Length onwards. Extension headers are not walked here (see
 * exthdr.ts), so the cost is a few byte reads.
 */
export function checkIpv6(buf: Uint8Array, off: number, len: number): number {
  if (len < IPV6_HEADER_LEN || off < 0 || off + len > buf.length) return Ipv6Error.Truncated;
  if (buf[off]! >>> 4 !== 6) return Ipv6Error.BadVersion;
  const payloadLength = (buf[off + IP6_PAYLOAD_LEN]! << 8) | buf[off + IP6_PAYLOAD_LEN + 1]!;
  // Payload Length 0 is legal only for a jumbogram, whose real length is in a Hop-by-Hop option; with any
  // other next header an empty payload is fine (e.g. 59, No Next Header).
  if (payloadLength === 0 && buf[off + IP6_NEXT_HEADER] === IPPROTO_HOPOPTS) return Ipv6Error.JumboUnsupported;
  if (IPV6_HEADER_LEN + payloadLength > len) return Ipv6Error.BadLength;
  return 0;
}

// ---------------------------------------------------------------------------------------------------------
// The plain representation, for the control plane and tests (allocates: not for the forwarding path).

export interface Ipv6Repr {
  src: Buffer; // 16 bytes, a copy
  dst: Buffer; // 16 bytes, a copy
  nextHeader: number;
  hopLimit: number;
  payloadLength: number;
  trafficClass: number;
  flowLabel: number;
}

/** The result of every checked parse in wire/: no exceptions for bad input. */
export type ParseResult<T> = { ok: true; repr: T } | { ok: false; error: string };

export function parseIpv6(buf: Uint8Array, off: number, len: number): ParseResult<Ipv6Repr> {
  const code = checkIpv6(buf, off, len);
  if (code !== 0) return { ok: false, error: ipv6ErrorMessage(code) };
  return {
    ok: true,
    repr: {
      src: Buffer.from(buf.subarray(off + IP6_SRC, off + IP6_SRC + 16)),
      dst: Buffer.from(buf.subarray(off + IP6_DST, off + IP6_DST + 16)),
      nextHeader: ipv6NextHeader(buf, off),
      hopLimit: ipv6HopLimit(buf, off),
      payloadLength: ipv6PayloadLength(buf, off),
      trafficClass: ipv6TrafficClass(buf, off),
      flowLabel: ipv6FlowLabel(buf, off),
    },
  };
}

/**
 * Writes the 40-byte header for `repr` at `off` (the payload is the caller's) and returns 40. Out-of-range
 * field values are masked to their width, so no stray bit lands in a neighbouring field.
 */
export function emitIpv6(repr: Ipv6Repr, buf: Uint8Array, off: number): number {
  setIpv6VerTcFl(buf, off, repr.trafficClass & 0xff, repr.flowLabel & 0xfffff);
  setIpv6PayloadLength(buf, off, repr.payloadLength & 0xffff);
  buf[off + IP6_NEXT_HEADER] = repr.nextHeader & 0xff;
  buf[off + IP6_HOP_LIMIT] = repr.hopLimit & 0xff;
  copyAddr(repr.src, 0, buf, off + IP6_SRC);
  copyAddr(repr.dst, 0, buf, off + IP6_DST);
  return IPV6_HEADER_LEN;
}

// ---------------------------------------------------------------------------------------------------------
// Addresses. All take (buffer, offset) so an address inside a packet is used where it lies.

/** 16-byte comparison without a view or a copy. */
export function addrEquals(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): boolean {
  for (let i = 0; i < 16; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}

/** Copies 16 bytes; a byte loop, because a subarray view would allocate. Not for overlapping regions. */
export function copyAddr(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number): void {
  for (let i = 0; i < 16; i++) dst[dstOff + i] = src[srcOff + i]!;
}

/** fe80::/10 (RFC 4291 §2.5.6). */
export function isLinkLocal(buf: Uint8Array, off: number): boolean {
  return buf[off] === 0xfe && (buf[off + 1]! & 0xc0) === 0x80;
}

/** ff00::/8 (RFC 4291 §2.7). */
export function isMulticast(buf: Uint8Array, off: number): boolean {
  return buf[off] === 0xff;
}

/** :: — never a valid destination, and a valid source only for DAD and MLD before an address exists. */
export function isUnspecified(buf: Uint8Array, off: number): boolean {
  for (let i = 0; i < 16; i++) if (buf[off + i] !== 0) return false;
  return true;
}

/** ::1 — must never appear on a link (RFC 4291 §2.5.3). */
export function isLoopback(buf: Uint8Array, off: number): boolean {
  for (let i = 0; i < 15; i++) if (buf[off + i] !== 0) return false;
  return buf[off + 15] === 1;
}

// The text forms live in common/ (config and CLI use them too); re-exported beside the view.
export { formatIpv6, parseIpv6Address, parseDottedQuad } from '../../common/ipv6-text.js';
