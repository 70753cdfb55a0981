/**
 * The main thread's V8 heap, tuned for a daemon that idles most of its life.
 *
 * V8 grows the young generation (two semi-spaces) up to 16 MiB each whenever objects survive: loading
 * the daemon's modules does that at once, and a control plane that never stops allocating (BFD every
 * 100 ms, OSPF, punted packets) rarely looks idle enough for V8 to shrink it again. Measured: 32 MiB
 * committed and resident for 2-3 MiB of young objects, a third of the daemon's RSS.
 *
 * Node 20 cannot size the main isolate's young generation from code (`--max-semi-space-size` is read
 * once, when the isolate is made, and re-executing node for a flag would change the daemon's pid). The
 * growth factor is read at each growth: at 1 the semi-spaces stay at their initial 1 MiB. A scavenge
 * costs what survives it, not the space's size, so the control plane's work is unchanged; what it pays
 * is more frequent scavenges (each well under a millisecond at this size). Newer V8 raises a factor
 * under 2 to 2 by itself (the flag then does nothing, and the daemon is as before). The flag is the
 * process's: the forwarding worker's young generation stays small too (its loop allocates next to
 * nothing; bench/forward.bench.ts showed no difference). MOLTNET_YOUNG_GROWTH=0 turns this off.
 */
import v8 from 'node:v8';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';

/** Keep this thread's young generation at its initial size. Call before the daemon's modules load. */
export function limitYoungGeneration(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}

/**
 * The main heap's size right after its last full (mark-compact) collection, MiB, or null before the first:
 * the daemon's live data plus the code V8 keeps. heapUsed alone rises and falls with garbage not yet
 * collected (a quiet thread can go many minutes between full collections), so a leak shows in this
 * figure's trend, not in heapUsed's. The observer sees every collection; it acts on the full ones only,
 * when Node delivers their entries (soon after, on this thread's event loop).
 */
export class HeapAfterFullGc {
  private observer: PerformanceObserver | null = null;
  private last: number | null = null;
  private count = 0;

  start(): void {
    if (this.observer) return;
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        // A 'gc' entry's detail is { kind, flags }; these typings do not declare it.
        if ((e as { detail?: { kind?: number } }).detail?.kind !== perfConstants.NODE_PERFORMANCE_GC_MAJOR) continue;
        // Not process.memoryUsage(): it also reads this process's RSS from /proc, which is not needed here.
        this.last = v8.getHeapStatistics().used_heap_size;
        this.count++;
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  stop(): void {
    this.observer?.disconnect();
    this.observer = null;
  }

  /** MiB after the last full collection (null before one), and how many full collections were seen. */
  figures(): { heapAfterFullGc: number | null; fullGcs: number } {
    return { heapAfterFullGc: this.last === null ? null : Math.round((this.last / 1048576) * 10) / 10, fullGcs: this.count };
  }
}
