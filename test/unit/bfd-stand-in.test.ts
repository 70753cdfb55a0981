/**
 * BFD's stand-in on the forwarding thread (src/dataplane/bfd-stand-in.ts), with an injected clock: it is
 * silent while the main thread keeps its interval, speaks once per interval after 1.5 silent intervals,
 * steps back the moment the main thread sends again, and gives up after STAND_IN_MAX_MS.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BfdStandIn, STAND_IN_AFTER, STAND_IN_MAX_MS } from '../../src/dataplane/bfd-stand-in.js';

const T = Uint8Array.of(1, 2, 3);

/** Run the stand-in the way the worker does: at each deadline it returns, or every `tick` ms. */
function drive(s: BfdStandIn, from: number, to: number, onMainSend: (now: number) => boolean, tick = 1): number[] {
  const sent: number[] = [];
  for (let now = from; now <= to; now += tick) {
    if (onMainSend(now)) s.mainSent(7, now);
    s.run(now, (linkId, p) => {
      assert.equal(linkId, 7);
      assert.equal(p, T);
      sent.push(now);
    });
  }
  return sent;
}

test('a main thread that keeps its 100 ms interval: the stand-in never sends', () => {
  const s = new BfdStandIn();
  s.set(7, T, 100, 0);
  // The main thread's own jitter: every 75..100 ms.
  let next = 0;
  const sent = drive(s, 0, 10_000, (now) => {
    if (now < next) return false;
    next = now + 75 + ((now * 7) % 26);
    return true;
  });
  assert.deepEqual(sent, []);
  assert.equal(s.sent, 0);
});

test('a main thread held for 2 s: the stand-in starts after 1.5 intervals, sends every interval, and stops when it is back', () => {
  const s = new BfdStandIn();
  s.set(7, T, 100, 0);
  const heldFrom = 1000;
  const heldTo = 3000;
  const sent = drive(s, 0, 5000, (now) => (now < heldFrom || now >= heldTo) && now % 100 === 0);
  const lastMain = heldFrom - 100;
  assert.equal(sent[0], lastMain + STAND_IN_AFTER * 100);
  for (let i = 1; i < sent.length; i++) assert.equal(sent[i]! - sent[i - 1]!, 100, `gap before stand-in packet ${i}`);
  assert.ok(sent.at(-1)! < heldTo, 'none once the main thread sends again');
  // The peer never went more than 1.5 intervals without a packet (its detection time is 3).
  assert.equal(sent.length, Math.floor((heldTo - 1 - sent[0]!) / 100) + 1);
  assert.equal(s.sent, sent.length);
});

test('a main thread silent for good: the stand-in gives up after STAND_IN_MAX_MS, for the peer to see the failure', () => {
  const s = new BfdStandIn();
  s.set(7, T, 100, 0);
  const sent = drive(s, 0, 3 * STAND_IN_MAX_MS, () => false);
  assert.ok(sent.length > 0);
  assert.ok(sent.at(-1)! < STAND_IN_MAX_MS, `last at ${sent.at(-1)}`);
  assert.equal(s.run(3 * STAND_IN_MAX_MS, () => assert.fail('sent after giving up')), Infinity);
});

test('run() says when it is next due; a session no longer Up (null) or a link removed ends it', () => {
  const s = new BfdStandIn();
  s.set(7, T, 100, 0);
  assert.equal(s.run(0, () => assert.fail()), 150);
  s.mainSent(7, 120);
  assert.equal(s.run(150, () => assert.fail()), 270);
  let n = 0;
  assert.equal(s.run(270, () => n++), 370);
  assert.equal(n, 1);
  s.set(7, null, 0, 300);
  assert.equal(s.size, 0);
  assert.equal(s.run(1000, () => assert.fail()), Infinity);
  s.set(7, T, 100, 1000);
  s.remove(7);
  assert.equal(s.run(2000, () => assert.fail()), Infinity);
  // Another link's sends say nothing of this one.
  s.set(7, T, 100, 0);
  s.mainSent(8, 100);
  let m = 0;
  s.run(150, () => m++);
  assert.equal(m, 1);
  assert.throws(() => s.set(9, T, 0, 0), /interval > 0/);
});
