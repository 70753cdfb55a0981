/**
 * The main thread's handle on the forwarding plane: start it, add and remove ports and links one at a
 * time, change routes by differences, send control packets, receive punted packets, read counters, stop.
 *
 * ForwardingPlaneHandle is the contract; ForwardingPlane runs the plane on a worker thread (production),
 * InProcessForwardingPlane (forwarding-plane-inprocess.ts) on the caller's event loop over any
 * NativeAddon, the in-memory one in unit tests. Both check every change on the caller's side first
 * (PlaneState), so a bad id or a clashing link throws at the call, not later inside the plane.
 *
 * Events: 'punt' (linkId, packet: Buffer), each step's packets in one burst with BFD first;
 * 'internal-error' (message), a bug in the loop, counted and survived; 'error' (Error), the plane
 * itself failed; 'exit' (code), it is gone.
 */
import { Worker } from 'node:worker_threads';
import { EventEmitter } from 'node:events';
import { ADDR_RECORD_LEN, type NativeAddon } from '../dataplane/io/native.js';
import { MAX_LINK_ID, createCounters, type CounterSet } from '../dataplane/counters.js';
import { MAX_NEXTHOPS } from '../common/limits.js';
import { MAX_PORT_ID, type Port } from '../dataplane/engine.js';
import type { PuntOptions } from '../dataplane/punt.js';
import type { LinkSpec } from '../transport/link-spec.js';
import { packRoutes, unpackPunts, type FromWorker, type PlanePort, type RouteChange, type ToWorker, type WorkerInit } from './forwarding-messages.js';

export type { PlanePort };

export interface ForwardingPlaneHandle {
  /** The first worker's counters (with one worker, all of them). */
  readonly counters: CounterSet;
  /** Every worker's counters: sum them (sumCounters) for the node's. */
  readonly counterSets: readonly CounterSet[];
  /** Start forwarding; changes made before it are applied first, in order. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Add (or replace) port `id`: an underlay UDP socket (or one socket per worker) or a kernel link's TUN. */
  addPort(id: number, port: PlanePort): void;
  removePort(id: number): void;
  /** Add a link, or replace the link with its id; no other link is touched. */
  addLink(spec: LinkSpec): void;
  removeLink(id: number): void;
  /** A configured peer not yet authenticated: its packets count drop_unauthenticated until a link replaces it. */
  addPendingPeer(port: number, remote: Uint8Array): void;
  removePendingPeer(port: number, remote: Uint8Array): void;
  /** Apply a FIB change: removes, then inserts (an insert of an existing prefix replaces it). */
  updateRoutes(change: RouteChange): void;
  /** Send an inner IPv6 packet made by the control plane on a link. */
  send(linkId: number, packet: Uint8Array): void;
  /**
   * Call `done` once the plane has read its sockets after this call and every packet it punted by then
   * has been emitted ('punt' events first). Also called if the plane stops or is not running.
   */
  sync(done: () => void): void;
  /**
   * BFD's stand-in on the forwarding thread (src/dataplane/bfd-stand-in.ts): `packet`, a whole inner
   * IPv6 packet, is sent on the link every `intervalMs` while the main thread sends nothing there; null
   * ends it. A plane on the caller's own thread (InProcessForwardingPlane) keeps it but never needs it.
   */
  bfdStandIn(linkId: number, packet: Uint8Array | null, intervalMs: number): void;
  on(event: 'punt', listener: (linkId: number, packet: Buffer) => void): this;
  on(event: 'internal-error', listener: (message: string) => void): this;
  /** A roaming link's peer sends from another UDP port now; `remote` is its address record. */
  on(event: 'roamed', listener: (linkId: number, remote: Uint8Array) => void): this;
  /** Port `portId`'s route refused UDP_SEGMENT: it sends one datagram at a time from now on. */
  on(event: 'gso-off', listener: (portId: number) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'exit', listener: (code: number) => void): this;
}

