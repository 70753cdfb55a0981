/**
 * The forwarding plane without its thread: the FIB, the forwarder and the engine, and the one function
 * that applies a control message to them. The worker (forwarding-worker.ts) runs it in a loop on its own
 * thread; InProcessForwardingPlane runs it on the caller's event loop over an in-memory network. Both go
 * through apply(), so a unit test of one is a test of the other's message handling.
 */
import { C, type CounterSet } from '../dataplane/counters.js';
import { Engine, type EngineIo } from '../dataplane/engine.js';
import { Fib } from '../dataplane/fib/fib.js';
import { Forwarder } from '../dataplane/forward.js';
import { BfdStandIn } from '../dataplane/bfd-stand-in.js';
import { IPPROTO_UDP, IPV6_HEADER_LEN } from '../dataplane/wire/ipv6.js';
import { PORTS } from '../common/ports.js';
import type { PuntBatch, PuntOptions } from '../dataplane/punt.js';
import { createLink } from '../transport/links.js';
import { RouteCursor, type ToWorker } from './forwarding-messages.js';

export interface ForwardingCoreOptions {
  io: EngineIo;
  tunFd: number;
  /** See EngineOptions.tunOffload. */
  tunOffload?: boolean;
  /** See EngineOptions.gsoOff. */
  gsoOff?(portId: number): void;
  meshAddress: Uint8Array;
  linkLocal: Uint8Array;
  counters: CounterSet;
  maxPacket: number;
  batch: number;
  punts?: PuntOptions;
  /** See EngineOptions.wakeFd. */
  wakeFd?: number;
  now(): number;
  /** The step's punted packets (BFD first); copy them before returning. */
  punt(batch: PuntBatch): void;
  /** See EngineOptions.roamed. */
  roamed?(linkId: number, remote: Uint8Array): void;
  /** A bug in the loop or in applying a message: counted as internal_errors, reported here, survived. */
  error(message: string): void;
}

/** A control-plane packet that is single-hop BFD: UDP right after the IPv6 header, to port 3784. */
function isSingleHopBfd(p: Uint8Array): boolean {
  return p.length >= IPV6_HEADER_LEN + 8 && p[6] === IPPROTO_UDP && ((p[IPV6_HEADER_LEN + 2]! << 8) | p[IPV6_HEADER_LEN + 3]!) === PORTS.bfdSingleHop;
}

/** Reports of internal errors after this many are counted only, so a bug on every packet cannot flood the log. */
const MAX_REPORTED_ERRORS = 10;
const NO_SYNCS: number[] = [];

export class ForwardingCore {
  readonly fib = new Fib();
  readonly engine: Engine;
  private readonly node: Float64Array;
  private syncs: number[] = [];
  /** A route change still being applied (drain() takes a slice of it per call); later messages wait behind it. */
  private routes: RouteCursor | null = null;
  /** BFD's stand-in (bfd-stand-in.ts): only a plane on its own thread runs it (runStandIn). */
  readonly standIn = new BfdStandIn();
  private standInNext = Infinity;
  private readonly sendStandIn = (linkId: number, packet: Uint8Array) => {
    if (this.engine.sendFromControlPlane(linkId, packet)) this.node[C.bfd_stand_in_tx]!++;
  };

  constructor(private readonly opts: ForwardingCoreOptions) {
    this.node = opts.counters.node;
    const forwarder = new Forwarder({
      meshAddress: opts.meshAddress,
      linkLocal: opts.linkLocal,
      fib: this.fib,
      counters: opts.counters,
    });
    this.engine = new Engine({
      io: opts.io,
      tunFd: opts.tunFd,
      tunOffload: opts.tunOffload === true,
      ...(opts.gsoOff ? { gsoOff: opts.gsoOff } : {}),
      forwarder,
      counters: opts.counters,
      now: opts.now,
      maxPacket: opts.maxPacket,
      batch: opts.batch,
      punts: opts.punts,
      wakeFd: opts.wakeFd,
      punt: opts.punt,
      ...(opts.roamed ? { roamed: opts.roamed } : {}),
    });
  }

