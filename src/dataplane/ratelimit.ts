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
