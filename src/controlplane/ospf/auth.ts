/**
 * RFC 7166 authentication trailer glue over wire/auth-trailer.ts: HMAC-SHA-256 with the interface's key
 * (SA ID = keyId). Sent packets carry checksum 0 and the trailer; received ones are verified here, and
 * the caller (rxtx.ts) checks that the sequence number does not go backwards.
 */
import type { OspfPacketRepr } from './wire/types.js';
import { emitOspfPacket } from './wire/packet.js';
import { authTrailerLength, emitAuthTrailer, verifyAuthTrailer, type AuthKey } from './wire/auth-trailer.js';

/** What a sent packet is authenticated with: the interface's key and the next sequence number. */
export interface TxAuth {
  keyId: number;
  key: Buffer;
  protocolIdLittleEndian?: boolean;
  sequence: bigint;
}

function authKey(keyId: number, key: Buffer, le = false): AuthKey {
  return { id: keyId, secret: key, algorithm: 'sha256', ...(le ? { protocolIdLittleEndian: true } : {}) };
}

export function encodeWithTrailer(p: OspfPacketRepr, len: number, src: Buffer, dst: Buffer, auth: TxAuth): Buffer {
  const key = authKey(auth.keyId, auth.key, auth.protocolIdLittleEndian);
  const buf = Buffer.alloc(len + authTrailerLength(key));
  emitOspfPacket(p, buf, 0, src, dst, { checksum: false });
  const n = emitAuthTrailer(buf, 0, buf.length, src, key, auth.sequence);
  if (n < 0) throw new Error('authentication trailer does not fit');
  return buf.subarray(0, n);
}

export function verifyAuth(
  packet: Buffer,
  src: Buffer,
  auth: { keyId: number; key: Buffer; protocolIdLittleEndian?: boolean },
): { ok: boolean; sequence: bigint; error?: string } {
  const r = verifyAuthTrailer(packet, 0, packet.length, src, authKey(auth.keyId, auth.key, auth.protocolIdLittleEndian));
  return r.ok ? { ok: true, sequence: r.repr.sequence } : { ok: false, sequence: 0n, error: r.error };
}
