/**
 * ForwardingPlane, the worker-thread plane, with the real addon on IPv4 loopback only: ports and links
 * added after it started (the worker must wake and poll the new fd), punts as events, 500 sends in one
 * turn, route changes. The host TUN is stood in for by a UDP socket: readBatch reads its datagrams as
 * host packets (no root needed); writes to it fail and count host_tx_errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADDR_RECORD_LEN, loadNative, type NativeAddon } from '../../src/dataplane/io/native.js';
import { C } from '../../src/dataplane/counters.js';
import { parsePrefix } from '../../src/dataplane/fib/fib.js';
import { ForwardingPlane } from '../../src/daemon/forwarding-plane.js';
import type { LinkSpec } from '../../src/transport/link-spec.js';
import { meshMac } from '../../src/transport/wire/ethernet.js';
import { VXLAN_ENCAP_LEN } from '../../src/transport/wire/vxlan.js';
import { addr } from '../helpers/packets.js';
import { ME, ME_LL, packet, peerLl, peerMesh, udpPacket, vxlanFrame, vxlanSpec } from '../helpers/engine-net.js';

let native: NativeAddon | undefined;
try {
  native = loadNative();
} catch {
  native = undefined;
}
const needsAddon = native ? {} : { skip: 'the native addon is not built' };

function v4Record(port: number): Uint8Array {
  const r = new Uint8Array(ADDR_RECORD_LEN);
  r.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1]);
  r[16] = port >> 8;
  r[17] = port & 0xff;
  return r;
}

function sendTo(io: NativeAddon, fd: number, data: Uint8Array, port: number): void {
  const buf = Buffer.from(data);
  assert.equal(io.sendBatch(fd, buf, Int32Array.of(0), Int32Array.of(buf.length), v4Record(port), 1), 1);
}

/** Everything on `fd` within `ms`, until `want` datagrams. */
async function receive(io: NativeAddon, fd: number, want: number, ms = 3000): Promise<Buffer[]> {
  const slab = Buffer.alloc(64 * 2048);
  const sizes = new Int32Array(64);
  const addrs = new Uint8Array(64 * ADDR_RECORD_LEN);
  const out: Buffer[] = [];
  const deadline = Date.now() + ms;
  while (out.length < want && Date.now() < deadline) {
    const n = io.recvBatch(fd, slab, 2048, 0, 64, sizes, addrs);
    for (let i = 0; i < n; i++) out.push(Buffer.from(slab.subarray(i * 2048, i * 2048 + sizes[i]!)));
    if (n <= 0) await new Promise((r) => setTimeout(r, 2));
  }
  return out;
}

