/**
 * Two (or three) instances over in-memory point-to-point links: adjacency formation with master/slave by
 * Router ID, database exchange, acknowledgment of everything, the DD MTU check, retransmission of lost
 * packets, authentication, and the ways an adjacency ends (dead interval, neighborDown, removeInterface).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimNet, meshAddressOf } from '../helpers/ospf-net.js';
import { parseOspfPacket } from '../../src/controlplane/ospf/wire/packet.js';
import { DdFlag, PacketType, type OspfPacket } from '../../src/controlplane/ospf/wire/types.js';

function decode(packet: Buffer): OspfPacket {
  const r = parseOspfPacket(packet, -1, 0, packet.length, false);
  assert.ok(r.ok);
  return r.repr;
}

function dds(net: SimNet, id: number) {
  return net.routers
    .get(id)!
    .sent.map((s) => decode(s.packet))
    .filter((p): p is Extract<OspfPacket, { type: 2 }> => p.type === PacketType.DatabaseDescription);
}

function state(net: SimNet, id: number, nbr?: number): string | undefined {
  const ns = net.routers.get(id)!.inst.neighbors();
  return (nbr === undefined ? ns[0] : ns.find((n) => n.routerId === `0.0.0.${nbr}`))?.state;
}

test('two routers reach Full; the higher Router ID is master; routes both ways', () => {
  const net = new SimNet({ record: true });
  net.addRouter(1);
  net.addRouter(2);
  net.connect(1, 2, 10);
  net.advance(1000);
  assert.equal(state(net, 1), 'Full');
  assert.equal(state(net, 2), 'Full');
  // The Router-LSAs listing the new adjacency wait out MinLSInterval after the ones from start-up.
  net.advance(5000);
  // After the I-packets, the master (2) sets MS, the slave (1) never does and echoes the master's numbers.
  const masterDds = dds(net, 2).filter((d) => !(d.body.flags & DdFlag.I));
  const slaveDds = dds(net, 1).filter((d) => !(d.body.flags & DdFlag.I));
  assert.ok(masterDds.length > 0 && slaveDds.length > 0);
  assert.ok(masterDds.every((d) => d.body.flags & DdFlag.MS));
  assert.ok(slaveDds.every((d) => !(d.body.flags & DdFlag.MS)));
  const masterSeqs = new Set(dds(net, 2).map((d) => d.body.ddSequence));
  assert.ok(slaveDds.every((d) => masterSeqs.has(d.body.ddSequence)), 'the slave echoes the master');
  assert.equal(net.areaDatabase(1), net.areaDatabase(2));
  for (const [a, b] of [
    [1, 2],
    [2, 1],
  ] as const) {
    const r = net.routers.get(a)!.inst.routes().find((x) => x.prefix.equals(meshAddressOf(b)));
    assert.ok(r, `${a} routes to ${b}`);
    assert.equal(r.cost, 10);
    assert.equal(r.type, 'intra');
    assert.ok(r.nexthops[0]!.address.equals(net.routers.get(b)!.linkLocal));
  }
  net.advance(10_000);
  for (const id of [1, 2]) {
    const n = net.routers.get(id)!.inst.neighbors()[0]!;
    assert.equal(n.retransmitQueue, 0, 'everything acknowledged');
    assert.equal(n.requestQueue, 0);
  }
});

test('a new adjacency exchanges whole databases (more than one DD packet) and requests what it lacks', () => {
  const net = new SimNet({ record: true });
  // A chain 3-4-...-40 converged first: router 1 joins it later through router 3.
  for (let i = 1; i <= 40; i++) net.addRouter(i);
  for (let i = 3; i < 40; i++) net.connect(i, i + 1, 1);
  net.advance(60_000);
  net.connect(1, 3, 5);
  net.advance(10_000);
  assert.equal(state(net, 1), 'Full');
  assert.equal(net.areaDatabase(1), net.areaDatabase(40));
  const withHeaders = dds(net, 3).filter((d) => d.body.lsaHeaders.length > 0);
  assert.ok(withHeaders.length >= 2, 'the database took several DD packets');
  assert.ok(net.routers.get(1)!.inst.routes().find((r) => r.prefix.equals(meshAddressOf(40)))?.cost === 5 + 37);
  assert.ok((net.routers.get(1)!.inst.counters()['tx_lsr'] ?? 0) >= 1);
});

test('DD with a different MTU is refused: both stay in ExStart; mtuIgnore lets them through', () => {
  const net = new SimNet();
  net.addRouter(1);
  net.addRouter(2);
  net.connect(1, 2, 10, { a: { mtu: 1500 }, b: { mtu: 1400 } });
  net.advance(30_000);
  assert.equal(state(net, 1), 'ExStart');
  assert.equal(state(net, 2), 'ExStart');
  assert.ok((net.routers.get(1)!.inst.counters()['drop_dd_mtu_mismatch'] ?? 0) > 0);
  assert.ok((net.routers.get(2)!.inst.counters()['drop_dd_mtu_mismatch'] ?? 0) > 0);

  const ok = new SimNet();
  ok.addRouter(1);
  ok.addRouter(2);
  ok.connect(1, 2, 10, { a: { mtu: 1500, mtuIgnore: true }, b: { mtu: 1400, mtuIgnore: true } });
  ok.advance(5_000);
  assert.equal(state(ok, 1), 'Full');
  assert.equal(state(ok, 2), 'Full');
});

for (const lost of [PacketType.DatabaseDescription, PacketType.LinkStateRequest, PacketType.LinkStateUpdate] as const) {
  test(`a lost packet (type ${lost}) is retransmitted and the adjacency still reaches Full`, () => {
    const net = new SimNet();
    net.addRouter(1);
    net.addRouter(2);
    let dropped = 0;
    // Drop the first two packets of that type in each direction (a DD: the I-packets or the first exchange).
    net.filter = ({ packet }) => {
      if (packet[1] === lost && dropped < 2) {
        dropped++;
        return false;
      }
      return true;
    };
    net.connect(1, 2, 10);
    net.advance(4_000);
    assert.notEqual(state(net, 1), 'Full', 'not yet: waiting for RxmtInterval');
    net.advance(15_000);
    assert.equal(dropped, 2);
    assert.equal(state(net, 1), 'Full');
    assert.equal(state(net, 2), 'Full');
    assert.equal(net.areaDatabase(1), net.areaDatabase(2));
    const c = { ...net.routers.get(1)!.inst.counters(), ...net.routers.get(2)!.inst.counters() };
    const rx = (c['dd_retransmitted'] ?? 0) + (c['lsr_retransmitted'] ?? 0) + (c['lsa_retransmitted'] ?? 0);
    assert.ok(rx >= 1, 'something was retransmitted');
  });
}

test('the slave answers a duplicate DD with its last packet', () => {
  const net = new SimNet({ record: true });
  net.addRouter(1);
  net.addRouter(2);
  // Lose the slave's first answer after negotiation: the master retransmits, the slave resends.
  let lostOne = false;
  net.filter = ({ from, packet }) => {
    if (!lostOne && from === 1 && packet[1] === PacketType.DatabaseDescription && !(packet[16 + 7]! & DdFlag.I)) {
      lostOne = true;
      return false;
    }
    return true;
  };
  net.connect(1, 2, 10);
  net.advance(20_000);
  assert.ok(lostOne);
  assert.equal(state(net, 1), 'Full');
  assert.ok((net.routers.get(1)!.inst.counters()['dd_resent'] ?? 0) >= 1, 'slave resent its last DD');
});

test('RFC 7166 authentication: same key reaches Full, a different key never forms an adjacency', () => {
  const key = { keyId: 7, key: Buffer.from('secret') };
  const net = new SimNet();
  net.addRouter(1);
  net.addRouter(2);
  net.connect(1, 2, 10, { a: { auth: key }, b: { auth: key } });
  net.advance(6_000);
  assert.equal(state(net, 1), 'Full');
  assert.equal(net.areaDatabase(1), net.areaDatabase(2));

  const bad = new SimNet();
  bad.addRouter(1);
  bad.addRouter(2);
  bad.connect(1, 2, 10, { a: { auth: key }, b: { auth: { keyId: 7, key: Buffer.from('other') } } });
  bad.advance(30_000);
  assert.equal(bad.routers.get(1)!.inst.neighbors().length, 0);
  assert.ok((bad.routers.get(1)!.inst.counters()['drop_auth_failed'] ?? 0) > 0);

  const half = new SimNet();
  half.addRouter(1);
  half.addRouter(2);
  half.connect(1, 2, 10, { a: { auth: key } });
  half.advance(30_000);
  assert.equal(half.routers.get(1)!.inst.neighbors().length, 0, 'no trailer: refused');
  assert.equal(half.routers.get(2)!.inst.neighbors().length, 0, 'checksum 0: refused');
});

test('Hello parameters must match: a different dead interval forms no neighbor', () => {
  const net = new SimNet();
  net.addRouter(1);
  net.addRouter(2);
  net.connect(1, 2, 10, { b: { deadInterval: 30 } });
  net.advance(30_000);
  assert.equal(net.routers.get(1)!.inst.neighbors().length, 0);
  assert.ok((net.routers.get(1)!.inst.counters()['drop_hello_timers_mismatch'] ?? 0) > 0);
});

test('the adjacency ends: dead interval, neighborDown (immediate SPF), removeInterface; routes follow', () => {
  const net = new SimNet();
  for (const id of [1, 2, 3]) net.addRouter(id);
  const l12 = net.connect(1, 2, 10);
  net.connect(2, 3, 10);
  net.connect(1, 3, 50);
  const events: string[] = [];
  net.routers.get(1)!.inst.onNeighborState((e) => events.push(`${e.routerId}:${e.from}->${e.to}`));
  net.advance(20_000);
  const r1 = net.routers.get(1)!;
  const costTo3 = () => r1.inst.routes().find((r) => r.prefix.equals(meshAddressOf(3)))?.cost;
  assert.equal(costTo3(), 20);
  assert.ok(events.includes('2:Loading->Full') || events.includes('2:Exchange->Full'));

  // neighborDown (BFD): Down at once, routes recomputed in the same call.
  const before = r1.routeUpdates;
  r1.inst.neighborDown(l12.a.linkId, 2, net.now);
  assert.equal(state(net, 1, 2), undefined, 'neighbor 2 gone from router 1');
  assert.equal(costTo3(), 50, 'rerouted over the direct link at once');
  assert.equal(r1.routeUpdates, before + 1);
  assert.ok(events.includes('2:Full->Down'));
  // Still hearing Hellos, it comes back.
  net.advance(20_000);
  assert.equal(state(net, 1, 2), 'Full');
  assert.equal(costTo3(), 20);

  // Silence: the dead interval (40 s) takes it down.
  // The last Hello came at most a HelloInterval ago: Full for 40 - 10 s more, Down within 40 s.
  l12.up = false;
  net.advance(29_000);
  assert.equal(state(net, 1, 2), 'Full');
  net.advance(12_000);
  assert.equal(state(net, 1, 2), undefined);
  net.advance(1_000);
  assert.equal(costTo3(), 50);
  l12.up = true;
  net.advance(20_000);
  assert.equal(costTo3(), 20);

  // removeInterface: at once.
  net.removeLink(l12);
  assert.equal(state(net, 1, 2), undefined);
  net.advance(1_000);
  assert.equal(costTo3(), 50);
  assert.equal(r1.inst.interfaces().length, 1);
  net.advance(10_000);
  assert.equal(net.areaDatabase(1), net.areaDatabase(2));
});

test('setPrefixes: a new prefix is advertised and routed; a packet from a non-link-local source is dropped', () => {
  const net = new SimNet();
  net.addRouter(1);
  net.addRouter(2);
  net.connect(1, 2, 10);
  net.advance(10_000);
  const extra = Buffer.from('20010db8000100000000000000000000', 'hex');
  net.routers.get(2)!.inst.setPrefixes(
    [
      { prefix: meshAddressOf(2), length: 128 },
      { prefix: extra, length: 64, metric: 5 },
    ],
    net.now,
  );
  net.routers.get(2)!.nextTick = net.now;
  net.advance(10_000);
  const r = net.routers.get(1)!.inst.routes().find((x) => x.length === 64 && x.prefix.equals(extra));
  assert.equal(r?.cost, 15);

  const r1 = net.routers.get(1)!;
  r1.inst.receive(1, Buffer.from('20010db8000000000000000000000002', 'hex'), Buffer.from('ff020000000000000000000000000005', 'hex'), 1, Buffer.alloc(40), net.now);
  assert.equal(r1.inst.counters()['drop_source_not_link_local'], 1);
});
