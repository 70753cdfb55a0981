/**
 * The default router ID (router-id.ts): fixed values for the spec's UUIDs, no zero or all-ones, and
 * distinct IDs for UUIDs assigned in patterns, where the old rule (the last 32 bits of the mesh address)
 * gave one ID to all of them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ROUTER_ID_TAG, deriveRouterId, uuidBytes } from '../../src/controlplane/ospf/router-id.js';
import { formatRouterId } from '../../src/controlplane/ospf/wire/types.js';
import { meshAddressBytes } from '../../src/common/address.js';
import { InvalidInputError } from '../../src/common/errors.js';
import { routerIdFor } from '../../src/controlplane/ospf/service.js';

/** The spec's three agents (test/unit/address.test.ts has the same UUIDs). */
const SPEC = [
  { uuid: 'daa46e88-46c5-4af7-9268-1482c54c1922', id: '193.242.3.195', gen1: 601433439 },
  { uuid: '88833763-60b7-47db-8703-349c6b2c70ff', id: '38.126.209.122', gen1: 2276608377 },
  { uuid: 'f8a9ce03-f512-4311-8792-519109168903', id: '160.102.232.162', gen1: 3021562245 },
];

/** The old default: the last 32 bits of the mesh address. */
function oldRule(uuid: string): number {
  return meshAddressBytes(uuid).readUInt32BE(12);
}

const WIDTHS = [8, 4, 4, 4, 12];
const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

/** A UUID from the first spec UUID with group `g` replaced. */
function withGroup(g: number, value: string): string {
  const parts = SPEC[0]!.uuid.split('-');
  parts[g] = value;
  return parts.join('-');
}

function assertDistinct(uuids: string[], label: string): void {
  const seen = new Map<number, string>();
  for (const u of uuids) {
    const id = deriveRouterId(u);
    assert.ok(id !== 0 && id !== 0xffffffff, `${label}: ${u} -> ${id}`);
    const other = seen.get(id);
    assert.equal(other, undefined, `${label}: ${u} and ${other} share router ID ${formatRouterId(id)}`);
    seen.set(id, u);
  }
  assert.equal(seen.size, uuids.length);
}

test('the spec UUIDs give fixed router IDs (generation 0 and 1)', () => {
  for (const v of SPEC) {
    assert.equal(formatRouterId(deriveRouterId(v.uuid)), v.id, v.uuid);
    assert.equal(deriveRouterId(v.uuid, 0), deriveRouterId(v.uuid));
    assert.equal(deriveRouterId(v.uuid, 1), v.gen1, `${v.uuid} generation 1`);
    // Any spelling of the same UUID is the same UUID.
    assert.equal(deriveRouterId(v.uuid.toUpperCase().replace(/-/g, '')), deriveRouterId(v.uuid));
  }
});

test('the derivation is the documented one: SHA-256(tag || 16 UUID bytes || generation as uint32 BE)', () => {
  for (const v of SPEC) {
    for (const gen of [0, 1, 7]) {
      const g = Buffer.alloc(4);
      g.writeUInt32BE(gen);
      const d = createHash('sha256').update(Buffer.concat([Buffer.from(ROUTER_ID_TAG), uuidBytes(v.uuid), g])).digest();
      assert.equal(deriveRouterId(v.uuid, gen), d.readUInt32BE(0), `${v.uuid} generation ${gen}`);
    }
  }
});

test('the daemon default (routerIdFor) is deriveRouterId of the whole UUID', () => {
  for (const v of SPEC) assert.equal(routerIdFor(v.uuid), deriveRouterId(v.uuid));
});

test('different generations give different router IDs', () => {
  for (const v of SPEC) {
    const ids = new Set<number>();
    for (let gen = 0; gen < 1000; gen++) ids.add(deriveRouterId(v.uuid, gen));
    assert.equal(ids.size, 1000, v.uuid);
  }
});

test('bad input: not a UUID, bad generation', () => {
  assert.throws(() => deriveRouterId('fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268'), InvalidInputError);
  assert.throws(() => deriveRouterId('daa46e88-46c5-4af7-9268'), InvalidInputError);
  for (const gen of [-1, 1.5, 2 ** 32, Number.NaN]) assert.throws(() => deriveRouterId(SPEC[0]!.uuid, gen), InvalidInputError, String(gen));
});

// A 32-bit hash cannot promise distinct IDs: 10,000 random IDs share one with probability ~1.2%. These
// inputs are fixed, so the checks below are exact statements about these UUIDs (all distinct); what makes
// them meaningful is the contrast with the old rule, and duplicate detection covers the rest.

test('UUIDs differing only in the first group: 10,000 distinct IDs (the old rule gave them one)', () => {
  // Counter-like and scattered values both.
  const seq = Array.from({ length: 10_000 }, (_, i) => withGroup(0, hex(0xa0000000 + i, 8)));
  const scattered = Array.from({ length: 10_000 }, (_, i) => withGroup(0, hex(Math.imul(i + 1, 0x9e3779b1) >>> 0, 8)));
  assertDistinct(seq, 'first group, sequential');
  assertDistinct(scattered, 'first group, scattered');
  assert.equal(new Set(seq.map(oldRule)).size, 1, 'the old rule: one router ID for all');
  assert.equal(new Set(scattered.map(oldRule)).size, 1);
});

test('UUIDs differing only in the last group: 10,000 distinct IDs (the old rule gave them one)', () => {
  const seq = Array.from({ length: 10_000 }, (_, i) => withGroup(4, hex(i, 12)));
  const scattered = Array.from({ length: 10_000 }, (_, i) => withGroup(4, hex(Math.imul(i + 1, 0x85ebca6b) >>> 0, 8) + hex(i & 0xffff, 4)));
  assertDistinct(seq, 'last group, sequential');
  assertDistinct(scattered, 'last group, scattered');
  assert.equal(new Set(seq.map(oldRule)).size, 1, 'the old rule: one router ID for all');
});

test('sequential counters in any group: 10,000 distinct IDs each', () => {
  for (let g = 0; g < 5; g++) {
    const uuids = Array.from({ length: 10_000 }, (_, i) => withGroup(g, hex(i, WIDTHS[g]!)));
    assertDistinct(uuids, `counter in group ${g + 1}`);
  }
  // The old rule saw only UUID groups 3 and 4 (hex digits 12-19): counters in groups 1, 2 and 5 collided.
  for (const g of [0, 1, 4]) {
    const uuids = Array.from({ length: 100 }, (_, i) => withGroup(g, hex(i, WIDTHS[g]!)));
    assert.equal(new Set(uuids.map(oldRule)).size, 1, `old rule, counter in group ${g + 1}`);
  }
});
