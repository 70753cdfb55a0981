/**
 * The in-memory addon keeps the native addon's contract: the same UDP assertions run against both (the
 * native one on IPv4 loopback only), so tests of the engine over MemoryNetwork say something about the
 * engine over the kernel. TUN behaviour needs root on the native side: native.test.ts covers it there.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { ADDR_RECORD_LEN, POLL_IN, POLL_NVAL, loadNative, type NativeAddon } from '../../src/dataplane/io/native.js';
import { MemoryNetwork } from '../../src/dataplane/io/memory.js';

function v4(port: number): Buffer {
  const r = Buffer.alloc(ADDR_RECORD_LEN);
  r.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1]);
  r.writeUInt16BE(port, 16);
  return r;
}

const impls: [string, () => NativeAddon | undefined][] = [
  ['memory', () => new MemoryNetwork()],
  [
    'native',
    () => {
      try {
        return loadNative();
      } catch {
        return undefined;
      }
    },
  ],
];

for (const [name, make] of impls) {
  const io = make();
  describe(`NativeAddon contract: ${name}`, { skip: io ? false : 'the native addon is not built' }, () => {
    const STRIDE = 256;
    const HEAD = 16;

    it('UDP: batches both ways, sender records, headroom untouched, cut to the slot, then empty', () => {
      const a = io!.udpOpen('127.0.0.1', 0);
      const b = io!.udpOpen('127.0.0.1', 0);
      try {
        const pa = io!.udpLocalPort(a);
        const pb = io!.udpLocalPort(b);
        assert.ok(pa > 0 && pb > 0 && pa !== pb);
        const slab = Buffer.alloc(1000);
        for (let i = 0; i < 1000; i++) slab[i] = i & 0xff;
        const offsets = Int32Array.of(0, 100, 300);
        const lengths = Int32Array.of(10, 1, 500); // the last is longer than a slot
        const addrs = Buffer.concat([v4(pb), v4(pb), v4(pb)]);
        assert.equal(io!.sendBatch(a, slab, offsets, lengths, addrs, 3), 3);
        const ready = new Uint8Array(2);
        assert.equal(io!.pollIn(Int32Array.of(b, -1), 1000, ready), 1);
        assert.equal(ready[0]! & POLL_IN, POLL_IN);
        assert.equal(ready[1], 0);
        const rx = Buffer.alloc(4 * STRIDE, 0xee);
        const sizes = new Int32Array(4);
        const from = new Uint8Array(4 * ADDR_RECORD_LEN);
        let n = 0;
        const deadline = Date.now() + 2000;
        while (n < 3 && Date.now() < deadline) {
          const r = io!.recvBatch(b, rx.subarray(n * STRIDE), STRIDE, HEAD, 4 - n, sizes.subarray(n), from.subarray(n * ADDR_RECORD_LEN));
          assert.ok(r >= 0);
          n += r;
        }
        assert.equal(n, 3);
        assert.deepEqual([...sizes.subarray(0, 3)], [10, 1, STRIDE - HEAD]);
        assert.deepEqual(rx.subarray(HEAD, HEAD + 10), slab.subarray(0, 10));
        assert.equal(rx[STRIDE + HEAD], 100);
        assert.deepEqual(rx.subarray(2 * STRIDE + HEAD, 3 * STRIDE), slab.subarray(300, 300 + STRIDE - HEAD));
        for (let s = 0; s < 3; s++) {
          assert.ok(rx.subarray(s * STRIDE, s * STRIDE + HEAD).every((x) => x === 0xee), 'headroom');
          assert.deepEqual(Buffer.from(from.subarray(s * ADDR_RECORD_LEN, (s + 1) * ADDR_RECORD_LEN)), v4(pa));
        }
        assert.equal(io!.recvBatch(b, rx, STRIDE, HEAD, 4, sizes, from), 0);
        assert.equal(io!.pollIn(Int32Array.of(b), 0, ready), 0);
        assert.equal(ready[0], 0);
      } finally {
        io!.close(a);
        io!.close(b);
      }
    });

    it('UDP: an IPv6 peer on an IPv4 socket is skipped; a taken port is EADDRINUSE', () => {
      const a = io!.udpOpen('127.0.0.1', 0);
      try {
        const v6 = Buffer.alloc(ADDR_RECORD_LEN);
        v6[15] = 1;
        v6.writeUInt16BE(9, 16);
        assert.equal(io!.sendBatch(a, Buffer.alloc(8), Int32Array.of(0), Int32Array.of(8), v6, 1), 0);
        assert.throws(() => io!.udpOpen('127.0.0.1', io!.udpLocalPort(a)), { code: 'EADDRINUSE' });
      } finally {
        io!.close(a);
      }
    });

    it('a closed fd: reads -EBADF, polls POLL_NVAL, sends nothing, closing again throws EBADF', () => {
      const a = io!.udpOpen('127.0.0.1', 0);
      io!.close(a);
      const slab = Buffer.alloc(STRIDE);
      assert.equal(io!.recvBatch(a, slab, STRIDE, 0, 1, new Int32Array(1), new Uint8Array(ADDR_RECORD_LEN)), -constants.errno.EBADF);
      assert.equal(io!.readBatch(a, slab, STRIDE, 0, 1, new Int32Array(1)), -constants.errno.EBADF);
      const ready = new Uint8Array(1);
      assert.equal(io!.pollIn(Int32Array.of(a), 0, ready), 1);
      assert.equal(ready[0], POLL_NVAL);
      assert.equal(io!.sendBatch(a, slab, Int32Array.of(0), Int32Array.of(1), v4(9), 1), 0);
      assert.throws(() => io!.close(a), { code: 'EBADF' });
    });
  });
}
