/**
 * The OSPFv3 Authentication Trailer (RFC 7166) with HMAC-SHA (HMAC-SHA-256 by default), through
 * node:crypto.
 *
 * A packet that carries it has the AT bit (OspfOption.AT) in the Options of its Hellos and DDs, checksum 0
 * (RFC 7166 §4.2: not computed, not verified), and after its Packet Length bytes (and an LLS block, if the
 * L bit is set in a Hello or DD) the trailer below. Packet Length does not count the trailer. The digest
 * (§4.5) is HMAC(Ko, packet || LLS block || trailer's first 16 bytes || Apad), where Apad is the IPv6
 * source address followed by 0x878FE1F3 repeated up to the digest length L, and Ko is K || Cryptographic
 * Protocol ID (1 for OSPFv3, two bytes big-endian), hashed when longer than L.
 *
 * Checked against captures (test/fixtures/ospf-packets.ts): BIRD 2.0.12 computes exactly this. FRR 8.4.4
 * ospf6d appends the protocol ID little-endian (01 00), so its digests only verify with
 * `protocolIdLittleEndian: true` in the key, and BIRD and FRR 8.4 do not authenticate each other.
 *
 * Replay protection is the caller's: the trailer's 64-bit sequence number comes back from
 * verifyAuthTrailer, and it must not decrease per neighbor and packet type (RFC 7166 §4.6). Senders keep
 * it increasing across restarts (e.g. boot count in the high half, as FRR does).
 */
import { get16, put16 } from '../../../common/bytes.js';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { ParseResult } from '../../../dataplane/wire/ipv6.js';
import { OSPF_HEADER_LEN, ospfPacketLength, ospfPacketOptions } from './packet.js';
import { OspfOption, type AuthTrailerRepr } from './types.js';

/*
 * RFC 7166 §3, the trailer:
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Authentication Type       |         Auth Data Len         |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |            Reserved           |    Security Association ID    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Cryptographic Sequence Number (High-Order 32 Bits)        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Cryptographic Sequence Number (Low-Order 32 Bits)         |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                                                               |
 *   ~                 Authentication Data (Variable)                ~
 *   |                                                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Auth Data Len counts the whole trailer: 16 + the digest length.
 *
 * RFC 5613 §2.2, the LLS block that may sit between the packet and the trailer:
 *   |            Checksum           |       LLS Data Length         |   (length in 32-bit words, all of it)
 */
export const AT_TYPE = 0;
export const AT_LENGTH = 2;
export const AT_RESERVED = 4;
export const AT_SA_ID = 6;
export const AT_SEQUENCE = 8;
export const AT_DATA = 16;
export const AUTH_TRAILER_HEADER_LEN = 16;
export const LLS_LENGTH = 2;

/** Authentication Type 1: HMAC Cryptographic Authentication. */
export const AUTH_TYPE_HMAC = 1;
/** IANA "Authentication Cryptographic Protocol ID" of OSPFv3 (RFC 7166 §4.5). */
export const OSPFV3_CRYPTO_PROTOCOL_ID = 1;
/** The Apad fill word (RFC 7166 §4.5, from RFC 5709). */
export const APAD_WORD = 0x878fe1f3;

export type AuthAlgorithm = 'sha1' | 'sha256' | 'sha384' | 'sha512';

/** Digest length L of each algorithm. */
export function authDigestLength(algorithm: AuthAlgorithm): number {
  switch (algorithm) {
    case 'sha1':
      return 20;
    case 'sha256':
      return 32;
    case 'sha384':
      return 48;
    case 'sha512':
      return 64;
  }
}

/** A configured security association. */
export interface AuthKey {
  /** Security Association ID (16 bits): BIRD's password `id`, FRR's `key-id`. */
  id: number;
  /** The key K. */
  secret: Uint8Array;
  /** Default 'sha256'. */
  algorithm?: AuthAlgorithm;
  /**
   * Append the protocol ID as 01 00 instead of 00 01: what FRR 8.4 ospf6d does (seen in its captures);
   * only for interoperating with it. RFC 7166 and BIRD use 00 01.
   */
  protocolIdLittleEndian?: boolean;
}

