/**
 * The main thread's handle on the forwarding worker: start it, program links and routes, send control
 * packets, receive punted packets, read counters, stop it.
 */
import { Worker } from 'node:worker_threads';
import { EventEmitter } from 'node:events';
import { ADDR_RECORD_LEN, type NativeAddon } from '../dataplane/io/native.js';
import { createCounters, type CounterSet } from '../dataplane/counters.js';
import type { FromWorker, RouteSpec, ToWorker, WorkerInit } from './forwarding-messages.js';

export type ForwardingPlaneOptions = Pick<
  WorkerInit,
  'tunFd' | 'ports' | 'meshAddress' | 'linkLocal' | 'links' | 'routes' | 'maxPacket'
> & { io: NativeAddon; batch?: number };

export class ForwardingPlane extends EventEmitter {
  readonly counters: CounterSet;
  private worker: Worker | undefined;
  private readonly control = new Int32Array(new SharedArrayBuffer(4));
  private wakeFd = -1;
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
    const init: WorkerInit = {
      tunFd: this.opts.tunFd,
      ports: this.opts.ports,
      meshAddress: this.opts.meshAddress,
      linkLocal: this.opts.linkLocal,
      links: this.opts.links,
      routes: this.opts.routes,
      nodeCounters: this.counters.node.buffer as SharedArrayBuffer,
      linkCounters: this.counters.link.buffer as SharedArrayBuffer,
      control: this.control.buffer as SharedArrayBuffer,
      maxPacket: this.opts.maxPacket,
      batch: this.opts.batch ?? 64,
    };
    const worker = new Worker(new URL('./forwarding-worker.js', import.meta.url), { workerData: init });
    this.worker = worker;
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
        } else if (msg.type === 'error') {
          this.emit('internal-error', msg.message);
        } else if (msg.type === 'punt') {
          this.emit('punt', msg.linkId, Buffer.from(msg.packet.buffer, msg.packet.byteOffset, msg.packet.length));
        }
      });
    });
    worker.on('error', (err) => this.emit('error', err));
    worker.on('exit', (code) => this.emit('exit', code));
    this.wakeFd = this.opts.io.udpOpen('127.0.0.1', 0);
    this.wakeRecord.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1, wakePort >> 8, wakePort & 0xff]);
  }

  setRoutes(routes: RouteSpec[]): void {
    this.post({ type: 'routes', routes });
  }

  setLinks(links: WorkerInit['links']): void {
    this.post({ type: 'links', links });
  }

  /** Send an inner IPv6 packet made by the control plane on a link. */
  send(linkId: number, packet: Uint8Array): void {
    this.post({ type: 'send', linkId, packet });
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
    if (this.wakeFd >= 0) this.opts.io.close(this.wakeFd);
    this.wakeFd = -1;
  }

  private post(msg: ToWorker): void {
    if (this.worker) this.postTo(this.worker, msg);
  }

  private postTo(worker: Worker, msg: ToWorker): void {
    worker.postMessage(msg);
    Atomics.add(this.control, 0, 1);
    if (this.wakeFd >= 0) {
      this.opts.io.sendBatch(this.wakeFd, this.wakeBuf, this.zero, this.one, this.wakeRecord, 1);
    }
  }
}
