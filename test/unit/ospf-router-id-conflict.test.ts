/**
 * Duplicate router IDs in simulated networks of real instances (test/helpers/ospf-net.ts): detection on
 * both paths (a neighbor's packets; our own LSAs coming back through flooding), the tie-break (the lower
 * interface ID re-derives), resolution through changeRouterId as the daemon's service does it (on the
 * callback, with the next generation of deriveRouterId), configured IDs (reported, never changed), and no
 * false positive when a router's own LSAs from before a restart come back (RFC 2328 §13.4).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimNet, checkConverged, type Edge, type SimRouter } from '../helpers/ospf-net.js';
import { deriveRouterId } from '../../src/controlplane/ospf/router-id.js';
import { interfaceIdOf, type RouterIdConflictEvent } from '../../src/controlplane/ospf/router-id-conflict.js';
import { formatRouterId } from '../../src/controlplane/ospf/wire/types.js';
import { formatIpv6, meshAddressBytes } from '../../src/common/address.js';

/** One UUID per simulated router (only the generation-1 derivation uses it). */
const uuidOf = (id: number): string => `${id.toString(16).padStart(8, '0')}-46c5-4af7-9268-1482c54c1922`;

interface Watched {
  events: RouterIdConflictEvent[];
  generation: number;
}

/**
 * What the daemon's OSPF service does with the callback: on weYield, move to the next generation of the
 * node's derived router ID, in place. Returns what the router was told.
 */
function serviceLike(net: SimNet, r: SimRouter, uuid = uuidOf(r.id)): Watched {
  const w: Watched = { events: [], generation: 0 };
  r.inst.onRouterIdConflict((e) => {
    w.events.push(e);
    if (e.weYield) {
      w.generation++;
      r.inst.changeRouterId(deriveRouterId(uuid, w.generation), net.now);
    }
  });
  return w;
}

function build(edges: Edge[], routers: { id: number; routerId?: number; configured?: boolean }[], record = false): SimNet {
  const net = new SimNet({ seed: 17, record });
  for (const r of routers) {
    net.addRouter(r.id, { ...(r.routerId !== undefined ? { routerId: r.routerId } : {}), routerIdConfigured: r.configured ?? false });
  }
  for (const e of edges) net.connect(e.a, e.b, e.cost);
  return net;
}

function allFull(net: SimNet, label: string): void {
  for (const r of net.routers.values()) {
    for (const n of r.inst.neighbors()) assert.equal(n.state, 'Full', `${label}: ${r.id} to ${n.routerId}`);
    assert.equal(r.inst.neighbors().length, r.ports.size, `${label}: ${r.id} has one neighbor per link`);
  }
}

function distinctIds(net: SimNet): void {
  const ids = [...net.routers.values()].map((r) => r.inst.routerId);
  assert.equal(new Set(ids).size, ids.length, `router IDs: ${ids.map(formatRouterId).join(' ')}`);
}

const SHARED = deriveRouterId(uuidOf(0xdead));

test('two neighbors with one router ID: both report it, the lower interface ID re-derives, then Full and routes', () => {
  const edges: Edge[] = [{ a: 1, b: 2, cost: 10 }];
  const net = build(
    edges,
    [
      { id: 1, routerId: SHARED },
      { id: 2, routerId: SHARED },
    ],
    true,
  );
  const [r1, r2] = [net.routers.get(1)!, net.routers.get(2)!];
  const w1 = serviceLike(net, r1);
  const w2 = serviceLike(net, r2);
  let changedAt = -1;
  r1.inst.onRouterIdConflict(() => (changedAt = net.now));
  net.advance(60_000);

  assert.equal(w1.events.length, 1, 'router 1 told once');
  assert.equal(w2.events.length, 1, 'router 2 told once');
  const [e1, e2] = [w1.events[0]!, w2.events[0]!];
  for (const [e, other] of [
    [e1, r2],
    [e2, r1],
  ] as const) {
    assert.equal(e.routerId, SHARED);
    assert.equal(e.source, 'hello');
    assert.equal(e.linkId, 1);
    assert.ok(e.peerAddress?.equals(other.linkLocal), 'the neighbor is named by its link-local');
    assert.ok(e.otherKey?.equals(interfaceIdOf(other.linkLocal)));
    assert.ok(e.detail.includes(`router ID ${formatRouterId(SHARED)} is also used by the router at ${formatIpv6(other.linkLocal)}`), e.detail);
  }
  // Interface IDs ::1 < ::2: router 1 moves, router 2 keeps the ID.
  assert.equal(e1.weYield, true, e1.detail);
  assert.equal(e2.weYield, false, e2.detail);
  assert.equal(r1.inst.routerId, deriveRouterId(uuidOf(1), 1));
  assert.equal(r2.inst.routerId, SHARED);
  // From the change on, every packet carries the new ID (OSPF header bytes 4-7), a Hello at once.
  const after = r1.sent.filter((p) => p.at >= changedAt);
  assert.ok(after.length > 0 && after.every((p) => p.packet.readUInt32BE(4) === r1.inst.routerId));
  assert.equal(after[0]!.packet[1], 1, 'a Hello first');
  assert.equal(after[0]!.at, changedAt, 'on the next tick');
  assert.ok((r1.inst.counters()['drop_router_id_conflict'] ?? 0) > 0, 'the neighbor packets were dropped as a conflict');
  assert.equal(r1.inst.counters()['drop_own_router_id'] ?? 0, 0, '... not as our own');

  allFull(net, 'after the change');
  checkConverged(net, 2, edges, 'after the change');
  const [c1] = r1.inst.routerIdConflicts();
  assert.equal(c1?.state, 'resolved');
  assert.equal(c1?.newRouterId, formatRouterId(r1.inst.routerId));
  const [c2] = r2.inst.routerIdConflicts();
  assert.equal(c2?.state, 'active');
  assert.equal(c2?.weYield, false);

  // Quiet for long enough, the episode is over; nothing more is reported.
  net.advance(300_000);
  assert.equal(r2.inst.routerIdConflicts()[0]?.state, 'quiet');
  assert.equal(w1.events.length + w2.events.length, 2);
  allFull(net, 'later');
});

