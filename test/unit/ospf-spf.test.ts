import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { computeSpf, networkKey, LS_INFINITY } from '../../src/controlplane/ospf/spf/spf.js';
import type {
  ExternalPrefix,
  IntraPrefix,
  NetworkVertex,
  PrefixAttachment,
  RouterLink,
  RouterVertex,
  SpfInput,
  SpfResult,
  SpfRoute,
} from '../../src/controlplane/ospf/spf/spf.js';
import { IndexedMinHeap } from '../../src/controlplane/ospf/spf/heap.js';
import { parsePrefix } from '../../src/dataplane/fib/fib.js';
import { formatIpv6 } from '../../src/common/address.js';
import { SeededRandom } from '../helpers/naive-fib.js';

/**
 * Builds SPF inputs the way the LSDB adapter will: each router gets interface IDs 1, 2, 3, ... in the
 * order its links are added; both ends of a p2p link name each other's interface.
 */
class Topo {
  readonly routers = new Map<number, RouterVertex>();
  readonly networks = new Map<string, NetworkVertex>();
  readonly intraPrefixes: IntraPrefix[] = [];
  readonly externals: ExternalPrefix[] = [];
  private readonly nextIf = new Map<number, number>();

  router(id: number, opts: Partial<Pick<RouterVertex, 'flags' | 'options'>> = {}): RouterVertex {
    let r = this.routers.get(id);
    if (r === undefined) {
      r = { routerId: id, flags: { border: false, external: false }, links: [] };
      this.routers.set(id, r);
    }
    if (opts.flags) r.flags = opts.flags;
    if (opts.options) r.options = opts.options;
    return r;
  }

  asbr(id: number): this {
    this.router(id).flags = { border: false, external: true };
    return this;
  }

  newIf(id: number): number {
    const n = (this.nextIf.get(id) ?? 0) + 1;
    this.nextIf.set(id, n);
    return n;
  }

  link(from: number, l: RouterLink): void {
    this.router(from).links.push(l);
  }

  /** A p2p link; cost a->b and b->a. Returns the interface IDs [on a, on b]. */
  p2p(a: number, b: number, ab: number, ba = ab): [number, number] {
    const ia = this.newIf(a);
    const ib = this.newIf(b);
    this.link(a, { type: 'p2p', metric: ab, interfaceId: ia, neighborInterfaceId: ib, neighborRouterId: b });
    this.link(b, { type: 'p2p', metric: ba, interfaceId: ib, neighborInterfaceId: ia, neighborRouterId: a });
    return [ia, ib];
  }

  /** A transit network with DR `dr`; members [router, cost] (the DR among them). Returns the key and ifs. */
  lan(dr: number, members: [number, number][]): { key: string; ifs: Map<number, number> } {
    const ifs = new Map<number, number>();
    for (const [r] of members) ifs.set(r, this.newIf(r));
    const drIf = ifs.get(dr)!;
    const key = networkKey(dr, drIf);
    for (const [r, cost] of members) {
      this.link(r, { type: 'transit', metric: cost, interfaceId: ifs.get(r)!, neighborInterfaceId: drIf, neighborRouterId: dr });
    }
    this.networks.set(key, { key, drRouterId: dr, drInterfaceId: drIf, attachedRouters: members.map(([r]) => r) });
    return { key, ifs };
  }

  prefix(text: string, at: number | string, metric = 0): this {
    const { prefix, length } = parsePrefix(text);
    const attachedTo: PrefixAttachment = typeof at === 'number' ? { kind: 'router', routerId: at } : { kind: 'network', key: at };
    this.intraPrefixes.push({ prefix, length, metric, attachedTo });
    return this;
  }

  external(text: string, asbr: number, metric: number, metricType: 1 | 2, fa?: string): this {
    const { prefix, length } = parsePrefix(text);
    const x: ExternalPrefix = { prefix, length, metric, metricType, asbr };
    if (fa !== undefined) x.forwardingAddress = parsePrefix(`${fa}/128`).prefix;
    this.externals.push(x);
    return this;
  }

  input(root: number): SpfInput {
    return { root, routers: this.routers, networks: this.networks, intraPrefixes: this.intraPrefixes, externals: this.externals };
  }
}

/** A next hop as text: `if>nbr/nbrIf`, or `if>link` when on-link. */
const hopText = (h: { interfaceId: number; neighborRouterId: number; neighborInterfaceId: number }): string =>
  h.neighborRouterId === 0 ? `${h.interfaceId}>link` : `${h.interfaceId}>${h.neighborRouterId}/${h.neighborInterfaceId}`;

/** A route as text: `prefix/len type cost[/ext] [hops]`, `local` for local routes. */
function routeText(r: SpfRoute): string {
  const head = `${formatIpv6(r.prefix)}/${r.length}`;
  if (r.local) return `${head} local`;
  const cost = r.externalCost === undefined ? `${r.cost}` : `${r.cost}/${r.externalCost}`;
  return `${head} ${r.type} ${cost} [${r.nexthops.map(hopText).join(' ')}]`;
}

