/**
 * What crosses between the main thread and the forwarding worker. Every change is one message, applied
 * on its own (a link added, a route removed), never a whole table replaced: the worker keeps every other
 * link's state and every other route.
 */
import type { LinkSpec } from '../transport/link-spec.js';
import type { Port } from '../dataplane/engine.js';
import type { PuntBatch, PuntOptions } from '../dataplane/punt.js';

export interface RouteSpec {
  prefix: Uint8Array;
  length: number;
  /** Link ids. */
  nexthops: number[];
}

export interface RouteKey {
  prefix: Uint8Array;
  length: number;
}

/** A change to the FIB: `remove` first, then `insert` (an insert of an existing prefix replaces it). */
export interface RouteChange {
  remove: RouteKey[];
  insert: RouteSpec[];
}

/** A port as the plane takes it: with `fds`, one socket of an SO_REUSEPORT group per worker (fds[0] = fd). */
export interface PlanePort extends Port {
  fds?: readonly number[];
}

export interface WorkerInit {
  /** Which of the plane's workers this is (0: the one that sends for the control plane and stands in for BFD). */
  index: number;
  /** This worker's queue of the host TUN (the only one with one worker). */
  tunFd: number;
  meshAddress: Uint8Array;
  linkLocal: Uint8Array;
  nodeCounters: SharedArrayBuffer;
  linkCounters: SharedArrayBuffer;
  /** Int32 slot 0: generation counter bumped after each posted message. */
  control: SharedArrayBuffer;
  maxPacket: number;
  batch: number;
  punts?: PuntOptions;
  /** Longest sleep in poll(2) when idle, ms (a backstop: messages and packets wake it at once). */
  idleWaitMs?: number;
  /** The host TUN has a virtio header (EngineOptions.tunOffload). */
  tunOffload?: boolean;
  /** Busy polling under load, µs (see the worker's loop). */
  busyPollUs?: number;
}

export type ToWorker =
  | { type: 'addPort'; id: number; port: PlanePort }
  | { type: 'removePort'; id: number }
  | { type: 'addLink'; spec: LinkSpec }
  | { type: 'removeLink'; id: number }
  | { type: 'addPendingPeer'; port: number; remote: Uint8Array }
  | { type: 'removePendingPeer'; port: number; remote: Uint8Array }
  /** A RouteChange packed by packRoutes(): one buffer, so 10,000 routes cost a memcpy to post, not a clone of 10,000 objects. */
  | { type: 'routes'; data: ArrayBuffer }
  | { type: 'send'; linkId: number; packet: Uint8Array }
  /** BFD's stand-in for a silent main thread (src/dataplane/bfd-stand-in.ts); packet null: none. */
  | { type: 'bfdStandIn'; linkId: number; packet: Uint8Array | null; intervalMs: number }
  /** Answer 'synced' after the next step: its punts (what the sockets held by then) are posted first. */
  | { type: 'sync'; id: number }
  /** Another worker heard a roaming link's peer from a new UDP port (its 'roamed'): send there too. */
  | { type: 'peerMoved'; linkId: number; remote: Uint8Array }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'ready'; wakePort: number }
  /** One step's punted packets, BFD first: `data` holds count * [linkId, length] int32s, then the bytes. */
  | { type: 'punt'; count: number; data: ArrayBuffer }
  | { type: 'error'; message: string }
  | { type: 'synced'; id: number }
  /** A roaming link's peer moved to another UDP port: the link's address record now. */
  | { type: 'roamed'; linkId: number; remote: Uint8Array }
  /** A port's route refused UDP_SEGMENT (EIO): the port sends datagrams one by one from now on. */
  | { type: 'gsoOff'; portId: number };

/**
 * Copy a step's punted packets out of the slab into one transferable buffer: the one allocation and
 * copy of the punt path, made once per step however many packets it carries.
 */
export function packPunts(batch: PuntBatch): { count: number; data: ArrayBuffer } {
  const n = batch.count;
  let total = 0;
  for (let i = 0; i < n; i++) total += batch.lengths[i]!;
  const data = new ArrayBuffer(n * 8 + total);
  const meta = new Int32Array(data, 0, n * 2);
  const bytes = new Uint8Array(data, n * 8);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const off = batch.offsets[i]!;
    const len = batch.lengths[i]!;
    meta[i * 2] = batch.linkIds[i]!;
    meta[i * 2 + 1] = len;
    bytes.set(batch.slab.subarray(off, off + len), at);
    at += len;
  }
  return { count: n, data };
}

