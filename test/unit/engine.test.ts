/**
 * The real Engine over the in-memory network: verdicts end to end (host -> link, link -> host, transit,
 * kernel links), live ports and links, the peer table, the punt path, control-plane sends, read errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { OS_GSO_EIO, POLL_ERR } from '../../src/dataplane/io/native.js';
import { C } from '../../src/dataplane/counters.js';
import type { EngineIo } from '../../src/dataplane/engine.js';
import { recordFor } from '../../src/dataplane/io/memory.js';
import { createLink } from '../../src/transport/links.js';
import type { VxlanLink } from '../../src/transport/vxlan-link.js';
import { meshMac } from '../../src/transport/wire/ethernet.js';
import { DEFAULT_VNI, VXLAN_ENCAP_LEN, parseVxlan } from '../../src/transport/wire/vxlan.js';
import { GRE_KEY_HEADER_LEN } from '../../src/transport/wire/gre.js';
import { emitNeighborSolicitation } from '../../src/transport/wire/nd.js';
import { LINK_REPLY_BURST, LINK_REPLY_RATE } from '../../src/dataplane/engine.js';
import { addr } from '../helpers/packets.js';
import {
  ME,
  ME_LL,
  ME_MAC,
  PORT_GRE,
  PORT_VX,
  TestNode,
  TestPeer,
  greSpec,
  kernelSpec,
  linkCounter,
  packet,
  peerLl,
  peerMesh,
  peerUnderlay,
  udpPacket,
  vxlanFrame,
  vxlanSpec,
} from '../helpers/engine-net.js';

const EIO = constants.errno.EIO;

/** The inner IPv6 packets of VXLAN frames, without the NS solicitations a link sends for an unconfirmed peer. */
function dataFrames(frames: Buffer[]): Buffer[] {
  return frames.filter((f) => !(f[VXLAN_ENCAP_LEN + 6] === 58 && f[VXLAN_ENCAP_LEN + 40] === 135));
}

function inner(frame: Buffer): Buffer {
  return frame.subarray(VXLAN_ENCAP_LEN);
}

test('host -> VXLAN link: encapsulated in place for the peer, hop limit kept; the unconfirmed peer is solicited', () => {
  const n = new TestNode();
  const p0 = new TestPeer(n, 0);
  n.add(vxlanSpec(0, 0));
  n.route(`${peerMesh(0)}/128`, [0]);
  const sent = n.fromHost({ src: ME, dst: peerMesh(0), hopLimit: 1 });
  assert.equal(n.run(), 1);
  const frames = p0.receive();
  const data = dataFrames(frames);
  assert.equal(data.length, 1);
  const f = data[0]!;
  assert.equal(parseVxlan(f, 0, f.length), DEFAULT_VNI);
  assert.deepEqual(f.subarray(8, 14), meshMac(addr(peerMesh(0))), 'the guessed peer MAC');
  assert.deepEqual(f.subarray(14, 20), ME_MAC);
  assert.deepEqual(inner(f), sent);
  // A Neighbor Solicitation for the peer's mesh address went out too (once a second until confirmed).
  const ns = frames.filter((x) => !data.includes(x));
  assert.equal(ns.length, 1);
  assert.equal(inner(ns[0]!)[40], 135);
  assert.equal(linkCounter(n, 0, 'tx_packets'), 2);
  assert.equal(n.node('host_rx_packets'), 1);
  assert.equal(n.node('underlay_tx_packets'), 2);
});

test('VXLAN link -> host: decapsulated and written to molt0; the link counts it', () => {
  const n = new TestNode();
  const p0 = new TestPeer(n, 0);
  n.add(vxlanSpec(0, 0));
  const pkt = packet({ src: peerMesh(0), dst: ME });
  p0.sendVxlan(pkt);
  n.run();
  assert.deepEqual(n.toHost(), [pkt]);
  assert.equal(linkCounter(n, 0, 'rx_packets'), 1);
  assert.equal(linkCounter(n, 0, 'rx_bytes'), pkt.length + VXLAN_ENCAP_LEN);
  assert.equal(n.node('host_tx_packets'), 1);
});

