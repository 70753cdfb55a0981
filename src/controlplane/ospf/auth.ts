/**
 * RFC 7166 authentication trailer glue: until wire/auth-trailer.ts lands, packets on interfaces with a
 * key cannot be sent or verified (they are refused and counted, never sent unauthenticated).
 */
import type { OspfPacketRepr } from './wire/types.js';
import type { TxAuth } from './codec.js';

export function encodeWithTrailer(_p: OspfPacketRepr, _len: number, _src: Buffer, _dst: Buffer, _auth: TxAuth): Buffer {
  throw new Error('OSPF authentication trailer codec not available');
}

export function verifyAuth(_packet: Buffer, _src: Buffer, _keyId: number, _key: Buffer): { ok: boolean; sequence: bigint; error?: string } {
  return { ok: false, sequence: 0n, error: 'OSPF authentication trailer codec not available' };
}
