/**
 * The forwarding plane on the caller's own event loop: the same core as the worker (forwarding-core.ts),
 * the same checks and events as ForwardingPlane, over any NativeAddon. For the daemon's unit tests over
 * the in-memory network (io/memory.ts), where a worker thread could not share the fake fds.
 *
 * It steps on setImmediate while there is work, a bounded number of steps per turn so timers and I/O
 * callbacks still run, and sleeps when idle: it is woken by the addon's onReadable() notification (the
 * memory addon has one), by a change or send, or by a timer when a backed-off fd is due. An addon with
 * no notification is polled every `idlePollMs`. It never blocks: pollIn is not used.
 */
import { createCounters, type CounterSet } from '../dataplane/counters.js';
import { ForwardingCore } from './forwarding-core.js';
import { packPunts, unpackPunts, type ToWorker } from './forwarding-messages.js';
import { MessagePlane, type ForwardingPlaneHandle, type ForwardingPlaneOptions } from './forwarding-plane.js';

/** An addon that can say when an fd has something to read (MemoryNetwork does). */
interface Notifying {
  onReadable(listener: (fd: number) => void): () => void;
}

export interface InProcessForwardingPlaneOptions extends ForwardingPlaneOptions {
  /** The engine's clock in ms (default performance.now). */
  now?: () => number;
  /** Without an onReadable() on the addon: how often to look for work when idle (default 5 ms). */
  idlePollMs?: number;
}

const STEPS_PER_TURN = 32;

export class InProcessForwardingPlane extends MessagePlane implements ForwardingPlaneHandle {
  readonly counters: CounterSet = createCounters(false);
  readonly counterSets: readonly CounterSet[] = [this.counters];
  private core: ForwardingCore | undefined;
  private inbox: ToWorker[] = [];
  private punted: { count: number; data: ArrayBuffer }[] = [];
  private roams: [number, Uint8Array][] = [];
  private running = false;
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: InProcessForwardingPlaneOptions) {
    super();
    this.now = opts.now ?? (() => performance.now());
  }

  async start(): Promise<void> {
    if (this.core) throw new Error('the forwarding plane is already started');
    this.core = new ForwardingCore({
      io: this.opts.io,
      tunFd: this.opts.tunFd,
      meshAddress: this.opts.meshAddress,
      linkLocal: this.opts.linkLocal,
      counters: this.counters,
      maxPacket: this.opts.maxPacket,
      batch: this.opts.batch ?? 64,
      punts: this.opts.punts,
      now: this.now,
      // Copied now (the slab is reused by the next step), emitted after the step, outside the engine.
      punt: (batch) => this.punted.push(packPunts(batch)),
      roamed: (linkId, remote) => this.roams.push([linkId, Uint8Array.from(remote)]),
      error: (message) => this.emit('internal-error', message),
    });
    this.running = true;
    const io = this.opts.io as Partial<Notifying>;
    if (typeof io.onReadable === 'function') {
      this.unsubscribe = io.onReadable(() => this.schedule());
    } else {
      this.idleTimer = setInterval(() => this.schedule(), this.opts.idlePollMs ?? 5);
    }
    this.schedule();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unsubscribe?.();
    clearInterval(this.idleTimer);
    clearTimeout(this.retryTimer);
    // What was asked before stop still happens (a last BFD Down, say), as the worker drains before 'stop'.
    if (this.inbox.length > 0) this.drainInbox();
    this.emitPunts();
    this.answerSyncs();
    this.releaseSyncs();
    this.emit('exit', 0);
  }


  override send(linkId: number, packet: Uint8Array): void {
    // A copy, as postMessage makes one: the caller may reuse its buffer at once.
    this.post({ type: 'send', linkId, packet: new Uint8Array(packet) });
  }

  override sync(done: () => void): void {
    if (this.running) super.sync(done);
    else setImmediate(done);
  }

  /** Messages wait for the next turn, so that many sends in one callback leave in one flush. */
  protected post(msg: ToWorker): void {
    this.inbox.push(msg);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || !this.running) return;
    this.scheduled = true;
    setImmediate(() => this.run());
  }

  private run(): void {
    this.scheduled = false;
    if (!this.running) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.inbox.length > 0) this.drainInbox();
    const core = this.core!;
    let work = 0;
    for (let k = 0; k < STEPS_PER_TURN; k++) {
      work = core.step();
      if (work === 0) break;
    }
    this.emitPunts();
    this.answerSyncs();
    if (!this.running) return;
    if (work > 0 || this.inbox.length > 0) {
      this.schedule();
      return;
    }
    // Idle. A backed-off fd gets no new notification when it is due: come back for it.
    const due = core.engine.retryAt();
    if (due !== 0) {
      const ms = Math.max(1, Math.ceil(due - this.now()));
      this.retryTimer = setTimeout(() => this.schedule(), ms);
    }
  }

  private drainInbox(): void {
    const msgs = this.inbox;
    this.inbox = [];
    let i = 0;
    this.core!.drain(() => msgs[i++]);
  }

  private answerSyncs(): void {
    for (const id of this.core!.takeSyncs()) this.synced(id);
  }

  private emitPunts(): void {
    const roams = this.roams;
    if (roams.length > 0) {
      this.roams = [];
      for (const [linkId, remote] of roams) this.emit('roamed', linkId, remote);
    }
    const batches = this.punted;
    if (batches.length === 0) return;
    this.punted = [];
    for (const b of batches) unpackPunts(b.count, b.data, (linkId, packet) => this.emit('punt', linkId, packet));
  }
}
