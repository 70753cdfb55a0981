/**
 * IPv6 extension headers (RFC 8200 §4): the walk from the IPv6 header to the upper-layer header, and views
 * over the headers the forwarder looks into (the Fragment header's offset, the Routing header's Segments Left,
 * options inside Hop-by-Hop and Destination Options).
 *
 * Nothing here allocates or throws; results are packed into one number so the walk returns no object.
 */
import {
  IP6_NEXT_HEADER,
  IP6_PAYLOAD_LEN,
  IPPROTO_AH,
  IPPROTO_DSTOPTS,
  IPPROTO_FRAGMENT,
  IPPROTO_HOPOPTS,
  IPPROTO_ROUTING,
  IPV6_HEADER_LEN,
} from './ipv6.js';

/*
 * RFC 8200 §4.3 (Hop-by-Hop Options), §4.6 (Destination Options) and §4.4 (Routing) share the first two bytes;
 * Hdr Ext Len counts 8-octet units after the first 8:
 *
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |  Next Header  |  Hdr Ext Len  |  Routing Type | Segments Left |   <- Routing
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |  Next Header  |  Hdr Ext Len  |                               |   <- Hop-by-Hop, Destination
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 *    |                                                               |
 *    .            Options / type-specific data (variable)            .
 *    |                                                               |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
export const EXT_NEXT_HEADER = 0;
export const EXT_HDR_EXT_LEN = 1;
export const EXT_ROUTING_TYPE = 2;
export const EXT_SEGMENTS_LEFT = 3;
export const EXT_OPTIONS = 2;

/*
 * RFC 8200 §4.5, Fragment Header (always 8 bytes; Fragment Offset counts 8-octet units, M = more fragments):
 *
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                         Identification                        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
export const FRAG_HEADER_LEN = 8;
export const FRAG_NEXT_HEADER = 0;
export const FRAG_OFFSET_FLAGS = 2; // 16 bits: offset << 3 | res (2) | M
export const FRAG_IDENT = 4;

/*
 * RFC 4302 §2, IP Authentication Header (Payload Len counts 4-octet units, minus 2):
 *
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    | Next Header   |  Payload Len  |          RESERVED             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                 Security Parameters Index (SPI)               |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                    Sequence Number Field                      |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                Integrity Check Value-ICV (variable)           |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
export const AH_NEXT_HEADER = 0;
export const AH_PAYLOAD_LEN = 1;
export const AH_SPI = 4;

/*
 * RFC 8200 §4.2, an option inside Hop-by-Hop or Destination Options (Pad1 is the lone byte 0 with no length):
 *
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+- - - - - - - - -
 *    |  Option Type  |  Opt Data Len |  Option Data
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+- - - - - - - - -
 */
export const OPT_PAD1 = 0x00;
export const OPT_PADN = 0x01;
export const OPT_ROUTER_ALERT = 0x05; // RFC 2711; value 0 = MLD
export const OPT_JUMBO = 0xc2; // RFC 2675

// ---------------------------------------------------------------------------------------------------------
// The walk.

/**
 * Finds the upper-layer header of the IPv6 packet at [ipOff, ipOff+ipLen).
 *
 * Returns -1 if the chain is malformed or runs past 40 + Payload Length (or past ipLen), else
 * `l4Offset * 256 + proto` with l4Offset absolute in `buf`; unpack with `ulOffset`/`ulProto`.
 * - Hop-by-Hop (0) must come first (RFC 8200 §4.3); one anywhere else is malformed.
 * - Hop-by-Hop, Routing (43), Destination Options (60): (Hdr Ext Len + 1) * 8 bytes; AH (51):
 *   (Payload Len + 2) * 4 bytes; Fragment (44): 8 bytes.
 * - A non-first fragment (offset != 0) has no upper-layer header: the result is proto 44 with the offset of
 *   its Fragment header. A first fragment is walked through, so its upper layer is reported.
 * - ESP (50), No Next Header (59) and every other number end the walk and are returned as proto. The
 *   upper-layer offset may equal the end of the packet (nothing follows); the caller checks the length it needs.
 *
 * Call after checkIpv6; the version is not looked at again here. Each step advances by at least 8 bytes, so
 * the loop ends within payloadLength / 8 steps.
 */
