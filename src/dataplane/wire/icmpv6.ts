/**
 * ICMPv6 (RFC 4443): message type numbers, a view over the common header, the errors a router sends
 * (Destination Unreachable, Packet Too Big, Time Exceeded, Parameter Problem) written straight into an output
 * buffer, and Echo Reply for pings to our own addresses.
 *
 * Emitters return the number of bytes written, or -1 when the arguments cannot fit; they never throw.
 */
import { upperLayerChecksum } from './checksum.js';
import { ulOffset, ulProto, upperLayer } from './exthdr.js';
import {
  IP6_DST,
  IP6_HOP_LIMIT,
  IP6_NEXT_HEADER,
  IP6_SRC,
  IPPROTO_ICMPV6,
  IPV6_HEADER_LEN,
  IPV6_MIN_MTU,
  copyAddr,
  ipv6TrafficClass,
  isMulticast,
  isUnspecified,
  setIpv6PayloadLength,
  setIpv6VerTcFl,
  type ParseResult,
} from './ipv6.js';

/*
 * RFC 4443 §2.1, the ICMPv6 message; the first word of the body is the Unused / MTU / Pointer field of the
 * error messages (§3) and Identifier + Sequence Number of Echo (§4):
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |     Type      |     Code      |          Checksum             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |            Unused / MTU / Pointer  (errors, 32 bits)          |
 *    |      Identifier               |        Sequence Number        |  (echo)
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |    As much of invoking packet as possible without the ICMPv6  |  (errors)
 *    +    packet exceeding the minimum IPv6 MTU  /  Data (echo)      +
 */
export const ICMP6_TYPE = 0;
export const ICMP6_CODE = 1;
export const ICMP6_CHECKSUM = 2;
export const ICMP6_PARAM = 4; // 32 bits: MTU (Packet Too Big), Pointer (Parameter Problem), else unused = 0
export const ICMP6_ECHO_ID = 4;
export const ICMP6_ECHO_SEQ = 6;
export const ICMP6_HEADER_LEN = 8;
/** The most of an invoking packet an error may carry: 1280 - 40 (IPv6) - 8 (ICMPv6). */
export const ICMP6_ERROR_MAX_QUOTE = IPV6_MIN_MTU - IPV6_HEADER_LEN - ICMP6_HEADER_LEN;

// Error messages (type < 128) and their codes.
export const ICMP6_DST_UNREACH = 1;
export const ICMP6_DST_UNREACH_NO_ROUTE = 0;
export const ICMP6_DST_UNREACH_ADMIN = 1;
export const ICMP6_DST_UNREACH_BEYOND_SCOPE = 2;
export const ICMP6_DST_UNREACH_ADDR_UNREACH = 3;
export const ICMP6_DST_UNREACH_PORT_UNREACH = 4;
export const ICMP6_DST_UNREACH_POLICY_FAIL = 5; // source address failed ingress/egress policy
export const ICMP6_DST_UNREACH_REJECT_ROUTE = 6;
export const ICMP6_PACKET_TOO_BIG = 2;
export const ICMP6_TIME_EXCEEDED = 3;
export const ICMP6_TIME_EXCEEDED_HOP_LIMIT = 0;
export const ICMP6_TIME_EXCEEDED_REASSEMBLY = 1;
export const ICMP6_PARAM_PROBLEM = 4;
export const ICMP6_PARAM_PROBLEM_HEADER = 0; // erroneous header field
export const ICMP6_PARAM_PROBLEM_NEXT_HEADER = 1; // unrecognized Next Header type
export const ICMP6_PARAM_PROBLEM_OPTION = 2; // unrecognized IPv6 option

// Informational messages.
export const ICMP6_ECHO_REQUEST = 128;
export const ICMP6_ECHO_REPLY = 129;
export const MLD_LISTENER_QUERY = 130;
export const MLD_LISTENER_REPORT = 131;
export const MLD_LISTENER_DONE = 132;
export const ND_ROUTER_SOLICIT = 133;
export const ND_ROUTER_ADVERT = 134;
export const ND_NEIGHBOR_SOLICIT = 135;
export const ND_NEIGHBOR_ADVERT = 136;
export const ND_REDIRECT = 137;
export const MLDV2_LISTENER_REPORT = 143;

// ---------------------------------------------------------------------------------------------------------
// View (off = start of the ICMPv6 message; the caller has checked that 8 bytes are there).