export interface ForwardingPlaneOptions {
  /** The addon the handle itself uses (the worker's wake socket; the in-process plane's whole I/O). */
  io: NativeAddon;
  /** The host's TUN (molt0). */
  tunFd: number;
  /**
   * One queue of the host TUN per forwarding worker (opened with multiQueue), tunFds[0] being tunFd: the
   * plane runs that many workers. Default [tunFd]. The in-process plane runs one.
   */
  tunFds?: readonly number[];
  meshAddress: Uint8Array;
  linkLocal: Uint8Array;
  /** Largest packet a slot holds. */
  maxPacket: number;
  batch?: number;
  /** Punt queue size and per-kind policers (src/dataplane/punt.ts). */
  punts?: PuntOptions;
  /** Worker only: longest idle sleep in poll(2), ms (default 250); messages and packets wake it at once. */
  idleWaitMs?: number;
  /** The host TUN was opened with vnetHdr (EngineOptions.tunOffload). */
  tunOffload?: boolean;
  /** Worker only: busy polling under load, µs (config interface.busyPollUs; default 0). */
  busyPollUs?: number;
}

/**
 * What a plane has been told (ports, links and their peer addresses), kept on the caller's side so that
 * every change is checked where it is made: the same rules as the engine's, with the same messages.
 */
export class PlaneState {
  private readonly ports = new Map<number, Port>();
  private readonly links = new Map<number, LinkSpec>();
  private readonly peers = new Map<string, number>();

  addPort(id: number, port: Port): void {
    checkId('port id', id, MAX_PORT_ID);
    if (!Number.isInteger(port?.fd) || port.fd < 0) throw new RangeError(`port ${id}: fd must be a non-negative integer, got ${String(port?.fd)}`);
    if (port.kind !== 'udp' && port.kind !== 'tun') throw new RangeError(`port ${id}: kind must be 'udp' or 'tun', got ${String(port.kind)}`);
    this.ports.set(id, portCopy(port));
  }

  removePort(id: number): void {
    checkId('port id', id, MAX_PORT_ID);
    this.ports.delete(id);
  }

  addLink(spec: LinkSpec): void {
    checkId('link id', spec.id, MAX_LINK_ID);
    checkId(`link ${spec.id}: port id`, spec.port, MAX_PORT_ID);
    if (spec.kind !== 'vxlan' && spec.kind !== 'gre' && spec.kind !== 'kernel') {
      throw new RangeError(`link ${spec.id}: kind must be vxlan, gre or kernel, got ${String(spec.kind)}`);
    }
    if (!Number.isInteger(spec.mtu) || spec.mtu < 1 || spec.mtu > 65535) {
      throw new RangeError(`link ${spec.id}: mtu must be an integer 1..65535, got ${String(spec.mtu)}`);
    }
    if (!(spec.remote instanceof Uint8Array) || spec.remote.length !== ADDR_RECORD_LEN) {
      throw new RangeError(`link ${spec.id}: remote must be an address record of ${ADDR_RECORD_LEN} bytes`);
    }
    const key = peerKey(spec);
    const holder = this.peers.get(key);
    if (holder !== undefined && holder !== spec.id) {
      throw new Error(`link ${spec.id} (${spec.name}): link ${holder} already has port ${spec.port} and the same peer address`);
    }
    const old = this.links.get(spec.id);
    if (old) this.peers.delete(peerKey(old));
    this.links.set(spec.id, spec);
    this.peers.set(key, spec.id);
  }

  removeLink(id: number): void {
    checkId('link id', id, MAX_LINK_ID);
    const old = this.links.get(id);
    if (!old) return;
    this.links.delete(id);
    this.peers.delete(peerKey(old));
  }

  /** The FIB's own checks (fib.ts insert/remove), made before the change leaves the caller. */
  checkRoutes(change: RouteChange): void {
    if (!Array.isArray(change?.remove) || !Array.isArray(change?.insert)) {
      throw new TypeError('a route change needs remove and insert arrays');
    }
    for (const r of [...change.remove, ...change.insert]) {
      if (!(r.prefix instanceof Uint8Array) || r.prefix.length !== 16) throw new RangeError('an IPv6 prefix must be 16 bytes');
      if (!Number.isInteger(r.length) || r.length < 0 || r.length > 128) {
        throw new RangeError(`an IPv6 prefix length must be an integer 0..128, got ${String(r.length)}`);
      }
    }
    for (const r of change.insert) {
      if (!Array.isArray(r.nexthops) || r.nexthops.length < 1 || r.nexthops.length > MAX_NEXTHOPS) {
        throw new RangeError(`a route needs 1..${MAX_NEXTHOPS} next hops, got ${Array.isArray(r.nexthops) ? r.nexthops.length : typeof r.nexthops}`);
      }
      for (const nh of r.nexthops) checkId('next hop', nh, MAX_LINK_ID);
    }
  }
}