test('transit VXLAN -> GRE: hop limit decremented, GRE key written, counted forwarded', () => {
  const n = new TestNode();
  const p0 = new TestPeer(n, 0);
  const p1 = new TestPeer(n, 1, 4754);
  n.add(vxlanSpec(0, 0));
  n.add(greSpec(1, 1, 0xabcd1234));
  n.route(`${peerMesh(1)}/128`, [1]);
  const pkt = packet({ src: peerMesh(0), dst: peerMesh(1), hopLimit: 64 });
  p0.sendVxlan(pkt);
  n.run();
  const got = p1.receive();
  assert.equal(got.length, 1);
  const f = got[0]!;
  assert.equal(f.readUInt32BE(4), 0xabcd1234);
  const out = f.subarray(GRE_KEY_HEADER_LEN);
  assert.equal(out[7], 63);
  assert.deepEqual(out.subarray(8), pkt.subarray(8));
  assert.equal(n.node('forwarded_packets'), 1);
  // GRE back the other way, to the host.
  p1.sendGre(packet({ src: peerMesh(1), dst: ME }), 0xabcd1234);
  p1.sendGre(packet({ src: peerMesh(1), dst: ME }), 0x1); // wrong key
  n.run();
  assert.equal(n.toHost().length, 1);
  assert.equal(n.node('drop_bad_encap'), 1);
  assert.equal(linkCounter(n, 1, 'rx_drops'), 1);
});

test('kernel link on a TUN port: packets both ways, found by its port (the TUN has no sender address)', () => {
  const n = new TestNode();
  const k = n.net.tunOpen('mlink0').fd;
  n.engine.addPort(7, { fd: k, kind: 'tun' });
  n.add(kernelSpec(3, 7));
  n.route('fd00:6d6f:6c74:f000::/64', [3]);
  const up = packet({ src: 'fd00:6d6f:6c74:f000::9', dst: ME });
  n.net.inject(k, up);
  const down = n.fromHost({ src: ME, dst: 'fd00:6d6f:6c74:f000::9' });
  n.run();
  assert.deepEqual(n.toHost(), [up]);
  assert.deepEqual(n.net.written(k), [down]);
  assert.equal(linkCounter(n, 3, 'rx_packets'), 1);
  assert.equal(linkCounter(n, 3, 'tx_packets'), 1);
});

test('adding and removing other links during traffic keeps a VXLAN link and its learned MAC', () => {
  const n = new TestNode();
  const p0 = new TestPeer(n, 0);
  n.add(vxlanSpec(0, 0));
  n.route(`${peerMesh(0)}/128`, [0]);
  const link0 = n.engine.link(0);
  // The peer's real MAC is not the guess (a Linux vxlan device has its own): the link learns it.
  const realMac = Buffer.from([0x5e, 0x11, 0x22, 0x33, 0x44, 0x55]);
  p0.sendVxlan(packet({ src: peerMesh(0), dst: ME }), realMac);
  n.run();
  assert.equal((link0 as VxlanLink).confirmed, true);

  for (let id = 1; id <= 50; id++) {
    n.add(vxlanSpec(id, id));
    n.fromHost({ src: ME, dst: peerMesh(0) }); // traffic on link 0 throughout
    n.run();
  }
  for (let id = 1; id <= 25; id++) n.engine.removeLink(id);
  n.add(vxlanSpec(7, 7)); // re-adding another id replaces only that one
  n.engine.addPort(9, { fd: n.net.udpOpen('fd00:1::1', 6000), kind: 'udp' });
  assert.equal(n.engine.link(0), link0, 'link 0 is the same object');
  p0.receive();
  n.fromHost({ src: ME, dst: peerMesh(0) });
  n.run();
  const frames = p0.receive();
  assert.equal(frames.length, 1, 'no solicitation: the peer is still confirmed');
  assert.deepEqual(frames[0]!.subarray(8, 14), realMac, 'sent to the learned MAC');
  assert.equal(linkCounter(n, 0, 'tx_packets'), 51);

  // Re-adding id 0 replaces that link alone: fresh ND state, counters from zero.
  n.add(vxlanSpec(0, 0));
  assert.notEqual(n.engine.link(0), link0);
  assert.equal(linkCounter(n, 0, 'tx_packets'), 0);
  n.fromHost({ src: ME, dst: peerMesh(0) });
  n.run();
  const again = dataFrames(p0.receive());
  assert.deepEqual(again[0]!.subarray(8, 14), meshMac(addr(peerMesh(0))), 'back to the guess');
});