test('two routers apart (A - X - B) with one router ID: found through flooding, resolved, one LSDB and right routes', () => {
  // 1 = A, 2 = B (same ID), 3 = X between them, 4 and 5 around.
  const edges: Edge[] = [
    { a: 1, b: 3, cost: 10 },
    { a: 3, b: 2, cost: 10 },
    { a: 3, b: 4, cost: 5 },
    { a: 4, b: 2, cost: 20 },
    { a: 4, b: 5, cost: 10 },
    { a: 5, b: 1, cost: 15 },
  ];
  const net = build(edges, [{ id: 1, routerId: SHARED }, { id: 2, routerId: SHARED }, { id: 3 }, { id: 4 }, { id: 5 }]);
  const [a, b] = [net.routers.get(1)!, net.routers.get(2)!];
  const wa = serviceLike(net, a);
  const wb = serviceLike(net, b);
  net.advance(120_000);

  assert.equal(wa.events.length, 1, 'A told once');
  const ea = wa.events[0]!;
  assert.equal(ea.source, 'lsa');
  assert.equal(ea.weYield, true, ea.detail);
  assert.ok(ea.peerAddress?.equals(b.prefixes[0]!.prefix), "B is named by its /128 from B's Intra-Area-Prefix-LSA");
  assert.ok(ea.otherKey?.equals(interfaceIdOf(b.prefixes[0]!.prefix)));
  assert.match(ea.detail, /Intra-Area-Prefix-LSA/);
  assert.equal(a.inst.routerId, deriveRouterId(uuidOf(1), 1));
  assert.equal(b.inst.routerId, SHARED, 'B keeps it');
  for (const e of wb.events) assert.equal(e.weYield, false, e.detail);
  for (const id of [3, 4, 5]) assert.deepEqual(net.routers.get(id)!.inst.routerIdConflicts(), [], `${id} sees no conflict`);

  allFull(net, 'resolved');
  distinctIds(net);
  checkConverged(net, 5, edges, 'resolved');
  // Nobody holds A's old instances under the shared ID any more: the ones under it are B's.
  for (const r of net.routers.values()) {
    const iap = r.inst.database().find((e) => e.type === 'IntraAreaPrefix' && e.advertisingRouter === formatRouterId(SHARED));
    assert.ok(iap, `${r.id} has B's Intra-Area-Prefix-LSA`);
  }
  net.advance(600_000);
  checkConverged(net, 5, edges, 'much later');
  assert.equal(wa.events.length, 1);

  // A restarts without remembering its generation: back on the shared ID, it moves again, and its own
  // generation-1 LSAs from before the restart (learned again meanwhile) are no conflict: it originates
  // past them.
  const ourRouterLsa = () => a.inst.database().find((e) => e.type === 'Router' && e.advertisingRouter === formatRouterId(a.inst.routerId))!;
  const before = parseInt(ourRouterLsa().sequence, 16);
  net.restartRouter(1, SHARED);
  const again = serviceLike(net, a);
  net.advance(120_000);
  assert.deepEqual(
    again.events.map((e) => e.weYield),
    [true],
  );
  assert.equal(a.inst.routerId, deriveRouterId(uuidOf(1), 1));
  assert.equal(a.inst.routerIdConflicts().length, 1, 'one episode, resolved');
  assert.ok(parseInt(ourRouterLsa().sequence, 16) > before, `past its old instances: ${ourRouterLsa().sequence}`);
  allFull(net, 'after the restart');
  checkConverged(net, 5, edges, 'after the restart');
});