function peerKey(spec: LinkSpec): string {
  return `${spec.port}/${Buffer.from(spec.remote.subarray(0, 16)).toString('hex')}`;
}

function checkPeerRecord(port: number, remote: Uint8Array): void {
  checkId('port id', port, MAX_PORT_ID);
  if (!(remote instanceof Uint8Array) || remote.length !== ADDR_RECORD_LEN) throw new RangeError(`a peer's remote must be an address record of ${ADDR_RECORD_LEN} bytes`);
}

function checkId(what: string, id: number, max: number): void {
  if (!Number.isInteger(id) || id < 0 || id > max) throw new RangeError(`${what} must be an integer 0..${max}, got ${String(id)}`);
}

/**
 * The change methods both planes share: each change is checked on the caller's side (PlaneState), then
 * posted as one message to wherever the plane runs.
 */
export abstract class MessagePlane extends EventEmitter {
  protected readonly state = new PlaneState();

  protected abstract post(msg: ToWorker): void;

  addPort(id: number, port: PlanePort): void {
    this.state.addPort(id, port);
    this.post({ type: 'addPort', id, port: portCopy(port) });
  }

  removePort(id: number): void {
    this.state.removePort(id);
    this.post({ type: 'removePort', id });
  }

  addLink(spec: LinkSpec): void {
    this.state.addLink(spec);
    this.post({ type: 'addLink', spec });
  }

  removeLink(id: number): void {
    this.state.removeLink(id);
    this.post({ type: 'removeLink', id });
  }

  addPendingPeer(port: number, remote: Uint8Array): void {
    checkPeerRecord(port, remote);
    this.post({ type: 'addPendingPeer', port, remote });
  }

  removePendingPeer(port: number, remote: Uint8Array): void {
    checkPeerRecord(port, remote);
    this.post({ type: 'removePendingPeer', port, remote });
  }

  updateRoutes(change: RouteChange): void {
    this.state.checkRoutes(change);
    if (change.remove.length === 0 && change.insert.length === 0) return;
    this.post({ type: 'routes', data: packRoutes(change) });
  }

  send(linkId: number, packet: Uint8Array): void {
    this.post({ type: 'send', linkId, packet });
  }

  bfdStandIn(linkId: number, packet: Uint8Array | null, intervalMs: number): void {
    checkId('link id', linkId, MAX_LINK_ID);
    if (packet !== null && !(intervalMs > 0)) throw new RangeError(`a BFD stand-in needs an interval > 0 ms, got ${String(intervalMs)}`);
    this.post({ type: 'bfdStandIn', linkId, packet: packet === null ? null : new Uint8Array(packet), intervalMs });
  }

  private syncSeq = 0;
  private readonly syncWaiters = new Map<number, () => void>();

  sync(done: () => void): void {
    const id = ++this.syncSeq;
    this.syncWaiters.set(id, done);
    this.post({ type: 'sync', id });
  }

  /** The plane answered sync `id`. */
  protected synced(id: number): void {
    const done = this.syncWaiters.get(id);
    if (!done) return;
    this.syncWaiters.delete(id);
    done();
  }

  /** The plane is gone: no answer will come, so nobody waits for one. */
  protected releaseSyncs(): void {
    const waiting = [...this.syncWaiters.values()];
    this.syncWaiters.clear();
    for (const done of waiting) done();
  }
}

/** One forwarding thread: its Worker, its counters, its mail counter and its wake socket's address. */
class WorkerThread {
  readonly wakeRecord = new Uint8Array(ADDR_RECORD_LEN);
  wakeQueued = false;
  ready = false;
  constructor(
    readonly index: number,
    readonly worker: Worker,
    /** Int32 slot 0: bumped after each message posted to it (WorkerInit.control). */
    readonly control: Int32Array,
  ) {}
}

/**
 * The forwarding plane on worker threads (forwarding-worker.ts), each blocking in poll(2) when idle.
 *
 * With more than one worker (options.tunFds), each has its own queue of the host TUN and, for a port added
 * with `fds`, its own socket of the port's SO_REUSEPORT group; the kernel spreads flows over them, so a flow
 * stays on one worker. A port with one fd (a kernel link's TUN) is read by worker 0 and only sent on by the
 * others. Every worker gets every port, link, route and peer; the control plane's sends and BFD's stand-in
 * go to worker 0 alone; a sync is answered once every worker has answered it.
 */