/** Hand each packet of a packed punt batch to `emit`, in order (BFD first), as a Buffer of its own bytes. */
export function unpackPunts(count: number, data: ArrayBuffer, emit: (linkId: number, packet: Buffer) => void): void {
  const meta = new Int32Array(data, 0, count * 2);
  let at = count * 8;
  for (let i = 0; i < count; i++) {
    const len = meta[i * 2 + 1]!;
    emit(meta[i * 2]!, Buffer.from(data, at, len));
    at += len;
  }
}

/*
 * A packed route change: records back to back, the removes first, then the inserts.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Prefix length |  Next hops n  |                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 *   |                   Prefix (16 bytes)                           |
 *   +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                               |  n link ids, uint16 LE each   |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * n = 0 is a remove. The caller has checked the change (ForwardingState.checkRoutes).
 */
const ROUTE_HEAD = 18;

export function packRoutes(change: RouteChange): ArrayBuffer {
  let total = change.remove.length * ROUTE_HEAD;
  for (const r of change.insert) total += ROUTE_HEAD + 2 * r.nexthops.length;
  const data = new ArrayBuffer(total);
  const bytes = new Uint8Array(data);
  const view = new DataView(data);
  let at = 0;
  const head = (r: RouteKey, n: number): void => {
    bytes[at] = r.length;
    bytes[at + 1] = n;
    bytes.set(r.prefix.subarray(0, 16), at + 2);
    at += ROUTE_HEAD;
  };
  for (const r of change.remove) head(r, 0);
  for (const r of change.insert) {
    head(r, r.nexthops.length);
    for (const nh of r.nexthops) {
      view.setUint16(at, nh, true);
      at += 2;
    }
  }
  return data;
}

/**
 * A packed route change applied a slice at a time: the forwarding thread takes a few milliseconds of it
 * per turn and forwards packets (and stands in for BFD) in between, so 10,000 routes never hold it for
 * the 100+ ms they take in one go.
 */
export class RouteCursor {
  private at = 0;
  private readonly bytes: Uint8Array;
  private readonly view: DataView;

  constructor(data: ArrayBuffer) {
    this.bytes = new Uint8Array(data);
    this.view = new DataView(data);
  }

  get done(): boolean {
    return this.at >= this.bytes.length;
  }

  /**
   * Apply records until all are applied or `until()` says stop (asked every 64 records). Returns
   * whether all are applied. A record cut short by the end of the buffer throws a RangeError and ends
   * the change; an error from the sink leaves the cursor past that record, so the caller can go on.
   */
  applyTo(sink: { remove(prefix: Uint8Array, length: number): unknown; insert(prefix: Uint8Array, length: number, nexthops: number[]): void }, until: () => boolean): boolean {
    const bytes = this.bytes;
    const end = bytes.length;
    let k = 0;
    while (this.at < end) {
      if ((++k & 63) === 0 && until()) return false;
      const at = this.at;
      const n = bytes[at + 1]!;
      const next = at + ROUTE_HEAD + 2 * n;
      if (next > end) {
        this.at = end;
        throw new RangeError(`a packed route change ends inside a record (at byte ${at} of ${end})`);
      }
      this.at = next;
      const prefix = bytes.subarray(at + 2, at + ROUTE_HEAD);
      if (n === 0) {
        sink.remove(prefix, bytes[at]!);
      } else {
        const nexthops = new Array<number>(n);
        for (let i = 0; i < n; i++) nexthops[i] = this.view.getUint16(at + ROUTE_HEAD + 2 * i, true);
        sink.insert(prefix, bytes[at]!, nexthops);
      }
    }
    return true;
  }
}

/**
 * The change that turns the FIB holding `old` into one holding `next`: removes for prefixes that are
 * gone, inserts for routes that are new or whose next hops changed. Unchanged routes are left alone.
 */
export function diffRoutes(old: readonly RouteSpec[], next: readonly RouteSpec[]): RouteChange {
  const key = (r: RouteKey): string => `${Buffer.from(r.prefix).toString('hex')}/${r.length}`;
  const before = new Map(old.map((r) => [key(r), r]));
  const insert: RouteSpec[] = [];
  for (const r of next) {
    const k = key(r);
    const was = before.get(k);
    before.delete(k);
    if (was === undefined || was.nexthops.length !== r.nexthops.length || was.nexthops.some((n, i) => n !== r.nexthops[i])) {
      insert.push(r);
    }
  }
  const remove = [...before.values()].map((r) => ({ prefix: r.prefix, length: r.length }));
  return { remove, insert };
}
