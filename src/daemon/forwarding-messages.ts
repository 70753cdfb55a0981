import type { LinkSpec } from '../transport/link-spec.js';
import type { Port } from '../dataplane/engine.js';

export interface RouteSpec {
  prefix: Uint8Array;
  length: number;
  /** Link ids. */
  nexthops: number[];
}

export interface WorkerInit {
  tunFd: number;
  ports: Port[];
  meshAddress: Uint8Array;
  linkLocal: Uint8Array;
  links: LinkSpec[];
  routes: RouteSpec[];
  nodeCounters: SharedArrayBuffer;
  linkCounters: SharedArrayBuffer;
  /** Int32 slot 0: generation counter bumped after each posted message. */
  control: SharedArrayBuffer;
  maxPacket: number;
  batch: number;
}

export type ToWorker =
  | { type: 'routes'; routes: RouteSpec[] }
  | { type: 'links'; links: LinkSpec[] }
  | { type: 'send'; linkId: number; packet: Uint8Array }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'ready'; wakePort: number }
  | { type: 'punt'; linkId: number; packet: Uint8Array }
  | { type: 'error'; message: string };
