/**
 * Scale (bounded for `npm test`): 100 real OspfInstances in a seeded random mesh (average degree ~3.5) over
 * simulated links and a manual clock converge to identical area LSDBs (SHA-256 digests of every LSA's
 * type, IDs, sequence number and checksum) and to the shortest paths and ECMP first hops an independent
 * Dijkstra finds. The big runs (1,000 routers) are in bench/ospf-scale.bench.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SimNet,
  convergenceErrors,
  lsdbDigest,
  prng,
  randomGraph,
  reference,
  referenceFast,
  runUntilConverged,
} from '../helpers/ospf-net.js';

const N = 100;

test('the heap Dijkstra reference agrees with the simple one', () => {
  const edges = randomGraph(60, 45, prng(3));
  const slow = reference(60, edges);
  const fast = referenceFast(60, edges);
  for (let s = 1; s <= 60; s++) {
    const a = slow.get(s)!;
    const b = fast.get(s)!;
    assert.equal(b.size, a.size, `destinations from ${s}`);
    for (const [t, x] of a) {
      assert.equal(b.get(t)?.dist, x.dist, `${s}->${t}`);
      assert.deepEqual([...b.get(t)!.firstHops].sort(), [...x.firstHops].sort(), `first hops ${s}->${t}`);
    }
  }
});

test(`${N} routers in a random mesh converge to identical LSDBs and correct routes`, () => {
  const seed = 0x5ca1e + N;
  const edges = randomGraph(N, Math.round((3 * N) / 4), prng(seed));
  const ref = referenceFast(N, edges);
  const net = new SimNet({ seed });
  for (let i = 1; i <= N; i++) net.addRouter(i);
  for (const e of edges) net.connect(e.a, e.b, e.cost);

  // Early on the check must see a network that has not converged (no false positive).
  net.advance(1000);
  assert.notDeepEqual(convergenceErrors(net, N, ref), []);

  const run = runUntilConverged(net, N, ref, { stepMs: 100, maxMs: 120_000 });
  assert.deepEqual(run.errors, [], 'converged');
  assert.ok(run.convergedAt !== undefined && run.convergedAt < 30_000, `converged at ${run.convergedAt} ms simulated`);
  for (const r of net.routers.values()) {
    for (const nb of r.inst.neighbors()) assert.equal(nb.state, 'Full', `router ${r.id} neighbor ${nb.routerId}`);
  }
  const digest = lsdbDigest(net, 1);
  for (let i = 2; i <= N; i++) assert.equal(lsdbDigest(net, i), digest, `LSDB of ${i}`);

  // It stays converged: a minute later (hellos, no changes) nothing differs and no route moved.
  const updates = [...net.routers.values()].map((r) => r.routeUpdates);
  net.advance(60_000);
  assert.deepEqual(convergenceErrors(net, N, ref), []);
  assert.deepEqual([...net.routers.values()].map((r) => r.routeUpdates), updates, 'no route changes after convergence');
});
