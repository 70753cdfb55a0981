/**
 * Microloop avoidance (spf/microloop.ts) on the daemon's own OSPF instances in a simulated mesh, the chaos
 * test's topology: 8 routers in a ring with two chords. Each link in turn fails; at every simulated
 * millisecond after, every router's published routes are walked from every source to every destination:
 * a walk that comes back to a router it passed is a forwarding loop. None may appear, and every pair must
 * be reachable again once the hold ends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimNet, meshAddressOf, type SimLink } from '../helpers/ospf-net.js';
import { loopFreeRoutes, lostLocalAdjacency } from '../../src/controlplane/ospf/spf/microloop.js';
import { MICROLOOP_MARGIN_MS } from '../../src/controlplane/ospf/instance.js';
import { computeSpf } from '../../src/controlplane/ospf/spf/spf.js';
import type { RouterVertex, SpfInput } from '../../src/controlplane/ospf/spf/graph.js';

const N = 8;
const EDGES: [number, number][] = [...Array.from({ length: N }, (_, i) => [i + 1, ((i + 1) % N) + 1] as [number, number]), [1, 5], [3, 7]];

function mesh(): { net: SimNet; links: SimLink[] } {
  const net = new SimNet({ helloInterval: 1, deadInterval: 4, delayMs: 1, jitterMs: 2, seed: 7 });
  for (let i = 1; i <= N; i++) net.addRouter(i);
  const links = EDGES.map(([a, b]) => net.connect(a, b, 10));
  net.advance(30_000);
  return { net, links };
}

type Walk = 'reached' | 'no route' | 'loop';

/** Follows the published routes from `src` towards `dst`'s mesh address, every ECMP branch. */
function walk(net: SimNet, src: number, dst: number): Walk {
  const prefix = meshAddressOf(dst).toString('hex');
  let worst: Walk = 'reached';
  const visit = (at: number, path: Set<number>): void => {
    if (at === dst) return;
    if (path.has(at)) {
      worst = 'loop';
      return;
    }
    const r = net.routers.get(at)!;
    const route = r.lastRoutes.find((x) => x.length === 128 && x.prefix.toString('hex') === prefix);
    if (!route || route.nexthops.length === 0) {
      if (worst === 'reached') worst = 'no route';
      return;
    }
    path.add(at);
    for (const nh of route.nexthops) {
      const link = r.ports.get(nh.linkId);
      if (!link) {
        if (worst === 'reached') worst = 'no route';
        continue;
      }
      visit(link.a.router === at && link.a.linkId === nh.linkId ? link.b.router : link.a.router, path);
    }
    path.delete(at);
  };
  visit(src, new Set());
  return worst;
}

test('a failed link causes no forwarding loop at any moment, and every pair is reachable after the hold', () => {
  const hold = 50 + MICROLOOP_MARGIN_MS;
  for (let e = 0; e < EDGES.length; e++) {
    const { net, links } = mesh();
    for (let s = 1; s <= N; s++) for (let d = 1; d <= N; d++) if (s !== d) assert.equal(walk(net, s, d), 'reached', `before: ${s}->${d}`);
    net.removeLink(links[e]!);
    const t0 = net.now;
    let lastUnreachable = 0;
    for (let t = 0; t < 3000; t++) {
      net.advance(1);
      for (let s = 1; s <= N; s++) {
        for (let d = 1; d <= N; d++) {
          if (s === d) continue;
          const w = walk(net, s, d);
          assert.notEqual(w, 'loop', `link ${EDGES[e]!.join('-')} failed: ${s}->${d} loops ${net.now - t0} ms after`);
          if (w !== 'reached') lastUnreachable = net.now - t0;
        }
      }
    }
    assert.ok(lastUnreachable <= hold + 10, `link ${EDGES[e]!.join('-')}: a pair was unreachable ${lastUnreachable} ms after (hold ${hold} ms)`);
  }
});

// -------------------------------------------------------------------------------------------------------
// The rule alone, on a hand-made graph.

function vertex(id: number, links: [number, number][]): RouterVertex {
  return {
    routerId: id,
    flags: { border: false, external: false },
    links: links.map(([nbr, metric]) => ({ type: 'p2p' as const, metric, interfaceId: nbr, neighborInterfaceId: id, neighborRouterId: nbr })),
  };
}

/**
 *   1 --10-- 2 --10-- 3       S = 1 loses its link to 2. Destination: router 3's prefix.
 *   |                 |       Neighbor 4 reaches 3 via 1 (4-1-2-3 = 30 < 4-5-3 = 40 ... with 4-5 at 30),
 *   4 ------30------ 5        so 4 is not loop-free for 3 and the route waits; 5's own prefix is
 *                             reached by 4 directly (4-5 = 30 < 4-1 + 1-...-5), so it goes at once.
 */
function input(root: number, withLink12: boolean): SpfInput {
  const routers = new Map<number, RouterVertex>([
    [1, vertex(1, [...(withLink12 ? [[2, 10] as [number, number]] : []), [4, 10]])],
    [2, vertex(2, [...(withLink12 ? [[1, 10] as [number, number]] : []), [3, 10]])],
    [3, vertex(3, [[2, 10], [5, 10]])],
    [4, vertex(4, [[1, 10], [5, 30]])],
    [5, vertex(5, [[4, 30], [3, 10]])],
  ]);
  const intraPrefixes = [2, 3, 5].map((r) => ({ prefix: meshAddressOf(r), length: 128, metric: 0, attachedTo: { kind: 'router' as const, routerId: r } }));
  return { root, routers, networks: new Map(), intraPrefixes, externals: [] };
}

test('the loop-free rule: a next hop that reached the destination through us waits; one that did not goes at once', () => {
  const before = input(1, true);
  const after = input(1, false);
  assert.equal(lostLocalAdjacency(before, after), true);
  assert.equal(lostLocalAdjacency(after, before), false, 'a new link is not a loss');
  const baseline = { input: before, result: computeSpf(before) };
  const fresh = computeSpf(after);
  const out = loopFreeRoutes(baseline, fresh);
  const published = new Set(out.routes.map((r) => r.prefix.toString('hex')));
  // 2 and 3 were reached through 1-2; now through 4, which reached both through us: withheld.
  assert.equal(published.has(meshAddressOf(3).toString('hex')), false);
  assert.equal(published.has(meshAddressOf(2).toString('hex')), false);
  // 5 was reached through 1-2-3-5 (30); now through 4 (40), which reaches 5 directly at 30 < 10 + 30.
  assert.equal(published.has(meshAddressOf(5).toString('hex')), true);
  assert.equal(out.withheld, 2);
});