export function upperLayer(buf: Uint8Array, ipOff: number, ipLen: number): number {
  if (ipLen < IPV6_HEADER_LEN || ipOff < 0 || ipOff + ipLen > buf.length) return -1;
  const end = ipOff + IPV6_HEADER_LEN + ((buf[ipOff + IP6_PAYLOAD_LEN]! << 8) | buf[ipOff + IP6_PAYLOAD_LEN + 1]!);
  if (end > ipOff + ipLen) return -1;
  let nh = buf[ipOff + IP6_NEXT_HEADER]!;
  let p = ipOff + IPV6_HEADER_LEN;
  for (;;) {
    if (nh === IPPROTO_HOPOPTS && p !== ipOff + IPV6_HEADER_LEN) return -1;
    switch (nh) {
      case IPPROTO_HOPOPTS:
      case IPPROTO_ROUTING:
      case IPPROTO_DSTOPTS: {
        if (p + 8 > end) return -1;
        const next = p + ((buf[p + EXT_HDR_EXT_LEN]! + 1) << 3);
        if (next > end) return -1;
        nh = buf[p]!;
        p = next;
        break;
      }
      case IPPROTO_FRAGMENT: {
        if (p + FRAG_HEADER_LEN > end) return -1;
        if (((buf[p + FRAG_OFFSET_FLAGS]! << 8) | buf[p + FRAG_OFFSET_FLAGS + 1]!) & 0xfff8) {
          return p * 256 + IPPROTO_FRAGMENT;
        }
        nh = buf[p]!;
        p += FRAG_HEADER_LEN;
        break;
      }
      case IPPROTO_AH: {
        // RFC 4302 §2.2: at least the fixed 12 bytes, and IPv6 AH is a multiple of 8.
        if (p + 12 > end) return -1;
        const next = p + ((buf[p + AH_PAYLOAD_LEN]! + 2) << 2);
        if (next > end || next < p + 12) return -1;
        nh = buf[p]!;
        p = next;
        break;
      }
      default:
        return p * 256 + nh;
    }
  }
}

/** The absolute offset packed into a non-negative `upperLayer` result. */
export function ulOffset(result: number): number {
  return Math.floor(result / 256);
}

/** The protocol number packed into a non-negative `upperLayer` result. */
export function ulProto(result: number): number {
  return result & 0xff;
}

// ---------------------------------------------------------------------------------------------------------
// Fragment header accessors (fragOff = offset of the Fragment header).

/** Fragment Offset in bytes (the field counts 8-byte units). */
export function fragOffset(buf: Uint8Array, fragOff: number): number {
  return ((buf[fragOff + FRAG_OFFSET_FLAGS]! << 8) | buf[fragOff + FRAG_OFFSET_FLAGS + 1]!) & 0xfff8;
}

export function fragMoreFragments(buf: Uint8Array, fragOff: number): boolean {
  return (buf[fragOff + FRAG_OFFSET_FLAGS + 1]! & 1) === 1;
}

export function fragIdent(buf: Uint8Array, fragOff: number): number {
  return (
    ((buf[fragOff + FRAG_IDENT]! << 24) |
      (buf[fragOff + FRAG_IDENT + 1]! << 16) |
      (buf[fragOff + FRAG_IDENT + 2]! << 8) |
      buf[fragOff + FRAG_IDENT + 3]!) >>>
    0
  );
}

// ---------------------------------------------------------------------------------------------------------
// Routing header and options.

export function routingType(buf: Uint8Array, rhOff: number): number {
  return buf[rhOff + EXT_ROUTING_TYPE]!;
}

/** A router that is not the current segment forwards by the IPv6 destination whatever this says. */
export function routingSegmentsLeft(buf: Uint8Array, rhOff: number): number {
  return buf[rhOff + EXT_SEGMENTS_LEFT]!;
}

/**
 * Offset of the first option of `type` in the Hop-by-Hop or Destination Options header at `hdrOff`
 * (whose length the caller got from `upperLayer`'s walk or checked itself), or -1 if absent or if the
 * option list overruns the header. Pad1 is a single byte; every other option is type, length, data.
 */
export function findOption(buf: Uint8Array, hdrOff: number, type: number): number {
  const end = hdrOff + ((buf[hdrOff + EXT_HDR_EXT_LEN]! + 1) << 3);
  if (end > buf.length) return -1;
  let p = hdrOff + EXT_OPTIONS;
  while (p < end) {
    const t = buf[p]!;
    if (t === OPT_PAD1) {
      if (type === OPT_PAD1) return p;
      p += 1;
      continue;
    }
    if (p + 2 > end) return -1;
    const next = p + 2 + buf[p + 1]!;
    if (next > end) return -1;
    if (t === type) return p;
    p = next;
  }
  return -1;
}
