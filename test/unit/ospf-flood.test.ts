/**
 * Flooding rules (RFC 2328 §13, §13.3-13.7, §14; RFC 5340 §4.5) on a line 2 - 1 - 3 of real instances:
 * LS Updates are injected into router 1 as if router 2 sent them, and router 1's output is inspected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimNet, linkLocalOf, meshAddressOf } from '../helpers/ospf-net.js';
import { buildLsa } from '../../src/controlplane/ospf/wire/lsa.js';
import { emitOspfPacket, ospfPacketBufferLen, parseOspfPacket } from '../../src/controlplane/ospf/wire/packet.js';
import {
  INITIAL_SEQUENCE_NUMBER,
  LsType,
  MAX_AGE,
  PacketType,
  type Lsa,
  type LsaBody,
  type OspfPacket,
} from '../../src/controlplane/ospf/wire/types.js';
import { parseIpv6Address } from '../../src/dataplane/wire/ipv6.js';
import { MAXAGE_KEEP_MS } from '../../src/controlplane/ospf/instance.js';

const ALL_SPF = parseIpv6Address('ff02::5');

function line(): SimNet {
  const net = new SimNet({ record: true });
  net.addRouter(1);
  net.addRouter(2);
  net.addRouter(3);
  net.connect(1, 2, 10); // r1 link 1 <-> r2
  net.connect(1, 3, 10); // r1 link 2 <-> r3
  net.advance(30_000);
  for (const id of [1, 2, 3]) for (const n of net.routers.get(id)!.inst.neighbors()) assert.equal(n.state, 'Full');
  return net;
}

function routerLsa(adv: number, sequence: number, age = 0, links: { to: number; cost: number }[] = []): Lsa {
  const body: LsaBody = {
    kind: 'router',
    flags: 0,
    options: 0x13,
    links: links.map((l, i) => ({ type: 1, metric: l.cost, interfaceId: i + 1, neighborInterfaceId: 1, neighborRouterId: l.to })),
  };
  return buildLsa({ age, type: LsType.Router, linkStateId: 0, advertisingRouter: adv, sequence }, body)!;
}

function withAge(lsa: Lsa, age: number): Lsa {
  const raw = Buffer.from(lsa.raw);
  raw.writeUInt16BE(age, 0);
  return { header: { ...lsa.header, age }, body: lsa.body, raw };
}

/** Inject an LS Update into router 1 on its link to router 2, as router 2 would send it. */
function injectLsu(net: SimNet, lsas: Lsa[], dst = ALL_SPF): void {
  const repr = { type: PacketType.LinkStateUpdate, header: { routerId: 2, areaId: 0, instanceId: 0 }, body: { lsas } } as const;
  const buf = Buffer.alloc(ospfPacketBufferLen(repr));
  const src = linkLocalOf(2);
  emitOspfPacket(repr, buf, 0, src, dst);
  const r1 = net.routers.get(1)!;
  r1.inst.receive(1, src, dst, 1, buf, net.now);
  r1.nextTick = net.now;
}

/** What router 1 sent since `since` (decoded), with link and destination. */
function sentBy(net: SimNet, id: number, since: number): { linkId: number; dst: Buffer; at: number; pkt: OspfPacket }[] {
  return net.routers
    .get(id)!
    .sent.filter((s) => s.at >= since)
    .map((s) => {
      const r = parseOspfPacket(s.packet, -1, 0, s.packet.length, false);
      assert.ok(r.ok);
      return { linkId: s.linkId, dst: s.dst, at: s.at, pkt: r.repr };
    });
}

function lsusWith(sent: ReturnType<typeof sentBy>, adv: number, seq?: number) {
  return sent.filter(
    (s) =>
      s.pkt.type === PacketType.LinkStateUpdate &&
      s.pkt.body.lsas.some((l) => l.header.advertisingRouter === adv && (seq === undefined || l.header.sequence === seq)),
  );
}

function acksFor(sent: ReturnType<typeof sentBy>, adv: number) {
  return sent.filter((s) => s.pkt.type === PacketType.LinkStateAck && s.pkt.body.lsaHeaders.some((h) => h.advertisingRouter === adv));
}

function dbEntry(net: SimNet, id: number, adv: string, type = 'Router') {
  return net.routers
    .get(id)!
    .inst.database()
    .find((e) => e.advertisingRouter === adv && e.type === type && e.scope.startsWith('area'));
}

