/**
 * Admission for the peering port: how many connections one source address may hold at once, how fast
 * it may open new ones (a token bucket per source), and how many handshakes may run at all. A flood
 * from one address is refused before any decoding or signature work and leaves the others alone.
 * Pure: takes `now` (ms).
 */

export interface SourceLimits {
  maxPerSource: number;
  perMinute: number;
  /** Handshakes in progress over all sources. */
  maxHandshakes: number;
  /** Sources remembered at once; the idle ones are forgotten first. */
  maxSources?: number;
}

interface Source {
  open: number;
  tokens: number;
  at: number;
}

export class SourceLimiter {
  private readonly sources = new Map<string, Source>();
  private handshakes = 0;
  private readonly burst: number;
  private readonly refillPerMs: number;

  constructor(private limits: SourceLimits) {
    this.burst = Math.max(1, Math.min(limits.perMinute, 20));
    this.refillPerMs = limits.perMinute / 60_000;
  }

  /** Why a new connection from `addr` is refused, or undefined (then it counts as open and handshaking). */
  admit(addr: string, now: number): string | undefined {
    if (this.handshakes >= this.limits.maxHandshakes) return `${this.handshakes} handshakes already in progress`;
    let s = this.sources.get(addr);
    if (s) {
      s.tokens = Math.min(this.burst, s.tokens + (now - s.at) * this.refillPerMs);
      s.at = now;
      // Most recently used last, so the eviction below takes the least recently used.
      this.sources.delete(addr);
      this.sources.set(addr, s);
    } else {
      this.evict();
      s = { open: 0, tokens: this.burst, at: now };
      this.sources.set(addr, s);
    }
    if (s.open >= this.limits.maxPerSource) return `${s.open} connections from ${addr} already open`;
    if (s.tokens < 1) return `connection rate from ${addr} over ${this.limits.perMinute} per minute`;
    s.tokens -= 1;
    s.open++;
    this.handshakes++;
    return undefined;
  }

  /** The connection's handshake is over (either way). */
  handshakeDone(): void {
    if (this.handshakes > 0) this.handshakes--;
  }

  /** The connection closed. */
  release(addr: string): void {
    const s = this.sources.get(addr);
    if (s && s.open > 0) s.open--;
  }

  get inProgress(): number {
    return this.handshakes;
  }

  private evict(): void {
    const max = this.limits.maxSources ?? 10_000;
    if (this.sources.size < max) return;
    for (const [k, v] of this.sources) {
      if (v.open === 0) {
        this.sources.delete(k);
        if (this.sources.size < max) return;
      }
    }
  }
}
