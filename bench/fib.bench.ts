/**
 * FIB benchmark: lookups per second at 1k and 100k routes (and 100k mesh host routes), the naive
 * linear scan at 1k routes as the reference figure, insert/remove time and memory for 100k routes, and
 * the time of one route change at 100k routes (insert + remove of a route; new next hops for one)
 * against a full rebuild (clear + insert 100k) in the same run: what a RIB that sends differences saves.
 *
 *   node dist/bench/fib.bench.js
 *
 * Routes: random /48../128 under fd00::/8 plus a few short ones. Lookup addresses: a mix of hits
 * and misses, preloaded into one Buffer; each pass walks it with a changing flow hash.
 */
import { pathToFileURL } from 'node:url';
import { Fib, parsePrefix } from '../src/dataplane/fib/fib.js';
import { NaiveFib, SeededRandom } from '../test/helpers/naive-fib.js';
import { formatResult, gcFunction, type BenchResult } from './result.js';

interface Route {
  prefix: Buffer;
  length: number;
  nexthops: number[];
}

const SHORT = ['2000::/3', '2001:db8::/32', 'fd00::/16', 'fdff::/16', 'fe80::/10', '::1/128'];

function makeRoutes(rng: SeededRandom, count: number, kind: 'fd00/8' | 'mesh/128'): Route[] {
  const routes: Route[] = [];
  if (kind === 'fd00/8') {
    for (const s of SHORT) {
      const { prefix, length } = parsePrefix(s);
      routes.push({ prefix, length, nexthops: [1] });
    }
  }
  const mesh = parsePrefix('fd00:6d6f:6c74::/48').prefix;
  while (routes.length < count) {
    const prefix = Buffer.alloc(16);
    rng.fill(prefix);
    let length: number;
    if (kind === 'fd00/8') {
      prefix[0] = 0xfd;
      length = rng.range(48, 128);
    } else {
      mesh.copy(prefix, 0, 0, 6);
      length = 128;
    }
    const nexthops = rng.int(8) === 0 ? [rng.int(1000), rng.int(1000), rng.int(1000)] : [rng.int(1000)];
    routes.push({ prefix, length, nexthops });
  }
  return routes;
}

/** n addresses: 60% inside a route (random host bits), 20% random under fd00::/8, 20% random. */
function makeAddresses(rng: SeededRandom, routes: Route[], n: number): Buffer {
  const buf = Buffer.alloc(n * 16);
  rng.fill(buf);
  for (let i = 0; i < n; i++) {
    const off = i * 16;
    const kind = rng.int(10);
    if (kind < 6) {
      const r = routes[rng.int(routes.length)];
      for (let bit = 0; bit < r.length; bit++) {
        const m = 0x80 >> (bit & 7);
        buf[off + (bit >> 3)] = (buf[off + (bit >> 3)] & ~m) | (r.prefix[bit >> 3] & m);
      }
    } else if (kind < 8) {
      buf[off] = 0xfd;
    }
  }
  return buf;
}

function build(routes: Route[]): Fib {
  const fib = new Fib({ initialCapacity: routes.length });
  for (const r of routes) fib.insert(r.prefix, r.length, r.nexthops);
  return fib;
}

let sink = 0;

type Lookup = { lookup(b: Uint8Array, o: number, h: number): number };

/** The timed loop, alone in its function so that it is optimized as a whole. */
function loop(fib: Lookup, buf: Buffer, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += fib.lookup(buf, i << 4, Math.imul(i, 0x9e3779b1) >>> 0);
  return s;
}

