/**
 * BFD's stand-in on the forwarding thread. BFD runs on the main thread with the rest of the control
 * plane; a long task there (an SPF yielding 10,000 routes, a GC pause, a host short of CPU) stops its
 * periodic packets, and after three missed intervals the peer declares the link down although nothing on
 * the path failed. So the main thread hands the forwarding thread, for each single-hop session that is
 * Up, the whole packet it sends periodically (a template) and its interval. The forwarding thread notes
 * every control-plane packet the main thread sends on that link; when none came for STAND_IN_AFTER
 * intervals, it sends the template itself, once per interval, until the main thread is back or
 * STAND_IN_MAX_MS have passed (a main thread stuck that long is a real failure, for the peer to see).
 *
 * The template says what the session last said in its steady state (Up, no Poll or Final), so the peer
 * learns nothing new from it: it only keeps hearing us. Sessions whose packets change each time
 * (meticulous keyed authentication, a sequence number per packet) get no stand-in.
 *
 * Pure: it takes `now` and a send function, and does no I/O of its own.
 */

/** The main thread's silence on a link, in intervals, after which the stand-in starts. */
export const STAND_IN_AFTER = 1.5;
/** The longest the stand-in speaks for a silent main thread. */
export const STAND_IN_MAX_MS = 5_000;

interface Template {
  packet: Uint8Array;
  intervalMs: number;
  /** When the main thread last sent on the link. */
  mainAt: number;
  /** When the stand-in last sent its template. */
  sentAt: number;
}

export class BfdStandIn {
  private readonly links = new Map<number, Template>();
  /** Templates sent because the main thread was silent. */
  sent = 0;

  /** The session on `linkId` is Up and sends `packet` every `intervalMs`; null: it is not (any more). */
  set(linkId: number, packet: Uint8Array | null, intervalMs: number, now: number): void {
    if (packet === null) {
      this.links.delete(linkId);
      return;
    }
    if (!(intervalMs > 0)) throw new RangeError(`a BFD stand-in needs an interval > 0 ms, got ${intervalMs}`);
    const old = this.links.get(linkId);
    this.links.set(linkId, { packet, intervalMs, mainAt: old?.mainAt ?? now, sentAt: old?.sentAt ?? -Infinity });
  }

  /** The main thread sent a packet on `linkId`: it is alive. */
  mainSent(linkId: number, now: number): void {
    const t = this.links.get(linkId);
    if (t) t.mainAt = now;
  }

  /** The link is gone. */
  remove(linkId: number): void {
    this.links.delete(linkId);
  }

  get size(): number {
    return this.links.size;
  }

  /** Send the templates that are due; returns when next to call (ms, absolute), Infinity for never. */
  run(now: number, send: (linkId: number, packet: Uint8Array) => void): number {
    let next = Infinity;
    for (const [linkId, t] of this.links) {
      const startAt = t.mainAt + STAND_IN_AFTER * t.intervalMs;
      const endAt = t.mainAt + STAND_IN_MAX_MS;
      if (now >= endAt) continue;
      if (now >= startAt) {
        if (now - t.sentAt >= t.intervalMs) {
          send(linkId, t.packet);
          t.sentAt = now;
          this.sent++;
        }
        next = Math.min(next, t.sentAt + t.intervalMs, endAt);
      } else {
        next = Math.min(next, startAt);
      }
    }
    return next;
  }
}