const routesOf = (res: SpfResult): string[] => res.routes.map(routeText);
const route = (res: SpfResult, text: string): string | undefined => {
  const { prefix, length } = parsePrefix(text);
  const r = res.routes.find((x) => x.length === length && x.prefix.equals(prefix));
  return r === undefined ? undefined : routeText(r);
};
const dists = (res: SpfResult): [number, number][] => [...res.distances].sort((a, b) => a[0] - b[0]);

/** fd00::<id>/128. */
const host = (id: number): string => `fd00::${id.toString(16)}/128`;

describe('SPF on known graphs', () => {
  it('a line', () => {
    const t = new Topo();
    t.p2p(1, 2, 10);
    t.p2p(2, 3, 10);
    t.p2p(3, 4, 10);
    for (const r of [1, 2, 3, 4]) t.prefix(host(r), r);
    const res = computeSpf(t.input(1));
    assert.deepEqual(dists(res), [[1, 0], [2, 10], [3, 20], [4, 30]]);
    assert.deepEqual(routesOf(res), [
      'fd00::1/128 local',
      'fd00::2/128 intra 10 [1>2/1]',
      'fd00::3/128 intra 20 [1>2/1]',
      'fd00::4/128 intra 30 [1>2/1]',
    ]);
    // From the middle: both directions.
    const mid = computeSpf(t.input(3));
    assert.deepEqual(routesOf(mid), [
      'fd00::1/128 intra 20 [1>2/2]',
      'fd00::2/128 intra 10 [1>2/2]',
      'fd00::3/128 local',
      'fd00::4/128 intra 10 [2>4/1]',
    ]);
  });

  it('an even ring: ECMP to the opposite node', () => {
    const t = new Topo();
    for (let i = 1; i <= 6; i++) t.p2p(i, (i % 6) + 1, 10);
    for (let i = 1; i <= 6; i++) t.prefix(host(i), i);
    const res = computeSpf(t.input(1));
    assert.deepEqual(dists(res), [[1, 0], [2, 10], [3, 20], [4, 30], [5, 20], [6, 10]]);
    // Router 1: if 1 -> 2 (2's if 1); if 2 -> 6 (6's if 2).
    assert.equal(route(res, host(4)), 'fd00::4/128 intra 30 [1>2/1 2>6/2]');
    assert.equal(route(res, host(3)), 'fd00::3/128 intra 20 [1>2/1]');
    assert.equal(route(res, host(5)), 'fd00::5/128 intra 20 [2>6/2]');
  });

  it('a diamond with ECMP, and with unequal costs', () => {
    const t = new Topo();
    t.p2p(1, 2, 10);
    t.p2p(1, 3, 10);
    t.p2p(2, 4, 10);
    t.p2p(3, 4, 10);
    t.prefix(host(4), 4).prefix('fd00:4::/64', 4, 5);
    const res = computeSpf(t.input(1));
    assert.equal(route(res, host(4)), 'fd00::4/128 intra 20 [1>2/1 2>3/1]');
    assert.equal(route(res, 'fd00:4::/64'), 'fd00:4::/64 intra 25 [1>2/1 2>3/1]');

    const u = new Topo();
    u.p2p(1, 2, 10);
    u.p2p(1, 3, 10);
    u.p2p(2, 4, 10);
    u.p2p(3, 4, 11);
    u.prefix(host(4), 4);
    assert.equal(route(computeSpf(u.input(1)), host(4)), 'fd00::4/128 intra 20 [1>2/1]');
  });

  it('uses the cost of each direction: the outgoing metric counts', () => {
    const t = new Topo();
    t.p2p(1, 2, 5, 50); // 1->2 costs 5, 2->1 costs 50
    t.p2p(1, 3, 20);
    t.p2p(3, 2, 20);
    t.prefix(host(2), 2).prefix(host(1), 1);
    assert.deepEqual(dists(computeSpf(t.input(1))), [[1, 0], [2, 5], [3, 20]]);
    // From 2, going to 1 directly costs 50, via 3 costs 40.
    const from2 = computeSpf(t.input(2));
    assert.deepEqual(dists(from2), [[1, 40], [2, 0], [3, 20]]);
    assert.equal(route(from2, host(1)), 'fd00::1/128 intra 40 [2>3/2]');
  });

  it('parallel links: ECMP over equal ones, the cheaper one otherwise', () => {
    const t = new Topo();
    t.p2p(1, 2, 10);
    t.p2p(1, 2, 10);
    t.p2p(2, 3, 1);
    t.prefix(host(3), 3);
    assert.equal(route(computeSpf(t.input(1)), host(3)), 'fd00::3/128 intra 11 [1>2/1 2>2/2]');
    const u = new Topo();
    u.p2p(1, 2, 10);
    u.p2p(1, 2, 9);
    u.p2p(2, 3, 1);
    u.prefix(host(3), 3);
    assert.equal(route(computeSpf(u.input(1)), host(3)), 'fd00::3/128 intra 10 [2>2/2]');
  });

  it('a transit network with three routers (DR is router 2)', () => {
    const t = new Topo();
    const lan = t.lan(2, [
      [1, 10],
      [2, 10],
      [3, 10],
    ]);
    t.p2p(3, 4, 5);
    t.prefix('fd00:1a::/64', lan.key).prefix(host(2), 2).prefix(host(3), 3).prefix(host(4), 4);
    const res = computeSpf(t.input(1));
    assert.deepEqual(dists(res), [[1, 0], [2, 10], [3, 10], [4, 15]]);
    assert.deepEqual(routesOf(res), [
      'fd00::2/128 intra 10 [1>2/1]',
      'fd00::3/128 intra 10 [1>3/1]',
      'fd00::4/128 intra 15 [1>3/1]',
      'fd00:1a::/64 intra 10 [1>link]',
    ]);
    // From router 4 the LAN is behind 3: everything inherits 3's hop.
    const from4 = computeSpf(t.input(4));
    assert.deepEqual(routesOf(from4), [
      'fd00::2/128 intra 15 [1>3/2]',
      'fd00::3/128 intra 5 [1>3/2]',
      'fd00::4/128 local',
      'fd00:1a::/64 intra 15 [1>3/2]',
    ]);
  });

  it('a transit network reached both directly and through a router at equal cost', () => {
    const t = new Topo();
    t.p2p(1, 2, 1); // 1: if 1
    const lan = t.lan(3, [
      [1, 2], // 1: if 2, cost 2 to the LAN
      [2, 1],
      [3, 1],
    ]);
    t.prefix('fd00:1a::/64', lan.key).prefix(host(3), 3);
    const res = computeSpf(t.input(1));
    assert.equal(route(res, 'fd00:1a::/64'), 'fd00:1a::/64 intra 2 [1>2/1 2>link]');
    assert.equal(route(res, host(3)), 'fd00::3/128 intra 2 [1>2/1 2>3/1]');
    // Make the direct way dearer: only through 2, and the LAN is no longer on-link for us.
    t.routers.get(1)!.links[1].metric = 3;
    const dear = computeSpf(t.input(1));
    assert.equal(route(dear, 'fd00:1a::/64'), 'fd00:1a::/64 intra 2 [1>2/1]');
    assert.equal(route(dear, host(3)), 'fd00::3/128 intra 2 [1>2/1]');
  });

  it('ignores links that are not confirmed by the other end (bidirectional check)', () => {
    const t = new Topo();
    t.p2p(1, 2, 10);
    t.p2p(1, 4, 50);
    t.p2p(4, 3, 50);
    // 2 claims a cheap link to 3; 3 does not list it.
    t.link(2, { type: 'p2p', metric: 1, interfaceId: t.newIf(2), neighborInterfaceId: 99, neighborRouterId: 3 });
    // 3 claims a cheap link back to 1 that 1 does not list: must not be used from 1's side either way.
    t.link(3, { type: 'p2p', metric: 1, interfaceId: t.newIf(3), neighborInterfaceId: 7, neighborRouterId: 1 });
    t.prefix(host(3), 3);
    const res = computeSpf(t.input(1));
    assert.deepEqual(dists(res), [[1, 0], [2, 10], [3, 100], [4, 50]]);
    assert.equal(route(res, host(3)), 'fd00::3/128 intra 100 [2>4/1]');

    // Both ends list each other but the interface IDs do not match: not the same link.
    const u = new Topo();
    u.p2p(1, 2, 10);
    const [i2] = [u.newIf(2), u.newIf(3)];
    u.link(2, { type: 'p2p', metric: 1, interfaceId: i2, neighborInterfaceId: 5, neighborRouterId: 3 });
    u.link(3, { type: 'p2p', metric: 1, interfaceId: 5, neighborInterfaceId: i2 + 1, neighborRouterId: 2 });
    assert.deepEqual(dists(computeSpf(u.input(1))), [[1, 0], [2, 10]]);

    // A network that does not list a router which claims to be on it.
    const v = new Topo();
    const lan = v.lan(2, [
      [1, 10],
      [2, 10],
    ]);
    v.link(3, { type: 'transit', metric: 1, interfaceId: 1, neighborInterfaceId: lan.ifs.get(2)!, neighborRouterId: 2 });
    v.prefix(host(3), 3);
    const resV = computeSpf(v.input(1));
    assert.deepEqual(dists(resV), [[1, 0], [2, 10]]);
    assert.equal(route(resV, host(3)), undefined);
  });

  it('an unreachable island gets no distance and no routes', () => {
    const t = new Topo();
    t.p2p(1, 2, 10);
    t.p2p(5, 6, 10);
    t.asbr(6);
    t.prefix(host(2), 2).prefix(host(5), 5).prefix(host(6), 6);
    t.external('2001:db8::/32', 6, 10, 1);
    const res = computeSpf(t.input(1));
    assert.deepEqual(dists(res), [[1, 0], [2, 10]]);
    assert.deepEqual(routesOf(res), ['fd00::2/128 intra 10 [1>2/1]']);
  });

  it('a prefix advertised by two routers at equal cost (anycast): union of next hops', () => {
    const t = new Topo();
    t.p2p(1, 2, 10);
    t.p2p(1, 3, 10);
    t.prefix('fd00:a::/64', 2).prefix('fd00:a::/64', 3);
    assert.equal(route(computeSpf(t.input(1)), 'fd00:a::/64'), 'fd00:a::/64 intra 10 [1>2/1 2>3/1]');
    // A prefix metric breaks the tie.
    const u = new Topo();
    u.p2p(1, 2, 10);
    u.p2p(1, 3, 10);
    u.prefix('fd00:a::/64', 2, 1).prefix('fd00:a::/64', 3);
    assert.equal(route(computeSpf(u.input(1)), 'fd00:a::/64'), 'fd00:a::/64 intra 10 [2>3/1]');
  });

  it('our own prefixes are local: cost 0, no next hops, even when others advertise them too', () => {
    const t = new Topo();
    t.p2p(1, 2, 10);
    t.prefix('fd00::1/128', 2).prefix('fd00::1/128', 1, 7).prefix('fd00::1/128', 2);
    const res = computeSpf(t.input(1));
    assert.equal(res.routes.length, 1);
    assert.deepEqual(
      { cost: res.routes[0].cost, local: res.routes[0].local, nexthops: res.routes[0].nexthops, type: res.routes[0].type },
      { cost: 0, local: true, nexthops: [], type: 'intra' },
    );
    // No Router-LSA of our own yet: still local.
    const alone: SpfInput = {
      root: 9,
      routers: new Map(),
      networks: new Map(),
      intraPrefixes: [{ prefix: parsePrefix('fd00::9/128').prefix, length: 128, metric: 0, attachedTo: { kind: 'router', routerId: 9 } }],
      externals: [],
    };
    const resAlone = computeSpf(alone);
    assert.deepEqual(routesOf(resAlone), ['fd00::9/128 local']);
    assert.deepEqual(dists(resAlone), [[9, 0]]);
  });

  it('a router with the R-bit clear is reached but not transited; one with the V6-bit clear is left out', () => {
    const t = new Topo();
    t.p2p(1, 2, 10);
    t.p2p(2, 3, 10);
    t.p2p(1, 4, 100);
    t.p2p(4, 3, 100);
    t.router(2, { options: { v6: true, r: false } });
    t.prefix(host(2), 2).prefix(host(3), 3);
    const res = computeSpf(t.input(1));
    assert.deepEqual(dists(res), [[1, 0], [2, 10], [3, 200], [4, 100]]);
    assert.equal(route(res, host(2)), 'fd00::2/128 intra 10 [1>2/1]');
    assert.equal(route(res, host(3)), 'fd00::3/128 intra 200 [2>4/1]');
    t.router(2, { options: { v6: false, r: true } });
    const res6 = computeSpf(t.input(1));
    assert.deepEqual(dists(res6), [[1, 0], [3, 200], [4, 100]]);
    assert.equal(route(res6, host(2)), undefined);
  });

  it('treats a link metric of 0 as 1', () => {
    const t = new Topo();
    t.p2p(1, 2, 0);
    t.p2p(2, 3, 0);
    assert.deepEqual(dists(computeSpf(t.input(1))), [[1, 0], [2, 1], [3, 2]]);
  });

  it('routes are sorted by prefix then length, whatever the input order', () => {
    const t = new Topo();
    t.p2p(1, 2, 10);
    t.p2p(1, 3, 10);
    const prefixes = ['fd00:b::/64', 'fd00::/16', 'fd00:a::/64', 'fd00:a::/48', '::/0', 'fd00:a::1/128', 'fd00:a::/63'];
    for (const [i, p] of prefixes.entries()) t.prefix(p, 2 + (i % 2));
    const res = computeSpf(t.input(1));
    assert.deepEqual(
      res.routes.map((r) => `${formatIpv6(r.prefix)}/${r.length}`),
      ['::/0', 'fd00::/16', 'fd00:a::/48', 'fd00:a::/63', 'fd00:a::/64', 'fd00:a::1/128', 'fd00:b::/64'],
    );
    const shuffled = new Topo();
    shuffled.p2p(1, 3, 10);
    shuffled.p2p(1, 2, 10);
    for (const [i, p] of [...prefixes.entries()].reverse()) shuffled.prefix(p, 2 + (i % 2));
    // Interface numbering differs, so compare prefixes and costs only.
    const strip = (r: SpfResult) => r.routes.map((x) => `${formatIpv6(x.prefix)}/${x.length} ${x.cost}`);
    assert.deepEqual(strip(computeSpf(shuffled.input(1))), strip(res));
  });

  it('masks bits past the prefix length', () => {
    const t = new Topo();
    t.p2p(1, 2, 10);
    const p = Buffer.from(parsePrefix('fd00:a:ffff::/128').prefix);
    t.intraPrefixes.push({ prefix: p, length: 36, metric: 0, attachedTo: { kind: 'router', routerId: 2 } });
    t.intraPrefixes.push({ prefix: Buffer.from([0xfd, 0, 0, 0x0f]), length: 32, metric: 1, attachedTo: { kind: 'router', routerId: 2 } });
    t.intraPrefixes.push({ prefix: Buffer.alloc(16), length: 129, metric: 0, attachedTo: { kind: 'router', routerId: 2 } });
    assert.deepEqual(routesOf(computeSpf(t.input(1))), ['fd00:a:f000::/36 intra 10 [1>2/1]', 'fd00:f::/32 intra 11 [1>2/1]']);
  });
});