test('2000 VXLAN links on one socket: each sender found by its address (any source port), unknown ones dropped', () => {
  const n = new TestNode();
  const N = 2000;
  const fds: number[] = [];
  for (let i = 0; i < N; i++) {
    n.add(vxlanSpec(i, i));
    // Senders vary the UDP source port (RFC 7348 §5): the link's remote says 4789, the datagrams do not.
    fds.push(n.net.udpOpen(peerUnderlay(i), 40000 + i));
  }
  // A few IPv4 peers too, as ::ffff:a.b.c.d.
  for (let j = 0; j < 10; j++) {
    const spec = { ...vxlanSpec(N + j, N + j), remote: recordFor(`192.0.2.${j + 1}:4789`) };
    n.add(spec);
  }
  const v4 = Array.from({ length: 10 }, (_, j) => n.net.udpOpen(`192.0.2.${j + 1}`, 51000));
  // In a shuffled order, so the last-link cache does not help.
  const order = Array.from({ length: N }, (_, i) => (i * 7919) % N);
  for (const i of order) n.net.sendTo(fds[i]!, vxlanFrame(packet({ src: peerMesh(i), dst: ME }), meshMac(addr(peerMesh(i)))), `[fd00:1::1]:4789`);
  v4.forEach((fd, j) => n.net.sendTo(fd, vxlanFrame(packet({ src: peerMesh(N + j), dst: ME }), meshMac(addr(peerMesh(N + j)))), `[fd00:1::1]:4789`));
  const stranger = n.net.udpOpen('fd00:3::1', 4789);
  n.net.sendTo(stranger, vxlanFrame(packet({ src: peerMesh(5), dst: ME }), meshMac(addr(peerMesh(5)))), `[fd00:1::1]:4789`);
  n.run(1000);
  assert.equal(n.toHost().length, N + 10);
  for (let i = 0; i < N + 10; i++) assert.equal(linkCounter(n, i, 'rx_packets'), 1, `link ${i}`);
  assert.equal(n.node('drop_unknown_peer'), 1);
  // A removed link's peer is unknown from then on; the others still resolve.
  n.engine.removeLink(1234);
  n.net.sendTo(fds[1234]!, vxlanFrame(packet({ src: peerMesh(1234), dst: ME }), meshMac(addr(peerMesh(1234)))), `[fd00:1::1]:4789`);
  n.net.sendTo(fds[1235]!, vxlanFrame(packet({ src: peerMesh(1235), dst: ME }), meshMac(addr(peerMesh(1235)))), `[fd00:1::1]:4789`);
  n.run();
  assert.equal(n.node('drop_unknown_peer'), 2);
  assert.equal(linkCounter(n, 1235, 'rx_packets'), 2);
  // The removed peer waits for its handshake: dropped still, but counted as unauthenticated; once its
  // link is back, its packets are forwarded again.
  n.engine.addPendingPeer(vxlanSpec(1234, 1234).port, vxlanSpec(1234, 1234).remote);
  n.net.sendTo(fds[1234]!, vxlanFrame(packet({ src: peerMesh(1234), dst: ME }), meshMac(addr(peerMesh(1234)))), `[fd00:1::1]:4789`);
  n.run();
  assert.equal(n.node('drop_unauthenticated'), 1);
  assert.equal(n.node('drop_unknown_peer'), 2);
  n.add(vxlanSpec(1234, 1234));
  n.net.sendTo(fds[1234]!, vxlanFrame(packet({ src: peerMesh(1234), dst: ME }), meshMac(addr(peerMesh(1234)))), `[fd00:1::1]:4789`);
  n.run();
  assert.equal(linkCounter(n, 1234, 'rx_packets'), 1);
  assert.equal(n.node('drop_unauthenticated'), 1);
});