/** One pass over the first n addresses in buf; returns seconds. */
function pass(fib: Lookup, buf: Buffer, n: number): number {
  const t0 = process.hrtime.bigint();
  sink += loop(fib, buf, n);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Median lookups/s over `passes` timed passes, after a collection and one warm-up pass. */
function lookupRate(fib: Lookup, buf: Buffer, n: number, passes: number): { rate: number; min: number; max: number } {
  collect();
  pass(fib, buf, n);
  const rates: number[] = [];
  for (let p = 0; p < passes; p++) rates.push(n / pass(fib, buf, n));
  rates.sort((x, y) => x - y);
  return { rate: rates[rates.length >> 1], min: rates[0], max: rates[rates.length - 1] };
}

function hitRatio(fib: Fib, buf: Buffer, n: number): number {
  let hits = 0;
  for (let i = 0; i < n; i++) if (fib.matchLength(buf, i << 4) >= 0) hits++;
  return hits / n;
}

interface Spread {
  median: number;
  p99: number;
  max: number;
}

function spread(ms: number[]): Spread {
  ms.sort((x, y) => x - y);
  return { median: ms[ms.length >> 1]!, p99: ms[Math.floor(ms.length * 0.99)]!, max: ms[ms.length - 1]! };
}

/**
 * Times (ms) of single changes to a FIB holding `routes`: a new route inserted and removed again, and an
 * existing route given other next hops (and then its own back), each timed on its own. Leaves the FIB
 * as it found it.
 */
function changeTimes(fib: Fib, routes: Route[], rng: SeededRandom): { n: number; addRemove: Spread; replace: Spread } {
  const n = 2000;
  const fresh = makeRoutes(rng, n + 6, 'fd00/8').slice(6); // past the short ones, random /48../128
  const addRemove: number[] = [];
  const replace: number[] = [];
  collect();
  for (let i = 0; i < n; i++) {
    const r = fresh[i]!;
    const t0 = process.hrtime.bigint();
    fib.insert(r.prefix, r.length, r.nexthops);
    fib.remove(r.prefix, r.length);
    addRemove.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  for (let i = 0; i < n; i++) {
    const r = routes[rng.int(routes.length)]!;
    const other = r.nexthops.length === 1 ? [r.nexthops[0]!, (r.nexthops[0]! + 1) % 1000] : [r.nexthops[0]!];
    const t0 = process.hrtime.bigint();
    fib.insert(r.prefix, r.length, other);
    replace.push(Number(process.hrtime.bigint() - t0) / 1e6);
    fib.insert(r.prefix, r.length, r.nexthops);
  }
  return { n, addRemove: spread(addRemove), replace: spread(replace) };
}

/** A full garbage collection, so that none runs (or is finishing) during a timed pass. */
const collect = gcFunction();

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const report = (r: BenchResult): void => {
    results.push(r);
  };
  const rng = new SeededRandom(0xf1b);
  const N = 1 << 20; // 1M addresses, 16 MB
  const PASSES = 7;

  // Insert time and memory for 100k routes.
  const routes100k = makeRoutes(rng, 100_000, 'fd00/8');
  collect();
  const before = process.memoryUsage();
  const t0 = process.hrtime.bigint();
  const fib100k = build(routes100k);
  const insertMs = Number(process.hrtime.bigint() - t0) / 1e6;
  collect();
  const after = process.memoryUsage();
  const st = fib100k.stats();
  report({ name: 'fib.insert.100k', value: insertMs, unit: 'ms', note: `${((insertMs * 1e6) / 100_000).toFixed(0)} ns/route` });
  report({
    name: 'fib.memory.100k',
    value: (after.heapUsed - before.heapUsed + after.arrayBuffers - before.arrayBuffers) / 2 ** 20,
    unit: 'MiB',
    note: `heap +${((after.heapUsed - before.heapUsed) / 2 ** 20).toFixed(1)} MiB, arrayBuffers +${((after.arrayBuffers - before.arrayBuffers) / 2 ** 20).toFixed(1)} MiB; typed arrays ${(st.bytes / 2 ** 20).toFixed(1)} MiB, ${st.nodes} nodes, ${st.leafBlocks} leaf blocks`,
  });

  // Lookups at 100k routes.
  const addrs100k = makeAddresses(rng, routes100k, N);
  const r100k = lookupRate(fib100k, addrs100k, N, PASSES);
  report({
    name: 'fib.lookup.100k',
    value: r100k.rate / 1e6,
    unit: 'Mlookups/s',
    note: `median of ${PASSES} passes over ${N} addresses, ${(r100k.min / 1e6).toFixed(1)}..${(r100k.max / 1e6).toFixed(1)}; ${(hitRatio(fib100k, addrs100k, N) * 100).toFixed(0)}% hits`,
  });

  // Lookups at 100k mesh host routes (/128 under fd00:6d6f:6c74::/48: the deepest walk).
  const routesMesh = makeRoutes(rng, 100_000, 'mesh/128');
  const fibMesh = build(routesMesh);
  const addrsMesh = makeAddresses(rng, routesMesh, N);
  const rMesh = lookupRate(fibMesh, addrsMesh, N, PASSES);
  report({
    name: 'fib.lookup.100k.mesh128',
    value: rMesh.rate / 1e6,
    unit: 'Mlookups/s',
    note: `100k /128 under fd00:6d6f:6c74::/48, ${(rMesh.min / 1e6).toFixed(1)}..${(rMesh.max / 1e6).toFixed(1)}; ${(hitRatio(fibMesh, addrsMesh, N) * 100).toFixed(0)}% hits`,
  });

  // Lookups at 1k routes, and the naive linear scan at 1k as the reference.
  const routes1k = makeRoutes(rng, 1000, 'fd00/8');
  const fib1k = build(routes1k);
  const addrs1k = makeAddresses(rng, routes1k, N);
  const r1k = lookupRate(fib1k, addrs1k, N, PASSES);
  report({
    name: 'fib.lookup.1k',
    value: r1k.rate / 1e6,
    unit: 'Mlookups/s',
    note: `${(r1k.min / 1e6).toFixed(1)}..${(r1k.max / 1e6).toFixed(1)}; ${(hitRatio(fib1k, addrs1k, N) * 100).toFixed(0)}% hits`,
  });
  const naive = new NaiveFib();
  for (const r of routes1k) naive.insert(r.prefix, r.length, r.nexthops);
  const NN = 20_000;
  const rNaive = lookupRate(naive, addrs1k, NN, 3);
  report({ name: 'naive.lookup.1k', value: rNaive.rate / 1e6, unit: 'Mlookups/s', note: 'linear scan, the reference' });
  report({ name: 'fib.speedup.1k', value: r1k.rate / rNaive.rate, unit: 'x', note: 'fib.lookup.1k / naive.lookup.1k' });

  // One route change at 100k routes, against rebuilding the whole table.
  const change = changeTimes(fib100k, routes100k, rng);
  report({
    name: 'fib.change.100k',
    value: change.addRemove.median * 1000,
    unit: 'us',
    note: `insert + remove of one route, median of ${change.n}, p99 ${(change.addRemove.p99 * 1000).toFixed(1)} us, max ${change.addRemove.max.toFixed(3)} ms`,
  });
  report({
    name: 'fib.replace.100k',
    value: change.replace.median * 1000,
    unit: 'us',
    note: `new next hops for one route (single <-> ECMP), median of ${change.n}, p99 ${(change.replace.p99 * 1000).toFixed(1)} us, max ${change.replace.max.toFixed(3)} ms`,
  });
  collect();
  const t3 = process.hrtime.bigint();
  fib100k.clear();
  for (const r of routes100k) fib100k.insert(r.prefix, r.length, r.nexthops);
  const rebuildMs = Number(process.hrtime.bigint() - t3) / 1e6;
  report({ name: 'fib.rebuild.100k', value: rebuildMs, unit: 'ms', note: 'clear + insert 100k: what every change cost when the worker refilled the FIB' });
  report({
    name: 'fib.change.speedup',
    value: rebuildMs / Math.max(change.addRemove.median, change.replace.median),
    unit: 'x',
    note: 'fib.rebuild.100k / the slower of one change',
  });

  // Removing all 100k routes.
  const t2 = process.hrtime.bigint();
  for (const r of routes100k) fib100k.remove(r.prefix, r.length);
  const removeMs = Number(process.hrtime.bigint() - t2) / 1e6;
  report({ name: 'fib.remove.100k', value: removeMs, unit: 'ms', note: `${fib100k.size} left` });

  if (sink === 0.5) console.log(sink); // keep the lookups observable
  return results;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of await run()) console.log(formatResult(r));
}