test('a newer instance is installed, flooded out of the other interfaces, and acknowledged (delayed)', () => {
  const net = line();
  const t0 = net.now;
  injectLsu(net, [routerLsa(9, INITIAL_SEQUENCE_NUMBER)]);
  assert.equal(dbEntry(net, 1, '0.0.0.9')?.sequence, '0x80000001');
  let sent = sentBy(net, 1, t0);
  const floods = lsusWith(sent, 9);
  assert.equal(floods.length, 1, 'flooded once');
  assert.equal(floods[0]!.linkId, 2, 'to router 3 only, not back to router 2');
  assert.ok(floods[0]!.dst.equals(ALL_SPF));
  assert.equal(acksFor(sent, 9).length, 0, 'no immediate ack: it is delayed');
  net.advance(2000);
  sent = sentBy(net, 1, t0);
  const acks = acksFor(sent, 9).filter((a) => a.linkId === 1);
  assert.equal(acks.length, 1, 'one delayed ack to router 2');
  assert.ok(acks[0]!.dst.equals(ALL_SPF));
  assert.ok(acks[0]!.at >= t0 + 500 && acks[0]!.at <= t0 + 1500);
  assert.equal(dbEntry(net, 3, '0.0.0.9')?.sequence, '0x80000001', 'router 3 got it');
  // Router 3 acknowledged it: router 1's retransmission list is empty.
  assert.equal(net.routers.get(1)!.inst.neighbors().find((n) => n.routerId === '0.0.0.3')!.retransmitQueue, 0);
});

test('the same instance again gets a direct ack at once; an older one gets our copy back', () => {
  const net = line();
  injectLsu(net, [routerLsa(9, INITIAL_SEQUENCE_NUMBER + 5)]);
  net.advance(2000);
  let t0 = net.now;
  injectLsu(net, [routerLsa(9, INITIAL_SEQUENCE_NUMBER + 5)]);
  let sent = sentBy(net, 1, t0).filter((s) => s.at === t0);
  const acks = acksFor(sent, 9);
  assert.equal(acks.length, 1, 'direct ack');
  assert.ok(acks[0]!.dst.equals(linkLocalOf(2)), 'unicast to the sender');
  assert.equal(net.routers.get(1)!.inst.counters()['lsa_duplicate'], 1);

  t0 = net.now;
  injectLsu(net, [routerLsa(9, INITIAL_SEQUENCE_NUMBER + 2)]);
  sent = sentBy(net, 1, t0).filter((s) => s.at === t0);
  const back = lsusWith(sent, 9, INITIAL_SEQUENCE_NUMBER + 5);
  assert.equal(back.length, 1, 'our newer copy sent back');
  assert.ok(back[0]!.dst.equals(linkLocalOf(2)));
  assert.equal(dbEntry(net, 1, '0.0.0.9')?.sequence, '0x80000006');
});

test('MinLSArrival (shortened to 250 ms): a newer instance sooner than that is dropped, after it is accepted', () => {
  const net = line();
  injectLsu(net, [routerLsa(9, INITIAL_SEQUENCE_NUMBER)]);
  net.advance(100);
  injectLsu(net, [routerLsa(9, INITIAL_SEQUENCE_NUMBER + 1)]);
  assert.equal(dbEntry(net, 1, '0.0.0.9')?.sequence, '0x80000001');
  assert.equal(net.routers.get(1)!.inst.counters()['drop_lsa_min_arrival'], 1);
  net.advance(200);
  injectLsu(net, [routerLsa(9, INITIAL_SEQUENCE_NUMBER + 1)]);
  assert.equal(dbEntry(net, 1, '0.0.0.9')?.sequence, '0x80000002');
});

test('MaxAge: a flushed LSA is flooded, acknowledged and removed everywhere; one we do not hold is only acked', () => {
  const net = line();
  const x = routerLsa(9, INITIAL_SEQUENCE_NUMBER);
  injectLsu(net, [x]);
  net.advance(3000);
  assert.ok(dbEntry(net, 3, '0.0.0.9'));
  const t0 = net.now;
  injectLsu(net, [withAge(x, MAX_AGE)]);
  const floods = lsusWith(sentBy(net, 1, t0), 9);
  assert.equal(floods.length, 1);
  assert.equal(floods[0]!.pkt.type === PacketType.LinkStateUpdate && floods[0]!.pkt.body.lsas[0]!.header.age, MAX_AGE);
  net.advance(3000);
  // Acknowledged everywhere: kept at MaxAge for MAXAGE_KEEP_MS (a neighbor that missed the flush gets it), then removed.
  assert.equal(dbEntry(net, 1, '0.0.0.9')?.age, MAX_AGE, 'kept at MaxAge on router 1');
  assert.equal(dbEntry(net, 3, '0.0.0.9')?.age, MAX_AGE, 'kept at MaxAge on router 3');
  net.advance(MAXAGE_KEEP_MS);
  assert.equal(dbEntry(net, 1, '0.0.0.9'), undefined, 'removed from router 1');
  assert.equal(dbEntry(net, 3, '0.0.0.9'), undefined, 'removed from router 3');

  const t1 = net.now;
  injectLsu(net, [withAge(routerLsa(8, INITIAL_SEQUENCE_NUMBER), MAX_AGE)]);
  const sent = sentBy(net, 1, t1).filter((s) => s.at === t1);
  assert.equal(acksFor(sent, 8).length, 1, 'acked directly');
  assert.equal(lsusWith(sent, 8).length, 0, 'not flooded');
  assert.equal(dbEntry(net, 1, '0.0.0.8'), undefined, 'not installed');
});

