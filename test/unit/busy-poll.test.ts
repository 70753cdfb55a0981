import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BusyPoll, DENSE_MS } from '../../src/daemon/busy-poll.js';

test('busy poll: only between steps with packets under 1 ms apart', () => {
  const b = new BusyPoll(200);
  assert.equal(b.after(5, 1000), 0, 'the first packets after idle: sleep (nothing says more are coming)');
  assert.equal(b.after(64, 1000.3), 200, '0.3 ms later: a dense stream');
  assert.equal(b.after(0, 1000.4), 0, 'a step with nothing: no spin');
  assert.equal(b.after(1, 1000.9), 200, 'still under 1 ms since the last packets');
  assert.equal(b.after(1, 1000.9 + DENSE_MS), 0, '1 ms apart: not dense');
});

test('busy poll: BFD every 100 ms or a ping every 10 ms never spins', () => {
  const b = new BusyPoll(200);
  for (let t = 0; t < 10_000; t += 10) assert.equal(b.after(1, t), 0);
  for (let t = 20_000; t < 30_000; t += 100) assert.equal(b.after(2, t), 0);
});

test('busy poll: 0 turns it off; a bad value is a RangeError', () => {
  const b = new BusyPoll(0);
  assert.equal(b.after(64, 1), 0);
  assert.equal(b.after(64, 1.01), 0);
  assert.throws(() => new BusyPoll(-1), RangeError);
  assert.throws(() => new BusyPoll(1.5), /non-negative integer, got 1.5/);
});
