/**
 * UDP segmentation and receive offload (native/src/offload_io.c) on loopback sockets: sendBatchGso groups runs of
 * equal-sized datagrams to one peer into UDP_SEGMENT messages, recvBatchGro spreads the coalesced messages a
 * UDP_GRO socket gets back into one datagram per slot, carrying what does not fit to the next call. Whatever
 * either does, the receiver must see exactly the datagrams that were given, in order, each with its sender.
 *
 * Loopback only (127.0.0.1). Linux: UDP_SEGMENT since 4.18, UDP_GRO since 5.0; skipped elsewhere.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ADDR_RECORD_LEN,
  GRO_SCRATCH_BYTES,
  GRO_STATE_LEN,
  OS_GRO_MSGS,
  OS_GRO_SEGMENTS,
  OS_GSO_MSGS,
  OS_GSO_SEGMENTS,
  OS_STATS,
  loadNative,
} from '../../src/dataplane/io/native.js';

const io = loadNative();
const linux = process.platform === 'linux' ? {} : { skip: 'UDP_SEGMENT and UDP_GRO are Linux only' };

function v4(port: number): Buffer {
  const r = Buffer.alloc(ADDR_RECORD_LEN);
  r.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1]);
  r.writeUInt16BE(port, 16);
  return r;
}

/** Datagram i: its index and length in the first 4 bytes, then a pattern, so any mix-up shows. */
function datagram(i: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  for (let k = 0; k < len; k++) b[k] = (i * 31 + k) & 0xff;
  if (len >= 4) {
    b.writeUInt16BE(i, 0);
    b.writeUInt16BE(len, 2);
  }
  return b;
}

interface Sent {
  slab: Buffer;
  offsets: Int32Array;
  lengths: Int32Array;
  addrs: Buffer;
}

/** A send queue as the engine builds it: slots of `stride` with headroom, datagram k at its slot. */
function queue(items: { len: number; port: number }[], stride = 2048, headroom = 64): Sent {
  const slab = Buffer.alloc(items.length * stride);
  const offsets = new Int32Array(items.length);
  const lengths = new Int32Array(items.length);
  const addrs = Buffer.alloc(items.length * ADDR_RECORD_LEN);
  items.forEach((it, k) => {
    offsets[k] = k * stride + headroom;
    lengths[k] = it.len;
    datagram(k, it.len).copy(slab, offsets[k]);
    v4(it.port).copy(addrs, k * ADDR_RECORD_LEN);
  });
  return { slab, offsets, lengths, addrs };
}

/** Receive until `want` datagrams came or 2 s passed, `max` slots per call. */
function receive(fd: number, want: number, max: number, gro: boolean, stats: Int32Array): { data: Buffer[]; from: Buffer[]; calls: number } {
  const STRIDE = 2048;
  const HEAD = 64;
  const slab = Buffer.alloc(max * STRIDE, 0xee);
  const sizes = new Int32Array(max);
  const from = new Uint8Array(max * ADDR_RECORD_LEN);
  const scratch = Buffer.alloc(GRO_SCRATCH_BYTES);
  const state = new Int32Array(GRO_STATE_LEN);
  const data: Buffer[] = [];
  const senders: Buffer[] = [];
  let calls = 0;
  const deadline = Date.now() + 2000;
  while (data.length < want && Date.now() < deadline) {
    const n = gro
      ? io.recvBatchGro(fd, slab, STRIDE, HEAD, max, sizes, from, scratch, state, stats)
      : io.recvBatch(fd, slab, STRIDE, HEAD, max, sizes, from);
    assert.ok(n >= 0, `receive failed: ${n}`);
    if (n > 0) calls++;
    for (let i = 0; i < n; i++) {
      assert.ok(slab.subarray(i * STRIDE, i * STRIDE + HEAD).every((x) => x === 0xee), 'headroom untouched');
      data.push(Buffer.from(slab.subarray(i * STRIDE + HEAD, i * STRIDE + HEAD + sizes[i]!)));
      senders.push(Buffer.from(from.subarray(i * ADDR_RECORD_LEN, (i + 1) * ADDR_RECORD_LEN)));
    }
  }
  return { data, from: senders, calls };
}

function withSockets(body: (a: number, b: number, c: number, pa: number, pb: number, pc: number) => void): void {
  const a = io.udpOpen('127.0.0.1', 0);
  const b = io.udpOpen('127.0.0.1', 0);
  const c = io.udpOpen('127.0.0.1', 0);
  try {
    body(a, b, c, io.udpLocalPort(a), io.udpLocalPort(b), io.udpLocalPort(c));
  } finally {
    io.close(a);
    io.close(b);
    io.close(c);
  }
}