test('a 4-node ring whose UUIDs differ only in the first group: distinct derived IDs, converges, no conflict', () => {
  const uuids = [1, 2, 3, 4].map((i) => `a000000${i}-46c5-4af7-9268-1482c54c1922`);
  const old = uuids.map((u) => meshAddressBytes(u).readUInt32BE(12));
  assert.equal(new Set(old).size, 1, 'the old rule (last 32 bits of the mesh address) gave all four one ID');
  const derived = uuids.map((u) => deriveRouterId(u));
  assert.equal(new Set(derived).size, 4);

  const edges: Edge[] = [
    { a: 1, b: 2, cost: 10 },
    { a: 2, b: 3, cost: 10 },
    { a: 3, b: 4, cost: 10 },
    { a: 4, b: 1, cost: 10 },
  ];
  const net = new SimNet({ seed: 5 });
  uuids.forEach((u, i) => {
    const mesh = meshAddressBytes(u);
    const linkLocal = Buffer.concat([Buffer.from('fe80000000000000', 'hex'), mesh.subarray(8)]);
    net.addRouter(i + 1, { routerId: derived[i]!, linkLocal, prefixes: [{ prefix: mesh, length: 128 }] });
  });
  for (const e of edges) net.connect(e.a, e.b, e.cost);
  const watched = [...net.routers.values()].map((r) => serviceLike(net, r, uuids[r.id - 1]));
  net.advance(60_000);
  allFull(net, 'ring');
  checkConverged(net, 4, edges, 'ring');
  for (const w of watched) assert.deepEqual(w.events, []);
});

test('the same ring on the old rule (one ID for all four) is detected and resolved pair by pair', () => {
  const uuids = [1, 2, 3, 4].map((i) => `a000000${i}-46c5-4af7-9268-1482c54c1922`);
  const oldId = meshAddressBytes(uuids[0]!).readUInt32BE(12);
  const edges: Edge[] = [
    { a: 1, b: 2, cost: 10 },
    { a: 2, b: 3, cost: 10 },
    { a: 3, b: 4, cost: 10 },
    { a: 4, b: 1, cost: 10 },
  ];
  const net = new SimNet({ seed: 6 });
  uuids.forEach((u, i) => {
    const mesh = meshAddressBytes(u);
    const linkLocal = Buffer.concat([Buffer.from('fe80000000000000', 'hex'), mesh.subarray(8)]);
    net.addRouter(i + 1, { routerId: oldId, linkLocal, prefixes: [{ prefix: mesh, length: 128 }] });
  });
  for (const e of edges) net.connect(e.a, e.b, e.cost);
  const watched = [...net.routers.values()].map((r) => serviceLike(net, r, uuids[r.id - 1]));
  net.advance(120_000);
  // Interface IDs rise with the router number: 1, 2 and 3 each have a higher neighbor and move; 4 keeps it.
  assert.deepEqual(
    watched.map((w) => w.generation),
    [1, 1, 1, 0],
  );
  assert.equal(net.routers.get(4)!.inst.routerId, oldId);
  distinctIds(net);
  allFull(net, 'resolved ring');
  checkConverged(net, 4, edges, 'resolved ring');
});

test('a configured router ID in conflict: reported on both sides with weYield false, never changed', () => {
  const edges: Edge[] = [{ a: 1, b: 2, cost: 10 }];
  const net = build(edges, [
    { id: 1, routerId: SHARED, configured: true },
    { id: 2, routerId: SHARED, configured: true },
  ]);
  const w1 = serviceLike(net, net.routers.get(1)!);
  const w2 = serviceLike(net, net.routers.get(2)!);
  net.advance(300_000);
  for (const [w, otherLl] of [
    [w1, 'fe80::2'],
    [w2, 'fe80::1'],
  ] as const) {
    assert.equal(w.events.length, 1, 'told once for the whole episode, though the Hellos keep coming');
    const e = w.events[0]!;
    assert.equal(e.weYield, false);
    assert.ok(e.detail.includes(otherLl), `the detail names the neighbor: ${e.detail}`);
    assert.match(e.detail, /configured/);
  }
  for (const r of net.routers.values()) {
    assert.equal(r.inst.routerId, SHARED);
    assert.deepEqual(r.inst.neighbors(), [], 'no adjacency can form');
    const [c] = r.inst.routerIdConflicts();
    assert.equal(c?.state, 'active');
    assert.ok((c?.evidence ?? 0) > 20, 'evidence keeps coming');
  }
});

