/**
 * Flow hash for ECMP over source, destination and flow label (RFC 6437: the 3-tuple identifies a flow),
 * so one flow keeps one path. FNV-1a over the 36 bytes of the IPv6 header at `off`.
 */
import { IP6_DST, IP6_SRC } from '../wire/ipv6.js';

export type FlowHashFn = (buf: Uint8Array, off: number) => number;

export function flowHash(buf: Uint8Array, off: number): number {
  let h = 0x811c9dc5;
  h = Math.imul(h ^ (buf[off + 1]! & 0x0f), 16777619);
  h = Math.imul(h ^ buf[off + 2]!, 16777619);
  h = Math.imul(h ^ buf[off + 3]!, 16777619);
  const end = off + IP6_DST + 16;
  for (let i = off + IP6_SRC; i < end; i++) h = Math.imul(h ^ buf[i]!, 16777619);
  return h >>> 0;
}
