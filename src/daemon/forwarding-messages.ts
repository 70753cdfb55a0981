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

export interface WorkerInit {
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
}

export type ToWorker =
  | { type: 'addPort'; id: number; port: Port }
  | { type: 'removePort'; id: number }
  | { type: 'addLink'; spec: LinkSpec }
  | { type: 'removeLink'; id: number }
  | { type: 'addPendingPeer'; port: number; remote: Uint8Array }
  | { type: 'removePendingPeer'; port: number; remote: Uint8Array }
  | { type: 'routes'; remove: RouteKey[]; insert: RouteSpec[] }
  | { type: 'send'; linkId: number; packet: Uint8Array }
  /** BFD's stand-in for a silent main thread (src/dataplane/bfd-stand-in.ts); packet null: none. */
  | { type: 'bfdStandIn'; linkId: number; packet: Uint8Array | null; intervalMs: number }
  /** Answer 'synced' after the next step: its punts (what the sockets held by then) are posted first. */
  | { type: 'sync'; id: number }
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