export function icmp6Type(buf: Uint8Array, off: number): number {
  return buf[off + ICMP6_TYPE]!;
}

export function icmp6Code(buf: Uint8Array, off: number): number {
  return buf[off + ICMP6_CODE]!;
}

export function icmp6Checksum(buf: Uint8Array, off: number): number {
  return (buf[off + ICMP6_CHECKSUM]! << 8) | buf[off + ICMP6_CHECKSUM + 1]!;
}

export function setIcmp6Checksum(buf: Uint8Array, off: number, checksum: number): void {
  buf[off + ICMP6_CHECKSUM] = (checksum >>> 8) & 0xff;
  buf[off + ICMP6_CHECKSUM + 1] = checksum & 0xff;
}

/** The 32-bit word after the checksum, unsigned: the MTU of Packet Too Big, the Pointer of Parameter Problem. */
export function icmp6Param(buf: Uint8Array, off: number): number {
  return (
    ((buf[off + ICMP6_PARAM]! << 24) |
      (buf[off + ICMP6_PARAM + 1]! << 16) |
      (buf[off + ICMP6_PARAM + 2]! << 8) |
      buf[off + ICMP6_PARAM + 3]!) >>>
    0
  );
}

export function setIcmp6Param(buf: Uint8Array, off: number, param: number): void {
  buf[off + ICMP6_PARAM] = (param >>> 24) & 0xff;
  buf[off + ICMP6_PARAM + 1] = (param >>> 16) & 0xff;
  buf[off + ICMP6_PARAM + 2] = (param >>> 8) & 0xff;
  buf[off + ICMP6_PARAM + 3] = param & 0xff;
}

export function icmp6EchoId(buf: Uint8Array, off: number): number {
  return (buf[off + ICMP6_ECHO_ID]! << 8) | buf[off + ICMP6_ECHO_ID + 1]!;
}

export function icmp6EchoSeq(buf: Uint8Array, off: number): number {
  return (buf[off + ICMP6_ECHO_SEQ]! << 8) | buf[off + ICMP6_ECHO_SEQ + 1]!;
}

/** Error messages have types 0-127, informational ones 128-255 (RFC 4443 §2.1). */
export function isIcmpv6Error(type: number): boolean {
  return type < 128;
}

/**
 * True when the ICMPv6 checksum of the message at [l4Off, l4Off+l4Len) is right, with the pseudo-header
 * taken from the IPv6 header at ipOff. That header's destination is the final destination (RFC 8200 §8.1)
 * except in a packet whose Routing header still has segments left, which only its final hop verifies.
 */
export function verifyIcmpv6Checksum(buf: Uint8Array, ipOff: number, l4Off: number, l4Len: number): boolean {
  return upperLayerChecksum(buf, ipOff, l4Off, l4Len, IPPROTO_ICMPV6) === 0;
}

/** Why `checkIcmpv6` refused a message; 0 means valid. */
export const Icmpv6Error = {
  /** Fewer than the 8 bytes every ICMPv6 message has, or the region runs past the buffer. */
  Truncated: -1,
  /** The checksum does not verify. */
  BadChecksum: -2,
} as const;
export type Icmpv6Error = (typeof Icmpv6Error)[keyof typeof Icmpv6Error];

/**
 * 0 when [l4Off, l4Off+l4Len) holds an ICMPv6 message of at least 8 bytes with a good checksum (pseudo-header
 * from the IPv6 header at ipOff), else an Icmpv6Error code. After it, every accessor above is in bounds.
 */
export function checkIcmpv6(buf: Uint8Array, ipOff: number, l4Off: number, l4Len: number): number {
  if (l4Len < ICMP6_HEADER_LEN || l4Off < 0 || l4Off + l4Len > buf.length) return Icmpv6Error.Truncated;
  if (!verifyIcmpv6Checksum(buf, ipOff, l4Off, l4Len)) return Icmpv6Error.BadChecksum;
  return 0;
}

/** The common fields of an ICMPv6 message; the body stays in the buffer at l4Off + 8. */
export interface Icmpv6Repr {
  type: number;
  code: number;
  /** The word after the checksum: MTU, Pointer, Identifier << 16 | Sequence, or unused. */
  param: number;
  /** Bytes after the 8-byte header. */
  bodyLength: number;
}