test('configured router IDs apart (A - X - B): reported through flooding, never changed', () => {
  const edges: Edge[] = [
    { a: 1, b: 3, cost: 10 },
    { a: 3, b: 2, cost: 10 },
  ];
  const net = build(edges, [{ id: 1, routerId: SHARED, configured: true }, { id: 2, routerId: SHARED, configured: true }, { id: 3 }]);
  const w1 = serviceLike(net, net.routers.get(1)!);
  const w2 = serviceLike(net, net.routers.get(2)!);
  net.advance(300_000);
  for (const w of [w1, w2]) {
    assert.equal(w.events.length, 1);
    assert.equal(w.events[0]!.weYield, false);
    assert.equal(w.events[0]!.source, 'lsa');
  }
  assert.equal(net.routers.get(1)!.inst.routerId, SHARED);
  assert.equal(net.routers.get(2)!.inst.routerId, SHARED);
});

test('a router that restarts (same ID, same identity) is not a conflict when its old LSAs come back', () => {
  const edges: Edge[] = [
    { a: 1, b: 2, cost: 10 },
    { a: 2, b: 3, cost: 10 },
    { a: 3, b: 4, cost: 10 },
    { a: 4, b: 1, cost: 10 },
    { a: 1, b: 3, cost: 25 },
  ];
  const net = build(edges, [{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }]);
  const watched = new Map([...net.routers.values()].map((r) => [r.id, serviceLike(net, r)]));
  net.advance(60_000);
  checkConverged(net, 4, edges, 'before');

  // A quick restart: the old LSAs carry the same sequence numbers as the fresh ones, other contents.
  net.restartRouter(1);
  const w1 = serviceLike(net, net.routers.get(1)!);
  net.advance(60_000);
  checkConverged(net, 4, edges, 'after a quick restart');
  assert.ok((net.routers.get(1)!.inst.counters()['lsa_self_received'] ?? 0) > 0, 'its old LSAs came back (§13.4)');

  // A late restart, after refreshes took the sequence numbers up; twice in a row.
  net.advance(2000_000);
  for (let k = 0; k < 2; k++) {
    net.restartRouter(3);
    watched.set(3, serviceLike(net, net.routers.get(3)!));
    net.advance(45_000);
  }
  checkConverged(net, 4, edges, 'after late restarts');
  assert.ok((net.routers.get(3)!.inst.counters()['lsa_self_received'] ?? 0) > 0);

  for (const r of net.routers.values()) {
    assert.deepEqual(r.inst.routerIdConflicts(), [], `${r.id}: no conflict`);
    assert.equal(r.inst.counters()['router_id_conflict_evidence'] ?? 0, 0, `${r.id}: no evidence at all`);
  }
  for (const w of [...watched.values(), w1]) assert.deepEqual(w.events, []);
});

test('changing our prefixes is not a conflict when the old Intra-Area-Prefix-LSA comes back', () => {
  const edges: Edge[] = [
    { a: 1, b: 2, cost: 10 },
    { a: 2, b: 3, cost: 10 },
  ];
  const net = build(edges, [{ id: 1 }, { id: 2 }, { id: 3 }]);
  const w = serviceLike(net, net.routers.get(1)!);
  net.advance(60_000);
  const r1 = net.routers.get(1)!;
  const other = Buffer.from(r1.prefixes[0]!.prefix);
  other[15] = 0x99;
  r1.inst.setPrefixes([{ prefix: other, length: 128 }], net.now);
  net.advance(1000);
  r1.inst.setPrefixes(r1.prefixes, net.now);
  net.advance(60_000);
  assert.deepEqual(w.events, []);
  assert.equal(r1.inst.counters()['router_id_conflict_evidence'] ?? 0, 0);
});

