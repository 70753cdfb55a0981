/**
 * The forwarding plane's thread. It runs the engine's batch loop and blocks in poll(2) when idle, so the
 * main thread's event loop (control plane, BFD timers, API) is never starved by data traffic.
 *
 * Messages from the main thread are posted on the port and announced by bumping a generation counter in
 * shared memory plus a one-byte datagram to this thread's loopback wake socket (which is in the poll set).
 * Ports, links and routes all arrive as messages (forwarding-messages.ts); each step's punted packets
 * leave as one 'punt' message, BFD first. It also stands in for BFD when the main thread misses its
 * intervals (src/dataplane/bfd-stand-in.ts), so its idle sleep ends when a template is due.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { loadNative } from '../dataplane/io/native.js';
import { countersFrom } from '../dataplane/counters.js';
import { packPunts, type ToWorker, type WorkerInit } from './forwarding-messages.js';
import { ForwardingCore } from './forwarding-core.js';
import { BusyPoll } from './busy-poll.js';

const init = workerData as WorkerInit;
const port = parentPort!;
const io = loadNative();
// Threads inherit their creator's nice value, and this one keeps the control plane's raised one: it reads
// BFD's packets, answers the control plane's sync and stands in for its BFD when that thread is held
// (bfd-stand-in.ts), so on a host short of CPU it must not starve behind the other daemons' busy threads.
const control = new Int32Array(init.control);
const wakeFd = io.udpOpen('127.0.0.1', 0);
const core = new ForwardingCore({
  io,
  tunFd: init.tunFd,
  tunOffload: init.tunOffload === true,
  gsoOff(portId) {
    port.postMessage({ type: 'gsoOff', portId });
  },
  meshAddress: init.meshAddress,
  linkLocal: init.linkLocal,
  counters: countersFrom(init.nodeCounters, init.linkCounters),
  maxPacket: init.maxPacket,
  batch: init.batch,
  punts: init.punts,
  wakeFd,
  now: () => performance.now(),
  punt(batch) {
    // One message per step: posting views of the slab would clone the whole slab.
    const { count, data } = packPunts(batch);
    port.postMessage({ type: 'punt', count, data }, [data]);
  },
  roamed(linkId, remote) {
    port.postMessage({ type: 'roamed', linkId, remote: Uint8Array.from(remote) });
  },
  error(message) {
    port.postMessage({ type: 'error', message });
  },
});

const idleWaitMs = init.idleWaitMs ?? 250;
/** The most of a route change applied per turn of the loop, ms: packets and BFD's stand-in go in between. */
const ROUTE_SLICE_MS = 2;
const busyPoll = new BusyPoll(init.busyPollUs ?? 0);
const next = (): ToWorker | undefined => receiveMessageOnPort(port)?.message as ToWorker | undefined;

port.postMessage({ type: 'ready', wakePort: io.udpLocalPort(wakeFd) });

// Messages posted before this thread ran bumped the counter before it was first read: drain once anyway.
let seen = Atomics.load(control, 0);
let running = core.drain(next, ROUTE_SLICE_MS);
while (running) {
  const gen = Atomics.load(control, 0);
  if (gen !== seen || core.applying) {
    seen = gen;
    running = core.drain(next, ROUTE_SLICE_MS);
    if (!running) break;
  }
  const spinUs = busyPoll.after(core.step(), performance.now());
  // After the step: its punts are already posted, so the main thread sees them before the answer.
  for (const id of core.takeSyncs()) port.postMessage({ type: 'synced', id });
  const standInDue = core.runStandIn();
  // Also after a step that did work, unless a source filled its batch: poll returns at once if anything is
  // readable and says which fds are, so the next step reads those only. Stepping again first would cost a
  // failed read per quiet fd, which at low rates is most of a packet's cost.
  if (!core.applying && !core.engine.full) core.engine.wait(Math.min(idleWaitMs, Math.ceil(standInDue)), spinUs);
}
io.close(wakeFd);
port.close();
