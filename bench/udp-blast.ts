/**
 * A 64-byte UDP packet generator and counter for the packets-per-second figure, faster than the path it
 * measures: iperf3 -u sends one datagram per syscall and tops out near 90 kpps on this host even over a plain
 * veth, so it measures itself. This sends with sendmmsg (the addon's sendBatch), 64 datagrams per call, over
 * `flows` sockets (distinct source ports: distinct flows for a multi-worker node), and counts with recvmmsg.
 *
 *   node dist/bench/udp-blast.js recv <addr> <port> <seconds>   prints {"packets":N,"seconds":S}
 *   node dist/bench/udp-blast.js send <addr> <port> <seconds> <flows>   prints {"sent":N}
 *
 * Run each inside a namespace made by the bench; it only sends to the address it is given.
 */
import { ADDR_RECORD_LEN, POLL_IN, loadNative } from '../src/dataplane/io/native.js';
import { parseIpv6Address } from '../src/common/ipv6-text.js';

const PAYLOAD = 64;
const BATCH = 64;

function record(addr: string, port: number): Uint8Array {
  const r = new Uint8Array(ADDR_RECORD_LEN);
  r.set(parseIpv6Address(addr));
  r[16] = port >> 8;
  r[17] = port & 0xff;
  return r;
}

function recv(addr: string, port: number, seconds: number): void {
  const io = loadNative();
  const fd = io.udpOpen(addr, port);
  const slab = Buffer.alloc(BATCH * 128);
  const sizes = new Int32Array(BATCH);
  const addrs = new Uint8Array(BATCH * ADDR_RECORD_LEN);
  const fds = Int32Array.of(fd);
  const ready = new Uint8Array(1);
  let packets = 0;
  let first = 0;
  let last = 0;
  const end = performance.now() + seconds * 1000;
  process.stdout.write('ready\n');
  while (performance.now() < end) {
    if (io.pollIn(fds, 100, ready) <= 0 || (ready[0]! & POLL_IN) === 0) {
      // Quiet for a while after traffic: the sender is done.
      if (first !== 0 && performance.now() - last > 1000) break;
      continue;
    }
    for (let n = io.recvBatch(fd, slab, 128, 0, BATCH, sizes, addrs); n > 0; n = io.recvBatch(fd, slab, 128, 0, BATCH, sizes, addrs)) {
      const now = performance.now();
      if (first === 0) first = now;
      last = now;
      packets += n;
    }
  }
  io.close(fd);
  process.stdout.write(`${JSON.stringify({ packets, seconds: Math.max(0.001, (last - first) / 1000) })}\n`);
}

function send(addr: string, port: number, seconds: number, flows: number): void {
  const io = loadNative();
  const fds = Array.from({ length: flows }, () => io.udpOpen('::', 0));
  const slab = Buffer.alloc(BATCH * PAYLOAD, 0x5a);
  const offsets = Int32Array.from({ length: BATCH }, (_, i) => i * PAYLOAD);
  const lengths = new Int32Array(BATCH).fill(PAYLOAD);
  const addrs = new Uint8Array(BATCH * ADDR_RECORD_LEN);
  const to = record(addr, port);
  for (let i = 0; i < BATCH; i++) addrs.set(to, i * ADDR_RECORD_LEN);
  let sent = 0;
  const end = performance.now() + seconds * 1000;
  for (let k = 0; performance.now() < end; k++) {
    // A full socket buffer returns fewer: the next call tries again (as iperf3 -b 0 does, at full speed).
    for (let j = 0; j < 16; j++) sent += Math.max(0, io.sendBatch(fds[k % flows]!, slab, offsets, lengths, addrs, BATCH));
  }
  for (const fd of fds) io.close(fd);
  process.stdout.write(`${JSON.stringify({ sent })}\n`);
}

const [mode, addr, port, seconds, flows] = process.argv.slice(2);
if (mode === 'recv' && addr && port && seconds) recv(addr, Number(port), Number(seconds));
else if (mode === 'send' && addr && port && seconds) send(addr, Number(port), Number(seconds), Number(flows ?? 1));
else {
  process.stderr.write('usage: udp-blast recv <addr> <port> <seconds> | send <addr> <port> <seconds> <flows>\n');
  process.exitCode = 2;
}