describe('UDP offloads over loopback', linux, () => {
  it('sendBatchGso: runs to one peer become UDP_SEGMENT messages; a plain receiver gets every datagram in order', () => {
    withSockets((a, b, c, pa, pb, pc) => {
      // Two runs to b (40 x 1400 with a short last, then 70 x 1000: cut at 64 per message), one datagram to c
      // in between, a longer datagram that starts a new run, and a lone one.
      const items = [
        ...Array.from({ length: 40 }, () => ({ len: 1400, port: pb })),
        { len: 600, port: pb },
        { len: 1400, port: pc },
        ...Array.from({ length: 70 }, () => ({ len: 1000, port: pb })),
        { len: 1200, port: pb },
        { len: 80, port: pb },
      ];
      const q = queue(items);
      const stats = new Int32Array(OS_STATS);
      assert.equal(io.sendBatchGso(a, q.slab, q.offsets, q.lengths, q.addrs, items.length, stats), items.length);
      // Runs: 41 (40 + the short one), [c] alone, 64, 6, then 1200 followed by the shorter 80: 4 GSO messages.
      assert.equal(stats[OS_GSO_MSGS], 4, `GSO messages: ${stats[OS_GSO_MSGS]}`);
      assert.equal(stats[OS_GSO_SEGMENTS], 41 + 64 + 6 + 2);
      const toB = items.map((it, k) => ({ ...it, k })).filter((it) => it.port === pb);
      const got = receive(b, toB.length, 256, false, new Int32Array(OS_STATS));
      assert.equal(got.data.length, toB.length, 'every datagram to b arrived');
      got.data.forEach((d, i) => assert.deepEqual(d, datagram(toB[i]!.k, toB[i]!.len), `datagram ${i}`));
      for (const f of got.from) assert.deepEqual(f, v4(pa));
      const gotC = receive(c, 1, 4, false, new Int32Array(OS_STATS));
      assert.deepEqual(gotC.data, [datagram(41, 1400)]);
    });
  });

  it('recvBatchGro: coalesced messages are spread one datagram per slot, across calls with too few slots', () => {
    withSockets((a, b, _c, pa, pb) => {
      assert.equal(io.udpSetGro(b, true), true, 'UDP_GRO on');
      const items = [
        ...Array.from({ length: 30 }, () => ({ len: 1380, port: pb })),
        { len: 17, port: pb },
        ...Array.from({ length: 20 }, () => ({ len: 900, port: pb })),
        { len: 0, port: pb }, // an empty datagram stays one (empty) packet
        { len: 64, port: pb },
      ];
      const q = queue(items);
      const sendStats = new Int32Array(OS_STATS);
      assert.equal(io.sendBatchGso(a, q.slab, q.offsets, q.lengths, q.addrs, items.length, sendStats), items.length);
      const stats = new Int32Array(OS_STATS);
      const got = receive(b, items.length, 7, true, stats);
      assert.equal(got.data.length, items.length, 'every datagram arrived');
      got.data.forEach((d, i) => assert.deepEqual(d, datagram(i, items[i]!.len), `datagram ${i}`));
      for (const f of got.from) assert.deepEqual(f, v4(pa));
      // Over loopback a UDP_SEGMENT message reaches a UDP_GRO socket whole: it is read as one.
      assert.ok(stats[OS_GRO_MSGS]! >= 2, `coalesced messages: ${stats[OS_GRO_MSGS]}`);
      assert.ok(stats[OS_GRO_SEGMENTS]! >= 31 + 20, `in them: ${stats[OS_GRO_SEGMENTS]}`);
      assert.ok(got.calls >= Math.ceil(items.length / 7), 'taken 7 at a time');
      // Nothing left behind: the socket and the scratch are empty.
      const slab = Buffer.alloc(7 * 2048);
      const state = new Int32Array(GRO_STATE_LEN);
      assert.equal(io.recvBatchGro(b, slab, 2048, 64, 7, new Int32Array(7), new Uint8Array(7 * ADDR_RECORD_LEN), Buffer.alloc(GRO_SCRATCH_BYTES), state, stats), 0);
    });
  });

  it('recvBatchGro on a plain socket and sendBatchGso of single datagrams behave as recvBatch/sendBatch', () => {
    withSockets((a, b, _c, _pa, pb) => {
      const items = [{ len: 100, port: pb }, { len: 200, port: pb }, { len: 50, port: pb }];
      const q = queue(items);
      const stats = new Int32Array(OS_STATS);
      assert.equal(io.sendBatchGso(a, q.slab, q.offsets, q.lengths, q.addrs, items.length, stats), 3);
      assert.equal(stats[OS_GSO_MSGS], 1, '200 then the shorter 50 go as one message; 100 alone');
      const got = receive(b, 3, 8, true, stats);
      got.data.forEach((d, i) => assert.deepEqual(d, datagram(i, items[i]!.len)));
      assert.equal(got.data.length, 3);
    });
  });

  it('bad arguments throw before any syscall; a state not left by the call is refused', () => {
    withSockets((a, b) => {
      const slab = Buffer.alloc(4 * 2048);
      const sizes = new Int32Array(4);
      const from = new Uint8Array(4 * ADDR_RECORD_LEN);
      const scratch = Buffer.alloc(GRO_SCRATCH_BYTES);
      const stats = new Int32Array(OS_STATS);
      assert.throws(() => io.recvBatchGro(b, slab, 2048, 64, 4, sizes, from, Buffer.alloc(100), new Int32Array(GRO_STATE_LEN), stats), RangeError);
      assert.throws(() => io.recvBatchGro(b, slab, 2048, 64, 4, sizes, from, scratch, new Int32Array(3), stats), RangeError);
      assert.throws(() => io.recvBatchGro(b, slab, 2048, 64, 4, sizes, from, scratch, new Int32Array(GRO_STATE_LEN), new Int32Array(2)), RangeError);
      assert.throws(() => io.recvBatchGro(b, slab, 2048, 64, 4, sizes, from, slab, new Int32Array(GRO_STATE_LEN), stats), RangeError);
      const bad = new Int32Array(GRO_STATE_LEN);
      bad[0] = 1;
      bad[3] = 100000; // a message longer than its buffer
      bad[4] = 1;
      assert.throws(() => io.recvBatchGro(b, slab, 2048, 64, 4, sizes, from, scratch, bad, stats), /state/);
      assert.throws(() => io.sendBatchGso(a, slab, Int32Array.of(8190), Int32Array.of(10), from, 1, stats), RangeError);
      assert.throws(() => io.udpSetGro(a, 1 as unknown as boolean), TypeError);
    });
  });
});
