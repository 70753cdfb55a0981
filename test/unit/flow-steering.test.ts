/**
 * What lets more than one forwarding worker share the underlay ports (src/daemon/forwarding-queues.ts), over
 * IPv4 loopback with the real addon:
 *   - resolveWorkers: 'auto' from the core count;
 *   - openUdpGroup: one SO_REUSEPORT socket per worker on one port, the port another socket holds refused as
 *     with one worker, port 0 resolved once for the whole group;
 *   - udpSteer: every datagram of one inner flow (VXLAN and GRE-in-UDP layouts) reaches the same socket, and
 *     flows shaped as a client's connections (even ports, as Linux hands connect() sockets) spread;
 *   - sendBatchGso with a flow offset: a UDP_SEGMENT message carries one inner flow only.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADDR_RECORD_LEN, OS_GSO_MSGS, OS_STATS, loadNative } from '../../src/dataplane/io/native.js';
import { INNER_SOURCE_OFFSET, openUdpGroup, resolveWorkers } from '../../src/daemon/forwarding-queues.js';
import { MoltnetError } from '../../src/common/errors.js';

const io = loadNative();
const linux = process.platform === 'linux' ? {} : { skip: 'SO_REUSEPORT steering is Linux only' };

function v4(port: number): Uint8Array {
  const r = new Uint8Array(ADDR_RECORD_LEN);
  r.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1, port >> 8, port & 0xff]);
  return r;
}

/** A tunnel datagram whose inner IPv6/TCP flow is (src ::a, dst ::b, sport, dport) with `offset` = where src sits. */
function tunnelled(offset: number, flow: { a: number; b: number; sport: number; dport: number }, len = 200, tag = 0): Buffer {
  const d = Buffer.alloc(len);
  d.writeUInt16BE(0xfd00, offset);
  d.writeUInt16BE(flow.a, offset + 14);
  d.writeUInt16BE(0xfd00, offset + 16);
  d.writeUInt16BE(flow.b, offset + 30);
  d.writeUInt16BE(flow.sport, offset + 32);
  d.writeUInt16BE(flow.dport, offset + 34);
  d[len - 1] = tag;
  return d;
}

function sendAll(fd: number, port: number, datagrams: Buffer[]): void {
  const slab = Buffer.concat(datagrams);
  const offsets = new Int32Array(datagrams.length);
  const lengths = new Int32Array(datagrams.length);
  const addrs = new Uint8Array(datagrams.length * ADDR_RECORD_LEN);
  let at = 0;
  datagrams.forEach((d, i) => {
    offsets[i] = at;
    lengths[i] = d.length;
    addrs.set(v4(port), i * ADDR_RECORD_LEN);
    at += d.length;
  });
  assert.equal(io.sendBatch(fd, slab, offsets, lengths, addrs, datagrams.length), datagrams.length);
}

/** Every datagram waiting on each socket (loopback delivers before sendmmsg returns). */
function drain(fds: number[]): Buffer[][] {
  const slab = Buffer.alloc(64 * 2048);
  const sizes = new Int32Array(64);
  const addrs = new Uint8Array(64 * ADDR_RECORD_LEN);
  return fds.map((fd) => {
    const out: Buffer[] = [];
    for (let n = io.recvBatch(fd, slab, 2048, 0, 64, sizes, addrs); n > 0; n = io.recvBatch(fd, slab, 2048, 0, 64, sizes, addrs)) {
      for (let i = 0; i < n; i++) out.push(Buffer.from(slab.subarray(i * 2048, i * 2048 + sizes[i]!)));
    }
    return out;
  });
}

describe('forwarding workers: how many', () => {
  it("'auto' is half the cores, 1 to 8; a number is taken as it is", () => {
    assert.deepEqual([1, 2, 3, 4, 6, 16, 64].map((c) => resolveWorkers('auto', c, 'linux')), [1, 1, 1, 2, 3, 8, 8]);
    assert.equal(resolveWorkers(3, 2, 'linux'), 3);
    // macOS: one utun queue; a number asked for is still tried (and falls back with a warning).
    assert.equal(resolveWorkers('auto', 16, 'darwin'), 1);
    assert.equal(resolveWorkers(2, 16, 'darwin'), 2);
  });
});

