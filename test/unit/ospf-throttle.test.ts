import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SpfThrottle, SPF_THROTTLE_DEFAULTS } from '../../src/controlplane/ospf/spf/throttle.js';
import { InvalidInputError } from '../../src/common/errors.js';
import { ManualClock } from '../../src/common/clock.js';

/**
 * Drives a throttle the way the daemon will: at every millisecond tick, trigger if the schedule says
 * so, then run SPF if it is due. Returns the run times.
 */
function simulate(throttle: SpfThrottle, triggers: number[], until: number): number[] {
  const clock = new ManualClock(0);
  const runs: number[] = [];
  const pending = [...triggers].sort((a, b) => a - b);
  let i = 0;
  while (clock.now() <= until) {
    const now = clock.now();
    while (i < pending.length && pending[i] <= now) {
      throttle.trigger(now);
      i++;
    }
    if (throttle.due(now)) {
      runs.push(now);
      throttle.ran(now);
    }
    clock.advance(1);
  }
  return runs;
}

/** Triggers every `step` ms in [from, to). */
const every = (step: number, from: number, to: number): number[] => {
  const out: number[] = [];
  for (let t = from; t < to; t += step) out.push(t);
  return out;
};

describe('SPF throttle', () => {
  it('defaults: delay 50 ms, initial hold 200 ms, max hold 5000 ms', () => {
    const t = new SpfThrottle();
    assert.deepEqual({ delay: t.delay, initialHold: t.initialHold, maxHold: t.maxHold }, SPF_THROTTLE_DEFAULTS);
    assert.deepEqual(SPF_THROTTLE_DEFAULTS, { delay: 50, initialHold: 200, maxHold: 5000 });
  });

  it('nothing pending: next is null', () => {
    const t = new SpfThrottle();
    assert.equal(t.next(0), null);
    assert.equal(t.due(1000), false);
    assert.equal(t.pending, false);
  });

  it('a single trigger runs after the delay', () => {
    const t = new SpfThrottle();
    t.trigger(1000);
    assert.equal(t.pending, true);
    assert.equal(t.next(1000), 1050);
    assert.equal(t.due(1049), false);
    assert.equal(t.due(1050), true);
    t.ran(1050);
    assert.equal(t.next(1051), null);
    assert.equal(t.currentHold, 200);
  });

  it('triggers while pending coalesce into one run, timed from the first', () => {
    const t = new SpfThrottle();
    t.trigger(0);
    t.trigger(10);
    t.trigger(49);
    assert.equal(t.next(49), 50);
    t.ran(50);
    assert.equal(t.next(60), null);
  });

  it('a steady stream of triggers: the hold doubles up to max hold', () => {
    const runs = simulate(new SpfThrottle(), every(10, 0, 20_000), 20_000);
    assert.deepEqual(runs, [50, 250, 650, 1450, 3050, 6250, 11250, 16250]);
  });

  it('keeps the backoff while triggers come within max hold of a run; resets after a quiet max hold', () => {
    const triggers = [...every(10, 0, 600), 4650, 4700, 6000, 11250, 11270, 16300, 16360];
    const runs = simulate(new SpfThrottle(), triggers, 20_000);
    assert.deepEqual(runs, [50, 250, 650, 4700, 6300, 11300, 16350, 16550]);
    // 50, 250, 650: the burst (holds 200, 400; hold now 800).
    // 4650 is 4000 ms after the last run (< 5000): no reset, but the hold has passed: 4650 + delay;
    //   4700 coalesces into that run. Hold now 1600.
    // 6000: held to 4700 + 1600 = 6300. Hold now 3200.
    // 11250 is 4950 ms after 6300: no reset; 11250 + delay = 11300 (11270 coalesces). Hold now 5000.
    // 16300 is 5000 ms after 11300: quiet long enough, reset: 16350, hold 200; 16360 -> 16550.
  });

  it('the backoff starts over: exact times after a reset', () => {
    const t = new SpfThrottle();
    t.trigger(0);
    t.ran(t.next(0)!); // 50, hold 200
    t.trigger(60);
    assert.equal(t.next(60), 250);
    t.ran(250); // hold 400
    t.trigger(260);
    assert.equal(t.next(260), 650);
    t.ran(650); // hold 800
    // Quiet for exactly max hold: reset.
    t.trigger(5650);
    assert.equal(t.currentHold, 0);
    assert.equal(t.next(5650), 5700);
    t.ran(5700);
    assert.equal(t.currentHold, 200);
    t.trigger(5710);
    assert.equal(t.next(5710), 5900);
  });

  it('a trigger just under max hold after a run keeps the backoff', () => {
    const t = new SpfThrottle({ delay: 0, initialHold: 100, maxHold: 1000 });
    t.trigger(0);
    t.ran(0); // hold 100
    t.trigger(999);
    assert.equal(t.next(999), 999);
    t.ran(999); // hold 200
    t.trigger(1000);
    assert.equal(t.next(1000), 1199);
  });

  it('next never returns a time in the past', () => {
    const t = new SpfThrottle();
    t.trigger(0);
    assert.equal(t.next(500), 500);
  });

  it('a forced run counts as a run', () => {
    const t = new SpfThrottle();
    t.ran(0);
    t.trigger(10);
    assert.equal(t.next(10), 200);
  });

  it('configurable timers', () => {
    const runs = simulate(new SpfThrottle({ delay: 5, initialHold: 10, maxHold: 35 }), every(1, 0, 200), 200);
    // 5, +10 -> 15, +20 -> 35, +35 (capped) -> 70, 105, 140, 175
    assert.deepEqual(runs, [5, 15, 35, 70, 105, 140, 175]);
  });

  it('rejects bad options with a clear error', () => {
    assert.throws(() => new SpfThrottle({ delay: -1 }), InvalidInputError);
    assert.throws(() => new SpfThrottle({ initialHold: Number.NaN }), /initialHold/);
    assert.throws(() => new SpfThrottle({ initialHold: 500, maxHold: 100 }), /maxHold \(100 ms\) must not be less than initialHold/);
  });

  it('invariants on random trigger sequences', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 30_000 }), { maxLength: 80 }),
        fc.record({ delay: fc.integer({ min: 0, max: 100 }), initialHold: fc.integer({ min: 0, max: 500 }), extra: fc.integer({ min: 0, max: 5000 }) }),
        (triggers, o) => {
          const opts = { delay: o.delay, initialHold: o.initialHold, maxHold: o.initialHold + o.extra };
          const runs = simulate(new SpfThrottle(opts), triggers, 40_000);
          const sorted = [...triggers].sort((a, b) => a - b);
          // Every trigger is served by a run at or after it, within delay + max hold.
          for (const t of sorted) {
            const r = runs.find((x) => x >= t);
            assert.ok(r !== undefined && r - t <= opts.delay + opts.maxHold, `trigger ${t} served late: ${r}`);
          }
          // No run without a trigger; never sooner than delay after the triggers it serves.
          let prev = -Infinity;
          for (const r of runs) {
            const served = sorted.filter((t) => t > prev && t <= r);
            assert.ok(served.length > 0, `run ${r} without a trigger`);
            assert.ok(r - served[0] >= opts.delay, `run ${r} before the delay`);
            // Runs are at least initialHold apart.
            if (prev > -Infinity) assert.ok(r - prev >= opts.initialHold, `runs ${prev}, ${r} too close`);
            prev = r;
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('an urgent trigger (bad news) skips the delay but not the hold', () => {
    const t = new SpfThrottle();
    t.urgent(1000);
    assert.equal(t.next(1000), 1000, 'quiet: due at once');
    t.ran(1000);
    // The other end's LSA 2 ms later: urgent too, but the 200 ms hold applies.
    t.urgent(1002);
    assert.equal(t.next(1002), 1200);
    t.ran(1200);
    // A normal trigger pending, then bad news: pulled in to the hold's end (400 ms after 1200).
    t.trigger(1300);
    assert.equal(t.next(1300), 1600);
    t.urgent(1310);
    assert.equal(t.next(1310), 1600);
    t.ran(1600);
    // After a quiet maxHold the backoff resets, and bad news is due at once again; a normal trigger keeps its delay.
    t.urgent(9000);
    assert.equal(t.next(9000), 9000);
    t.ran(9000);
    t.trigger(20_000);
    assert.equal(t.next(20_000), 20_050);
  });
});