test('an unacknowledged LSA is retransmitted every RxmtInterval (unicast) until acknowledged', () => {
  const net = line();
  let blockAcks = true;
  net.filter = ({ from, to, packet }) => !(blockAcks && from === 3 && to === 1 && packet[1] === PacketType.LinkStateAck);
  const t0 = net.now;
  injectLsu(net, [routerLsa(9, INITIAL_SEQUENCE_NUMBER)]);
  net.advance(4900);
  assert.equal(lsusWith(sentBy(net, 1, t0), 9).filter((s) => s.linkId === 2).length, 1, 'the flood only');
  net.advance(200);
  const rx = lsusWith(sentBy(net, 1, t0), 9).filter((s) => s.linkId === 2);
  assert.equal(rx.length, 2, 'retransmitted after 5 s');
  assert.ok(rx[1]!.dst.equals(linkLocalOf(3)), 'retransmissions are unicast');
  assert.equal(net.routers.get(1)!.inst.neighbors().find((n) => n.routerId === '0.0.0.3')!.retransmitQueue, 1);
  blockAcks = false;
  net.advance(6000);
  assert.equal(net.routers.get(1)!.inst.neighbors().find((n) => n.routerId === '0.0.0.3')!.retransmitQueue, 0);
  const after = lsusWith(sentBy(net, 1, net.now - 1000), 9).filter((s) => s.linkId === 2);
  assert.equal(after.length, 0, 'no more retransmissions');
});

test('§13.4: our own LSA received newer than ours is re-originated past it; one we no longer want is flushed', () => {
  const net = line();
  const mine = dbEntry(net, 1, '0.0.0.1')!;
  const seq = Number.parseInt(mine.sequence, 16) | 0;
  injectLsu(net, [routerLsa(1, seq + 10)]);
  net.advance(3000);
  const now1 = dbEntry(net, 1, '0.0.0.1')!;
  assert.equal(Number.parseInt(now1.sequence, 16) | 0, seq + 11, 'a higher sequence number than the received one');
  assert.equal(dbEntry(net, 2, '0.0.0.1')!.sequence, now1.sequence, 'flooded');
  assert.equal(dbEntry(net, 3, '0.0.0.1')!.sequence, now1.sequence);
  // The content is ours again (two links), so routes through router 1 still work.
  assert.ok(net.routers.get(2)!.inst.routes().some((r) => r.cost === 20), 'router 2 reaches router 3 through 1');

  const stray = buildLsa(
    { age: 0, type: LsType.IntraAreaPrefix, linkStateId: 77, advertisingRouter: 1, sequence: INITIAL_SEQUENCE_NUMBER },
    { kind: 'intra-area-prefix', referencedLsType: LsType.Router, referencedLinkStateId: 0, referencedAdvertisingRouter: 1, prefixes: [] },
  )!;
  injectLsu(net, [stray]);
  assert.equal(net.routers.get(1)!.inst.counters()['lsa_flushed'], 1);
  net.advance(5000 + MAXAGE_KEEP_MS);
  for (const id of [1, 2, 3]) {
    assert.equal(
      net.routers.get(id)!.inst.database().filter((e) => e.linkStateId === '0.0.0.77').length,
      0,
      `flushed from router ${id}`,
    );
  }
});

test('aging: our LSAs are refreshed every LSRefreshTime; an orphan LSA reaches MaxAge and is removed', () => {
  const net = line();
  injectLsu(net, [routerLsa(9, INITIAL_SEQUENCE_NUMBER)]);
  const before = dbEntry(net, 1, '0.0.0.1')!;
  net.advance(1801_000);
  const after = dbEntry(net, 1, '0.0.0.1')!;
  assert.equal((Number.parseInt(after.sequence, 16) | 0) - (Number.parseInt(before.sequence, 16) | 0), 1, 'refreshed once');
  assert.ok(after.age < 60, `refreshed recently (age ${after.age})`);
  assert.equal(dbEntry(net, 3, '0.0.0.1')!.sequence, after.sequence);
  assert.ok(dbEntry(net, 3, '0.0.0.9'), 'orphan still there at 30 min');
  net.advance(1810_000 + MAXAGE_KEEP_MS);
  for (const id of [1, 2, 3]) assert.equal(dbEntry(net, id, '0.0.0.9'), undefined, `orphan gone from router ${id}`);
  for (const id of [1, 2, 3]) for (const n of net.routers.get(id)!.inst.neighbors()) assert.equal(n.state, 'Full');
});