describe('forwarding workers: underlay socket groups', linux, () => {
  it('one socket per worker on one port; a port already held fails as with one worker; port 0 is one port for all', () => {
    const group = openUdpGroup(io, '127.0.0.1', 0, 3, INNER_SOURCE_OFFSET.vxlan);
    try {
      assert.equal(group.fds.length, 3);
      assert.equal(group.steered, true, group.steerError);
      const port = io.udpLocalPort(group.fds[0]!);
      assert.deepEqual(group.fds.map((fd) => io.udpLocalPort(fd)), [port, port, port]);
      // Another daemon's group, or a plain socket, on the same port: refused, nothing left open.
      assert.throws(() => openUdpGroup(io, '127.0.0.1', port, 2, INNER_SOURCE_OFFSET.vxlan), (e: unknown) => e instanceof MoltnetError && /EADDRINUSE/.test((e as Error).message));
      assert.throws(() => io.udpOpen('127.0.0.1', port), /EADDRINUSE/);
    } finally {
      for (const fd of group.fds) io.close(fd);
    }
    const plain = io.udpOpen('127.0.0.1', 0);
    try {
      assert.throws(() => openUdpGroup(io, '127.0.0.1', io.udpLocalPort(plain), 2, INNER_SOURCE_OFFSET.vxlan), /cannot listen on UDP \[127\.0\.0\.1\]:\d+: .*EADDRINUSE/);
    } finally {
      io.close(plain);
    }
  });

  for (const kind of ['vxlan', 'gre'] as const) {
    it(`${kind}: each inner flow reaches one socket; a client's connections (even ports) spread over all of them`, () => {
      const offset = INNER_SOURCE_OFFSET[kind];
      for (const n of [2, 3, 4]) {
        const group = openUdpGroup(io, '127.0.0.1', 0, n, offset);
        const sender = io.udpOpen('127.0.0.1', 0);
        try {
          assert.equal(group.steered, true, group.steerError);
          const port = io.udpLocalPort(group.fds[0]!);
          // 16 connections of one client to one server port, the way Linux numbers them: even, one block.
          const flows = Array.from({ length: 16 }, (_, i) => ({ a: 1, b: 2, sport: 35330 + 2 * i, dport: 5201 }));
          const datagrams = [];
          for (let round = 0; round < 4; round++) for (const [i, f] of flows.entries()) datagrams.push(tunnelled(offset, f, 200, i));
          sendAll(sender, port, datagrams);
          const got = drain(group.fds);
          assert.equal(got.flat().length, datagrams.length, 'every datagram arrived');
          const where = new Map<number, Set<number>>();
          got.forEach((ds, s) => {
            for (const d of ds) {
              const flow = d[d.length - 1]!;
              if (!where.has(flow)) where.set(flow, new Set());
              where.get(flow)!.add(s);
            }
          });
          for (const [flow, sockets] of where) assert.equal(sockets.size, 1, `${kind}, ${n} sockets: flow ${flow} reached sockets ${[...sockets].join(',')}`);
          const used = got.filter((ds) => ds.length > 0).length;
          assert.equal(used, n, `${kind}, ${n} sockets: 16 flows reached only ${used} (${got.map((ds) => ds.length / 4).join('/')})`);
        } finally {
          io.close(sender);
          for (const fd of group.fds) io.close(fd);
        }
      }
    });
  }

  it('a datagram too short to hold an inner flow still arrives (on the first socket)', () => {
    const group = openUdpGroup(io, '127.0.0.1', 0, 2, INNER_SOURCE_OFFSET.vxlan);
    const sender = io.udpOpen('127.0.0.1', 0);
    try {
      sendAll(sender, io.udpLocalPort(group.fds[0]!), [Buffer.alloc(20, 7)]);
      assert.deepEqual(drain(group.fds).map((ds) => ds.length), [1, 0]);
    } finally {
      io.close(sender);
      for (const fd of group.fds) io.close(fd);
    }
  });

  it('bad arguments get a clear error: udpSteer offset and count, the reusePort and multiQueue options', () => {
    assert.throws(() => io.udpOpen('127.0.0.1', 0, { reusePort: 1 as unknown as boolean }), { name: 'TypeError', message: 'udpOpen: options.reusePort must be a boolean' });
    assert.throws(() => io.udpOpen('127.0.0.1', 0, 5 as unknown as object), { name: 'TypeError', message: 'udpOpen: options must be an object' });
    // Checked before the device is touched: no root needed to see it.
    assert.throws(() => io.tunOpen('mnbad0', { multiQueue: 'yes' as unknown as boolean }), { name: 'TypeError', message: 'tunOpen: options.multiQueue must be a boolean' });
    const fd = io.udpOpen('127.0.0.1', 0, { reusePort: undefined });
    try {
      assert.throws(() => io.udpSteer(fd, -1, 2), RangeError);
      assert.throws(() => io.udpSteer(fd, 30, 0), RangeError);
      assert.throws(() => io.udpSteer(fd, 30, 65), RangeError);
    } finally {
      io.close(fd);
    }
  });
});

describe('sendBatchGso: one inner flow per message', linux, () => {
  it('a run of equal-sized datagrams to one peer is cut where the inner flow changes; without the offset it is not', () => {
    const offset = INNER_SOURCE_OFFSET.vxlan;
    const a = { a: 1, b: 2, sport: 40000, dport: 5201 };
    const b = { a: 1, b: 2, sport: 40002, dport: 5201 };
    const order = [a, a, b, b, b, a, a];
    const datagrams = order.map((f, i) => tunnelled(offset, f, 1200, i));
    const rx = io.udpOpen('127.0.0.1', 0);
    const tx = io.udpOpen('127.0.0.1', 0);
    try {
      const slab = Buffer.concat(datagrams);
      const offsets = Int32Array.from(datagrams.map((_, i) => i * 1200));
      const lengths = new Int32Array(datagrams.length).fill(1200);
      const addrs = new Uint8Array(datagrams.length * ADDR_RECORD_LEN);
      datagrams.forEach((_, i) => addrs.set(v4(io.udpLocalPort(rx)), i * ADDR_RECORD_LEN));
      for (const [flowOffset, messages] of [[undefined, 1], [-1, 1], [offset, 3]] as const) {
        const stats = new Int32Array(OS_STATS);
        assert.equal(io.sendBatchGso(tx, slab, offsets, lengths, addrs, datagrams.length, stats, flowOffset), datagrams.length);
        assert.equal(stats[OS_GSO_MSGS], messages, `flowOffset ${String(flowOffset)}: ${stats[OS_GSO_MSGS]} messages`);
        const got = drain([rx])[0]!;
        assert.deepEqual(got.map((d) => d[1199]), [0, 1, 2, 3, 4, 5, 6], 'every datagram, in order');
      }
      assert.throws(() => io.sendBatchGso(tx, slab, offsets, lengths, addrs, 1, new Int32Array(OS_STATS), 5000), RangeError);
    } finally {
      io.close(rx);
      io.close(tx);
    }
  });
});