  /** Apply one control message; false for 'stop'. Throws what the engine or the FIB refuse. */
  apply(msg: ToWorker): boolean {
    const e = this.engine;
    switch (msg.type) {
      case 'addPort':
        e.addPort(msg.id, msg.port);
        return true;
      case 'removePort':
        e.removePort(msg.id);
        return true;
      case 'addLink':
        e.addLink(createLink(msg.spec));
        return true;
      case 'removeLink':
        e.removeLink(msg.id);
        this.standIn.remove(msg.id);
        return true;
      case 'addPendingPeer':
        e.addPendingPeer(msg.port, msg.remote);
        return true;
      case 'removePendingPeer':
        e.removePendingPeer(msg.port, msg.remote);
        return true;
      case 'routes':
        this.routes = new RouteCursor(msg.data);
        return true;
      case 'send':
        e.sendFromControlPlane(msg.linkId, msg.packet);
        // Only BFD's own packets say BFD is keeping its interval (OSPF may flood while BFD's timer waits).
        if (isSingleHopBfd(msg.packet)) this.standIn.mainSent(msg.linkId, this.opts.now());
        return true;
      case 'bfdStandIn':
        this.standIn.set(msg.linkId, msg.packet, msg.intervalMs, this.opts.now());
        this.standInNext = this.opts.now();
        return true;
      case 'sync':
        this.syncs.push(msg.id);
        return true;
      case 'peerMoved':
        e.peerMoved(msg.linkId, msg.remote);
        return true;
      case 'stop':
        return false;
    }
  }

  /** The 'sync' ids seen since the last call: answer them after a step, once its punts have left. */
  takeSyncs(): number[] {
    if (this.syncs.length === 0) return NO_SYNCS;
    const ids = this.syncs;
    this.syncs = [];
    return ids;
  }

  /**
   * Apply messages until `next` has none (or a 'stop'), then flush what they queued (control-plane sends)
   * in one batch per port. A message that fails is reported and skipped. Returns false after 'stop'.
   * With `sliceMs`, a route change is applied for about that long per call and the messages behind it
   * wait for the next call (`applying` says one is pending); without, everything is applied now.
   */
  drain(next: () => ToWorker | undefined, sliceMs = Infinity): boolean {
    let running = true;
    const until = Number.isFinite(sliceMs) ? this.opts.now() + sliceMs : Infinity;
    const late = until === Infinity ? () => false : () => this.opts.now() >= until;
    while (this.applyRoutes(late)) {
      const m = next();
      if (m === undefined) break;
      try {
        if (!this.apply(m)) {
          running = false;
          break;
        }
      } catch (err) {
        this.internalError(`applying ${m.type}: ${String((err as Error)?.stack ?? err)}`);
      }
    }
    this.guard(() => this.engine.flush());
    return running;
  }

  /** A route change is still being applied: the caller comes back to drain() without sleeping. */
  get applying(): boolean {
    return this.routes !== null;
  }

  /** Go on with the pending route change until done or `late()`; returns whether none is left pending. */
  private applyRoutes(late: () => boolean): boolean {
    const cursor = this.routes;
    if (cursor === null) return true;
    for (;;) {
      try {
        if (!cursor.applyTo(this.fib, late)) return false;
        break;
      } catch (err) {
        // A bad record (a bug: the plane checked the change) is skipped, the rest still applied.
        this.internalError(`applying routes: ${String((err as Error)?.stack ?? err)}`);
        if (cursor.done) break;
      }
    }
    this.routes = null;
    return true;
  }

  /**
   * Send the BFD templates the main thread's silence has made due (flushed at once); returns how long
   * the caller may sleep before the next one, ms (Infinity: none is pending).
   */
  runStandIn(): number {
    if (this.standIn.size === 0) return Infinity;
    const now = this.opts.now();
    if (now >= this.standInNext) {
      const before = this.node[C.bfd_stand_in_tx]!;
      this.standInNext = this.standIn.run(now, this.sendStandIn);
      if (this.node[C.bfd_stand_in_tx] !== before) this.guard(() => this.engine.flush());
    }
    return Math.max(0, this.standInNext - now);
  }

  /** One engine step; a throw (a bug) is counted and reported, and counts as work so the caller retries. */
  step(): number {
    try {
      return this.engine.step();
    } catch (err) {
      this.internalError(String((err as Error)?.stack ?? err));
      return 1;
    }
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.internalError(String((err as Error)?.stack ?? err));
    }
  }

  private internalError(message: string): void {
    // A bug must not take the data plane down: count it, report the first few, keep forwarding.
    this.node[C.internal_errors]!++;
    if (this.node[C.internal_errors]! <= MAX_REPORTED_ERRORS) this.opts.error(message);
  }
}