export function parseIcmpv6(buf: Uint8Array, ipOff: number, l4Off: number, l4Len: number): ParseResult<Icmpv6Repr> {
  const code = checkIcmpv6(buf, ipOff, l4Off, l4Len);
  if (code === Icmpv6Error.Truncated) return { ok: false, error: 'truncated ICMPv6 message' };
  if (code === Icmpv6Error.BadChecksum) return { ok: false, error: 'ICMPv6 checksum mismatch' };
  return {
    ok: true,
    repr: {
      type: icmp6Type(buf, l4Off),
      code: icmp6Code(buf, l4Off),
      param: icmp6Param(buf, l4Off),
      bodyLength: l4Len - ICMP6_HEADER_LEN,
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Errors.

/**
 * RFC 4443 §2.4(e): may we send an error of `type`/`code` about the packet at [ipOff, ipOff+ipLen) (already
 * checked with checkIpv6)? Not about an ICMPv6 error or a Redirect (e.1, e.2), not to a multicast
 * destination except Packet Too Big and Parameter Problem code 2 (e.3), and not to a source that is not one
 * node's address (e.6: unspecified or multicast). e.4/e.5 (link-layer multicast/broadcast) cannot arise on
 * our point-to-point links. Like Linux, a packet whose upper layer is unknown (a later fragment, a
 * malformed chain) is not treated as an ICMPv6 error. Rate limiting (§2.4(f)) is the caller's.
 */
export function icmpv6ErrorAllowed(buf: Uint8Array, ipOff: number, ipLen: number, type: number, code: number): boolean {
  if (isUnspecified(buf, ipOff + IP6_SRC) || isMulticast(buf, ipOff + IP6_SRC)) return false;
  if (
    isMulticast(buf, ipOff + IP6_DST) &&
    type !== ICMP6_PACKET_TOO_BIG &&
    !(type === ICMP6_PARAM_PROBLEM && code === ICMP6_PARAM_PROBLEM_OPTION)
  ) {
    return false;
  }
  const ul = upperLayer(buf, ipOff, ipLen);
  if (ul < 0 || ulProto(ul) !== IPPROTO_ICMPV6) return true;
  const l4 = ulOffset(ul);
  if (l4 >= ipOff + ipLen) return true;
  const t = buf[l4]!;
  return !isIcmpv6Error(t) && t !== ND_REDIRECT;
}

/**
 * Writes a whole IPv6 packet carrying an ICMPv6 error at `out[off]` and returns its length (<= 1280), or -1
 * if the invoking region is out of its buffer's bounds or `out` has no room.
 *
 * `param` fills the word after the checksum: the MTU for Packet Too Big, the Pointer for Parameter Problem,
 * 0 otherwise. `src` is our address on the link the error leaves by; `dst` is the invoking packet's source.
 * The invoking packet is quoted from its first byte, cut so the whole error fits in 1280 bytes (RFC 4443
 * §2.4(c)). Traffic class and flow label are 0.
 *
 * `out` may be the invoking packet's own buffer when the error is built in place with 48 bytes of headroom
 * (off + 48 === invOff; then nothing is copied), and `dst` may point into the invoking packet; any other
 * overlap between the output and the inputs gives garbage. The one allocation is the subarray view that lets
 * TypedArray.set copy the quote with memmove speed.
 */
export function emitIcmpv6Error(
  out: Buffer,
  off: number,
  type: number,
  code: number,
  param: number,
  src: Uint8Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  invoking: Uint8Array,
  invOff: number,
  invLen: number,
  hopLimit = 64,
): number {
  if (invOff < 0 || invLen < 0 || invOff + invLen > invoking.length) return -1;
  const quote = invLen < ICMP6_ERROR_MAX_QUOTE ? invLen : ICMP6_ERROR_MAX_QUOTE;
  const l4Len = ICMP6_HEADER_LEN + quote;
  const total = IPV6_HEADER_LEN + l4Len;
  if (off < 0 || off + total > out.length) return -1;
  const l4 = off + IPV6_HEADER_LEN;

  // The quote first: in the in-place case it is already where it belongs, and `dst` inside it stays valid.
  if (!(out === invoking && l4 + ICMP6_HEADER_LEN === invOff) && quote > 0) {
    out.set(invoking.subarray(invOff, invOff + quote), l4 + ICMP6_HEADER_LEN);
  }

  setIpv6VerTcFl(out, off, 0, 0);
  setIpv6PayloadLength(out, off, l4Len);
  out[off + IP6_NEXT_HEADER] = IPPROTO_ICMPV6;
  out[off + IP6_HOP_LIMIT] = hopLimit;
  copyAddr(src, srcOff, out, off + IP6_SRC);
  copyAddr(dst, dstOff, out, off + IP6_DST);

  out[l4 + ICMP6_TYPE] = type;
  out[l4 + ICMP6_CODE] = code;
  out[l4 + ICMP6_CHECKSUM] = 0;
  out[l4 + ICMP6_CHECKSUM + 1] = 0;
  setIcmp6Param(out, l4, param);
  setIcmp6Checksum(out, l4, upperLayerChecksum(out, off, l4, l4Len, IPPROTO_ICMPV6));
  return total;
}

// ---------------------------------------------------------------------------------------------------------
// Echo.

/**
 * Answers the Echo Request at [l4Off, l4Off+l4Len) of the IPv6 packet at `ipOff` with an Echo Reply: a bare
 * IPv6 header (the request's extension headers are not repeated) + the request's ICMPv6 body with type 129.
 * Returns the reply's length, or -1 if the message is not an Echo Request, is shorter than 8 bytes, or does
 * not fit.
 *
 * By default the reply is written in place over the request (out = req, outOff = ipOff; the ICMPv6 message
 * moves down over any extension headers). Otherwise `out` must not overlap the request. The reply's source is
 * `src` when given (needed when the request went to a multicast group) else the request's destination; its
 * destination is the request's source. The traffic class is echoed, as Linux does; the flow label is 0.
 */
export function emitEchoReply(
  req: Uint8Array,
  ipOff: number,
  l4Off: number,
  l4Len: number,
  out: Uint8Array = req,
  outOff: number = ipOff,
  hopLimit = 64,
  src: Uint8Array | null = null,
  srcOff = 0,
): number {
  if (l4Len < ICMP6_HEADER_LEN || l4Off < ipOff + IPV6_HEADER_LEN || l4Off + l4Len > req.length) return -1;
  if (req[l4Off + ICMP6_TYPE] !== ICMP6_ECHO_REQUEST) return -1;
  const total = IPV6_HEADER_LEN + l4Len;
  if (outOff < 0 || outOff + total > out.length) return -1;
  const inPlace = out === req && outOff === ipOff;
  if (out === req && !inPlace && outOff < l4Off + l4Len && ipOff < outOff + total) return -1;
  const l4 = outOff + IPV6_HEADER_LEN;
  const trafficClass = ipv6TrafficClass(req, ipOff);

  if (inPlace) {
    if (l4Off !== l4) out.copyWithin(l4, l4Off, l4Off + l4Len);
    if (src === null) {
      for (let i = 0; i < 16; i++) {
        const t = out[outOff + IP6_SRC + i]!;
        out[outOff + IP6_SRC + i] = out[outOff + IP6_DST + i]!;
        out[outOff + IP6_DST + i] = t;
      }
    } else {
      copyAddr(out, outOff + IP6_SRC, out, outOff + IP6_DST);
      copyAddr(src, srcOff, out, outOff + IP6_SRC);
    }
  } else {
    out.set(req.subarray(l4Off, l4Off + l4Len), l4);
    if (src === null) copyAddr(req, ipOff + IP6_DST, out, outOff + IP6_SRC);
    else copyAddr(src, srcOff, out, outOff + IP6_SRC);
    copyAddr(req, ipOff + IP6_SRC, out, outOff + IP6_DST);
  }

  setIpv6VerTcFl(out, outOff, trafficClass, 0);
  setIpv6PayloadLength(out, outOff, l4Len);
  out[outOff + IP6_NEXT_HEADER] = IPPROTO_ICMPV6;
  out[outOff + IP6_HOP_LIMIT] = hopLimit;
  out[l4 + ICMP6_TYPE] = ICMP6_ECHO_REPLY;
  out[l4 + ICMP6_CODE] = 0;
  out[l4 + ICMP6_CHECKSUM] = 0;
  out[l4 + ICMP6_CHECKSUM + 1] = 0;
  setIcmp6Checksum(out, l4, upperLayerChecksum(out, outOff, l4, l4Len, IPPROTO_ICMPV6));
  return total;
}
