/**
 * The default OSPF router ID of a node: 32 bits of SHA-256 over the whole UUID (DESIGN.md, Timers).
 *
 * Why not bits of the mesh address: the address carries only the first 80 bits of the UUID, and its last 32
 * bits (the old default) are UUID bits 48..79 — the version nibble and 12 bits of time/random in a v4 UUID,
 * or the same value for every UUID assigned in a pattern that varies the first or the last group. Hashing
 * all 128 bits spreads any pattern over the whole 32-bit space; what remains is the birthday bound (a
 * duplicate somewhere in a mesh of 1,000 routers about once in 8,600 meshes, n^2 / 2^33), which duplicate
 * detection (router-id-conflict.ts) resolves by moving one of the two to the next `generation`.
 *
 *   id = first 32-bit big-endian word of SHA-256(TAG || uuid (16 bytes) || generation (uint32 BE))
 *        that is neither 0 (not a valid router ID) nor 0xffffffff (looks like a broadcast/unset value to
 *        people and some tools); the next word if it is, and so on.
 *
 * Pure: the same (uuid, generation) always gives the same ID on every node and every run.
 */
import { createHash } from 'node:crypto';
import { normalizeUuid } from '../../common/address.js';
import { InvalidInputError } from '../../common/errors.js';

/** Domain separation: these hash inputs can never be mistaken for another use of SHA-256 over a UUID. */
export const ROUTER_ID_TAG = 'moltnet/ospf/router-id/v1\0';

/** The 16 bytes of a UUID (8-4-4-4-12 or 32 hex digits, any case); InvalidInputError otherwise. */
export function uuidBytes(uuid: string): Buffer {
  return Buffer.from(normalizeUuid(uuid).replace(/-/g, ''), 'hex');
}

/**
 * The router ID of a node with this UUID. `generation` (a non-negative integer below 2^32) counts how many
 * times the node has moved away from a duplicate: 0 is the default, 1 the first re-derivation, ...
 */
export function deriveRouterId(uuid: string, generation = 0): number {
  if (!Number.isInteger(generation) || generation < 0 || generation > 0xffffffff) {
    throw new InvalidInputError(`router ID generation must be an integer from 0 to 4294967295, got ${generation}`);
  }
  const gen = Buffer.alloc(4);
  gen.writeUInt32BE(generation);
  const digest = createHash('sha256').update(ROUTER_ID_TAG, 'utf8').update(uuidBytes(uuid)).update(gen).digest();
  for (let off = 0; off + 4 <= digest.length; off += 4) {
    const id = digest.readUInt32BE(off);
    if (id !== 0 && id !== 0xffffffff) return id;
  }
  // Eight bad words in one digest: never seen, kept for totality.
  return 1;
}