test('punts: one batch per step, BFD first; a full queue counts drop_punt_overflow and BFD displaces others', () => {
  const n = new TestNode({ punts: { queue: 16 } });
  const p0 = new TestPeer(n, 0);
  n.add(vxlanSpec(0, 0));
  const hello = packet({ src: peerLl(0), dst: 'ff02::5', nextHeader: 89, hopLimit: 1, payload: Buffer.alloc(40, 1) });
  for (let i = 0; i < 30; i++) {
    hello[48] = i; // tell them apart
    p0.sendVxlan(hello);
  }
  const bfd = (k: number) => {
    const b = udpPacket(peerLl(0), ME_LL, 3784);
    b[48] = k;
    return b;
  };
  for (let k = 0; k < 5; k++) p0.sendVxlan(bfd(k));
  assert.ok(n.engine.step() > 0);
  assert.equal(n.puntBatches.length, 1, 'one hand-up for the step');
  const got = n.puntBatches[0]!;
  assert.equal(got.length, 16);
  assert.deepEqual(got.slice(0, 5).map((p) => p.packet[48]), [0, 1, 2, 3, 4], 'BFD first, in order');
  assert.ok(got.slice(0, 5).every((p) => p.packet[6] === 17 && p.linkId === 0));
  // The 11 oldest OSPF packets kept their place; the BFD packets took the newest ones' room.
  assert.deepEqual(got.slice(5).map((p) => p.packet[48]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(n.node('drop_punt_overflow'), 35 - 16);
  assert.equal(n.node('punted_packets'), 35);
  n.run();
  assert.equal(n.puntBatches.length, 1, 'no empty batches');
});

test('punts: per-kind policers count what they refuse; BFD is not held back by an OSPF flood', () => {
  const n = new TestNode({ batch: 256, punts: { rates: { ospf: { rate: 10, burst: 5 } } } });
  const p0 = new TestPeer(n, 0);
  n.add(vxlanSpec(0, 0));
  const hello = packet({ src: peerLl(0), dst: 'ff02::5', nextHeader: 89, hopLimit: 1, payload: Buffer.alloc(40) });
  for (let i = 0; i < 100; i++) p0.sendVxlan(hello);
  for (let k = 0; k < 50; k++) p0.sendVxlan(udpPacket(peerLl(0), ME_LL, 3784));
  p0.sendVxlan(udpPacket('fd00:6d6f:6c74:1::1', ME, 4784)); // BFD multihop to our address
  p0.sendVxlan(packet({ src: peerLl(0), dst: ME_LL })); // a ping to our link-local
  n.run();
  const kinds = n.punts.map((p) => p.packet[6]);
  assert.equal(kinds.filter((k) => k === 17).length, 51);
  assert.equal(kinds.filter((k) => k === 89).length, 5, 'the OSPF burst');
  assert.equal(kinds.filter((k) => k === 58).length, 1);
  assert.equal(n.node('punt_policed_ospf'), 95);
  assert.equal(n.node('drop_punt_overflow'), 95);
  assert.equal(n.node('punt_policed_bfd'), 0);
  // A second later the bucket has refilled (to its burst).
  n.now += 1000;
  for (let i = 0; i < 20; i++) p0.sendVxlan(hello);
  n.run();
  assert.equal(n.punts.filter((p) => p.packet[6] === 89).length, 10);
});

test('Neighbor Solicitations are answered up to the link\'s reply budget; a flood of them is counted, not answered', () => {
  const n = new TestNode({ batch: 256 });
  const p0 = new TestPeer(n, 0);
  const p1 = new TestPeer(n, 1);
  n.add(vxlanSpec(0, 0));
  n.add(vxlanSpec(1, 1));
  const ns = Buffer.alloc(128);
  const len = emitNeighborSolicitation(ns, 0, { src: addr(peerLl(0)), target: addr(ME_LL), srcMac: p0.mac });
  const solicit = ns.subarray(0, len);
  const adverts = (frames: Buffer[]) => frames.filter((f) => f[VXLAN_ENCAP_LEN + 6] === 58 && f[VXLAN_ENCAP_LEN + 40] === 136).length;
  for (let i = 0; i < 200; i++) p0.sendVxlan(solicit);
  n.run();
  assert.equal(adverts(p0.receive()), LINK_REPLY_BURST, 'the burst is answered');
  assert.equal(n.node('drop_nd_policed'), 200 - LINK_REPLY_BURST);
  assert.equal(linkCounter(n, 0, 'rx_drops'), 200 - LINK_REPLY_BURST);
  // The other link's budget is its own.
  const ns1 = Buffer.alloc(128);
  const len1 = emitNeighborSolicitation(ns1, 0, { src: addr(peerLl(1)), target: addr(ME_LL), srcMac: p1.mac });
  p1.sendVxlan(ns1.subarray(0, len1));
  n.run();
  assert.equal(adverts(p1.receive()), 1);
  // A second later the budget has refilled at the rate.
  n.now += 1000;
  for (let i = 0; i < 200; i++) p0.sendVxlan(solicit);
  n.run();
  assert.equal(adverts(p0.receive()), Math.min(LINK_REPLY_BURST, LINK_REPLY_RATE));
});

test('500 control-plane sends in one drain all leave (the generated region is flushed and reused)', () => {
  const n = new TestNode();
  const p0 = new TestPeer(n, 0);
  n.add(vxlanSpec(0, 0));
  (n.engine.link(0) as VxlanLink).confirmed = true; // no solicitations in the count
  for (let i = 0; i < 500; i++) {
    const pkt = udpPacket(ME_LL, peerLl(0), 3784);
    pkt.writeUInt16BE(i, 48);
    assert.equal(n.engine.sendFromControlPlane(0, pkt), true);
  }
  n.engine.flush();
  const got = p0.receive();
  assert.equal(got.length, 500);
  assert.deepEqual(
    got.map((f) => f.readUInt16BE(VXLAN_ENCAP_LEN + 48)),
    Array.from({ length: 500 }, (_, i) => i),
    'every packet intact and in order',
  );
  assert.equal(n.node('drop_control_tx'), 0);
  // What cannot be sent is counted, never lost silently.
  assert.equal(n.engine.sendFromControlPlane(0, Buffer.alloc(9000)), false);
  assert.equal(n.node('drop_control_tx'), 1);
  assert.equal(n.engine.sendFromControlPlane(42, udpPacket(ME_LL, peerLl(0), 3784)), false);
  assert.equal(n.node('drop_link_down'), 1);
});

test('control-plane sends queued between steps survive the next step (which makes packets of its own)', () => {
  const n = new TestNode({ batch: 4 });
  const p0 = new TestPeer(n, 0);
  n.add(vxlanSpec(0, 0));
  (n.engine.link(0) as VxlanLink).confirmed = true;
  for (let i = 0; i < 3; i++) {
    const pkt = udpPacket(ME_LL, peerLl(0), 3784);
    pkt.writeUInt16BE(0xc000 + i, 48);
    n.engine.sendFromControlPlane(0, pkt);
  }
  // The step then makes ICMPv6 errors (no route) in the same 4-slot generated region.
  for (let i = 0; i < 4; i++) n.fromHost({ src: ME, dst: 'fd00:6d6f:6c74:dead::1' });
  n.engine.step();
  const ctrl = p0.receive().map((f) => f.readUInt16BE(VXLAN_ENCAP_LEN + 48));
  assert.deepEqual(ctrl, [0xc000, 0xc001, 0xc002]);
  const errors = n.toHost();
  assert.equal(errors.length, 4, 'the errors went to the host');
  assert.ok(errors.every((e) => e[6] === 58 && e[40] === 1));
});

test('a failing fd is counted and backed off (not read, not polled) and comes back when it works', () => {
  const n = new TestNode();
  const p0 = new TestPeer(n, 0);
  const p1 = new TestPeer(n, 1, 4754);
  n.add(vxlanSpec(0, 0));
  n.add(greSpec(1, 1, 7));
  n.net.failReads(n.vxlan, EIO);
  n.engine.step();
  assert.equal(n.node('underlay_rx_errors'), 1);
  assert.equal(n.node('rx_backoffs'), 1);
  assert.ok(n.engine.backedOff(PORT_VX));
  // A worker's loop at the same instant: step, nothing to do, wait; the dead fd is not touched again.
  for (let i = 0; i < 1000; i++) if (n.engine.step() === 0) n.engine.wait(250);
  assert.equal(n.node('underlay_rx_errors'), 1, 'no spinning on the failing fd');
  assert.equal(n.net.lastPoll[1], -1, 'left out of the poll set');
  assert.equal(n.net.lastPoll[2], n.gre, 'the others are still polled');
  // The other port keeps working meanwhile (the worker's next poll sees the packet).
  p1.sendGre(packet({ src: peerMesh(1), dst: ME }), 7);
  n.engine.wait(0);
  n.run();
  assert.equal(n.toHost().length, 1);
  // Retried when due, with a longer pause each time it fails again.
  n.now += 10;
  n.engine.step();
  assert.equal(n.node('underlay_rx_errors'), 2);
  n.now += 10;
  n.engine.step();
  assert.equal(n.node('underlay_rx_errors'), 2, 'second pause is 20 ms');
  n.now += 10;
  n.engine.step();
  assert.equal(n.node('underlay_rx_errors'), 3);
  // It heals: the next retry reads, the pause is over, traffic flows.
  n.net.failReads(n.vxlan, 0, 0);
  p0.sendVxlan(packet({ src: peerMesh(0), dst: ME }));
  n.now += 40;
  n.run();
  assert.equal(n.toHost().length, 1);
  assert.ok(!n.engine.backedOff(PORT_VX));
  n.engine.wait(0);
  assert.equal(n.net.lastPoll[1], n.vxlan);
});

test('right after wait, a step reads only the fds poll reported; otherwise it tries each', () => {
  const n = new TestNode();
  const p1 = new TestPeer(n, 1, 4754);
  n.add(vxlanSpec(0, 0));
  n.add(greSpec(1, 1, 7));
  const tried = (fd: number) => n.net.readsTried.get(fd) ?? 0;
  const before = () => [tried(n.tun), tried(n.vxlan), tried(n.gre)];
  const delta = (b: number[]) => [tried(n.tun) - b[0]!, tried(n.vxlan) - b[1]!, tried(n.gre) - b[2]!];
  let b = before();
  n.engine.step();
  assert.deepEqual(delta(b), [1, 1, 1], 'no poll yet: every source is tried');
  p1.sendGre(packet({ src: peerMesh(1), dst: ME }), 7);
  n.engine.wait(0);
  b = before();
  assert.equal(n.engine.step(), 1);
  assert.deepEqual(delta(b), [0, 0, 1], 'only the GRE port was readable');
  assert.equal(n.toHost().length, 1);
  b = before();
  n.engine.step();
  assert.deepEqual(delta(b), [1, 1, 1], 'a second step without a poll tries each again');
  // A poll that saw nothing: the step reads nothing.
  n.engine.wait(0);
  b = before();
  assert.equal(n.engine.step(), 0);
  assert.deepEqual(delta(b), [0, 0, 0]);
  // A port added after the poll: the poll's flags no longer line up with the ports, so each is tried.
  n.net.inject(n.tun, packet({ src: ME, dst: peerMesh(1) }));
  n.engine.wait(0);
  n.engine.addPort(9, { fd: n.net.udpOpen('::1', 0), kind: 'udp' });
  b = before();
  n.engine.step();
  assert.deepEqual(delta(b), [1, 1, 1]);
});

test('full: a step that filled a batch from a source says so, and one that did not clears it', () => {
  const n = new TestNode({ batch: 4 });
  const p1 = new TestPeer(n, 1, 4754);
  n.add(greSpec(1, 1, 7));
  for (let i = 0; i < 6; i++) p1.sendGre(packet({ src: peerMesh(1), dst: ME }), 7);
  assert.equal(n.engine.step(), 4);
  assert.equal(n.engine.full, true);
  assert.equal(n.engine.step(), 2);
  assert.equal(n.engine.full, false);
  assert.equal(n.toHost().length, 6);
});

test('poll errors back an fd off too: POLLERR without data, a closed fd (POLLNVAL), the host TUN', () => {
  const n = new TestNode();
  n.add(greSpec(1, 1, 7));
  n.net.setPollFlags(n.gre, POLL_ERR);
  n.engine.wait(0);
  assert.equal(n.node('underlay_rx_errors'), 1);
  assert.ok(n.engine.backedOff(PORT_GRE));
  n.net.close(n.vxlan); // closed under the engine without removePort: poll says POLLNVAL
  n.engine.wait(0);
  assert.equal(n.node('underlay_rx_errors'), 2);
  assert.ok(n.engine.backedOff(PORT_VX));
  n.net.failReads(n.tun, EIO, 1);
  n.engine.step();
  assert.equal(n.node('host_rx_errors'), 1);
  assert.ok(n.engine.backedOff('host'));
  assert.ok(n.engine.retryAt() > n.now);
  n.now += 10;
  n.engine.step();
  assert.ok(!n.engine.backedOff('host'), 'one failure, then the read worked');
});

test('a removed link: routed and control traffic count drop_link_down, its peer is unknown; re-added it works', () => {
  const n = new TestNode();
  const p0 = new TestPeer(n, 0);
  n.add(vxlanSpec(0, 0));
  n.route(`${peerMesh(0)}/128`, [0]);
  n.fromHost({ src: ME, dst: peerMesh(0) });
  n.run();
  assert.equal(dataFrames(p0.receive()).length, 1);
  assert.equal(n.engine.removeLink(0), true);
  assert.equal(n.engine.removeLink(0), false);
  n.fromHost({ src: ME, dst: peerMesh(0) });
  n.run();
  n.engine.sendFromControlPlane(0, udpPacket(ME_LL, peerLl(0), 3784));
  p0.sendVxlan(packet({ src: peerMesh(0), dst: ME }));
  n.run();
  assert.equal(n.node('drop_link_down'), 2);
  assert.equal(n.node('drop_unknown_peer'), 1);
  assert.equal(p0.receive().length, 0);
  assert.equal(linkCounter(n, 0, 'tx_packets'), 2, 'counters stay readable after removal');
  n.add(vxlanSpec(0, 0));
  n.fromHost({ src: ME, dst: peerMesh(0) });
  n.run();
  assert.equal(dataFrames(p0.receive()).length, 1);
});

test('ports by id: removed, its links count drop_link_down; many ports grow the slab without moving queued packets', () => {
  const n = new TestNode({ batch: 8 });
  const p1 = new TestPeer(n, 1, 4754);
  n.add(greSpec(1, 1, 7));
  n.route(`${peerMesh(1)}/128`, [1]);
  assert.equal(n.engine.removePort(PORT_GRE), true);
  n.fromHost({ src: ME, dst: peerMesh(1) });
  n.run();
  assert.equal(n.node('drop_link_down'), 1);
  assert.equal(linkCounter(n, 1, 'tx_drops'), 1);
  n.engine.addPort(PORT_GRE, { fd: n.gre, kind: 'udp' });

  // A control packet queued (not yet flushed) while 20 ports are added and the slab grows under it.
  const ctl = udpPacket(ME_LL, peerLl(1), 3784);
  n.engine.sendFromControlPlane(1, ctl);
  const slab = n.engine.slab;
  const peers: TestPeer[] = [];
  for (let k = 0; k < 20; k++) {
    const fd = n.net.udpOpen('fd00:1::1', 7000 + k);
    n.engine.addPort(100 + k, { fd, kind: 'udp' });
    const spec = { ...vxlanSpec(10 + k, 10 + k, 100 + k) };
    n.add(spec);
    n.route(`${peerMesh(10 + k)}/128`, [10 + k]);
    peers.push(new TestPeer(n, 10 + k));
  }
  assert.notEqual(n.engine.slab, slab, 'the slab grew');
  n.engine.flush();
  const got = p1.receive();
  assert.equal(got.length, 1);
  assert.deepEqual(got[0]!.subarray(GRE_KEY_HEADER_LEN), ctl);
  for (let k = 0; k < 20; k++) {
    n.fromHost({ src: ME, dst: peerMesh(10 + k) });
    n.net.sendTo(peers[k]!.fd, vxlanFrame(packet({ src: peerMesh(10 + k), dst: ME }), peers[k]!.mac), `[fd00:1::1]:${7000 + k}`);
  }
  n.run();
  for (let k = 0; k < 20; k++) assert.equal(dataFrames(peers[k]!.receive()).length, 1, `port ${100 + k}`);
  assert.equal(n.toHost().length, 20);
  // A freed region is reused rather than growing again.
  const grown = n.engine.slab;
  n.engine.removePort(105);
  n.engine.addPort(200, { fd: n.net.udpOpen('fd00:1::1', 7999), kind: 'udp' });
  assert.equal(n.engine.slab, grown);
});

test('addLink: ids 0..65534 with counters for all, a clear RangeError beyond; a clashing peer is refused', () => {
  const n = new TestNode();
  const p = new TestPeer(n, 0);
  n.add(vxlanSpec(65534, 0));
  p.sendVxlan(packet({ src: peerMesh(0), dst: ME }));
  n.run();
  assert.equal(linkCounter(n, 65534, 'rx_packets'), 1);
  for (const id of [65535, -1, 1.5, NaN]) {
    assert.throws(() => n.engine.addLink(createLink(vxlanSpec(id, 1))), { name: 'RangeError', message: /link id must be an integer 0\.\.65534/ });
  }
  assert.throws(() => n.engine.addLink(createLink({ ...vxlanSpec(1, 1), port: 65536 })), RangeError);
  assert.throws(() => n.engine.addLink(createLink({ ...vxlanSpec(1, 1), mtu: 0 })), RangeError);
  assert.throws(() => n.engine.addPort(70000, { fd: 1, kind: 'udp' }), RangeError);
  assert.throws(() => n.engine.addPort(3, { fd: 1, kind: 'raw' as 'udp' }), RangeError);
  // Same port and peer address as link 65534: the receive side could not tell them apart.
  assert.throws(() => n.engine.addLink(createLink(vxlanSpec(5, 0))), /link 65534 already has port 0/);
  assert.equal(n.engine.link(5), undefined, 'nothing changed');
  // The same peer on another port is a different key.
  n.add(vxlanSpec(5, 0, PORT_GRE));
});

test('a roaming link (a peer behind NAT) sends to the UDP port its packets come from; others keep theirs', () => {
  const n = new TestNode();
  const natted = new TestPeer(n, 0, 40001); // the NAT mapped the peer's 4789 to 40001
  const announced = new TestPeer(n, 0, 4789); // nothing of the peer listens here past the NAT
  const plain = new TestPeer(n, 1, 40002);
  const plainHome = new TestPeer(n, 1, 4789);
  n.add({ ...vxlanSpec(0, 0), roam: true });
  n.add(vxlanSpec(1, 1));
  n.route(`${peerMesh(0)}/128`, [0]);
  n.route(`${peerMesh(1)}/128`, [1]);
  // Before anything arrives, the announced port.
  n.fromHost({ src: ME, dst: peerMesh(0) });
  n.run();
  assert.equal(dataFrames(announced.receive()).length, 1);
  natted.sendVxlan(packet({ src: peerMesh(0), dst: ME }));
  plain.sendVxlan(packet({ src: peerMesh(1), dst: ME }));
  n.run();
  n.fromHost({ src: ME, dst: peerMesh(0) });
  n.fromHost({ src: ME, dst: peerMesh(1) });
  n.run();
  assert.equal(dataFrames(natted.receive()).length, 1, 'the roaming link answered the port it heard from');
  assert.equal(dataFrames(announced.receive()).length, 0);
  assert.equal(dataFrames(plainHome.receive()).length, 1, 'a plain link keeps its configured port (VXLAN senders vary theirs)');
  assert.equal(dataFrames(plain.receive()).length, 0);
  // Reported once when first heard and once per change (a NAT rebinding), never per packet; plain links never.
  const rebound = new TestPeer(n, 0, 40003);
  natted.sendVxlan(packet({ src: peerMesh(0), dst: ME }));
  n.run();
  rebound.sendVxlan(packet({ src: peerMesh(0), dst: ME }));
  rebound.sendVxlan(packet({ src: peerMesh(0), dst: ME }));
  n.run();
  assert.deepEqual(
    n.roams.map((r) => r.remote),
    [`[${peerUnderlay(0)}]:40001`, `[${peerUnderlay(0)}]:40003`],
  );
  assert.ok(n.roams.every((r) => r.linkId === 0));
});

test('GSO sends: a route that refuses UDP_SEGMENT (EIO) turns GSO off for the ports, once; packets still go', () => {
  const gsoCalls: number[] = [];
  const offs: number[] = [];
  const n = new TestNode({
    gso: true,
    gsoOff: (id) => offs.push(id),
    // The kernel's answer to UDP_SEGMENT on an xfrm route: every message EIO, each datagram sent one by one.
    io: (net) =>
      new Proxy(net, {
        get(t, k) {
          if (k === 'sendBatchGso') {
            return (fd: number, slab: Buffer, o: Int32Array, l: Int32Array, a: Uint8Array, count: number, stats: Int32Array) => {
              gsoCalls.push(count);
              stats[OS_GSO_EIO]!++;
              return t.sendBatch(fd, slab, o, l, a, count);
            };
          }
          const v = (t as unknown as Record<string | symbol, unknown>)[k];
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
        },
      }) as unknown as EngineIo,
  });
  const p0 = new TestPeer(n, 0);
  n.add(vxlanSpec(0, 0));
  n.route(`${peerMesh(0)}/128`, [0]);
  for (let i = 0; i < 3; i++) n.fromHost({ src: ME, dst: peerMesh(0), hopLimit: 64 });
  n.run();
  assert.equal(gsoCalls.length, 1, 'one GSO flush');
  assert.deepEqual(offs, [PORT_VX, PORT_GRE], 'both underlay ports told, once each');
  assert.equal(n.counters.node[C.gso_refused], 1);
  for (let i = 0; i < 3; i++) n.fromHost({ src: ME, dst: peerMesh(0), hopLimit: 64 });
  n.run();
  assert.equal(gsoCalls.length, 1, 'plain sendmmsg from then on');
  assert.deepEqual(offs, [PORT_VX, PORT_GRE], 'not told again');
  assert.equal(dataFrames(p0.receive()).length, 6, 'every packet arrived');
});
