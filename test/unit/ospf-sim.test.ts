/**
 * Whole-network simulation: N routers in one process over in-memory point-to-point links with a manual
 * clock. They must converge to identical area LSDBs and to the shortest-path routes an independent
 * Dijkstra computes over the generated graph; then links fail (interfaces removed, or packets silently
 * stop until the dead interval passes) and come back, and the network must reconverge each time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimNet, checkConverged, meshAddressOf, prng, randomGraph, reference, type Edge, type SimLink } from '../helpers/ospf-net.js';

function build(n: number, extra: number, seed: number, opts: ConstructorParameters<typeof SimNet>[0] = {}) {
  const rand = prng(seed);
  const edges = randomGraph(n, extra, rand);
  const net = new SimNet({ seed, ...opts });
  for (let i = 1; i <= n; i++) net.addRouter(i);
  const links = new Map<Edge, SimLink>();
  for (const e of edges) links.set(e, net.connect(e.a, e.b, e.cost));
  return { net, edges, links, rand };
}

test('50 routers converge to identical LSDBs and shortest paths, and reconverge after failures', () => {
  const n = 50;
  const { net, edges, links, rand } = build(n, 40, 7);
  net.advance(60_000);
  checkConverged(net, n, edges, 'initial');
  assert.equal(net.routers.get(1)!.inst.routes().length, n);
  for (const r of net.routers.values()) {
    for (const nb of r.inst.neighbors()) assert.equal(nb.state, 'Full');
  }

  // Remove three links on both ends (interfaces go away): immediate reconvergence, no dead interval.
  const removed: Edge[] = [];
  for (let k = 0; k < 3; k++) {
    const e = edges[Math.floor(rand() * edges.length)]!;
    if (removed.includes(e)) continue;
    removed.push(e);
    net.removeLink(links.get(e)!);
  }
  let live = edges.filter((e) => !removed.includes(e));
  net.advance(10_000);
  checkConverged(net, n, live, 'after removing links');

  // Two more links go silent: nothing tells the routers; the dead interval (40 s) must.
  const silent = live.filter((e) => !removed.includes(e)).slice(5, 7);
  for (const e of silent) links.get(e)!.up = false;
  net.advance(60_000);
  live = live.filter((e) => !silent.includes(e));
  checkConverged(net, n, live, 'after silent links');

  // Everything comes back.
  for (const e of silent) links.get(e)!.up = true;
  for (const e of removed) links.set(e, net.connect(e.a, e.b, e.cost));
  net.advance(60_000);
  checkConverged(net, n, edges, 'after links return');
});

test('convergence with random delay and 5% packet loss', () => {
  const n = 30;
  const { net, edges, links } = build(n, 25, 11, { jitterMs: 30, loss: 0.05 });
  net.advance(120_000);
  checkConverged(net, n, edges, 'lossy initial');
  const e = edges[3]!;
  net.removeLink(links.get(e)!);
  net.advance(60_000);
  checkConverged(net, n, edges.filter((x) => x !== e), 'lossy after removal');
});

test('a router that restarts (LSDB lost) gets its old LSAs back, re-originates past them, and the network reconverges', () => {
  const n = 20;
  const { net, edges } = build(n, 15, 5);
  net.advance(60_000);
  checkConverged(net, n, edges, 'before restart');
  // Let router 4's LSAs reach higher sequence numbers first (refresh), so a fresh start at the initial
  // sequence number is older than what the network holds.
  net.advance(1900_000);
  net.restartRouter(4);
  net.advance(30_000);
  checkConverged(net, n, edges, 'after restart');
  assert.ok((net.routers.get(4)!.inst.counters()['lsa_self_received'] ?? 0) > 0, 'it saw its old LSAs (§13.4)');
});

test('a hub with 70 neighbors splits its Router-LSA and everyone routes through it', () => {
  const n = 71;
  const edges: Edge[] = [];
  for (let i = 2; i <= n; i++) edges.push({ a: 1, b: i, cost: 1 + (i % 3) });
  const net = new SimNet({ seed: 9 });
  for (let i = 1; i <= n; i++) net.addRouter(i);
  for (const e of edges) net.connect(e.a, e.b, e.cost);
  net.advance(30_000);
  const hubRouterLsas = net.routers.get(1)!.inst.database().filter((e) => e.type === 'Router' && e.advertisingRouter === '0.0.0.1');
  assert.equal(hubRouterLsas.length, 2, 'Link State IDs 0 and 1');
  // checkConverged expects one Router-LSA per router; compare routes only.
  const ref = reference(n, edges);
  for (const s of [2, 40, 71]) {
    for (let t = 2; t <= n; t++) {
      if (t === s) continue;
      const route = net.routers.get(s)!.inst.routes().find((r) => r.prefix.equals(meshAddressOf(t)));
      assert.equal(route?.cost, ref.get(s)!.get(t)!.dist, `${s}->${t}`);
    }
  }
});
