/**
 * The one place the protocol core calls the wire codecs (wire/packet.ts, wire/lsa.ts, wire/auth-trailer.ts):
 * small adapters so the rest of the instance works on reprs only.
 */
import {
  MAX_AGE,
  type LsaHeader,
  type LsaHeaderFields,
  type Lsa,
  type LsaBody,
  type OspfPacket,
  type OspfPacketRepr,
  type ParseResult,
} from './wire/types.js';
import { buildLsa as wireBuildLsa, compareLsaInstances } from './wire/lsa.js';
import { computeOspfChecksum, emitOspfPacket, ospfPacketBufferLen, parseOspfPacket } from './wire/packet.js';
import { encodeWithTrailer, verifyAuth, type TxAuth } from './auth.js';

export { verifyAuth, type TxAuth };

/** RFC 2328 §13.1: > 0 when `a` is the newer instance, < 0 when `b` is, 0 when they are the same instance. */
export function compareLsa(a: LsaHeader, b: LsaHeader): number {
  return compareLsaInstances(a, b);
}

/** A copy of the LSA's bytes with the age field set (the age is outside the Fletcher checksum). */
export function lsaBytesWithAge(lsa: Lsa, age: number): Buffer {
  const out = Buffer.from(lsa.raw.subarray(0, lsa.header.length));
  out.writeUInt16BE(Math.min(age, MAX_AGE), 0);
  return out;
}

/** The LSA with a different age: a new header and a new raw buffer (the body is shared). */
export function lsaWithAge(lsa: Lsa, age: number): Lsa {
  return { header: { ...lsa.header, age }, body: lsa.body, raw: lsaBytesWithAge(lsa, age) };
}

export type OutgoingPacket = OspfPacketRepr;

/** Encode an LSA we originate: fills length and the Fletcher checksum. */
export function buildLsa(h: LsaHeaderFields, body: LsaBody): Lsa {
  const lsa = wireBuildLsa(h, body);
  if (!lsa) throw new Error(`LSA ${h.type.toString(16)}/${h.linkStateId} would exceed 65535 bytes`);
  return lsa;
}

/** Encode a whole packet, with the pseudo-header checksum (or, with auth, checksum 0 and the trailer). */
export function encodePacket(p: OutgoingPacket, src: Buffer, dst: Buffer, auth: TxAuth | undefined): Buffer {
  const len = ospfPacketBufferLen(p);
  if (!auth) {
    const buf = Buffer.alloc(len);
    emitOspfPacket(p, buf, 0, src, dst);
    return buf;
  }
  return encodeWithTrailer(p, len, src, dst, auth);
}

export interface DecodeOptions {
  /** Verify the pseudo-header checksum (false when an authentication trailer protects the packet). */
  checksum: boolean;
}

/**
 * Decode a received packet (from the OSPF header to the end of the IPv6 payload; bytes past Packet Length
 * are a trailer or LLS block). The checksum is over Packet Length bytes with the pseudo-header of src/dst.
 */
export function decodePacket(packet: Buffer, src: Buffer, dst: Buffer, opts: DecodeOptions): ParseResult<OspfPacket> {
  const r = parseOspfPacket(packet, -1, 0, packet.length, false);
  if (!r.ok) return r;
  if (opts.checksum && computeOspfChecksum(packet, 0, r.repr.header.packetLength, src, dst) !== 0) {
    return { ok: false, error: 'OSPF checksum mismatch' };
  }
  return r;
}
