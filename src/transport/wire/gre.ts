/**
 * GRE (RFC 2784) with the Key and Sequence Number extensions (RFC 2890), carried in UDP (GRE-in-UDP,
 * RFC 8086): the UDP payload on destination port 4754 starts with the GRE header, then the IPv6 packet.
 * The UDP source port carries flow entropy (RFC 8086 §3.2.1); choosing it is the link's job.
 *
 * RFC 2784 §2.1 with RFC 2890 §2 (offsets from the start of the GRE header; optional words are present
 * only when their flag is set, in this order, so later fields move up when earlier ones are absent):
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |C|R|K|S|s|Recur|  Flags  | Ver |         Protocol Type         |   0  FLAGS, 2 PROTOCOL
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |      Checksum (optional)      |       Reserved1 (optional)    |   4  if C
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                         Key (optional)                        |   4 or 8  if K
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                 Sequence Number (optional)                    |   4, 8 or 12  if S
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * C (0x8000) checksum present; R (0x4000) routing present and s (0x0800) strict source route, from RFC
 * 1701; K (0x2000) key present; S (0x1000) sequence number present; Recur (0x0700) RFC 1701 recursion
 * control; Flags (0x00f8) reserved (RFC 2784 calls bits 1-12 Reserved0); Ver (0x0007) must be 0 (version 1 is PPTP's enhanced GRE, RFC 2637).
 *
 * Receive rules:
 * - RFC 2784 §2.5: discard if any of bits 1-5 is set, unless implementing RFC 1701. We implement bits 2 and
 *   3 (K and S, as RFC 2890 redefines them), so R, s and the first recursion bit are errors (GreError.Routing);
 *   bits 6-12 are ignored on receipt.
 * - RFC 2784 §2.3: Ver must be 0 (GreError.BadVersion).
 * - RFC 2784 §2.5: if C is set, the checksum covers the GRE header and payload; it is verified here
 *   (GreError.BadChecksum). Reserved1 is ignored on receipt.
 * - RFC 2890 §2.2: the sequence number is skipped; a point-to-point link that reorders nothing has no use for
 *   it, and RFC 2890 lets a receiver that does not reorder accept packets in any order.
 * - Protocol type must be 0x86DD (GreError.NotIpv6): links carry IPv6 only.
 *
 * We transmit only K (or no flags) and protocol 0x86DD: the UDP checksum already covers the payload.
 *
 * Hot path: writeGreHeader and parseGre allocate nothing and never throw for bad packets.
 */
import { createHash } from 'node:crypto';
import { InvalidInputError } from '../../common/errors.js';
import { PORTS } from '../../common/ports.js';
import { finishChecksum, sumBytes } from '../../dataplane/wire/checksum.js';

/** IANA-assigned GRE-in-UDP port (RFC 8086 §3.2). */
export const GRE_PORT = PORTS.greInUdp;
export const GRE_BASE_HEADER_LEN = 4;
/** Base header + Key: what writeGreHeader emits with a key. */
export const GRE_KEY_HEADER_LEN = 8;
/** The longest header parseGre accepts: base + checksum + key + sequence. */
export const GRE_MAX_HEADER_LEN = 16;
export const GRE_PROTO_IPV6 = 0x86dd;

export const GreFlag = {
  C: 0x8000,
  R: 0x4000,
  K: 0x2000,
  S: 0x1000,
  STRICT: 0x0800,
  /** Bit 5, the first RFC 1701 recursion-control bit: RFC 2784 §2.5 requires discarding. */
  RECUR5: 0x0400,
  VERSION: 0x0007,
} as const;

/** Field offsets from the start of the GRE header (the optional words depend on the flags). */
export const GreField = {
  FLAGS: 0,
  PROTOCOL: 2,
  OPTIONAL: 4,
} as const;

/** Negative results of parseGre. */
export const GreError = {
  /** Shorter than the header its flags announce. */
  Truncated: -1,
  /** Version bits are not 0. */
  BadVersion: -2,
  /** R, s, or recursion bit 5 set: RFC 1701 source routing, which RFC 2784 receivers discard. */
  Routing: -3,
  /** C set and the checksum over header + payload is wrong. */
  BadChecksum: -4,
  /** Protocol type is not 0x86DD. */
  NotIpv6: -5,
} as const;
export type GreErrorCode = (typeof GreError)[keyof typeof GreError];

const REJECT_BITS = GreFlag.R | GreFlag.STRICT | GreFlag.RECUR5;

/**
 * Write a GRE header for an IPv6 payload at `off`: with a key (K bit, 8 bytes) or without (4 bytes).
 * Returns the header length. `key` is used as an unsigned 32-bit value. The payload must follow at
 * off + the returned length; the caller guarantees the room.
 */