test('worker plane: live ports and links after start, punts, 500 sends, route changes (loopback only)', { ...needsAddon, timeout: 30_000 }, async () => {
  const io = native!;
  const fds: number[] = [];
  const open = () => {
    const fd = io.udpOpen('127.0.0.1', 0);
    fds.push(fd);
    return fd;
  };
  const fakeTun = open();
  const port0 = open();
  const peer = open();
  // A long idle sleep, so that only a wake-up (the wake datagram, a polled fd) explains a quick answer.
  const plane = new ForwardingPlane({ io, tunFd: fakeTun, meshAddress: addr(ME), linkLocal: addr(ME_LL), maxPacket: 1600, idleWaitMs: 20_000 });
  const punts: { linkId: number; packet: Buffer }[] = [];
  plane.on('punt', (linkId, pkt) => punts.push({ linkId, packet: pkt }));
  const internal: string[] = [];
  plane.on('internal-error', (m) => internal.push(m));
  try {
    await plane.start();
    const spec: LinkSpec = { ...vxlanSpec(3, 0, 10), remote: v4Record(io.udpLocalPort(peer)) };
    // Added while the worker sleeps in poll(2) without this fd: the wake datagram must bring it round.
    plane.addPort(10, { fd: port0, kind: 'udp' });
    plane.addLink(spec);
    const hello = packet({ src: peerLl(0), dst: 'ff02::5', nextHeader: 89, hopLimit: 1, payload: Buffer.alloc(40) });
    const frame = vxlanFrame(hello, meshMac(addr(peerMesh(0))));
    const latencies: number[] = [];
    for (let k = 0; k < 5; k++) {
      const t0 = performance.now();
      const before = punts.length;
      sendTo(io, peer, frame, io.udpLocalPort(port0));
      const deadline = Date.now() + 3000;
      while (punts.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
      latencies.push(performance.now() - t0);
    }
    assert.equal(punts.length, 5);
    assert.ok(punts.every((p) => p.linkId === 3 && p.packet.equals(hello)));
    // Without the new fd in its poll set the worker would notice only when its 20 s idle sleep ends.
    assert.ok(Math.max(...latencies) < 3000, `punt latencies ${latencies.map((l) => l.toFixed(1)).join(', ')} ms: is the new port polled?`);

    // 500 control sends in one turn of the event loop: one wake, one drain, all leave.
    for (let i = 0; i < 500; i++) {
      const pkt = udpPacket(ME_LL, peerLl(0), 3784);
      pkt.writeUInt16BE(i, 48);
      plane.send(3, pkt);
    }
    const got = (await receive(io, peer, 501)).map((f) => f.subarray(VXLAN_ENCAP_LEN)).filter((p) => p[6] === 17);
    assert.equal(got.length, 500);
    assert.deepEqual(got.map((p) => p.readUInt16BE(48)), Array.from({ length: 500 }, (_, i) => i));

    // A route, then a "host" packet (a datagram into the fake TUN) follows it; removed, no route.
    const p = parsePrefix('fd00:6d6f:6c74:f000::/64');
    plane.updateRoutes({ remove: [], insert: [{ prefix: p.prefix, length: p.length, nexthops: [3] }] });
    await new Promise((r) => setTimeout(r, 20));
    const hostPkt = packet({ src: ME, dst: 'fd00:6d6f:6c74:f000::1' });
    sendTo(io, peer, hostPkt, io.udpLocalPort(fakeTun));
    const fwd = (await receive(io, peer, 1)).map((f) => f.subarray(VXLAN_ENCAP_LEN));
    assert.ok(fwd.some((x) => x.equals(hostPkt)), 'host packet forwarded on link 3');
    plane.updateRoutes({ remove: [{ prefix: p.prefix, length: p.length }], insert: [] });
    await new Promise((r) => setTimeout(r, 20));
    sendTo(io, peer, hostPkt, io.udpLocalPort(fakeTun));
    const deadline = Date.now() + 3000;
    while (plane.counters.node[C.drop_no_route] === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    assert.equal(plane.counters.node[C.drop_no_route], 1);

    // Removing the port: the link's traffic is counted, not lost silently.
    plane.removePort(10);
    plane.send(3, udpPacket(ME_LL, peerLl(0), 3784));
    const d2 = Date.now() + 3000;
    while (plane.counters.node[C.drop_link_down] === 0 && Date.now() < d2) await new Promise((r) => setTimeout(r, 2));
    assert.equal(plane.counters.node[C.drop_link_down], 1);
    assert.deepEqual(internal, []);
  } finally {
    await plane.stop();
    for (const fd of fds) io.close(fd);
  }
});

test('worker plane: sync answers after the punts of what the sockets held at the call, even while this thread was blocked', { ...needsAddon, timeout: 30_000 }, async () => {
  const io = native!;
  const fds = [io.udpOpen('127.0.0.1', 0), io.udpOpen('127.0.0.1', 0), io.udpOpen('127.0.0.1', 0)];
  const [fakeTun, port0, peer] = fds as [number, number, number];
  const plane = new ForwardingPlane({ io, tunFd: fakeTun, meshAddress: addr(ME), linkLocal: addr(ME_LL), maxPacket: 1600, idleWaitMs: 20_000 });
  const punts: number[] = [];
  plane.on('punt', (linkId) => punts.push(linkId));
  try {
    await plane.start();
    plane.addPort(10, { fd: port0, kind: 'udp' });
    plane.addLink({ ...vxlanSpec(3, 0, 10), remote: v4Record(io.udpLocalPort(peer)) });
    const hello = packet({ src: peerLl(0), dst: 'ff02::5', nextHeader: 89, hopLimit: 1, payload: Buffer.alloc(40) });
    const frame = vxlanFrame(hello, meshMac(addr(peerMesh(0))));
    const synced = () => new Promise<number>((resolve) => plane.sync(() => resolve(punts.length)));
    await synced();
    for (let round = 1; round <= 3; round++) {
      for (let i = 0; i < 3; i++) sendTo(io, peer, frame, io.udpLocalPort(port0));
      // As a held event loop: the worker punts while this thread cannot take the messages yet.
      const until = Date.now() + 50;
      while (Date.now() < until);
      assert.equal(await synced(), 3 * round, `round ${round}: every punt arrives before the sync's answer`);
    }
  } finally {
    await plane.stop();
    for (const fd of fds) io.close(fd);
  }
  // A stopped plane answers at once: nobody waits for a thread that is gone.
  await new Promise<void>((resolve) => plane.sync(resolve));
});

test('worker plane: while this thread is held, the worker sends the BFD stand-in every interval; once it sends again, it stops', { ...needsAddon, timeout: 30_000 }, async () => {
  const io = native!;
  const fds = [io.udpOpen('127.0.0.1', 0), io.udpOpen('127.0.0.1', 0), io.udpOpen('127.0.0.1', 0)];
  const [fakeTun, port0, peer] = fds as [number, number, number];
  const plane = new ForwardingPlane({ io, tunFd: fakeTun, meshAddress: addr(ME), linkLocal: addr(ME_LL), maxPacket: 1600, idleWaitMs: 20_000 });
  try {
    await plane.start();
    plane.addPort(10, { fd: port0, kind: 'udp' });
    plane.addLink({ ...vxlanSpec(3, 0, 10), remote: v4Record(io.udpLocalPort(peer)) });
    const template = udpPacket(ME_LL, peerLl(0), 3784);
    template[48] = 0xaa;
    const ours = udpPacket(ME_LL, peerLl(0), 3784);
    ours[48] = 0xbb;
    plane.send(3, ours);
    plane.bfdStandIn(3, template, 100);
    // The wake datagram leaves at the end of this turn: let it go, then hold this thread for 600 ms.
    await new Promise((r) => setTimeout(r, 10));
    const t0 = Date.now();
    while (Date.now() - t0 < 600);
    const held = (await receive(io, peer, 100, 300)).map((f) => f.subarray(VXLAN_ENCAP_LEN)).filter((p) => p[6] === 17);
    const standIns = held.filter((p) => p[48] === 0xaa).length;
    assert.equal(held.filter((p) => p[48] === 0xbb).length, 1, 'our own packet went first');
    // 150 ms of silence, then one every 100 ms up to the end of the hold and the 300 ms read: about 8.
    assert.ok(standIns >= 4 && standIns <= 10, `${standIns} stand-in packets in 900 ms of silence (counter ${plane.counters.node[C.bfd_stand_in_tx]}, link drops ${JSON.stringify([...plane.counters.node].map((v, i) => [i, v]).filter(([, v]) => v))})`);
    assert.ok(plane.counters.node[C.bfd_stand_in_tx]! >= standIns);
    // Back: this thread sends every 50 ms; the worker says nothing.
    for (let i = 0; i < 10; i++) {
      plane.send(3, ours);
      await new Promise((r) => setTimeout(r, 50));
    }
    // Null ends it, even through a long silence.
    plane.bfdStandIn(3, null, 0);
    const back = (await receive(io, peer, 100, 100)).map((f) => f.subarray(VXLAN_ENCAP_LEN)).filter((p) => p[6] === 17);
    assert.ok(back.filter((p) => p[48] === 0xaa).length <= 1, 'no stand-in while this thread keeps its interval');
    await new Promise((r) => setTimeout(r, 400));
    const after = (await receive(io, peer, 100, 100)).map((f) => f.subarray(VXLAN_ENCAP_LEN)).filter((p) => p[48] === 0xaa);
    assert.equal(after.length, 0);
    assert.throws(() => plane.bfdStandIn(3, template, 0), /interval > 0/);
  } finally {
    await plane.stop();
    for (const fd of fds) io.close(fd);
  }
});

test('worker plane, two workers: each reads its own socket of a port, a one-fd port is read once, sends leave in order from worker 0, a roamed peer is answered at its new port, sync waits for both', { ...needsAddon, timeout: 30_000 }, async () => {
  const io = native!;
  const fds = Array.from({ length: 6 }, () => io.udpOpen('127.0.0.1', 0));
  const [tun0, tun1, group0, group1, single, peer] = fds as [number, number, number, number, number, number];
  const plane = new ForwardingPlane({ io, tunFd: tun0, tunFds: [tun0, tun1], meshAddress: addr(ME), linkLocal: addr(ME_LL), maxPacket: 1600, idleWaitMs: 20_000 });
  const punts: number[] = [];
  const roams: Uint8Array[] = [];
  plane.on('punt', (linkId) => punts.push(linkId));
  plane.on('roamed', (_id, remote) => roams.push(remote));
  const moved = io.udpOpen('127.0.0.1', 0);
  try {
    assert.equal(plane.workers, 2);
    assert.throws(() => plane.addPort(10, { fd: group0, fds: [group0], kind: 'udp' }), /one fd per worker \(2\)/);
    assert.throws(() => plane.addPort(10, { fd: group0, fds: [group1, group0], kind: 'udp' }), /fds\[0\] being fd/);
    await plane.start();
    plane.addPort(10, { fd: group0, fds: [group0, group1], kind: 'udp' });
    plane.addPort(11, { fd: single, kind: 'udp' });
    plane.addLink({ ...vxlanSpec(3, 0, 10), remote: v4Record(io.udpLocalPort(peer)), roam: true });
    plane.addLink({ ...vxlanSpec(4, 1, 11), remote: v4Record(io.udpLocalPort(peer)) });
    const hello = (i: number) => vxlanFrame(packet({ src: peerLl(i), dst: 'ff02::5', nextHeader: 89, hopLimit: 1, payload: Buffer.alloc(40) }), meshMac(addr(peerMesh(i))));
    const synced = () => new Promise<number>((resolve) => plane.sync(() => resolve(punts.length)));
    await synced();
    // One hello into each socket of the group: each worker reads its own.
    sendTo(io, peer, hello(0), io.udpLocalPort(group0));
    sendTo(io, peer, hello(0), io.udpLocalPort(group1));
    sendTo(io, peer, hello(1), io.udpLocalPort(single));
    const deadline = Date.now() + 3000;
    while (punts.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    assert.equal(await synced(), 3, 'every punt before the answer to a sync both workers gave');
    assert.deepEqual([...punts].sort(), [3, 3, 4]);
    assert.deepEqual(plane.counterSets.map((c) => c.node[C.underlay_rx_packets]), [2, 1], 'worker 0 reads group0 and the one-fd port, worker 1 group1 only');

    // 200 control sends: all from worker 0, in order.
    await receive(io, peer, 1000, 50);
    for (let i = 0; i < 200; i++) {
      const pkt = udpPacket(ME_LL, peerLl(0), 3784);
      pkt.writeUInt16BE(i, 48);
      plane.send(3, pkt);
    }
    const got = (await receive(io, peer, 200)).map((f) => f.subarray(VXLAN_ENCAP_LEN)).filter((p) => p[6] === 17);
    assert.deepEqual(got.map((p) => p.readUInt16BE(48)), Array.from({ length: 200 }, (_, i) => i));
    assert.equal(plane.counterSets[1]!.node[C.underlay_tx_packets], 0);

    // The roaming peer now sends from another port, heard by worker 1 only: worker 0's sends follow it there.
    const roamsBefore = roams.length;
    const frame = hello(0);
    assert.equal(io.sendBatch(moved, Buffer.from(frame), Int32Array.of(0), Int32Array.of(frame.length), v4Record(io.udpLocalPort(group1)), 1), 1);
    const d2 = Date.now() + 3000;
    while (roams.length === roamsBefore && Date.now() < d2) await new Promise((r) => setTimeout(r, 2));
    assert.equal((roams.at(-1)![16]! << 8) | roams.at(-1)![17]!, io.udpLocalPort(moved));
    await synced();
    plane.send(3, udpPacket(ME_LL, peerLl(0), 3784));
    assert.equal((await receive(io, moved, 1)).length, 1, "worker 0 sent to the peer's new port");
  } finally {
    await plane.stop();
    for (const fd of [...fds, moved]) io.close(fd);
  }
});
