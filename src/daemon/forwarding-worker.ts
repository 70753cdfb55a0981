/**
 * The forwarding plane's thread. It runs the engine's batch loop and blocks in poll(2) when idle, so the
 * main thread's event loop (control plane, BFD timers, API) is never starved by data traffic.
 *
 * Messages from the main thread are posted on the port and announced by bumping a generation counter in
 * shared memory plus a one-byte datagram to this thread's loopback wake socket (which is in the poll set).
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { loadNative } from '../dataplane/io/native.js';
import { C, countersFrom } from '../dataplane/counters.js';
import { Engine } from '../dataplane/engine.js';
import { Fib } from '../dataplane/fib/fib.js';
import { Forwarder } from '../dataplane/forward.js';
import { createLink } from '../transport/links.js';
import type { LinkSpec } from '../transport/link-spec.js';
import type { ToWorker, WorkerInit } from './forwarding-messages.js';

const init = workerData as WorkerInit;
const port = parentPort!;
const io = loadNative();
// Threads inherit their creator's nice value: the main thread raised its own (control plane first), so the
// forwarding thread goes back to the default and yields to it under contention.
try {
  io.setThreadPriority(0);
} catch {
  /* not permitted: keep the inherited value */
}
const counters = countersFrom(init.nodeCounters, init.linkCounters);
const control = new Int32Array(init.control);
const fib = new Fib();
const forwarder = new Forwarder({
  meshAddress: init.meshAddress,
  linkLocal: init.linkLocal,
  fib,
  counters,
});
const wakeFd = io.udpOpen('127.0.0.1', 0);
const engine = new Engine(
  {
    io,
    tunFd: init.tunFd,
    ports: init.ports,
    forwarder,
    counters,
    now: () => performance.now(),
    maxPacket: init.maxPacket,
    batch: init.batch,
    punt(linkId, packet) {
      // Copy: posting a view of the slab would clone the whole slab.
      const copy = new Uint8Array(packet);
      port.postMessage({ type: 'punt', linkId, packet: copy }, [copy.buffer]);
    },
  },
  [wakeFd],
);
const wakeBit = 1 << (1 + init.ports.length);
const wakeScratch = Buffer.alloc(64 * 64);
const wakeSizes = new Int32Array(64);
const wakeAddrs = new Uint8Array(64 * 20);

let links: LinkSpec[] = init.links;
applyLinks(links);
applyRoutes(init.routes);

function applyLinks(specs: LinkSpec[]): void {
  const old = new Set(links.map((l) => l.id));
  links = specs;
  for (const s of specs) old.delete(s.id);
  for (const id of old) engine.removeLinkMtu(id);
  engine.setLinks(specs.map(createLink));
}

function applyRoutes(routes: WorkerInit['routes']): void {
  fib.clear();
  for (const r of routes) fib.insert(r.prefix, r.length, r.nexthops);
}

function handle(msg: ToWorker): boolean {
  switch (msg.type) {
    case 'routes':
      applyRoutes(msg.routes);
      return true;
    case 'links':
      applyLinks(msg.links);
      return true;
    case 'send':
      engine.sendFromControlPlane(msg.linkId, msg.packet);
      return true;
    case 'stop':
      return false;
  }
}

let seen = Atomics.load(control, 0);
port.postMessage({ type: 'ready', wakePort: io.udpLocalPort(wakeFd) });

let running = true;
while (running) {
  const gen = Atomics.load(control, 0);
  if (gen !== seen) {
    seen = gen;
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
      if (!handle(m.message as ToWorker)) running = false;
    }
    if (!running) break;
  }
  let work: number;
  try {
    work = engine.step();
  } catch (err) {
    // A bug must not take the data plane down: count it, report it once in a while, keep forwarding.
    counters.node[C.internal_errors]!++;
    if (counters.node[C.internal_errors]! <= 10) port.postMessage({ type: 'error', message: String((err as Error)?.stack ?? err) });
    work = 1;
  }
  if (work === 0) {
    const ready = engine.wait(250);
    if (ready & wakeBit) {
      while (io.recvBatch(wakeFd, wakeScratch, 64, 0, 64, wakeSizes, wakeAddrs) > 0);
    }
  }
}
io.close(wakeFd);
port.close();
