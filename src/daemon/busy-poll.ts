/**
 * When a forwarding worker should busy-poll before it sleeps (config interface.busyPollUs).
 *
 * Busy polling pays only in a dense stream: there the next batch is a few µs away, and sleeping between
 * batches costs a context switch and a wake-up (on a VM, an interrupt to a halted vCPU) per batch. So the
 * worker polls without sleeping only when its last two steps with packets were less than DENSE_MS apart:
 * never for BFD's packets or a ping's, so an idle mesh never spins. Pure: the caller passes the time.
 */
export const DENSE_MS = 1;

export class BusyPoll {
  private lastWorkAt = -Infinity;

  /** spinUs: the most a worker polls before sleeping, µs (0: never). */
  constructor(private readonly spinUs: number) {
    if (!Number.isInteger(spinUs) || spinUs < 0) throw new RangeError(`busy poll: spinUs must be a non-negative integer, got ${String(spinUs)}`);
  }

  /** After a step that handled `work` packets at `now` (ms): how long to busy-poll before sleeping, µs. */
  after(work: number, now: number): number {
    if (work <= 0 || this.spinUs === 0) return 0;
    const dense = now - this.lastWorkAt < DENSE_MS;
    this.lastWorkAt = now;
    return dense ? this.spinUs : 0;
  }
}
