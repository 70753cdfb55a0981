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
import { packRoutes, unpackPunts, type FromWorker, type RouteChange, type ToWorker, type WorkerInit } from './forwarding-messages.js';

export interface ForwardingPlaneHandle {
  readonly counters: CounterSet;
  /** Start forwarding; changes made before it are applied first, in order. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Add (or replace) port `id`: an underlay UDP socket or a kernel link's TUN. */
  addPort(id: number, port: Port): void;
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

  addPort(id: number, port: Port): void {
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

/** The forwarding plane on a worker thread (forwarding-worker.ts), blocking in poll(2) when idle. */
export class ForwardingPlane extends MessagePlane implements ForwardingPlaneHandle {
  readonly counters: CounterSet;
  private worker: Worker | undefined;
  /** Changes made before start(), posted to the worker as soon as it exists. */
  private pending: ToWorker[] = [];
  private readonly control = new Int32Array(new SharedArrayBuffer(4));
  private wakeFd = -1;
  private wakeQueued = false;
  private readonly wakeRecord = new Uint8Array(ADDR_RECORD_LEN);
  private readonly wakeBuf = Buffer.alloc(1);
  private readonly zero = new Int32Array(1);
  private readonly one = Int32Array.of(1);

  constructor(private readonly opts: ForwardingPlaneOptions) {
    super();
    this.counters = createCounters(true);
  }

  /** Start the worker; resolves when it is forwarding. */
  async start(): Promise<void> {
    if (this.worker) throw new Error('the forwarding plane is already started');
    const init: WorkerInit = {
      tunFd: this.opts.tunFd,
      meshAddress: this.opts.meshAddress,
      linkLocal: this.opts.linkLocal,
      nodeCounters: this.counters.node.buffer as SharedArrayBuffer,
      linkCounters: this.counters.link.buffer as SharedArrayBuffer,
      control: this.control.buffer as SharedArrayBuffer,
      maxPacket: this.opts.maxPacket,
      batch: this.opts.batch ?? 64,
      punts: this.opts.punts,
      idleWaitMs: this.opts.idleWaitMs,
      tunOffload: this.opts.tunOffload === true,
    };
    const worker = new Worker(new URL('./forwarding-worker.js', import.meta.url), { workerData: init });
    this.worker = worker;
    // Posted before the worker runs: it drains its port once before its first step, so none is missed.
    for (const m of this.pending) this.postTo(worker, m);
    this.pending = [];
    const wakePort = await new Promise<number>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      const onExit = (code: number) => reject(new Error(`forwarding worker exited with code ${code}`));
      worker.once('error', onError);
      worker.once('exit', onExit);
      worker.on('message', (msg: FromWorker) => {
        if (msg.type === 'ready') {
          worker.off('error', onError);
          worker.off('exit', onExit);
          resolve(msg.wakePort);
        } else if (msg.type === 'punt') {
          unpackPunts(msg.count, msg.data, (linkId, packet) => this.emit('punt', linkId, packet));
        } else if (msg.type === 'synced') {
          this.synced(msg.id);
        } else if (msg.type === 'roamed') {
          this.emit('roamed', msg.linkId, msg.remote);
        } else if (msg.type === 'gsoOff') {
          this.emit('gso-off', msg.portId);
        } else if (msg.type === 'error') {
          this.emit('internal-error', msg.message);
        }
      });
    });
    worker.on('error', (err) => this.emit('error', err));
    worker.on('exit', (code) => {
      this.releaseSyncs();
      this.emit('exit', code);
    });
    this.wakeFd = this.opts.io.udpOpen('127.0.0.1', 0);
    this.wakeRecord.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1, wakePort >> 8, wakePort & 0xff]);
  }



  async stop(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    this.postTo(worker, { type: 'stop' });
    const timer = setTimeout(() => void worker.terminate(), 2000);
    await exited;
    clearTimeout(timer);
    this.releaseSyncs();
    if (this.wakeFd >= 0) this.opts.io.close(this.wakeFd);
    this.wakeFd = -1;
  }

  override sync(done: () => void): void {
    if (this.worker) super.sync(done);
    else setImmediate(done);
  }

  protected post(msg: ToWorker): void {
    if (this.worker) this.postTo(this.worker, msg);
    else this.pending.push(msg);
  }

  private postTo(worker: Worker, msg: ToWorker): void {
    worker.postMessage(msg);
    Atomics.add(this.control, 0, 1);
    // One wake datagram for all the messages posted in this turn of the event loop (500 BFD sends in a
    // timer callback wake the worker once); the generation counter already says there is mail.
    if (!this.wakeQueued) {
      this.wakeQueued = true;
      queueMicrotask(() => this.wake());
    }
  }

  private wake(): void {
    this.wakeQueued = false;
    if (this.wakeFd >= 0) this.opts.io.sendBatch(this.wakeFd, this.wakeBuf, this.zero, this.one, this.wakeRecord, 1);
  }
}

/** The port's plain fields (what a message carries), offload flags only when set. */
function portCopy(port: Port): Port {
  return { fd: port.fd, kind: port.kind, ...(port.gso === true ? { gso: true } : {}), ...(port.gro === true ? { gro: true } : {}) };
}
