/**
 * The native addon against the real kernel: UDP batches on loopback, a TUN device answering `ping` from a
 * network namespace, EIO on a down link, and loading in worker threads.
 *
 * Needs root (TUN, `ip netns`); skipped otherwise. Sends only to loopback and to addresses inside the
 * namespaces it makes; every wait is bounded and every fd and namespace is released in `finally`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { ADDR_RECORD_LEN, POLL_ERR, POLL_IN, POLL_NVAL, loadNative } from '../../src/dataplane/io/native.js';
import { upperLayerChecksum } from '../../src/dataplane/wire/checksum.js';

const native = loadNative();
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const rootOnly = isRoot ? {} : { skip: 'needs root (TUN devices, ip netns)' };
const run = process.pid;
/** Prefix of the namespaces and TUN devices made here ("mn" unless MOLTNET_TEST_TAG says, e.g. to share a host). */
const TAG = process.env['MOLTNET_TEST_TAG'] ?? 'mn';

const READY = new Uint8Array(1);
/** pollIn on one fd: its flags (0 on timeout). */
function poll1(fd: number, ms: number): number {
  native.pollIn(Int32Array.of(fd), ms, READY);
  return READY[0]!;
}

const STRIDE = 2048;
const HEADROOM = 64;
const MAX = 64;
const FILL = 0xee; // headroom bytes must keep it: packets land at slot + HEADROOM, nothing before

function slots(max = MAX): { slab: Buffer; sizes: Int32Array; addrs: Uint8Array } {
  return {
    slab: Buffer.alloc(max * STRIDE, FILL),
    sizes: new Int32Array(max),
    addrs: new Uint8Array(max * ADDR_RECORD_LEN),
  };
}

/** A 20-byte address record: IPv6 bytes, port big-endian, two zero bytes. */
function record(ip: string, port: number): Buffer {
  const rec = Buffer.alloc(ADDR_RECORD_LEN);
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (v4) {
    rec[10] = 0xff;
    rec[11] = 0xff;
    for (let i = 0; i < 4; i++) rec[12 + i] = Number(v4[i + 1]);
  } else if (ip === '::1') {
    rec[15] = 1;
  } else {
    throw new Error(`record(): test helper knows only IPv4 and ::1, got ${ip}`);
  }
  rec.writeUInt16BE(port, 16);
  return rec;
}

function payloadByte(packet: number, i: number): number {
  return (packet * 31 + i * 7) & 0xff;
}

/** Poll + recvBatch until `want` packets arrived or `ms` passed. Returns packets as [bytes, record]. */
function receive(fd: number, want: number, ms = 2000): Array<[Buffer, Buffer]> {
  const { slab, sizes, addrs } = slots();
  const out: Array<[Buffer, Buffer]> = [];
  const deadline = Date.now() + ms;
  while (out.length < want && Date.now() < deadline) {
    if (poll1(fd, 50) === 0) continue;
    const n = native.recvBatch(fd, slab, STRIDE, HEADROOM, MAX, sizes, addrs);
    assert.ok(n >= 0, `recvBatch returned ${n}`);
    for (let i = 0; i < n; i++) {
      const slot = i * STRIDE;
      for (let j = 0; j < HEADROOM; j++) assert.equal(slab[slot + j], FILL, 'headroom was written');
      out.push([
        Buffer.from(slab.subarray(slot + HEADROOM, slot + HEADROOM + sizes[i]!)),
        Buffer.from(addrs.subarray(i * ADDR_RECORD_LEN, (i + 1) * ADDR_RECORD_LEN)),
      ]);
    }
  }
  return out;
}

