/**
 * A token bucket for ICMPv6 error generation (RFC 4443 §2.4(f) requires rate limiting). Pure: the caller
 * passes `now` in milliseconds.
 */
export class TokenBucket {
  private tokens: number;
  private last = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  take(now: number): boolean {
    if (this.last !== Number.NEGATIVE_INFINITY) {
      const refill = ((now - this.last) * this.ratePerSecond) / 1000;
      if (refill > 0) this.tokens = Math.min(this.burst, this.tokens + refill);
    }
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }
}

/**
 * One token bucket per small integer id (a link id), in typed arrays: no object per id, no Map lookup
 * per packet. An id's bucket starts full the first time it is seen and after reset(). Pure: `now` in ms.
 */
export class TokenBuckets {
  private tokens = new Float64Array(64);
  private last = new Float64Array(64).fill(Number.NEGATIVE_INFINITY);

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
  ) {}

  take(id: number, now: number): boolean {
    if (id >= this.last.length) this.grow(id);
    const last = this.last[id]!;
    const t = last === Number.NEGATIVE_INFINITY ? this.burst : Math.min(this.burst, this.tokens[id]! + ((now - last) * this.ratePerSecond) / 1000);
    this.last[id] = now;
    if (t < 1) {
      this.tokens[id] = t;
      return false;
    }
    this.tokens[id] = t - 1;
    return true;
  }

  /** The id was (re)assigned: its bucket starts full. */
  reset(id: number): void {
    if (id < this.last.length) this.last[id] = Number.NEGATIVE_INFINITY;
  }

  private grow(id: number): void {
    let n = this.last.length;
    while (n <= id) n *= 2;
    const tokens = new Float64Array(n);
    tokens.set(this.tokens);
    const last = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
    last.set(this.last);
    this.tokens = tokens;
    this.last = last;
  }
}
