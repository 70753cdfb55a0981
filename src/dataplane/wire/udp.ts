/**
 * UDP (RFC 768) inside IPv6: a view, a checked parse into a plain repr, and an emit that fills in the
 * checksum over the IPv6 pseudo-header (RFC 8200 §8.1), which over IPv6 is mandatory.
 *
 * Used for the UDP the node itself speaks inside the mesh (BFD on 3784/4784, DNS on 53); the underlay's UDP
 * is the kernel's, through dgram sockets.
 */
import { put16 } from '../../common/bytes.js';
import { upperLayerChecksum, finishChecksum, pseudoHeaderSum, sumBytes } from './checksum.js';
import { IPPROTO_UDP, IPV6_HEADER_LEN, type ParseResult } from './ipv6.js';

/*
 * RFC 768, User Datagram Header Format:
 *
 *     0      7 8     15 16    23 24    31
 *    +--------+--------+--------+--------+
 *    |     Source      |   Destination   |
 *    |      Port       |      Port       |
 *    +--------+--------+--------+--------+
 *    |                 |                 |
 *    |     Length      |    Checksum     |
 *    +--------+--------+--------+--------+
 *    |
 *    |          data octets ...
 *    +---------------- ...
 *
 * Length counts the header and the data (so >= 8).
 */
export const UDP_SRC_PORT = 0;
export const UDP_DST_PORT = 2;
export const UDP_LENGTH = 4;
export const UDP_CHECKSUM = 6;
export const UDP_HEADER_LEN = 8;

// ---------------------------------------------------------------------------------------------------------
// View (off = start of the UDP header; the caller has run checkUdp).

export function udpSrcPort(buf: Uint8Array, off: number): number {
  return (buf[off + UDP_SRC_PORT]! << 8) | buf[off + UDP_SRC_PORT + 1]!;
}

export function udpDstPort(buf: Uint8Array, off: number): number {
  return (buf[off + UDP_DST_PORT]! << 8) | buf[off + UDP_DST_PORT + 1]!;
}

export function udpLength(buf: Uint8Array, off: number): number {
  return (buf[off + UDP_LENGTH]! << 8) | buf[off + UDP_LENGTH + 1]!;
}

export function udpChecksum(buf: Uint8Array, off: number): number {
  return (buf[off + UDP_CHECKSUM]! << 8) | buf[off + UDP_CHECKSUM + 1]!;
}

export function setUdpSrcPort(buf: Uint8Array, off: number, port: number): void {
  put16(buf, off + UDP_SRC_PORT, port);
}

export function setUdpDstPort(buf: Uint8Array, off: number, port: number): void {
  put16(buf, off + UDP_DST_PORT, port);
}

export function setUdpLength(buf: Uint8Array, off: number, length: number): void {
  put16(buf, off + UDP_LENGTH, length);
}

export function setUdpChecksum(buf: Uint8Array, off: number, checksum: number): void {
  put16(buf, off + UDP_CHECKSUM, checksum);
}

// ---------------------------------------------------------------------------------------------------------
// Check and parse.

/** Why `checkUdp` refused a datagram; 0 means valid. */
export const UdpError = {
  /** Fewer than 8 bytes, or the region runs past the end of the buffer. */
  Truncated: -1,
  /** The Length field is under 8 (0 would mean a jumbogram, RFC 2675, unsupported) or more than we have. */
  BadLength: -2,
  /** Checksum 0: forbidden over IPv6 (RFC 8200 §8.1), a receiver must drop it. */
  ZeroChecksum: -3,
  /** The checksum does not verify. */
  BadChecksum: -4,
} as const;
export type UdpError = (typeof UdpError)[keyof typeof UdpError];

export function udpErrorMessage(code: number): string {
  switch (code) {
    case UdpError.Truncated:
      return 'truncated UDP header';
    case UdpError.BadLength:
      return 'UDP length field is under 8 or exceeds the packet';
    case UdpError.ZeroChecksum:
      return 'UDP checksum 0 is not allowed over IPv6';
    case UdpError.BadChecksum:
      return 'UDP checksum mismatch';
    default:
      return code === 0 ? 'valid' : `unknown UDP error ${code}`;
  }
}

/**
 * 0 when [off, off+len) starts with a UDP header whose Length fits in `len`, else a UdpError code. Bytes
 * after Length are tolerated (the IPv6 payload may be padded); the datagram is the first Length bytes.
 */
export function checkUdp(buf: Uint8Array, off: number, len: number): number {
  if (len < UDP_HEADER_LEN || off < 0 || off + len > buf.length) return UdpError.Truncated;
  const length = udpLength(buf, off);
  if (length < UDP_HEADER_LEN || length > len) return UdpError.BadLength;
  return 0;
}

/**
 * True when the checksum of the datagram at [off, off+length) is right, with the pseudo-header from the
 * IPv6 header at ipOff (whose destination is the final one unless a Routing header has segments left).
 * `length` is the UDP Length field. A zero checksum field is false: over IPv6 it means "not computed".
 */
export function verifyUdpChecksum(buf: Uint8Array, ipOff: number, off: number, length: number): boolean {
  if (udpChecksum(buf, off) === 0) return false;
  return upperLayerChecksum(buf, ipOff, off, length, IPPROTO_UDP) === 0;
}

export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  /** Bytes of data after the 8-byte header (Length - 8). */
  payloadLength: number;
}

/**
 * Checked parse of the UDP datagram at [off, off+len) of the IPv6 packet at ipOff (whose header must lie
 * before it): length, then (unless `verify` is false) the checksum. The payload stays in `buf` at off + 8.
 */
export function parseUdp(buf: Uint8Array, ipOff: number, off: number, len: number, verify = true): ParseResult<UdpRepr> {
  const code = checkUdp(buf, off, len);
  if (code !== 0) return { ok: false, error: udpErrorMessage(code) };
  if (ipOff < 0 || ipOff + IPV6_HEADER_LEN > off) return { ok: false, error: 'no IPv6 header before the UDP header' };
  const length = udpLength(buf, off);
  if (verify) {
    if (udpChecksum(buf, off) === 0) return { ok: false, error: udpErrorMessage(UdpError.ZeroChecksum) };
    if (!verifyUdpChecksum(buf, ipOff, off, length)) return { ok: false, error: udpErrorMessage(UdpError.BadChecksum) };
  }
  return { ok: true, repr: { srcPort: udpSrcPort(buf, off), dstPort: udpDstPort(buf, off), payloadLength: length - UDP_HEADER_LEN } };
}

/**
 * Writes the header for `repr` at `off`, the payload being already at off + 8, and the checksum over the
 * pseudo-header of src/dst (the packet's source and final destination). A computed checksum of 0 is sent as
 * 0xffff (RFC 768), since 0 means "none". Returns 8 + payloadLength.
 */
export function emitUdp(
  repr: UdpRepr,
  buf: Uint8Array,
  off: number,
  src: Uint8Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
): number {
  const length = UDP_HEADER_LEN + repr.payloadLength;
  setUdpSrcPort(buf, off, repr.srcPort);
  setUdpDstPort(buf, off, repr.dstPort);
  setUdpLength(buf, off, length);
  setUdpChecksum(buf, off, 0);
  const sum = pseudoHeaderSum(src, srcOff, dst, dstOff, length, IPPROTO_UDP);
  const checksum = finishChecksum(sumBytes(buf, off, length, sum));
  setUdpChecksum(buf, off, checksum === 0 ? 0xffff : checksum);
  return length;
}