/** Send `count` packets of varying sizes (1..~1500) from `from` to `to`, then check what `to` got. */
function roundTrip(from: number, to: number, toRecord: Buffer, fromRecord: Buffer, count = 50): void {
  const slab = Buffer.alloc(count * STRIDE);
  const offsets = new Int32Array(count);
  const lengths = new Int32Array(count);
  const addrs = new Uint8Array(count * ADDR_RECORD_LEN);
  for (let p = 0; p < count; p++) {
    offsets[p] = p * STRIDE + 100; // not slot-aligned on purpose: offsets are arbitrary
    lengths[p] = 1 + ((p * 293) % 1500);
    for (let i = 0; i < lengths[p]!; i++) slab[offsets[p]! + i] = payloadByte(p, i);
    addrs.set(toRecord, p * ADDR_RECORD_LEN);
  }
  assert.equal(native.sendBatch(from, slab, offsets, lengths, addrs, count), count);

  const got = receive(to, count);
  assert.equal(got.length, count, `received ${got.length} of ${count}`);
  got.forEach(([bytes, rec], p) => {
    // Loopback keeps order; the packet index is recoverable from the size anyway.
    assert.equal(bytes.length, lengths[p], `size of packet ${p}`);
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] !== payloadByte(p, i)) assert.fail(`packet ${p} byte ${i}: ${bytes[i]} != ${payloadByte(p, i)}`);
    }
    assert.deepEqual(rec, fromRecord, `sender record of packet ${p}`);
  });
}

function closeAll(fds: number[]): void {
  for (const fd of fds) {
    try {
      native.close(fd);
    } catch {
      // already closed by the test
    }
  }
}

test('UDP over IPv4 loopback: 50 packets in a batch, sender as ::ffff:127.0.0.1', () => {
  const fds: number[] = [];
  try {
    const a = native.udpOpen('127.0.0.1', 0);
    fds.push(a);
    const b = native.udpOpen('127.0.0.1', 0);
    fds.push(b);
    const pa = native.udpLocalPort(a);
    const pb = native.udpLocalPort(b);
    assert.ok(pa > 0 && pb > 0 && pa !== pb);
    roundTrip(a, b, record('127.0.0.1', pb), record('127.0.0.1', pa));
    roundTrip(b, a, record('127.0.0.1', pa), record('127.0.0.1', pb));
  } finally {
    closeAll(fds);
  }
});

test('UDP over IPv6 loopback: 50 packets in a batch, sender as ::1', () => {
  const fds: number[] = [];
  try {
    const a = native.udpOpen('::1', 0);
    fds.push(a);
    const b = native.udpOpen('::1', 0);
    fds.push(b);
    roundTrip(a, b, record('::1', native.udpLocalPort(b)), record('::1', native.udpLocalPort(a)));
  } finally {
    closeAll(fds);
  }
});

test('UDP dual-stack "::" socket talks to an IPv4 socket through v4-mapped records', () => {
  const fds: number[] = [];
  try {
    const dual = native.udpOpen('::', 0);
    fds.push(dual);
    const v4 = native.udpOpen('127.0.0.1', 0);
    fds.push(v4);
    const pd = native.udpLocalPort(dual);
    const p4 = native.udpLocalPort(v4);
    roundTrip(v4, dual, record('127.0.0.1', pd), record('127.0.0.1', p4), 10);
    roundTrip(dual, v4, record('127.0.0.1', p4), record('127.0.0.1', pd), 10);
  } finally {
    closeAll(fds);
  }
});

test('UDP sendBatch skips packets it cannot send and sends the rest', () => {
  const fds: number[] = [];
  try {
    const a = native.udpOpen('127.0.0.1', 0);
    fds.push(a);
    const b = native.udpOpen('127.0.0.1', 0);
    fds.push(b);
    const to = record('127.0.0.1', native.udpLocalPort(b));
    // [ok, IPv6 peer on an IPv4 socket, larger than any UDP datagram (EMSGSIZE), ok]
    const slab = Buffer.alloc(70_000, 0x42);
    const offsets = Int32Array.of(0, 0, 0, 10);
    const lengths = Int32Array.of(5, 5, 66_000, 6);
    const addrs = Buffer.concat([to, record('::1', 9), to, to]);
    assert.equal(native.sendBatch(a, slab, offsets, lengths, addrs, 4), 2);
    const got = receive(b, 2);
    assert.deepEqual(
      got.map(([bytes]) => bytes.length),
      [5, 6],
    );
  } finally {
    closeAll(fds);
  }
});

