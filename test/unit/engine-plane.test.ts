/**
 * InProcessForwardingPlane over the in-memory network: the daemon-facing API (ports, links, route changes,
 * sends, punt events, counters) with the engine stepping on the event loop only while there is work.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { MemoryNetwork } from '../../src/dataplane/io/memory.js';
import { C, L, LINK_COUNTER_STRIDE } from '../../src/dataplane/counters.js';
import { parsePrefix } from '../../src/dataplane/fib/fib.js';
import { InProcessForwardingPlane } from '../../src/daemon/forwarding-plane-inprocess.js';
import type { ForwardingPlaneHandle } from '../../src/daemon/forwarding-plane.js';
import { diffRoutes, type RouteSpec } from '../../src/daemon/forwarding-messages.js';
import { meshMac } from '../../src/transport/wire/ethernet.js';
import { VXLAN_ENCAP_LEN } from '../../src/transport/wire/vxlan.js';
import { addr } from '../helpers/packets.js';
import { ME, ME_LL, UNDERLAY, packet, peerLl, peerMesh, peerUnderlay, udpPacket, vxlanFrame, vxlanSpec } from '../helpers/engine-net.js';

/** Wait (bounded) until `cond` holds. */
async function until(cond: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

function route(prefix: string, nexthops: number[]): RouteSpec {
  const p = parsePrefix(prefix);
  return { prefix: p.prefix, length: p.length, nexthops };
}

/** A plane on a fresh network with a VXLAN socket as port 0, and the peers' sockets. */
function setup(peers = 2) {
  const net = new MemoryNetwork();
  const tun = net.tunOpen('molt0').fd;
  const vx = net.udpOpen(UNDERLAY, 4789);
  const plane: ForwardingPlaneHandle = new InProcessForwardingPlane({
    io: net,
    tunFd: tun,
    meshAddress: addr(ME),
    linkLocal: addr(ME_LL),
    maxPacket: 1600,
  });
  const peerFds = Array.from({ length: peers }, (_, i) => net.udpOpen(peerUnderlay(i), 4789));
  const send = (i: number, inner: Buffer) => net.sendTo(peerFds[i]!, vxlanFrame(inner, meshMac(addr(peerMesh(i)))), `[${UNDERLAY}]:4789`);
  const got = (i: number) => net.receive(peerFds[i]!).map((d) => d.data.subarray(VXLAN_ENCAP_LEN));
  const data = (i: number) => got(i).filter((p) => !(p[6] === 58 && p[40] === 135)); // without solicitations
  return { net, tun, vx, plane, send, got, data };
}

test('in-process plane: changes before start apply in order; host <-> links and transit without manual steps', async () => {
  const { net, tun, vx, plane, send, data } = setup();
  plane.addPort(0, { fd: vx, kind: 'udp' });
  plane.addLink(vxlanSpec(0, 0));
  plane.addLink(vxlanSpec(1, 1));
  plane.updateRoutes({ remove: [], insert: [route(`${peerMesh(0)}/128`, [0]), route(`${peerMesh(1)}/128`, [1])] });
  await plane.start();
  try {
    const out = packet({ src: ME, dst: peerMesh(0) });
    net.inject(tun, out);
    let toPeer0: Buffer[] = [];
    await until(() => (toPeer0 = toPeer0.concat(data(0))).length === 1, 'host -> peer 0');
    assert.deepEqual(toPeer0[0], out);
    const back = packet({ src: peerMesh(0), dst: ME });
    send(0, back);
    let host: Buffer[] = [];
    await until(() => (host = host.concat(net.written(tun))).length === 1, 'peer 0 -> host');
    assert.deepEqual(host[0], back);
    send(0, packet({ src: peerMesh(0), dst: peerMesh(1), hopLimit: 9 }));
    let toPeer1: Buffer[] = [];
    await until(() => (toPeer1 = toPeer1.concat(data(1))).length === 1, 'transit 0 -> 1');
    assert.equal(toPeer1[0]![7], 8);
    assert.equal(plane.counters.node[C.forwarded_packets], 1);
    assert.equal(plane.counters.link[1 * LINK_COUNTER_STRIDE + L.tx_packets]! >= 1, true);
  } finally {
    await plane.stop();
  }
});

test('in-process plane: punt events per step with BFD first; 500 sends in one callback all leave', async () => {
  const { plane, vx, send, got } = setup(1);
  plane.addPort(0, { fd: vx, kind: 'udp' });
  plane.addLink(vxlanSpec(0, 0));
  const punts: { linkId: number; kind: number; tag: number }[] = [];
  plane.on('punt', (linkId, pkt) => punts.push({ linkId, kind: pkt[6]!, tag: pkt[48]! }));
  await plane.start();
  try {
    for (let i = 0; i < 10; i++) {
      const hello = packet({ src: peerLl(0), dst: 'ff02::5', nextHeader: 89, hopLimit: 1, payload: Buffer.alloc(40) });
      hello[48] = i;
      send(0, hello);
    }
    for (let k = 0; k < 3; k++) {
      const bfd = udpPacket(peerLl(0), ME_LL, 3784);
      bfd[48] = 100 + k;
      send(0, bfd);
    }
    await until(() => punts.length === 13, 'punts');
    assert.deepEqual(punts.map((p) => p.tag), [100, 101, 102, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.ok(punts.every((p) => p.linkId === 0));

    for (let i = 0; i < 500; i++) {
      const pkt = udpPacket(ME_LL, peerLl(0), 3784);
      pkt.writeUInt16BE(i, 48);
      plane.send(0, pkt);
    }
    let sent: Buffer[] = [];
    await until(() => (sent = sent.concat(got(0).filter((p) => p[6] === 17))).length === 500, '500 sends');
    assert.deepEqual(sent.map((p) => p.readUInt16BE(48)), Array.from({ length: 500 }, (_, i) => i));
    assert.equal(plane.counters.node[C.drop_control_tx], 0);
  } finally {
    await plane.stop();
  }
});

test('in-process plane: routes by difference, links removed and re-added, checks at the call', async () => {
  const { net, tun, vx, plane, data } = setup();
  await plane.start();
  try {
    plane.addPort(0, { fd: vx, kind: 'udp' });
    plane.addLink(vxlanSpec(0, 0));
    plane.addLink(vxlanSpec(1, 1));
    const v1 = [route('fd00:6d6f:6c74:f000::/64', [0]), route(`${peerMesh(1)}/128`, [1])];
    plane.updateRoutes(diffRoutes([], v1));
    net.inject(tun, packet({ src: ME, dst: 'fd00:6d6f:6c74:f000::1' }));
    await until(() => data(0).length === 1, 'via link 0');
    // The /64 moves to link 1; the /128 is untouched (not in the change at all).
    const v2 = [route('fd00:6d6f:6c74:f000::/64', [1]), route(`${peerMesh(1)}/128`, [1])];
    const change = diffRoutes(v1, v2);
    assert.equal(change.insert.length, 1);
    assert.equal(change.remove.length, 0);
    plane.updateRoutes(change);
    net.inject(tun, packet({ src: ME, dst: 'fd00:6d6f:6c74:f000::1' }));
    await until(() => data(1).length === 1, 'via link 1');
    plane.updateRoutes(diffRoutes(v2, [v2[1]!]));
    net.inject(tun, packet({ src: ME, dst: 'fd00:6d6f:6c74:f000::1' }));
    await until(() => plane.counters.node[C.drop_no_route] === 1, 'no route any more');

    plane.removeLink(1);
    net.inject(tun, packet({ src: ME, dst: peerMesh(1) }));
    await until(() => plane.counters.node[C.drop_link_down] === 1, 'link 1 gone');

    assert.throws(() => plane.addLink(vxlanSpec(70000, 1)), RangeError);
    assert.throws(() => plane.addLink(vxlanSpec(5, 0)), /link 0 already has port 0/);
    assert.throws(() => plane.addPort(-1, { fd: vx, kind: 'udp' }), RangeError);
    assert.throws(() => plane.updateRoutes({ remove: [], insert: [route('::/0', [65535])] }), RangeError);
    plane.addLink(vxlanSpec(1, 1)); // its old key was released by removeLink
    net.inject(tun, packet({ src: ME, dst: peerMesh(1) }));
    await until(() => data(1).length === 1, 'link 1 back');
    assert.equal(plane.counters.node[C.internal_errors], 0);
  } finally {
    await plane.stop();
  }
});

test('in-process plane: idle means no stepping; a failing fd is retried on a timer, not in a loop', async () => {
  const { net, vx, plane, send } = setup(1);
  let reads = 0;
  const recv = net.recvBatch.bind(net);
  net.recvBatch = (...args: Parameters<typeof recv>) => {
    reads++;
    return recv(...args);
  };
  plane.addPort(0, { fd: vx, kind: 'udp' });
  plane.addLink(vxlanSpec(0, 0));
  let exited = -1;
  plane.on('exit', (code) => (exited = code));
  await plane.start();
  try {
    await new Promise((r) => setTimeout(r, 30));
    const before = reads;
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(reads - before <= 1, `stepped ${reads - before} times while idle`);

    net.failReads(vx, constants.errno.EIO, 3);
    await new Promise((r) => setTimeout(r, 20));
    const failing = reads;
    send(0, packet({ src: peerMesh(0), dst: ME }));
    // Three failures back off 10 + 20 + 40 ms; then the datagram is read.
    await until(() => plane.counters.node[C.host_tx_packets] === 1, 'the datagram after the back-off', 3000);
    assert.equal(plane.counters.node[C.underlay_rx_errors], 3);
    assert.ok(reads - failing < 20, `${reads - failing} reads while backing off`);
  } finally {
    await plane.stop();
  }
  assert.equal(exited, 0);
});

test('in-process plane: sync answers after the step that read what was sent before it', async () => {
  const { plane, vx, send } = setup(1);
  plane.addPort(0, { fd: vx, kind: 'udp' });
  plane.addLink(vxlanSpec(0, 0));
  let punts = 0;
  plane.on('punt', () => punts++);
  await plane.start();
  try {
    for (let round = 1; round <= 2; round++) {
      for (let i = 0; i < 2; i++) send(0, udpPacket(peerLl(0), ME_LL, 3784));
      const n = await new Promise<number>((resolve) => plane.sync(() => resolve(punts)));
      assert.equal(n, 2 * round);
    }
  } finally {
    await plane.stop();
  }
  // A stopped plane answers at once.
  await new Promise<void>((resolve) => plane.sync(resolve));
});