export class ForwardingPlane extends MessagePlane implements ForwardingPlaneHandle {
  /** Worker 0's counters (the only worker's, by default); counterSets has every worker's. */
  readonly counters: CounterSet;
  readonly counterSets: readonly CounterSet[];
  private threads: WorkerThread[] = [];
  private readonly tunFds: readonly number[];
  /** Changes made before start(), posted to the workers as soon as they exist. */
  private pending: ToWorker[] = [];
  private wakeFd = -1;
  private readonly wakeBuf = Buffer.alloc(1);
  private readonly zero = new Int32Array(1);
  private readonly one = Int32Array.of(1);
  /** Per sync id: how many workers have still to answer it. */
  private readonly syncsOwed = new Map<number, number>();
  private readonly gsoOffPorts = new Set<number>();
  private exited = false;

  constructor(private readonly opts: ForwardingPlaneOptions) {
    super();
    this.tunFds = opts.tunFds ?? [opts.tunFd];
    if (this.tunFds.length < 1 || this.tunFds[0] !== opts.tunFd) throw new RangeError('tunFds must start with tunFd');
    for (const fd of this.tunFds) if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`a TUN queue fd must be a non-negative integer, got ${String(fd)}`);
    this.counterSets = this.tunFds.map(() => createCounters(true));
    this.counters = this.counterSets[0]!;
  }

  /** How many forwarding threads this plane runs. */
  get workers(): number {
    return this.tunFds.length;
  }

  override addPort(id: number, port: PlanePort): void {
    if (port?.fds !== undefined) {
      const fds = port.fds;
      if (!Array.isArray(fds) || fds.length !== this.workers || fds[0] !== port.fd) {
        throw new RangeError(`port ${id}: fds must hold one fd per worker (${this.workers}), fds[0] being fd`);
      }
      for (const fd of fds) if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`port ${id}: fds must be non-negative integers, got ${String(fd)}`);
    }
    super.addPort(id, port);
  }

  /** Start the workers; resolves when every one is forwarding. */
  async start(): Promise<void> {
    if (this.threads.length > 0) throw new Error('the forwarding plane is already started');
    this.exited = false;
    const url = new URL('./forwarding-worker.js', import.meta.url);
    this.threads = this.tunFds.map((tunFd, index) => {
      const counters = this.counterSets[index]!;
      const control = new Int32Array(new SharedArrayBuffer(4));
      const init: WorkerInit = {
        index,
        tunFd,
        meshAddress: this.opts.meshAddress,
        linkLocal: this.opts.linkLocal,
        nodeCounters: counters.node.buffer as SharedArrayBuffer,
        linkCounters: counters.link.buffer as SharedArrayBuffer,
        control: control.buffer as SharedArrayBuffer,
        maxPacket: this.opts.maxPacket,
        batch: this.opts.batch ?? 64,
        punts: this.opts.punts,
        idleWaitMs: this.opts.idleWaitMs,
        tunOffload: this.opts.tunOffload === true,
        busyPollUs: this.opts.busyPollUs ?? 0,
      };
      return new WorkerThread(index, new Worker(url, { workerData: init, name: `moltnet-forwarding-${index}` }), control);
    });
    // Posted before the workers run: each drains its port once before its first step, so none is missed.
    for (const m of this.pending) this.post(m);
    this.pending = [];
    try {
      await Promise.all(this.threads.map((t) => this.whenReady(t)));
    } catch (err) {
      for (const t of this.threads) void t.worker.terminate();
      this.threads = [];
      throw err;
    }
    for (const t of this.threads) {
      t.worker.on('error', (err) => this.emit('error', err));
      t.worker.on('exit', (code) => this.workerExited(code));
    }
    this.wakeFd = this.opts.io.udpOpen('127.0.0.1', 0);
  }

  private whenReady(t: WorkerThread): Promise<void> {
    const worker = t.worker;
    return new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      const onExit = (code: number) => reject(new Error(`forwarding worker ${t.index} exited with code ${code}`));
      worker.once('error', onError);
      worker.once('exit', onExit);
      worker.on('message', (msg: FromWorker) => {
        if (msg.type === 'ready') {
          worker.off('error', onError);
          worker.off('exit', onExit);
          const p = msg.wakePort;
          t.wakeRecord.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1, p >> 8, p & 0xff]);
          t.ready = true;
          resolve();
        } else if (msg.type === 'punt') {
          unpackPunts(msg.count, msg.data, (linkId, packet) => this.emit('punt', linkId, packet));
        } else if (msg.type === 'synced') {
          const owed = (this.syncsOwed.get(msg.id) ?? 1) - 1;
          if (owed > 0) this.syncsOwed.set(msg.id, owed);
          else {
            this.syncsOwed.delete(msg.id);
            this.synced(msg.id);
          }
        } else if (msg.type === 'roamed') {
          // The other workers send to the peer too (host flows hash to any of them): they take the new port.
          for (const o of this.threads) if (o !== t) this.postTo(o, { type: 'peerMoved', linkId: msg.linkId, remote: msg.remote });
          this.emit('roamed', msg.linkId, msg.remote);
        } else if (msg.type === 'gsoOff') {
          if (!this.gsoOffPorts.has(msg.portId)) {
            this.gsoOffPorts.add(msg.portId);
            this.emit('gso-off', msg.portId);
          }
        } else if (msg.type === 'error') {
          this.emit('internal-error', this.workers > 1 ? `worker ${t.index}: ${msg.message}` : msg.message);
        }
      });
    });
  }

  /** A plane that lost a worker cannot forward that worker's flows: it is gone as a whole. */
  private workerExited(code: number): void {
    if (this.exited) return;
    this.exited = true;
    this.syncsOwed.clear();
    this.releaseSyncs();
    this.emit('exit', code);
  }

  async stop(): Promise<void> {
    const threads = this.threads;
    if (threads.length === 0) return;
    this.threads = [];
    const exits = threads.map((t) => new Promise<void>((resolve) => t.worker.once('exit', () => resolve())));
    for (const t of threads) this.postTo(t, { type: 'stop' });
    const timer = setTimeout(() => {
      for (const t of threads) void t.worker.terminate();
    }, 2000);
    await Promise.all(exits);
    clearTimeout(timer);
    this.syncsOwed.clear();
    this.releaseSyncs();
    if (this.wakeFd >= 0) this.opts.io.close(this.wakeFd);
    this.wakeFd = -1;
  }

  override sync(done: () => void): void {
    if (this.threads.length > 0) super.sync(done);
    else setImmediate(done);
  }

  protected post(msg: ToWorker): void {
    const threads = this.threads;
    if (threads.length === 0) {
      this.pending.push(msg);
      return;
    }
    switch (msg.type) {
      case 'send':
      case 'bfdStandIn':
        // The control plane's packets leave from one thread, in the order they were sent.
        this.postTo(threads[0]!, msg);
        return;
      case 'sync':
        this.syncsOwed.set(msg.id, threads.length);
        break;
      case 'addPort':
        for (const t of threads) this.postTo(t, { type: 'addPort', id: msg.id, port: workerPort(msg.port, t.index) });
        return;
    }
    for (const t of threads) this.postTo(t, msg);
  }

  private postTo(t: WorkerThread, msg: ToWorker): void {
    t.worker.postMessage(msg);
    Atomics.add(t.control, 0, 1);
    // One wake datagram for all the messages posted in this turn of the event loop (500 BFD sends in a
    // timer callback wake the worker once); the generation counter already says there is mail.
    if (!t.wakeQueued) {
      t.wakeQueued = true;
      queueMicrotask(() => this.wake(t));
    }
  }

  private wake(t: WorkerThread): void {
    t.wakeQueued = false;
    // Before 'ready' the worker has no wake socket yet; it drains its mail before its first step anyway.
    if (this.wakeFd >= 0 && t.ready) this.opts.io.sendBatch(this.wakeFd, this.wakeBuf, this.zero, this.one, t.wakeRecord, 1);
  }
}

/** What worker `index` is told of a port: its own socket of the group, or the one fd, read by worker 0 only. */
function workerPort(port: PlanePort, index: number): Port {
  const { fds, ...rest } = port;
  if (fds !== undefined) return { ...rest, fd: fds[index]! };
  return index === 0 ? rest : { ...rest, sendOnly: true };
}

/** The port's plain fields (what a message carries), offload flags only when set. */
function portCopy(port: PlanePort): PlanePort {
  return {
    fd: port.fd,
    kind: port.kind,
    ...(port.gso === true ? { gso: true } : {}),
    ...(port.gro === true ? { gro: true } : {}),
    ...(port.gsoFlowOffset !== undefined ? { gsoFlowOffset: port.gsoFlowOffset } : {}),
    ...(Array.isArray(port.fds) ? { fds: [...port.fds] } : {}),
  };
}