test('unknown LSA types are stored and flooded by their scope (U bit, S bits); the reserved scope is dropped', () => {
  const net = line();
  const unknown = (type: number, lsid: number): Lsa =>
    buildLsa(
      { age: 0, type, linkStateId: lsid, advertisingRouter: 9, sequence: INITIAL_SEQUENCE_NUMBER },
      { kind: 'unknown', body: Buffer.from('00010203', 'hex') },
    )!;
  const t0 = net.now;
  injectLsu(net, [unknown(0xa00a, 1), unknown(0x000a, 2), unknown(0xe00a, 3)]);
  net.advance(2000);
  const db1 = net.routers.get(1)!.inst.database();
  assert.ok(db1.find((e) => e.type === '0xa00a' && e.scope.startsWith('area')), 'U=1, S=01: area scope');
  assert.ok(db1.find((e) => e.type === '0x000a' && e.scope === 'link l1'), 'U=0: link scope, on the link it came from');
  assert.equal(db1.filter((e) => e.type === '0xe00a').length, 0, 'reserved scope dropped');
  assert.equal(net.routers.get(1)!.inst.counters()['drop_lsa_reserved_scope'], 1);
  const db3 = net.routers.get(3)!.inst.database();
  assert.ok(db3.find((e) => e.type === '0xa00a'), 'area-scope unknown flooded on');
  assert.equal(db3.filter((e) => e.type === '0x000a').length, 0, 'link-scope unknown stays on its link');
  assert.equal(lsusWith(sentBy(net, 1, t0).filter((s) => s.linkId === 2), 9).length, 1);
});

test('address conflict: a /128 advertised by two routers is reported once and shown', () => {
  const net = new SimNet();
  net.addRouter(1);
  net.addRouter(2);
  net.addRouter(3, { prefixes: [{ prefix: meshAddressOf(1), length: 128 }] });
  net.connect(1, 2, 10);
  net.connect(2, 3, 10);
  net.advance(30_000);
  for (const id of [1, 2, 3]) {
    const c = net.routers.get(id)!.inst.conflicts();
    assert.equal(c.length, 1, `router ${id} sees the conflict`);
    assert.equal(c[0]!.prefix, 'fd00:6d6f:6c74::1/128');
    assert.deepEqual(c[0]!.routers, ['0.0.0.1', '0.0.0.3']);
  }
  // Router 2 routes the address to the nearer... both at cost 10: ECMP towards 1 and 3.
  const r = net.routers.get(2)!.inst.routes().find((x) => x.prefix.equals(meshAddressOf(1)))!;
  assert.equal(r.nexthops.length, 2);
});

/**
 * Router 3's adjacency is down while an LSA is flushed, so router 3 keeps the old instance. When the
 * adjacency comes back, router 1's MaxAge copy (kept MAXAGE_KEEP_MS) wins the database exchange: router 3
 * gets the flush, and nobody takes the old instance back as new.
 */
test('a neighbor that missed a flush gets it when its adjacency comes back; the old instance is not taken back', () => {
  const net = line();
  const x = routerLsa(9, INITIAL_SEQUENCE_NUMBER);
  injectLsu(net, [x]);
  net.advance(3000);
  assert.ok(dbEntry(net, 3, '0.0.0.9'));
  // Router 3 hears nothing for longer than the dead interval: the adjacency goes, router 1 drops its lists.
  const link13 = net.links.find((l) => (l.a.router === 1 && l.b.router === 3) || (l.a.router === 3 && l.b.router === 1))!;
  link13.up = false;
  net.advance(45_000);
  assert.equal(net.routers.get(1)!.inst.neighbors().find((n) => n.routerId === '0.0.0.3'), undefined, 'adjacency 1-3 gone');
  injectLsu(net, [withAge(x, MAX_AGE)]);
  net.advance(3000);
  assert.equal(dbEntry(net, 3, '0.0.0.9')?.age !== MAX_AGE, true, 'router 3 missed the flush');
  link13.up = true;
  net.advance(20_000);
  for (const id of [1, 3]) for (const n of net.routers.get(id)!.inst.neighbors()) assert.equal(n.state, 'Full');
  for (const id of [1, 2, 3]) {
    const e = dbEntry(net, id, '0.0.0.9');
    assert.ok(e === undefined || e.age === MAX_AGE, `router ${id} holds the LSA at age ${e?.age}: taken back as new`);
  }
  net.advance(MAXAGE_KEEP_MS + 5000);
  for (const id of [1, 2, 3]) assert.equal(dbEntry(net, id, '0.0.0.9'), undefined, `gone from router ${id} in the end`);
});