test('a configured router ID next to a derived one: the derived side moves once the other keeps the ID', () => {
  // Router 1 has the lower key but a configured ID (it will not move); router 2 derived the same one.
  const edges: Edge[] = [{ a: 1, b: 2, cost: 10 }];
  const net = build(edges, [
    { id: 1, routerId: SHARED, configured: true },
    { id: 2, routerId: SHARED },
  ]);
  const w1 = serviceLike(net, net.routers.get(1)!);
  const w2 = serviceLike(net, net.routers.get(2)!);
  net.advance(60_000);
  assert.deepEqual(
    w2.events.map((e) => e.weYield),
    [false],
    'at first the lower key is expected to move',
  );
  net.advance(120_000);
  assert.deepEqual(
    w2.events.map((e) => e.weYield),
    [false, true],
    'then it moves itself',
  );
  assert.match(w2.events[1]!.detail, /kept the ID/);
  assert.equal(w1.events.length, 1);
  assert.equal(w1.events[0]!.weYield, false);
  assert.equal(net.routers.get(1)!.inst.routerId, SHARED);
  assert.equal(net.routers.get(2)!.inst.routerId, deriveRouterId(uuidOf(2), 1));
  net.advance(60_000);
  allFull(net, 'resolved');
  checkConverged(net, 2, edges, 'resolved');
});

test('a fight without a tie-break key (no /128s): not yielded at first, yielded once it persists', () => {
  const edges: Edge[] = [
    { a: 1, b: 3, cost: 10 },
    { a: 3, b: 2, cost: 10 },
  ];
  const net = new SimNet({ seed: 23 });
  const p64 = (i: number) => ({ prefix: Buffer.from(`fd00${i.toString(16).padStart(4, '0')}` + '0'.repeat(24), 'hex'), length: 64 });
  net.addRouter(1, { routerId: SHARED, prefixes: [p64(1)] });
  net.addRouter(2, { routerId: SHARED, prefixes: [p64(2)] });
  net.addRouter(3);
  for (const e of edges) net.connect(e.a, e.b, e.cost);
  const w1 = serviceLike(net, net.routers.get(1)!);
  const w2 = serviceLike(net, net.routers.get(2)!);
  net.advance(240_000);
  for (const w of [w1, w2]) {
    assert.deepEqual(
      w.events.map((e) => e.weYield),
      [false, true],
      w.events.map((e) => e.detail).join('\n'),
    );
    assert.equal(w.events[0]!.otherKey, undefined);
    assert.match(w.events[0]!.detail, /no tie-break key yet/);
    assert.match(w.events[1]!.detail, /persisted/);
  }
  // Both moved (neither could know better); the fight is over.
  distinctIds(net);
  allFull(net, 'after');
  const routes1 = net.routers.get(1)!.inst.routes();
  assert.ok(routes1.some((r) => r.prefix.equals(p64(2).prefix) && r.length === 64 && r.cost === 20));
});

test('a cloned identity (one UUID on two nodes): reported, and moved at most once', () => {
  const edges: Edge[] = [
    { a: 1, b: 3, cost: 10 },
    { a: 3, b: 2, cost: 10 },
  ];
  const uuid = uuidOf(0xc10e);
  const mesh = meshAddressBytes(uuid);
  const net = new SimNet({ seed: 29 });
  net.addRouter(1, { routerId: deriveRouterId(uuid), prefixes: [{ prefix: mesh, length: 128 }] });
  net.addRouter(2, { routerId: deriveRouterId(uuid), prefixes: [{ prefix: mesh, length: 128 }] });
  net.addRouter(3);
  for (const e of edges) net.connect(e.a, e.b, e.cost);
  const w1 = serviceLike(net, net.routers.get(1)!, uuid);
  const w2 = serviceLike(net, net.routers.get(2)!, uuid);
  net.advance(900_000);
  for (const w of [w1, w2]) {
    assert.ok(w.events.length >= 1);
    assert.ok(w.generation <= 1, `moved ${w.generation} times`);
    assert.match(w.events.at(-1)!.detail, /no tie-break key/);
  }
  assert.equal(net.routers.get(1)!.inst.routerId, net.routers.get(2)!.inst.routerId, 'the same UUID derives the same IDs');
});

test('a packet with our router ID that fails authentication is not evidence', () => {
  const edges: Edge[] = [{ a: 1, b: 2, cost: 10 }];
  const net = new SimNet({ seed: 31 });
  net.addRouter(1, { routerId: SHARED });
  net.addRouter(2, { routerId: SHARED });
  net.connect(1, 2, 10, {
    a: { auth: { keyId: 1, key: Buffer.from('right key') } },
    b: { auth: { keyId: 1, key: Buffer.from('wrong key') } },
  });
  const w1 = serviceLike(net, net.routers.get(1)!);
  net.advance(60_000);
  assert.deepEqual(w1.events, []);
  assert.ok((net.routers.get(1)!.inst.counters()['drop_auth_failed'] ?? 0) > 0);
  assert.equal(net.routers.get(1)!.inst.counters()['router_id_conflict_evidence'] ?? 0, 0);
  void edges;
});