/** Bytes of the trailer for `key`: 16 + L. */
export function authTrailerLength(key: AuthKey): number {
  return AUTH_TRAILER_HEADER_LEN + authDigestLength(key.algorithm ?? 'sha256');
}

/**
 * Where the trailer of the OSPF packet at `off` starts: after Packet Length bytes and, for a Hello or DD
 * with the L bit, after the LLS block. -1 when the packet (or its LLS block header) does not fit in
 * [off, off+len). The caller has run checkOspfPacket.
 */
export function authTrailerOffset(buf: Uint8Array, off: number, len: number): number {
  if (off < 0 || len < OSPF_HEADER_LEN || off + len > buf.length) return -1;
  let at = off + ospfPacketLength(buf, off);
  const end = off + len;
  if (at > end) return -1;
  const options = ospfPacketOptions(buf, off);
  if (options !== undefined && (options & OspfOption.L) !== 0) {
    if (at + 4 > end) return -1;
    const lls = get16(buf, at + LLS_LENGTH) * 4;
    if (lls < 4) return -1;
    at += lls;
    if (at > end) return -1;
  }
  return at;
}

/** Reads the trailer at `at` (bounds checked by the caller). */
function readTrailer(buf: Uint8Array, at: number, authLength: number): AuthTrailerRepr {
  const hi = BigInt(((buf[at + AT_SEQUENCE]! << 24) | (buf[at + 9]! << 16) | (buf[at + 10]! << 8) | buf[at + 11]!) >>> 0);
  const lo = BigInt(((buf[at + 12]! << 24) | (buf[at + 13]! << 16) | (buf[at + 14]! << 8) | buf[at + 15]!) >>> 0);
  return {
    authType: get16(buf, at + AT_TYPE),
    authLength,
    saId: get16(buf, at + AT_SA_ID),
    sequence: (hi << 32n) | lo,
    digest: Buffer.from(buf.subarray(at + AT_DATA, at + authLength)),
  };
}

/**
 * The trailer of the OSPF packet at [off, off+len) (len: the IPv6 payload from the OSPF header on),
 * structurally checked (type 1, Auth Data Len >= 16 and within the payload); the digest is not verified.
 */
export function parseAuthTrailer(buf: Uint8Array, off: number, len: number): ParseResult<AuthTrailerRepr> {
  const at = authTrailerOffset(buf, off, len);
  if (at < 0) return { ok: false, error: 'OSPF packet or LLS block runs past the payload' };
  const end = off + len;
  if (at + AUTH_TRAILER_HEADER_LEN > end) return { ok: false, error: 'no authentication trailer' };
  const type = get16(buf, at + AT_TYPE);
  if (type !== AUTH_TYPE_HMAC) return { ok: false, error: `authentication type ${type} is not HMAC (1)` };
  const authLength = get16(buf, at + AT_LENGTH);
  if (authLength < AUTH_TRAILER_HEADER_LEN || at + authLength > end) return { ok: false, error: 'authentication trailer length is wrong' };
  return { ok: true, repr: readTrailer(buf, at, authLength) };
}

/** Ko of RFC 7166 §4.5: K || protocol ID, hashed when longer than L. */
function derivedKey(key: AuthKey): Buffer {
  const algorithm = key.algorithm ?? 'sha256';
  const ks = Buffer.alloc(key.secret.length + 2);
  ks.set(key.secret, 0);
  if (key.protocolIdLittleEndian) {
    ks[key.secret.length] = OSPFV3_CRYPTO_PROTOCOL_ID & 0xff;
    ks[key.secret.length + 1] = OSPFV3_CRYPTO_PROTOCOL_ID >>> 8;
  } else {
    put16(ks, key.secret.length, OSPFV3_CRYPTO_PROTOCOL_ID);
  }
  return ks.length > authDigestLength(algorithm) ? createHash(algorithm).update(ks).digest() : ks;
}