describe('SPF: AS-external routes', () => {
  /** 1 - 2 (10) - 4 (ASBR), 1 - 3 (10) - 5 (ASBR); 2-4 costs 10, 3-5 costs 30. */
  function base(): Topo {
    const t = new Topo();
    t.p2p(1, 2, 10);
    t.p2p(1, 3, 10);
    t.p2p(2, 4, 10);
    t.p2p(3, 5, 30);
    t.asbr(4).asbr(5);
    t.prefix(host(4), 4).prefix(host(5), 5);
    return t;
  }

  it('E1 beats E2; E1 ranks by distance + metric', () => {
    const t = base();
    t.external('2001:db8:1::/48', 4, 1, 2).external('2001:db8:1::/48', 5, 100, 1);
    t.external('2001:db8:2::/48', 4, 50, 1).external('2001:db8:2::/48', 5, 25, 1);
    const res = computeSpf(t.input(1));
    assert.equal(route(res, '2001:db8:1::/48'), '2001:db8:1::/48 external1 140/100 [2>3/1]');
    assert.equal(route(res, '2001:db8:2::/48'), '2001:db8:2::/48 external1 65/25 [2>3/1]');
  });

  it('E2 ranks by external metric first, then distance to the ASBR', () => {
    const t = base();
    t.external('2001:db8:3::/48', 4, 20, 2).external('2001:db8:3::/48', 5, 10, 2);
    t.external('2001:db8:4::/48', 4, 10, 2).external('2001:db8:4::/48', 5, 10, 2);
    const res = computeSpf(t.input(1));
    assert.equal(route(res, '2001:db8:3::/48'), '2001:db8:3::/48 external2 40/10 [2>3/1]');
    assert.equal(route(res, '2001:db8:4::/48'), '2001:db8:4::/48 external2 20/10 [1>2/1]');
  });

  it('ECMP on externals: equal E1 totals, and equal E2 metric and distance, union their next hops', () => {
    const t = base();
    t.p2p(1, 6, 10);
    t.p2p(6, 4, 10);
    t.external('2001:db8:5::/48', 4, 10, 2); // ASBR 4 itself is reached over two paths
    t.external('2001:db8:6::/48', 4, 30, 1).external('2001:db8:6::/48', 5, 10, 1); // 50 and 50
    t.asbr(2).asbr(6);
    t.external('2001:db8:7::/48', 2, 7, 2).external('2001:db8:7::/48', 6, 7, 2); // both at distance 10
    const res = computeSpf(t.input(1));
    assert.equal(route(res, '2001:db8:5::/48'), '2001:db8:5::/48 external2 20/10 [1>2/1 3>6/1]');
    assert.equal(route(res, '2001:db8:6::/48'), '2001:db8:6::/48 external1 50/10 [1>2/1 2>3/1 3>6/1]');
    assert.equal(route(res, '2001:db8:7::/48'), '2001:db8:7::/48 external2 10/7 [1>2/1 3>6/1]');
  });

  it('intra-area beats external; an unreachable or non-ASBR or own or LSInfinity external is ignored', () => {
    const t = base();
    t.prefix('fd00:5::/64', 5, 60);
    t.external('fd00:5::/64', 4, 1, 1); // intra (cost 100) still wins
    t.p2p(7, 8, 1);
    t.asbr(8);
    t.external('2001:db8:8::/48', 8, 1, 1); // ASBR in an island
    t.external('2001:db8:9::/48', 2, 1, 1); // router 2 has no E bit
    t.asbr(1).external('2001:db8:a::/48', 1, 1, 1); // our own
    t.external('2001:db8:b::/48', 4, LS_INFINITY, 2);
    const res = computeSpf(t.input(1));
    assert.equal(route(res, 'fd00:5::/64'), 'fd00:5::/64 intra 100 [2>3/1]');
    for (const p of ['2001:db8:8::/48', '2001:db8:9::/48', '2001:db8:a::/48', '2001:db8:b::/48']) {
      assert.equal(route(res, p), undefined, p);
    }
  });

  it('a forwarding address routes through its intra-area route, or the external is dropped', () => {
    const t = base();
    t.prefix('fd00:66::/64', 5); // the forwarding address lives behind 5 (cost 40)
    t.prefix('fd00:66::/32', 4); // a shorter match behind 4 (cost 20): the longest match wins
    t.external('2001:db8:c::/48', 4, 5, 1, 'fd00:66::1');
    t.external('2001:db8:d::/48', 4, 5, 1, 'fd00:77::1'); // not routable
    t.external('2001:db8:e::/48', 4, 5, 2, '::'); // zero = no forwarding address
    t.external('2001:db8:f::/48', 4, 5, 1, 'fd00:66:1::1'); // matches only the /32
    const res = computeSpf(t.input(1));
    assert.equal(route(res, '2001:db8:c::/48'), '2001:db8:c::/48 external1 45/5 [2>3/1]');
    assert.equal(route(res, '2001:db8:d::/48'), undefined);
    assert.equal(route(res, '2001:db8:e::/48'), '2001:db8:e::/48 external2 20/5 [1>2/1]');
    assert.equal(route(res, '2001:db8:f::/48'), '2001:db8:f::/48 external1 25/5 [1>2/1]');
  });

  it('a forwarding address on one of our own prefixes falls back to the path to the ASBR', () => {
    const t = base();
    t.prefix('fd00:11::/64', 1);
    t.external('2001:db8:10::/48', 5, 5, 1, 'fd00:11::2');
    assert.equal(route(computeSpf(t.input(1)), '2001:db8:10::/48'), '2001:db8:10::/48 external1 45/5 [2>3/1]');
  });
});