test('UDP: empty socket reads 0, closed fd reads -EBADF, max 0 reads nothing', () => {
  const fd = native.udpOpen('127.0.0.1', 0);
  const { slab, sizes, addrs } = slots();
  try {
    assert.equal(native.recvBatch(fd, slab, STRIDE, HEADROOM, MAX, sizes, addrs), 0);
    assert.equal(native.readBatch(fd, slab, STRIDE, HEADROOM, MAX, sizes), 0);
    assert.equal(native.recvBatch(fd, slab, STRIDE, HEADROOM, 0, sizes, addrs), 0);
    assert.equal(native.pollIn(Int32Array.of(fd, -1), 10, new Uint8Array(2)), 0);
  } finally {
    native.close(fd);
  }
  // The number may be reused by another thread's open in between; in this test process it is not.
  assert.equal(native.recvBatch(fd, slab, STRIDE, HEADROOM, MAX, sizes, addrs), -9);
  assert.equal(native.readBatch(fd, slab, STRIDE, HEADROOM, MAX, sizes), -9);
  assert.equal(native.sendBatch(fd, slab, Int32Array.of(0), Int32Array.of(1), record('127.0.0.1', 9), 1), 0);
  assert.throws(() => native.close(fd), { code: 'EBADF' });
});

test('pollIn with spinUs: a datagram during the spin is reported; the spin never outlasts the timeout', async () => {
  const rx = native.udpOpen('127.0.0.1', 0);
  const tx = native.udpOpen('127.0.0.1', 0);
  try {
    const set = Int32Array.of(rx);
    const ready = new Uint8Array(1);
    // Nothing comes: a 1 s spin is cut to the 20 ms timeout (the whole call well under the spin).
    let t = performance.now();
    assert.equal(native.pollIn(set, 20, ready, 1_000_000), 0);
    assert.ok(performance.now() - t < 900, `returned after ${(performance.now() - t).toFixed(0)} ms`);
    // Timeout 0: no spin at all.
    assert.equal(native.pollIn(set, 0, ready, 1_000_000), 0);
    // Something waiting: reported at once, as without a spin.
    const to = record('127.0.0.1', native.udpLocalPort(rx));
    assert.equal(native.sendBatch(tx, Buffer.from('x'), Int32Array.of(0), Int32Array.of(1), to, 1), 1);
    assert.equal(native.pollIn(set, 1000, ready, 200), 1);
    assert.equal(ready[0], POLL_IN);
    // A datagram sent while the spin runs (from another process: this thread is in the call).
    const sizes = new Int32Array(4);
    native.recvBatch(rx, Buffer.alloc(4 * 2048), 2048, 0, 4, sizes, new Uint8Array(4 * 20));
    const port = native.udpLocalPort(rx);
    const child = spawn(process.execPath, ['-e', `setTimeout(() => require('node:dgram').createSocket('udp4').send('y', ${port}, '127.0.0.1', (e, n) => process.exit(0)), 50)`]);
    t = performance.now();
    assert.equal(native.pollIn(set, 5000, ready, 1_000_000), 1);
    assert.equal(ready[0], POLL_IN);
    assert.ok(performance.now() - t < 4000);
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  } finally {
    closeAll([rx, tx]);
  }
});

test('pollIn: any number of fds, a flag byte each; a closed fd is POLL_NVAL, not readable', () => {
  const fds: number[] = [];
  try {
    for (let i = 0; i < 100; i++) fds.push(native.udpOpen('127.0.0.1', 0));
    const set = Int32Array.from(fds);
    const ready = new Uint8Array(set.length).fill(0xff); // every byte is written, zero when not ready
    assert.equal(native.pollIn(set, 0, ready), 0);
    assert.ok(ready.every((f) => f === 0));
    const sender = native.udpOpen('127.0.0.1', 0);
    fds.push(sender);
    const to = record('127.0.0.1', native.udpLocalPort(fds[70]!));
    assert.equal(native.sendBatch(sender, Buffer.from('x'), Int32Array.of(0), Int32Array.of(1), to, 1), 1);
    assert.equal(native.pollIn(set, 2000, ready), 1);
    assert.equal(ready[70], POLL_IN);
    assert.equal(ready.reduce((a, f, i) => a + (i === 70 ? 0 : f), 0), 0);
    // A number that is no open fd: poll(2) says POLLNVAL at once, every time; it is not "readable".
    const dead = native.udpOpen('127.0.0.1', 0);
    native.close(dead);
    const two = new Uint8Array(2);
    assert.equal(native.pollIn(Int32Array.of(dead, -1), 1000, two), 1);
    assert.deepEqual([...two], [POLL_NVAL, 0]);
  } finally {
    closeAll(fds);
  }
});

