import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PuntQueue } from '../../src/dataplane/punt.js';
import { C, createCounters } from '../../src/dataplane/counters.js';
import { TokenBuckets } from '../../src/dataplane/ratelimit.js';

/** An IPv6 header with next header 89 (OSPF) at offset `off` of a slab. */
function ospfPacket(slab: Buffer, off: number): number {
  slab.fill(0, off, off + 60);
  slab[off] = 0x60;
  slab[off + 6] = 89;
  return 60;
}

test('a link flooding OSPF spends its own budget: another link\'s OSPF still gets through', () => {
  const counters = createCounters();
  const q = new PuntQueue(counters.node);
  const slab = Buffer.alloc(128);
  const len = ospfPacket(slab, 0);
  let fromOther = 0;
  // 10 s at 100k packets/s from link 0, one Hello every 100 ms from link 1; a step every ms.
  for (let ms = 0; ms < 10_000; ms++) {
    for (let i = 0; i < 100; i++) q.offer(0, slab, 0, len, ms);
    if (ms % 100 === 0) q.offer(1, slab, 0, len, ms);
    const b = q.take(slab);
    for (let i = 0; i < b.count; i++) if (b.linkIds[i] === 1) fromOther++;
  }
  assert.equal(fromOther, 100, 'every packet of the quiet link was handed up');
  // Through: the link's burst (1,500) and 10 s at its rate (1,000/s); the rest of the million is dropped.
  assert.ok(counters.node[C.drop_punt_overflow]! > 985_000, String(counters.node[C.drop_punt_overflow]));
  assert.equal(counters.node[C.punt_policed_ospf], counters.node[C.drop_punt_overflow]);
});

test('a re-assigned link id starts with a full bucket', () => {
  const counters = createCounters();
  const q = new PuntQueue(counters.node, { linkRates: { ospf: { rate: 1, burst: 5 } } });
  const slab = Buffer.alloc(128);
  const len = ospfPacket(slab, 0);
  for (let i = 0; i < 10; i++) q.offer(7000, slab, 0, len, 0);
  assert.equal(q.take(slab).count, 5);
  q.resetLink(7000);
  for (let i = 0; i < 10; i++) q.offer(7000, slab, 0, len, 0);
  assert.equal(q.take(slab).count, 5);
});

test('TokenBuckets: a bucket per id, full at first sight and after reset, refilled at the rate; far ids grow it', () => {
  const b = new TokenBuckets(10, 2);
  assert.deepEqual([b.take(0, 0), b.take(0, 0), b.take(0, 0)], [true, true, false]);
  assert.equal(b.take(60_000, 0), true, 'an id far past the initial size');
  assert.equal(b.take(0, 0), false, 'growing kept id 0 spent');
  assert.equal(b.take(0, 100), true, '100 ms at 10/s is one token');
  assert.equal(b.take(0, 100), false);
  b.reset(0);
  assert.equal(b.take(0, 100), true);
});