describe('IndexedMinHeap', () => {
  it('pops in key order (ties by index) with decreases', () => {
    const rng = new SeededRandom(7);
    for (let round = 0; round < 50; round++) {
      const n = 1 + rng.int(200);
      const key = new Float64Array(n).fill(Infinity);
      const heap = new IndexedMinHeap(n, key);
      const inHeap = new Set<number>();
      for (let op = 0; op < n * 3; op++) {
        const v = rng.int(n);
        const k = rng.int(50);
        if (k < key[v]) {
          key[v] = k;
          heap.push(v);
          inHeap.add(v);
        }
      }
      const expect = [...inHeap].sort((a, b) => key[a] - key[b] || a - b);
      const got: number[] = [];
      while (heap.size > 0) got.push(heap.pop());
      assert.deepEqual(got, expect);
      assert.equal(heap.pop(), -1);
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// Random graphs against a brute-force reference.

interface RandomGraph {
  topo: Topo;
  n: number;
  lans: string[];
}

/** n routers 1..n: a random spanning tree, extra links, a hub, parallel links, one-way links, LANs. */
function randomGraph(seed: number, n: number): RandomGraph {
  const rng = new SeededRandom(seed);
  const t = new Topo();
  const cost = () => 1 + rng.int(rng.int(2) === 0 ? 4 : 20); // small ranges: many ties
  for (let i = 1; i <= n; i++) t.router(i);
  for (let i = 2; i <= n; i++) t.p2p(i, 1 + rng.int(i - 1), cost(), cost());
  const extra = rng.int(n * 2);
  for (let k = 0; k < extra; k++) {
    const a = 1 + rng.int(n);
    const b = 1 + rng.int(n);
    if (a !== b) t.p2p(a, b, cost(), cost());
  }
  if (n > 20 && rng.int(3) === 0) {
    const hub = 1 + rng.int(n);
    for (let k = 0; k < 25; k++) {
      const b = 1 + rng.int(n);
      if (b !== hub) t.p2p(hub, b, cost(), cost());
    }
  }
  // One-way links (only one end lists it) and mismatched interface IDs.
  for (let k = rng.int(6); k > 0; k--) {
    const a = 1 + rng.int(n);
    const b = 1 + rng.int(n);
    if (a === b) continue;
    if (rng.int(2) === 0) {
      t.link(a, { type: 'p2p', metric: 1, interfaceId: t.newIf(a), neighborInterfaceId: 1, neighborRouterId: b });
    } else {
      const [ia, ib] = [t.newIf(a), t.newIf(b)];
      t.link(a, { type: 'p2p', metric: 1, interfaceId: ia, neighborInterfaceId: ib, neighborRouterId: b });
      t.link(b, { type: 'p2p', metric: 1, interfaceId: ib, neighborInterfaceId: ia + 1000, neighborRouterId: a });
    }
  }
  const lans: string[] = [];
  for (let k = rng.int(4); k > 0; k--) {
    const members = new Set<number>();
    for (let m = 2 + rng.int(3); m > 0; m--) members.add(1 + rng.int(n));
    if (members.size < 2) continue;
    const list = [...members];
    const dr = list[rng.int(list.length)];
    const { key } = t.lan(
      dr,
      list.map((r): [number, number] => [r, cost()]),
    );
    lans.push(key);
    // Sometimes a router claims to be on the LAN but the Network-LSA does not list it.
    if (rng.int(3) === 0) {
      const r = 1 + rng.int(n);
      if (!members.has(r)) {
        const net = t.networks.get(key)!;
        t.link(r, { type: 'transit', metric: 1, interfaceId: t.newIf(r), neighborInterfaceId: net.drInterfaceId, neighborRouterId: dr });
      }
    }
  }
  for (let i = 1; i <= n; i++) t.prefix(host(i), i, rng.int(3));
  for (const [i, key] of lans.entries()) t.prefix(`fd00:1a:${i}::/64`, key, rng.int(2));
  // Anycast prefixes.
  for (let k = 0; k < 3; k++) {
    for (let m = 1 + rng.int(3); m > 0; m--) t.prefix(`fd00:aa:${k}::/64`, 1 + rng.int(n), rng.int(3));
  }
  // AS-externals from a few routers, most of them ASBRs (E bit); one prefix also intra-area.
  const asbrs = Array.from({ length: 1 + rng.int(4) }, () => 1 + rng.int(n));
  for (const a of asbrs) if (rng.int(5) > 0) t.asbr(a);
  for (let k = 0; k < 4; k++) {
    for (let m = 1 + rng.int(3); m > 0; m--) {
      t.external(`2001:db8:${k}::/48`, asbrs[rng.int(asbrs.length)], 1 + rng.int(3) * 5, rng.int(2) === 0 ? 1 : 2);
    }
  }
  t.external('fd00:aa:0::/64', asbrs[0], 1, 1);
  return { topo: t, n, lans };
}

/**
 * The reference: vertexes and edges by direct search, all-pairs distances by Floyd-Warshall, and the
 * next hops of a destination as the set of the root's first hops that start some shortest path to it.
 */
function reference(topo: Topo, root: number): { dist: Map<number, number>; routes: Map<string, { cost: number; hops: string[] }> } {
  const routers = [...topo.routers.keys()];
  const nets = [...topo.networks.keys()];
  const ids: string[] = [...routers.map((r) => `r${r}`), ...nets.map((k) => `n${k}`)];
  const ix = new Map(ids.map((id, i) => [id, i]));
  const V = ids.length;
  const D: number[][] = Array.from({ length: V }, (_, i) => Array.from({ length: V }, (_, j) => (i === j ? 0 : Infinity)));
  const edge = (a: number, b: number, c: number) => {
    if (c < D[a][b]) D[a][b] = c;
  };
  const lanOf = (l: RouterLink) => topo.networks.get(networkKey(l.neighborRouterId, l.neighborInterfaceId));
  for (const [id, rv] of topo.routers) {
    for (const l of rv.links) {
      if (l.type === 'p2p') {
        const w = topo.routers.get(l.neighborRouterId);
        const back = w?.links.some(
          (m) => m.type === 'p2p' && m.neighborRouterId === id && m.interfaceId === l.neighborInterfaceId && m.neighborInterfaceId === l.interfaceId,
        );
        if (back) edge(ix.get(`r${id}`)!, ix.get(`r${l.neighborRouterId}`)!, l.metric);
      } else {
        const net = lanOf(l);
        if (net?.attachedRouters.includes(id)) {
          edge(ix.get(`r${id}`)!, ix.get(`n${net.key}`)!, l.metric);
          edge(ix.get(`n${net.key}`)!, ix.get(`r${id}`)!, 0);
        }
      }
    }
  }
  for (let k = 0; k < V; k++)
    for (let i = 0; i < V; i++)
      for (let j = 0; j < V; j++) if (D[i][k] + D[k][j] < D[i][j]) D[i][j] = D[i][k] + D[k][j];

  const r0 = ix.get(`r${root}`)!;
  // First hops: [hop text, cost of the first step, vertex where the rest of the path starts, only-for].
  const firsts: { hop: string; cost: number; from: number; onlyTo?: number }[] = [];
  for (const l of topo.routers.get(root)!.links) {
    if (l.type === 'p2p') {
      const w = topo.routers.get(l.neighborRouterId);
      const back = w?.links.some(
        (m) => m.type === 'p2p' && m.neighborRouterId === root && m.interfaceId === l.neighborInterfaceId && m.neighborInterfaceId === l.interfaceId,
      );
      if (back) firsts.push({ hop: `${l.interfaceId}>${l.neighborRouterId}/${l.neighborInterfaceId}`, cost: l.metric, from: ix.get(`r${l.neighborRouterId}`)! });
    } else {
      const net = lanOf(l);
      if (!net?.attachedRouters.includes(root)) continue;
      const nv = ix.get(`n${net.key}`)!;
      firsts.push({ hop: `${l.interfaceId}>link`, cost: l.metric, from: nv, onlyTo: nv });
      for (const w of net.attachedRouters) {
        if (w === root) continue;
        const wl = topo.routers.get(w)?.links.find((m) => m.type === 'transit' && lanOf(m) === net);
        if (wl) firsts.push({ hop: `${l.interfaceId}>${w}/${wl.interfaceId}`, cost: l.metric, from: ix.get(`r${w}`)! });
      }
    }
  }
  const hopsTo = (v: number): string[] => {
    const set = new Set<string>();
    for (const f of firsts) {
      if (f.onlyTo !== undefined && f.onlyTo !== v) continue;
      if (f.cost + D[f.from][v] === D[r0][v]) set.add(f.hop);
    }
    return [...set].sort();
  };

  const dist = new Map<number, number>();
  for (const r of routers) if (D[r0][ix.get(`r${r}`)!] < Infinity) dist.set(r, D[r0][ix.get(`r${r}`)!]);
  const routes = new Map<string, { cost: number; hops: string[]; type?: string; ext?: number }>();
  for (const p of topo.intraPrefixes) {
    const key = `${formatIpv6(p.prefix)}/${p.length}`;
    const at = p.attachedTo;
    const v = ix.get(at.kind === 'router' ? `r${at.routerId}` : `n${at.key}`)!;
    if (D[r0][v] === Infinity) continue;
    const local = at.kind === 'router' && at.routerId === root;
    const cost = local ? -1 : D[r0][v] + p.metric; // -1: local, beats all
    const old = routes.get(key);
    const hops = local ? [] : hopsTo(v);
    if (old === undefined || cost < old.cost) routes.set(key, { cost, hops });
    else if (cost === old.cost) old.hops = [...new Set([...old.hops, ...hops])].sort();
  }
  // Externals: rank (type, E1 total | E2 metric, E2 distance); ties union; intra-area prefixes win.
  const ext = new Map<string, { rank: number[]; cost: number; ext: number; hops: string[]; type: string }>();
  for (const x of topo.externals) {
    const key = `${formatIpv6(x.prefix)}/${x.length}`;
    const a = ix.get(`r${x.asbr}`)!;
    if (routes.has(key) || x.asbr === root || !topo.routers.get(x.asbr)!.flags.external || D[r0][a] === Infinity) continue;
    const d = D[r0][a];
    const rank = x.metricType === 1 ? [1, d + x.metric] : [2, x.metric, d];
    const cand = { rank, cost: x.metricType === 1 ? d + x.metric : d, ext: x.metric, hops: hopsTo(a), type: `external${x.metricType}` };
    const old = ext.get(key);
    const cmp = old === undefined ? -1 : rank[0] - old.rank[0] || rank[1] - old.rank[1] || (rank[2] ?? 0) - (old.rank[2] ?? 0);
    if (cmp < 0) ext.set(key, cand);
    else if (cmp === 0) {
      old!.hops = [...new Set([...old!.hops, ...cand.hops])].sort();
      old!.ext = Math.min(old!.ext, cand.ext);
    }
  }
  for (const [key, e] of ext) routes.set(key, { cost: e.cost, hops: e.hops, type: e.type, ext: e.ext });
  return { dist, routes };
}

describe('SPF on random graphs against a brute-force reference', () => {
  it('distances, costs and next-hop sets (intra-area and external) match on graphs of up to 60 routers', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x7fffffff }), fc.integer({ min: 1, max: 60 }), (seed, n) => {
        const { topo } = randomGraph(seed, n);
        const root = 1 + (seed % n);
        const res = computeSpf(topo.input(root));
        const ref = reference(topo, root);
        assert.deepEqual(dists(res), [...ref.dist].sort((a, b) => a[0] - b[0]));
        const got = new Map(
          res.routes.map((r) => {
            const v: { cost: number; hops: string[]; type?: string; ext?: number } = { cost: r.local ? -1 : r.cost, hops: r.nexthops.map(hopText) };
            if (r.type !== 'intra') Object.assign(v, { type: r.type, ext: r.externalCost });
            return [`${formatIpv6(r.prefix)}/${r.length}`, v];
          }),
        );
        for (const r of res.routes) {
          // Next hops come out sorted numerically by interface, neighbor, neighbor interface.
          const sorted = [...r.nexthops].sort(
            (x, y) => x.interfaceId - y.interfaceId || x.neighborRouterId - y.neighborRouterId || x.neighborInterfaceId - y.neighborInterfaceId,
          );
          assert.deepEqual(r.nexthops, sorted);
          if (!r.local) assert.ok(r.nexthops.length > 0, 'a reachable route has next hops');
        }
        for (const v of got.values()) v.hops.sort();
        assert.deepEqual(got, ref.routes);
      }),
      { numRuns: 300 },
    );
  });

  it('is deterministic: the same input gives the same output', () => {
    const { topo } = randomGraph(42, 60);
    assert.deepEqual(computeSpf(topo.input(3)), computeSpf(topo.input(3)));
  });
});