test('udpOpen: a second bind to the same address fails with EADDRINUSE naming addr:port', () => {
  const fds: number[] = [];
  try {
    const a = native.udpOpen('127.0.0.1', 0);
    fds.push(a);
    const port = native.udpLocalPort(a);
    assert.throws(
      () => fds.push(native.udpOpen('127.0.0.1', port)),
      (err: NodeJS.ErrnoException) =>
        err.code === 'EADDRINUSE' && err.syscall === 'bind' && err.message.includes(`127.0.0.1:${port}`),
    );
    const b = native.udpOpen('::1', 0);
    fds.push(b);
    const port6 = native.udpLocalPort(b);
    assert.throws(
      () => fds.push(native.udpOpen('::1', port6)),
      (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE' && err.message.includes(`[::1]:${port6}`),
    );
    // A dual-stack socket owns the IPv4 port too.
    const dual = native.udpOpen('::', 0);
    fds.push(dual);
    assert.throws(() => fds.push(native.udpOpen('127.0.0.1', native.udpLocalPort(dual))), { code: 'EADDRINUSE' });
  } finally {
    closeAll(fds);
  }
});

test('bad arguments throw TypeError or RangeError instead of crashing', () => {
  const fd = native.udpOpen('127.0.0.1', 0);
  try {
    const { slab, sizes, addrs } = slots(4);
    const n = native as unknown as Record<string, (...args: unknown[]) => unknown>;
    const cases: Array<[string, () => unknown, typeof TypeError | typeof RangeError]> = [
      ['no arguments', () => n.readBatch(), TypeError],
      ['fd as string', () => native.readBatch('3' as unknown as number, slab, STRIDE, 0, 4, sizes), TypeError],
      ['negative fd', () => native.readBatch(-1, slab, STRIDE, 0, 4, sizes), RangeError],
      ['fractional fd', () => native.readBatch(1.5, slab, STRIDE, 0, 4, sizes), RangeError],
      ['NaN max', () => native.readBatch(fd, slab, STRIDE, 0, NaN, sizes), RangeError],
      ['negative max', () => native.readBatch(fd, slab, STRIDE, 0, -1, sizes), RangeError],
      ['zero stride', () => native.readBatch(fd, slab, 0, 0, 4, sizes), RangeError],
      ['headroom = stride', () => native.readBatch(fd, slab, STRIDE, STRIDE, 4, sizes), RangeError],
      ['slab too small', () => native.readBatch(fd, slab, STRIDE, 0, 5, new Int32Array(5)), RangeError],
      ['sizes too short', () => native.readBatch(fd, slab, STRIDE, 0, 4, new Int32Array(3)), RangeError],
      ['sizes not Int32Array', () => native.readBatch(fd, slab, STRIDE, 0, 4, new Uint32Array(4) as never), TypeError],
      ['slab not bytes', () => native.readBatch(fd, [] as unknown as Buffer, STRIDE, 0, 4, sizes), TypeError],
      ['addrs too short', () => native.recvBatch(fd, slab, STRIDE, 0, 4, sizes, new Uint8Array(79)), RangeError],
      ['write past slab', () => native.writeBatch(fd, slab, Int32Array.of(slab.length - 1), Int32Array.of(2), 1), RangeError],
      ['negative offset', () => native.writeBatch(fd, slab, Int32Array.of(-1), Int32Array.of(1), 1), RangeError],
      ['negative length', () => native.writeBatch(fd, slab, Int32Array.of(0), Int32Array.of(-1), 1), RangeError],
      ['count > offsets', () => native.writeBatch(fd, slab, Int32Array.of(0), Int32Array.of(1, 1), 2), RangeError],
      ['send addrs short', () => native.sendBatch(fd, slab, Int32Array.of(0), Int32Array.of(1), addrs.subarray(0, 19), 1), RangeError],
      ['send past slab', () => native.sendBatch(fd, slab, Int32Array.of(8190), Int32Array.of(9), addrs, 1), RangeError],
      ['poll ready too short', () => native.pollIn(new Int32Array(33), 0, new Uint8Array(32)), RangeError],
      ['poll no ready', () => n.pollIn!(Int32Array.of(fd), 0), TypeError],
      ['poll ready not bytes', () => native.pollIn(Int32Array.of(fd), 0, new Int32Array(1) as never), TypeError],
      ['poll fds array', () => native.pollIn([fd] as unknown as Int32Array, 0, READY), TypeError],
      ['poll timeout < -1', () => native.pollIn(Int32Array.of(fd), -2, READY), RangeError],
      ['poll spinUs < 0', () => native.pollIn(Int32Array.of(fd), 0, READY, -1), RangeError],
      ['poll spinUs fraction', () => native.pollIn(Int32Array.of(fd), 0, READY, 1.5), RangeError],
      ['udp bad addr', () => native.udpOpen('localhost', 0), TypeError],
      ['udp addr number', () => native.udpOpen(1 as unknown as string, 0), TypeError],
      ['udp port 65536', () => native.udpOpen('127.0.0.1', 65536), RangeError],
      ['udp unknown scope', () => native.udpOpen(`fe80::1%nosuchif${run}`, 0), TypeError],
      ['tun name 16 bytes', () => native.tunOpen('x'.repeat(16)), RangeError],
      ['tun name number', () => native.tunOpen(7 as unknown as string), TypeError],
      ['close string', () => native.close('1' as unknown as number), TypeError],
    ];
    for (const [name, call, type] of cases) {
      assert.throws(call, type, name);
    }
    // The socket is still fine after all that.
    assert.equal(native.recvBatch(fd, slab, STRIDE, 0, 4, sizes, addrs), 0);
  } finally {
    native.close(fd);
  }
});

// --- TUN -----------------------------------------------------------------------------------------

const TUN_NET = 'fd00:6d6f:6c74:ffff';

async function ip(...args: string[]): Promise<void> {
  await execa('ip', args, { timeout: 10_000 });
}

/** A TUN device moved into a fresh namespace, up, with TUN_NET::1/64. Cleans up both whatever `body` does. */
async function withNamespacedTun(tag: string, up: boolean, body: (fd: number, ns: string, name: string) => Promise<void>): Promise<void> {
  const ns = `${TAG}test-${tag}-${run}`;
  const tun = native.tunOpen(`${TAG}${tag}${run}`.slice(0, 15));
  let made = false;
  try {
    assert.equal(tun.name, `${TAG}${tag}${run}`.slice(0, 15));
    await ip('netns', 'add', ns);
    made = true;
    // The fd stays attached to the device across the move: only the interface changes namespace.
    await ip('link', 'set', tun.name, 'netns', ns);
    await ip('-n', ns, '-6', 'addr', 'add', `${TUN_NET}::1/64`, 'dev', tun.name, 'nodad');
    if (up) await ip('-n', ns, 'link', 'set', tun.name, 'up');
    await body(tun.fd, ns, tun.name);
  } finally {
    native.close(tun.fd); // a non-persistent TUN disappears with its last fd
    if (made) await execa('ip', ['netns', 'del', ns], { reject: false, timeout: 10_000 });
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('TUN: answer ping from a namespace with readBatch + writeBatch', { ...rootOnly, timeout: 30_000 }, async () => {
  await withNamespacedTun('p', true, async (fd, ns) => {
    const ping = execa('ip', ['netns', 'exec', ns, 'ping', '-6', '-c', '3', '-i', '0.2', '-W', '1', `${TUN_NET}::2`], {
      reject: false,
      timeout: 15_000,
    });
    let exited = false;
    void ping.finally(() => {
      exited = true;
    });

    const { slab, sizes } = slots();
    const offsets = new Int32Array(MAX);
    const lengths = new Int32Array(MAX);
    const src = Buffer.alloc(16);
    let requests = 0;
    let others = 0;
    const deadline = Date.now() + 15_000;
    try {
      while (!exited && Date.now() < deadline) {
        // Short polls, then yield, so execa still sees the child exit on this thread.
        if (poll1(fd, 50) !== 0) {
          const n = native.readBatch(fd, slab, STRIDE, HEADROOM, MAX, sizes);
          assert.ok(n >= 0, `readBatch returned ${n}`);
          let replies = 0;
          for (let i = 0; i < n; i++) {
            const p = i * STRIDE + HEADROOM;
            const len = sizes[i]!;
            assert.ok(len >= 40, `packet of ${len} bytes`);
            assert.equal(slab[p]! >> 4, 6, 'IP version');
            assert.equal(slab.readUInt16BE(p + 4) + 40, len, 'payload length + 40 = read size');
            // Echo requests only; the kernel also sends MLD reports (hop-by-hop header) and router solicitations.
            if (slab[p + 6] !== 58 || slab[p + 40] !== 128) {
              others++;
              continue;
            }
            requests++;
            assert.equal(upperLayerChecksum(slab, p, p + 40, len - 40, 58), 0, 'request checksum');
            slab.copy(src, 0, p + 8, p + 24);
            slab.copy(slab, p + 8, p + 24, p + 40); // src <- dst
            src.copy(slab, p + 24); // dst <- old src
            slab[p + 7] = 64;
            slab[p + 40] = 129; // Echo Reply (RFC 4443 4.2): same identifier, sequence, data
            slab.writeUInt16BE(0, p + 42);
            slab.writeUInt16BE(upperLayerChecksum(slab, p, p + 40, len - 40, 58), p + 42);
            offsets[replies] = p; // written back from where it was read: no copy
            lengths[replies] = len;
            replies++;
          }
          assert.equal(native.writeBatch(fd, slab, offsets, lengths, replies), replies);
        }
        await tick();
      }
    } finally {
      if (!exited) ping.kill(); // a failed assertion must not leave ping running for its full timeout
    }
    const result = await ping;
    assert.equal(result.exitCode, 0, `ping failed: ${String(result.stdout)} ${String(result.stderr)}`);
    assert.match(String(result.stdout), /3 received/);
    assert.ok(requests >= 3, `saw ${requests} echo requests (${others} other packets)`);
  });
});

test('TUN: writeBatch on a down link returns 0 and does not throw; up again, it writes', { ...rootOnly, timeout: 30_000 }, async () => {
  await withNamespacedTun('e', false, async (fd, ns, name) => {
    // An echo request from TUN_NET::2 to the namespace's TUN_NET::1.
    const pkt = Buffer.alloc(48);
    pkt[0] = 0x60;
    pkt.writeUInt16BE(8, 4);
    pkt[6] = 58;
    pkt[7] = 64;
    Buffer.from(`fd006d6f6c74ffff${'0'.repeat(15)}2`, 'hex').copy(pkt, 8);
    Buffer.from(`fd006d6f6c74ffff${'0'.repeat(15)}1`, 'hex').copy(pkt, 24);
    pkt[40] = 128;
    pkt.writeUInt16BE(upperLayerChecksum(pkt, 0, 40, 8, 58), 42);
    const slab = Buffer.concat([pkt, Buffer.alloc(48)]); // second packet: version 0, not IP
    const offsets = Int32Array.of(0, 0, 48);
    const lengths = Int32Array.of(48, 48, 48);

    // The kernel refuses writes to a TUN whose link is down with EIO (tun_get_user()).
    assert.equal(native.writeBatch(fd, slab, offsets, lengths, 3), 0);

    await ip('-n', ns, 'link', 'set', 'dev', name, 'up');
    // Up: both echo requests go in; the non-IP packet is refused (EINVAL) and skipped.
    assert.equal(native.writeBatch(fd, slab, offsets, lengths, 3), 2);

    // The namespace answers them: two echo replies back to TUN_NET::2 (plus whatever MLD it sends).
    const { slab: rx, sizes } = slots();
    let replies = 0;
    const deadline = Date.now() + 3000;
    while (replies < 2 && Date.now() < deadline) {
      if (poll1(fd, 50) === 0) continue;
      const n = native.readBatch(fd, rx, STRIDE, HEADROOM, MAX, sizes);
      for (let i = 0; i < n; i++) {
        const p = i * STRIDE + HEADROOM;
        if (rx[p + 6] === 58 && rx[p + 40] === 129) replies++;
      }
    }
    assert.equal(replies, 2);
  });
});

test('TUN whose device is deleted under the fd: pollIn says POLL_ERR (not readable), readBatch fails', { ...rootOnly, timeout: 30_000 }, async () => {
  const name = `${TAG}g${run}`.slice(0, 15);
  const tun = native.tunOpen(name);
  try {
    assert.equal(poll1(tun.fd, 0), 0);
    await ip('link', 'del', name);
    // The fd outlives its device: poll(2) reports POLLERR at once, every time. Reported as readable (as
    // before), a forwarder that reads, fails and polls again would spin; the engine backs it off instead.
    assert.equal(poll1(tun.fd, 1000) & (POLL_ERR | POLL_IN), POLL_ERR);
    assert.equal(poll1(tun.fd, 1000) & POLL_ERR, POLL_ERR);
    const { slab, sizes } = slots(4);
    assert.ok(native.readBatch(tun.fd, slab, STRIDE, HEADROOM, 4, sizes) < 0, 'read on a detached TUN fails');
  } finally {
    native.close(tun.fd);
    await execa('ip', ['link', 'del', name], { reject: false, timeout: 10_000 });
  }
});

// --- worker threads ------------------------------------------------------------------------------

const ADDON = fileURLToPath(new URL('../../../native/build/Release/moltnet.node', import.meta.url));

// CommonJS worker body: open a UDP socket, report its port, block in pollIn until a datagram arrives.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const native = require(workerData.addon);
const idle = native.pollIn(new Int32Array(0), 20, new Uint8Array(0));
const fd = native.udpOpen('127.0.0.1', 0);
parentPort.postMessage({ port: native.udpLocalPort(fd) });
const ready = new Uint8Array(1);
native.pollIn(Int32Array.of(fd), 5000, ready);
const mask = ready[0];
const slab = Buffer.alloc(2048), sizes = new Int32Array(1), addrs = new Uint8Array(20);
const n = native.recvBatch(fd, slab, 2048, 0, 1, sizes, addrs);
native.close(fd);
parentPort.postMessage({ idle, mask, n, text: slab.toString('utf8', 0, sizes[0]) });
`;

async function runWorker(index: number): Promise<void> {
  const worker = new Worker(WORKER, { eval: true, workerData: { addon: ADDON } });
  const sender = native.udpOpen('127.0.0.1', 0);
  try {
    const result = await new Promise<{ idle: number; mask: number; n: number; text: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${index}: no answer in 10 s`)), 10_000);
      worker.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      worker.on('message', (msg: { port?: number; idle?: number }) => {
        if (msg.port !== undefined) {
          const slab = Buffer.from(`hello worker ${index}`);
          const sent = native.sendBatch(sender, slab, Int32Array.of(0), Int32Array.of(slab.length), record('127.0.0.1', msg.port), 1);
          if (sent !== 1) reject(new Error(`sendBatch to worker ${index} sent ${sent}`));
        } else {
          clearTimeout(timer);
          resolve(msg as { idle: number; mask: number; n: number; text: string });
        }
      });
    });
    assert.deepEqual(result, { idle: 0, mask: 1, n: 1, text: `hello worker ${index}` });
  } finally {
    native.close(sender);
    await worker.terminate();
  }
}

test('the addon loads and blocks in pollIn inside worker threads (several at once)', { timeout: 30_000 }, async () => {
  await Promise.all([runWorker(1), runWorker(2), runWorker(3)]);
});

test('setThreadPriority sets the calling thread only; bad values throw RangeError', async () => {
  const { getPriority } = await import('node:os');
  const before = getPriority();
  try {
    native.setThreadPriority(-3);
    assert.equal(getPriority(), -3, 'the main thread (tid = pid) took the value');
    // A worker created now inherits -3 and sets its own; the main thread keeps -3.
    const w = new Worker(
      `const { createRequire } = require('node:module');
       const a = require(${JSON.stringify(fileURLToPath(new URL('../../../native/build/Release/moltnet.node', import.meta.url)))});
       a.setThreadPriority(4);
       require('node:worker_threads').parentPort.postMessage('ok');`,
      { eval: true },
    );
    await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    await w.terminate();
    assert.equal(getPriority(), -3);
    assert.throws(() => native.setThreadPriority(20), RangeError);
    assert.throws(() => native.setThreadPriority(-21), RangeError);
  } finally {
    native.setThreadPriority(before);
  }
});
