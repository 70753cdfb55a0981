import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rib, type FibChange, type Route } from '../../src/controlplane/rib.js';
import { parsePrefix } from '../../src/dataplane/fib/fib.js';
import { formatIpv6 } from '../../src/common/address.js';

function route(text: string, nexthops: number[], source: Route['source'], extra: Partial<Route> = {}): Route {
  const { prefix, length } = parsePrefix(text);
  return { prefix, length, nexthops, source, ...extra };
}

function recorder(rib: Rib): FibChange[] {
  const changes: FibChange[] = [];
  rib.onChange((c) => changes.push(c));
  return changes;
}

const show = (c: FibChange) => ({
  remove: c.remove.map((r) => `${formatIpv6(r.prefix)}/${r.length}`),
  insert: c.insert.map((r) => `${formatIpv6(r.prefix)}/${r.length}>${r.nexthops.join(',')}`),
});

test('preference: connected beats static beats OSPF for the same prefix', () => {
  const rib = new Rib();
  const changes = recorder(rib);
  rib.set(route('fd00:6d6f:6c74:1::/64', [3], 'ospf', { cost: 20 }));
  rib.set(route('fd00:6d6f:6c74:1::/64', [2], 'static'));
  rib.set(route('fd00:6d6f:6c74:1::/64', [1], 'connected'));
  assert.deepEqual(changes.map(show), [
    { remove: [], insert: ['fd00:6d6f:6c74:1::/64>3'] },
    { remove: [], insert: ['fd00:6d6f:6c74:1::/64>2'] },
    { remove: [], insert: ['fd00:6d6f:6c74:1::/64>1'] },
  ]);
  assert.equal(rib.best()[0]!.source, 'connected');
  // Withdrawing the winner falls back to the next source, never leaving a gap.
  rib.withdraw('connected', parsePrefix('fd00:6d6f:6c74:1::/64').prefix, 64);
  assert.deepEqual(show(changes.at(-1)!), { remove: [], insert: ['fd00:6d6f:6c74:1::/64>2'] });
  rib.withdraw('static', parsePrefix('fd00:6d6f:6c74:1::/64').prefix, 64);
  rib.withdraw('ospf', parsePrefix('fd00:6d6f:6c74:1::/64').prefix, 64);
  assert.deepEqual(changes.slice(-2).map(show), [
    { remove: [], insert: ['fd00:6d6f:6c74:1::/64>3'] },
    { remove: ['fd00:6d6f:6c74:1::/64'], insert: [] },
  ]);
  assert.equal(rib.size, 0);
});

test('a down link withdraws its routes; a less preferred source with another path takes over; up restores', () => {
  const rib = new Rib();
  const changes = recorder(rib);
  rib.batch(() => {
    rib.set(route('fd00:6d6f:6c74:2::/64', [1], 'static'));
    rib.set(route('fd00:6d6f:6c74:2::/64', [4], 'ospf'));
    rib.set(route('fd00:6d6f:6c74:3::/64', [1], 'static'));
  });
  assert.equal(changes.length, 1, 'one batch, one FIB change');
  rib.setLinkDown(1, true);
  assert.deepEqual(show(changes.at(-1)!), { remove: ['fd00:6d6f:6c74:3::/64'], insert: ['fd00:6d6f:6c74:2::/64>4'] });
  rib.setLinkDown(1, true); // no change, no event
  assert.equal(changes.length, 2);
  rib.setLinkDown(1, false);
  assert.deepEqual(show(changes.at(-1)!), { remove: [], insert: ['fd00:6d6f:6c74:2::/64>1', 'fd00:6d6f:6c74:3::/64>1'] });
});

test('ECMP: a down link leaves the route on its other next hops', () => {
  const rib = new Rib();
  const changes = recorder(rib);
  rib.set(route('fd00:6d6f:6c74:4::/64', [5, 6], 'ospf'));
  rib.setLinkDown(5, true);
  assert.deepEqual(show(changes.at(-1)!), { remove: [], insert: ['fd00:6d6f:6c74:4::/64>6'] });
  rib.setLinkDown(6, true);
  assert.deepEqual(show(changes.at(-1)!), { remove: ['fd00:6d6f:6c74:4::/64'], insert: [] });
});

test('replaceSource emits only the differences', () => {
  const rib = new Rib();
  const changes = recorder(rib);
  const a = route('fd00:6d6f:6c74:a::/64', [1], 'ospf', { cost: 10 });
  const b = route('fd00:6d6f:6c74:b::/64', [1], 'ospf', { cost: 10 });
  const c = route('fd00:6d6f:6c74:c::/64', [2], 'ospf', { cost: 10 });
  rib.replaceSource('ospf', [a, b]);
  rib.replaceSource('ospf', [a, b]); // identical: nothing
  assert.equal(changes.length, 1);
  rib.replaceSource('ospf', [a, { ...b, nexthops: [2] }, c]);
  assert.deepEqual(show(changes.at(-1)!), { remove: [], insert: ['fd00:6d6f:6c74:b::/64>2', 'fd00:6d6f:6c74:c::/64>2'] });
  rib.replaceSource('ospf', [c]);
  assert.deepEqual(show(changes.at(-1)!), { remove: ['fd00:6d6f:6c74:a::/64', 'fd00:6d6f:6c74:b::/64'], insert: [] });
  // A cost change alone changes no forwarding: the route is updated, the FIB is not touched.
  rib.replaceSource('ospf', [{ ...c, cost: 30 }]);
  assert.equal(changes.length, 3);
  assert.equal(rib.best()[0]!.cost, 30);
});

test('same-prefix entries of one source merge their next hops; host bits are ignored', () => {
  const rib = new Rib();
  const changes = recorder(rib);
  const { prefix } = parsePrefix('fd00:6d6f:6c74:5::/64');
  const withHostBits = Buffer.from(prefix);
  withHostBits[15] = 0x99;
  rib.replaceSource('ospf', [
    { prefix, length: 64, nexthops: [1], source: 'ospf' },
    { prefix: withHostBits, length: 64, nexthops: [2, 1], source: 'ospf' },
  ]);
  assert.deepEqual(show(changes[0]!), { remove: [], insert: ['fd00:6d6f:6c74:5::/64>1,2'] });
});

test('at 100k routes one change touches one prefix', () => {
  const rib = new Rib();
  const changes = recorder(rib);
  const routes: Route[] = [];
  for (let i = 0; i < 100_000; i++) {
    const p = Buffer.alloc(16);
    p.writeUInt32BE(0xfd006d6f, 0);
    p.writeUInt32BE(i, 4);
    routes.push({ prefix: p, length: 64, nexthops: [i % 7], source: 'ospf' });
  }
  rib.replaceSource('ospf', routes);
  assert.equal(changes[0]!.insert.length, 100_000);
  rib.set({ ...routes[501]!, nexthops: [9] }); // 501 % 7 = 4: not a link-3 route
  assert.equal(changes[1]!.insert.length, 1);
  assert.equal(changes[1]!.remove.length, 0);
  rib.setLinkDown(3, true);
  assert.equal(changes[2]!.remove.length, Math.ceil((100_000 - 3) / 7));
});