/** Apad: the 16-byte source address, then 0x878FE1F3 repeated, L bytes in all. */
function apad(src: Uint8Array, length: number): Buffer {
  const a = Buffer.alloc(length);
  for (let i = 0; i < length; i += 4) a.writeUInt32BE(APAD_WORD, i);
  a.set(src.subarray(0, Math.min(16, length)), 0);
  return a;
}

/**
 * The digest for the packet at `off` whose trailer starts at `trailerOff`: HMAC over
 * buf[off, trailerOff + 16) followed by Apad from `src` (the packet's IPv6 source address).
 */
export function computeAuthDigest(key: AuthKey, src: Uint8Array, buf: Uint8Array, off: number, trailerOff: number): Buffer {
  const algorithm = key.algorithm ?? 'sha256';
  return createHmac(algorithm, derivedKey(key))
    .update(buf.subarray(off, trailerOff + AUTH_TRAILER_HEADER_LEN))
    .update(apad(src, authDigestLength(algorithm)))
    .digest();
}

/**
 * Verifies the trailer of the OSPF packet at [off, off+len) sent from `src` (16 bytes), against the key
 * whose id is the trailer's SA ID. On success returns the trailer (sequence number for the replay check).
 * Does not modify `buf`.
 */
export function verifyAuthTrailer(
  buf: Uint8Array,
  off: number,
  len: number,
  src: Uint8Array,
  keys: AuthKey | readonly AuthKey[],
): ParseResult<AuthTrailerRepr> {
  const parsed = parseAuthTrailer(buf, off, len);
  if (!parsed.ok) return parsed;
  const t = parsed.repr;
  const key = (Array.isArray(keys) ? (keys as readonly AuthKey[]) : [keys as AuthKey]).find((k) => k.id === t.saId);
  if (key === undefined) return { ok: false, error: `no key for SA ID ${t.saId}` };
  if (t.authLength !== authTrailerLength(key)) return { ok: false, error: 'authentication trailer length does not match the key\'s algorithm' };
  if (src.length < 16) return { ok: false, error: 'source address must be 16 bytes' };
  const at = authTrailerOffset(buf, off, len);
  const digest = computeAuthDigest(key, src, buf, off, at);
  if (!timingSafeEqual(digest, t.digest)) return { ok: false, error: 'authentication digest mismatch' };
  return { ok: true, repr: t };
}

/**
 * Appends the trailer to the OSPF packet at `off` (emitted with checksum 0 and, for a Hello or DD, the AT
 * bit in its options): type 1, length, SA ID of `key`, `sequence` (64 bits), and the digest over the
 * packet (and LLS block) from `src`. `len` is the room from `off` on. Returns the bytes from `off` to
 * the end of the trailer, or -1 when they do not fit.
 */
export function emitAuthTrailer(buf: Uint8Array, off: number, len: number, src: Uint8Array, key: AuthKey, sequence: bigint): number {
  const at = authTrailerOffset(buf, off, len);
  const total = authTrailerLength(key);
  if (at < 0 || at + total > off + len || src.length < 16) return -1;
  put16(buf, at + AT_TYPE, AUTH_TYPE_HMAC);
  put16(buf, at + AT_LENGTH, total);
  put16(buf, at + AT_RESERVED, 0);
  put16(buf, at + AT_SA_ID, key.id);
  const seq = BigInt.asUintN(64, sequence);
  const hi = Number(seq >> 32n);
  const lo = Number(seq & 0xffffffffn);
  for (let i = 0; i < 4; i++) {
    buf[at + AT_SEQUENCE + i] = (hi >>> (24 - 8 * i)) & 0xff;
    buf[at + AT_SEQUENCE + 4 + i] = (lo >>> (24 - 8 * i)) & 0xff;
  }
  const digest = computeAuthDigest(key, src, buf, off, at);
  buf.set(digest, at + AT_DATA);
  return at + total - off;
}