export function writeGreHeader(buf: Uint8Array, off: number, key: number | null): number {
  buf[off] = key === null ? 0 : GreFlag.K >>> 8;
  buf[off + 1] = 0;
  buf[off + 2] = GRE_PROTO_IPV6 >>> 8;
  buf[off + 3] = GRE_PROTO_IPV6 & 0xff;
  if (key === null) return GRE_BASE_HEADER_LEN;
  buf[off + 4] = (key >>> 24) & 0xff;
  buf[off + 5] = (key >>> 16) & 0xff;
  buf[off + 6] = (key >>> 8) & 0xff;
  buf[off + 7] = key & 0xff;
  return GRE_KEY_HEADER_LEN;
}

/** Header length implied by the flags word: 4 plus 4 for each of C, K, S. */
function headerLen(flags: number): number {
  return (
    GRE_BASE_HEADER_LEN +
    (flags & GreFlag.C ? 4 : 0) +
    (flags & GreFlag.K ? 4 : 0) +
    (flags & GreFlag.S ? 4 : 0)
  );
}

/**
 * Check a GRE packet of `len` bytes at `off` (header + payload, e.g. the whole UDP payload). Returns the
 * header length (4..16; the IPv6 packet starts there) or a negative GreError code.
 */
export function parseGre(buf: Uint8Array, off: number, len: number): number {
  if (off < 0 || len < GRE_BASE_HEADER_LEN || off + len > buf.length) return GreError.Truncated;
  const flags = (buf[off]! << 8) | buf[off + 1]!;
  if ((flags & GreFlag.VERSION) !== 0) return GreError.BadVersion;
  if ((flags & REJECT_BITS) !== 0) return GreError.Routing;
  const hlen = headerLen(flags);
  if (len < hlen) return GreError.Truncated;
  if (greProtocol(buf, off) !== GRE_PROTO_IPV6) return GreError.NotIpv6;
  // The stored checksum is part of the sum, so a correct packet sums to 0xffff and finishes to 0.
  if ((flags & GreFlag.C) !== 0 && finishChecksum(sumBytes(buf, off, len)) !== 0) return GreError.BadChecksum;
  return hlen;
}

/** The protocol type (EtherType of the payload). Unchecked: needs off + 4 <= buf.length. */
export function greProtocol(buf: Uint8Array, off: number): number {
  return (buf[off + 2]! << 8) | buf[off + 3]!;
}

function readU32(buf: Uint8Array, at: number): number {
  return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
}

/**
 * The key as an unsigned 32-bit number, or -1 when the K bit is clear. Unchecked: call after parseGre
 * accepted the packet, or on bytes long enough for the header the flags announce.
 */
export function greKey(buf: Uint8Array, off: number): number {
  const flags = buf[off]!;
  if ((flags & (GreFlag.K >>> 8)) === 0) return -1;
  return readU32(buf, off + GreField.OPTIONAL + (flags & (GreFlag.C >>> 8) ? 4 : 0));
}

/** The sequence number (RFC 2890), or -1 when the S bit is clear. Unchecked, like greKey. */
export function greSequence(buf: Uint8Array, off: number): number {
  const flags = buf[off]!;
  if ((flags & (GreFlag.S >>> 8)) === 0) return -1;
  const at =
    off + GreField.OPTIONAL + (flags & (GreFlag.C >>> 8) ? 4 : 0) + (flags & (GreFlag.K >>> 8) ? 4 : 0);
  return readU32(buf, at);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The 16 bytes of a UUID in its canonical 8-4-4-4-12 text form (any case). */
function uuidBytes(uuid: string): Buffer {
  if (!UUID_RE.test(uuid)) throw new InvalidInputError(`invalid UUID: ${JSON.stringify(uuid)}`);
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

/** Domain separation for deriveGreKey; bump the version if the derivation ever changes. */
export const GRE_KEY_LABEL = 'moltnet-gre-key-v1';

/**
 * The GRE key of the link between two agents, "derived from both agents' UUIDs" (spec), the same on both
 * ends whichever calls it:
 *
 *   lo, hi = the two UUIDs as 16-byte big-endian values (RFC 9562 byte order: the hex digits in order,
 *            hyphens removed), sorted by unsigned byte-wise comparison
 *   key    = first 4 bytes, big-endian, of SHA-256( ASCII "moltnet-gre-key-v1" || lo || hi )
 *
 * an unsigned 32-bit number (0 is possible and valid). Letter case does not matter, since the bytes are
 * compared, not the text. Example:
 *   deriveGreKey("daa46e88-46c5-4af7-9268-1482c54c1922", "88833763-60b7-47db-8703-349c6b2c70ff")
 *     = 0xaa139c44 = 2853411908
 * Throws InvalidInputError for anything but a canonical UUID (control path, not per packet).
 */
export function deriveGreKey(uuidA: string, uuidB: string): number {
  const a = uuidBytes(uuidA);
  const b = uuidBytes(uuidB);
  const [lo, hi] = Buffer.compare(a, b) <= 0 ? [a, b] : [b, a];
  const digest = createHash('sha256').update(GRE_KEY_LABEL, 'ascii').update(lo).update(hi).digest();
  return digest.readUInt32BE(0);
}
