/**
 * What the daemon needs of a forwarding plane: the worker's handle (forwarding-plane.ts) in a real
 * node, an in-process one over the in-memory addon in unit tests.
 */
import type { CounterSet } from '../dataplane/counters.js';
import type { NativeAddon } from '../dataplane/io/native.js';
import type { FibChange } from '../controlplane/rib.js';
import type { LinkPlane } from '../transport/link-driver.js';

export interface PlaneOptions {
  io: NativeAddon;
  tunFd: number;
  meshAddress: Uint8Array;
  linkLocal: Uint8Array;
  maxPacket: number;
}

export interface ForwardingPlaneHandle extends LinkPlane {
  readonly counters: CounterSet;
  start(): Promise<void>;
  stop(): Promise<void>;
  updateRoutes(change: FibChange): void;
  /** Send an inner IPv6 packet made by the control plane on a link. */
  send(linkId: number, packet: Uint8Array): void;
  on(event: 'punt', fn: (linkId: number, packet: Buffer) => void): unknown;
  on(event: 'error', fn: (err: Error) => void): unknown;
  on(event: 'internal-error', fn: (message: string) => void): unknown;
  on(event: 'exit', fn: (code: number) => void): unknown;
}
