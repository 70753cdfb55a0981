/**
 * OSPF at scale: N real OspfInstances (the daemon's own instance code) in one process, joined by simulated
 * point-to-point links with a manual clock (test/helpers/ospf-net.ts), in a seeded random connected mesh.
 * Run until every area LSDB is identical (SHA-256 over each LSA's type, IDs, sequence number and checksum)
 * and every router's routes match an independent Dijkstra (distances and first-hop ECMP sets).
 *
 *   node dist/bench/ospf-scale.bench.js                          # 100 and 300 routers (what npm run bench runs)
 *   BENCH_OSPF_SCALE_SIZES=100,1000 node dist/bench/ospf-scale.bench.js   # 1,000: about 10 minutes, 5 GB
 *   BENCH_OSPF_SCALE_SIZES=100,200,1000 node dist/bench/ospf-scale.bench.js
 *
 * Topology: randomGraph(n, 3n/4): a random spanning tree plus 3n/4 extra links, average degree ~3.5, costs
 * 1..20. Default timers (hello 10 s, dead 40 s, LSA hold 1.1 s backing off to 5 s, SPF throttle 50/200/5000 ms); 1 ms per
 * link, no loss. Figures per size: simulated convergence time (the first 100 ms step at which the check
 * passes, and the last route table change before it), the wall time to simulate it, packets delivered,
 * SPF runs, heap and RSS growth per router (full collections before and after; the reference routes are
 * built before the first measurement and are not counted).
 *
 * Cost (measured on a shared 2-core VM): flooding is O(n^2 x degree) work however fast each step is — every
 * router installs 2n LSAs at start (each heard ~2.5 times over its links) and n more when the Router-LSAs
 * listing the adjacencies go out after MinLSInterval; packets grow as ~5 n^2 (52 k at 100 routers, 458 k at
 * 300, 5.05 M at 1,000). No per-operation O(n) path was found (the per-packet cost rises ~1.5x from 300 to
 * 1,000 routers: GC over a multi-GB heap). 1,000 routers took ~10 min wall and ~4 MiB of heap per router
 * (~2 KB per stored LSA: parsed bodies, headers, entries, raw copies pinning Buffer pool slabs), close to
 * Node's default ~4 GiB heap limit: for bigger runs use `node --max-old-space-size=8192`.
 *
 * 10,000 routers with the SPF alone: bench/spf.bench.ts (spf.compute.10k, spf.memory.10k). 10,000 whole
 * instances would each hold 20,000 LSAs: tens of GB in one process, so they are not simulated here.
 */
import { pathToFileURL } from 'node:url';
import { SimNet, convergenceErrors, prng, randomGraph, referenceFast, runUntilConverged } from '../test/helpers/ospf-net.js';
import { formatResult, gcFunction, type BenchResult } from './result.js';

const collect = gcFunction();

export interface ScaleFigures {
  n: number;
  links: number;
  /** ms simulated. */
  convergedAt: number | undefined;
  lastRouteChangeAt: number;
  /** ms wall: building the network, simulating to convergence, the convergence checks (inside simulate). */
  buildMs: number;
  simulateMs: number;
  checkMs: number;
  checks: number;
  delivered: number;
  spfRuns: number;
  heapPerRouter: number;
  rssPerRouter: number;
  errors: string[];
}

function memory(): NodeJS.MemoryUsage {
  collect();
  collect();
  return process.memoryUsage();
}

export function simulate(n: number, seed: number, maxMs = 600_000): ScaleFigures {
  const rand = prng(seed);
  const edges = randomGraph(n, Math.round((3 * n) / 4), rand);
  const ref = referenceFast(n, edges);
  const before = memory();
  const t0 = performance.now();
  const net = new SimNet({ seed });
  for (let i = 1; i <= n; i++) net.addRouter(i);
  for (const e of edges) net.connect(e.a, e.b, e.cost);
  const t1 = performance.now();
  let checkMs = 0;
  const run = runUntilConverged(net, n, ref, { stepMs: 100, maxMs });
  const t2 = performance.now();
  // What the checks cost: one more on the converged network, times the number run.
  const c0 = performance.now();
  convergenceErrors(net, n, ref);
  checkMs = (performance.now() - c0) * run.checks;
  const after = memory();
  let spfRuns = 0;
  for (const r of net.routers.values()) spfRuns += r.inst.counters()['spf_runs'] ?? 0;
  const figures: ScaleFigures = {
    n,
    links: edges.length,
    convergedAt: run.convergedAt,
    lastRouteChangeAt: run.lastRouteChangeAt,
    buildMs: t1 - t0,
    simulateMs: t2 - t1,
    checkMs,
    checks: run.checks,
    delivered: net.delivered,
    spfRuns,
    heapPerRouter: (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / n,
    rssPerRouter: (after.rss - before.rss) / n,
    errors: run.errors,
  };
  // Keep the network alive until after the measurement.
  if (net.routers.size !== n) throw new Error('unreachable');
  return figures;
}

export async function run(): Promise<BenchResult[]> {
  const sizes = (process.env['BENCH_OSPF_SCALE_SIZES'] ?? '100,300')
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((x) => Number.isInteger(x) && x >= 2);
  const out: BenchResult[] = [];
  for (const n of sizes) {
    const f = simulate(n, 0x5ca1e + n);
    const label = n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n);
    if (f.convergedAt === undefined) {
      out.push({ name: `ospf.scale.${label}.converged`, value: 0, unit: 'no', note: `not converged in 600 s simulated: ${f.errors.slice(0, 3).join('; ')}` });
      continue;
    }
    const kib = (x: number) => x / 1024;
    out.push({
      name: `ospf.scale.${label}.sim`,
      value: f.convergedAt / 1000,
      unit: 's simulated',
      note: `${n} routers, ${f.links} links; checks pass at this 100 ms step; last route change at ${(f.lastRouteChangeAt / 1000).toFixed(3)} s`,
    });
    out.push({
      name: `ospf.scale.${label}.wall`,
      value: f.simulateMs / 1000,
      unit: 's wall',
      note: `to simulate it, ${f.checks} full checks included (~${(f.checkMs / 1000).toFixed(1)} s); building the network ${(f.buildMs / 1000).toFixed(1)} s`,
    });
    out.push({ name: `ospf.scale.${label}.packets`, value: f.delivered, unit: 'packets', note: `delivered; ${(f.delivered / n).toFixed(0)} per router; ${f.spfRuns} SPF runs (${(f.spfRuns / n).toFixed(1)} per router)` });
    out.push({ name: `ospf.scale.${label}.heap`, value: kib(f.heapPerRouter), unit: 'KiB/router', note: 'heap + array buffers after convergence, full collections before and after' });
    out.push({ name: `ospf.scale.${label}.rss`, value: kib(f.rssPerRouter), unit: 'KiB/router', note: 'RSS growth' });
  }
  return out;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of await run()) console.log(formatResult(r));
}
