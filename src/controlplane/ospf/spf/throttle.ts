/**
 * SPF scheduling with exponential backoff, like FRR's `timers throttle spf <delay> <initial-hold>
 * <max-hold>`. A pure state machine: it never reads a clock; every call takes `now` (ms).
 *
 *   trigger(now)  something in the LSDB changed: SPF is wanted.
 *   urgent(now)   bad news (a router lost a link): SPF is wanted without the initial delay.
 *   next(now)     when SPF should run (a time >= now), or null if nothing is pending.
 *   ran(now)      SPF has just run: pending triggers are consumed.
 *
 * Rules:
 *   - A run happens no sooner than `delay` after the first trigger it serves (triggers that arrive while
 *     one is pending coalesce into that run), and no sooner than `hold` after the previous run.
 *   - The hold after the first run is `initialHold`; each further run doubles it, up to `maxHold`.
 *   - An urgent trigger skips the delay (the run is due at once, or when the hold ends): the delay is there
 *     to gather the LSAs of one event, and for a lost link the first of its two ends' LSAs is enough (the
 *     two-way check drops the link), while every millisecond of it is a millisecond the routers around the
 *     failure wait before they can stop holding back routes (microloop.ts). The hold still applies, so a
 *     flood of bad news cannot make SPF run more often than good news can.
 *   - After a quiet period of `maxHold` (no trigger for that long since the last run), the backoff
 *     resets: the next trigger is served after `delay` and the hold starts again at `initialHold`.
 *
 * Example with the defaults (50, 200, 5000) and a trigger every 10 ms from t=0: runs at 50, 250 (hold
 * 200), 650 (400), 1450 (800), 3050 (1600), 6250 (3200), 11250 (5000), 16250, ...
 */
import { InvalidInputError } from '../../../common/errors.js';

export interface SpfThrottleOptions {
  /** ms from the first trigger to the run (when not held back). Default 50. */
  delay?: number;
  /** ms between the first two runs of a burst. Default 200. */
  initialHold?: number;
  /** The hold never exceeds this; also the quiet time that resets the backoff. Default 5000. */
  maxHold?: number;
}

export const SPF_THROTTLE_DEFAULTS = { delay: 50, initialHold: 200, maxHold: 5000 } as const;

export class SpfThrottle {
  readonly delay: number;
  readonly initialHold: number;
  readonly maxHold: number;
  /** Time of the first trigger not yet served by a run, or null. */
  private pendingSince: number | null = null;
  /** The pending run serves an urgent trigger: no delay. */
  private pendingUrgent = false;
  private lastRun: number | null = null;
  /** Minimum time from lastRun to the next run; 0 when the backoff is reset. */
  private hold = 0;

  constructor(options: SpfThrottleOptions = {}) {
    this.delay = options.delay ?? SPF_THROTTLE_DEFAULTS.delay;
    this.initialHold = options.initialHold ?? SPF_THROTTLE_DEFAULTS.initialHold;
    this.maxHold = options.maxHold ?? SPF_THROTTLE_DEFAULTS.maxHold;
    for (const [name, v] of [
      ['delay', this.delay],
      ['initialHold', this.initialHold],
      ['maxHold', this.maxHold],
    ] as const) {
      if (!Number.isFinite(v) || v < 0) throw new InvalidInputError(`SPF throttle ${name} must be a number >= 0 (ms), got ${v}`);
    }
    if (this.maxHold < this.initialHold) {
      throw new InvalidInputError(
        `SPF throttle maxHold (${this.maxHold} ms) must not be less than initialHold (${this.initialHold} ms)`,
      );
    }
  }

  /** The LSDB changed. */
  trigger(now: number): void {
    if (this.pendingSince !== null) return;
    if (this.lastRun !== null && now - this.lastRun >= this.maxHold) this.hold = 0;
    this.pendingSince = now;
  }

  /** Bad news: as trigger(), without the delay. */
  urgent(now: number): void {
    this.trigger(now);
    this.pendingUrgent = true;
  }

  /** When SPF should run: an absolute time >= now, or null when no trigger is pending. */
  next(now: number): number | null {
    if (this.pendingSince === null) return null;
    let at = this.pendingSince + (this.pendingUrgent ? 0 : this.delay);
    if (this.lastRun !== null && this.lastRun + this.hold > at) at = this.lastRun + this.hold;
    return at > now ? at : now;
  }

  /** Whether SPF should run now. */
  due(now: number): boolean {
    const at = this.next(now);
    return at !== null && at <= now;
  }

  /** SPF ran at `now` (whether or not it was due: a forced run counts too). */
  ran(now: number): void {
    this.hold = this.hold === 0 ? this.initialHold : Math.min(this.hold * 2, this.maxHold);
    this.lastRun = now;
    this.pendingSince = null;
    this.pendingUrgent = false;
  }

  /** The hold that applies before the next run (0: none; for `show`). */
  get currentHold(): number {
    return this.hold;
  }

  /** The backoff a trigger at `now` would meet: 0 once it has reset (a quiet maxHold since the last run). */
  backoffAt(now: number): number {
    return this.lastRun === null || now - this.lastRun >= this.maxHold ? 0 : this.hold;
  }

  get pending(): boolean {
    return this.pendingSince !== null;
  }
}
