/**
 * BIRD originates 10,000 AS-external prefixes into the mesh (issue 12, scale):
 *
 *   BIRD 2 (ns r) ==kernel link== A --vxlan-- B --vxlan-- C        (MoltNet nodes, OSPFv3 hello 1 / dead 4, BFD on)
 *
 * BIRD's static protocol (2001:db8:<i>::/48 blackholes, exported into OSPFv3 as E2 externals) starts
 * disabled. After the mesh and BIRD have converged:
 *   1. `birdc enable ext`; the time until every node's RIB/FIB holds all the prefixes (its route count is
 *      up by `count`, then each node's `show routes` is checked prefix by prefix), per node;
 *   2. memory of each daemon (RSS, V8 heap of the main thread: `show status`) before and after, FIB size
 *      (routes, and the bytes of our FIB structure holding the same routes);
 *   3. data plane: a seeded sample of the prefixes has <prefix>::1 on BIRD's lo; C pings each (the ping
 *      crosses C, B, A and the kernel link; BIRD's kernel answers);
 *   4. `birdc disable ext` (BIRD flushes its LSAs); the time until every node has removed them.
 * OSPF counters that tell a slow path (retransmissions, punt drops, SPF runs) are reported with it.
 *
 *   node dist/bench/bird-prefixes.bench.js     (root; BENCH_BIRD_PREFIXES=10000, BENCH_BIRD_NODES=3,
 *                                              BENCH_BIRD_SAMPLE=20)
 *
 * Traffic only inside the namespaces made here.
 */
import { pathToFileURL } from 'node:url';
import { callDaemon } from '../src/cli/control-client.js';
import { Fib, parsePrefix } from '../src/dataplane/fib/fib.js';
import { BirdPrefixNet, externalPrefix, type NodeMemory } from '../test/helpers/bird-prefixes.js';
import { runPrefix, tempDir } from '../test/helpers/integration.js';
import { formatResult, type BenchResult } from './result.js';

const COUNT = Number(process.env['BENCH_BIRD_PREFIXES'] ?? 10_000);
const NODES = Math.max(1, Number(process.env['BENCH_BIRD_NODES'] ?? 3));
const SAMPLE = Number(process.env['BENCH_BIRD_SAMPLE'] ?? 20);
const INSTALL_TIMEOUT_MS = Number(process.env['BENCH_BIRD_TIMEOUT_MS'] ?? 180_000);

const NAMES = 'ABCDEFGHIJ';
const nodeName = (i: number): string => NAMES[i] ?? `n${i + 1}`;

async function ospfCounters(socket: string): Promise<Record<string, number>> {
  const s = (await callDaemon(socket, 'show', { what: 'ospf status' }, 10_000)) as { counters: Record<string, number> };
  return s.counters;
}

async function planeCounters(socket: string): Promise<Record<string, number>> {
  const s = (await callDaemon(socket, 'show', { what: 'status' }, 10_000)) as { counters: Record<string, number> };
  return s.counters;
}

/** Bytes of our FIB structure holding `base` host routes plus the external prefixes (what each node's FIB holds). */
function fibBytes(count: number, base: number): { empty: number; full: number; hotEmpty: number; hotFull: number } {
  const fib = new Fib();
  const host = Buffer.alloc(16);
  host.writeUInt32BE(0xfd006d6f, 0);
  for (let i = 0; i < base; i++) {
    host.writeUInt32BE(i + 1, 12);
    fib.insert(host, 128, [1]);
  }
  const e = fib.stats();
  for (let i = 0; i < count; i++) {
    const { prefix, length } = parsePrefix(externalPrefix(i));
    fib.insert(prefix, length, [1]);
  }
  const f = fib.stats();
  return { empty: e.bytes, full: f.bytes, hotEmpty: e.hotBytes, hotFull: f.hotBytes };
}

const mib = (m: NodeMemory, k: keyof NodeMemory): number => m[k];
const fmt = (xs: (number | undefined)[]): string => xs.map((x, i) => `${nodeName(i)} ${x === undefined ? 'never' : x.toFixed(0)}`).join(', ');

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const net = new BirdPrefixNet({ prefix: runPrefix('bk'), dir: await tempDir('bird-prefixes'), nodes: NODES, count: COUNT, sample: SAMPLE });
  try {
    await net.build();
    await net.waitConverged(60_000);
    const sockets = net.sockets;
    // Let the start-up settle (LSA refreshes, BFD, the first GCs) before the baseline.
    await new Promise((r) => setTimeout(r, 3000));
    const base = await Promise.all(sockets.map((s) => net.routeCount(s)));
    const memBefore = await Promise.all(sockets.map((s) => net.memory(s)));
    const ospfBefore = await Promise.all(sockets.map((s) => ospfCounters(s)));

    // 1. Export.
    const t0 = performance.now();
    await net.birdCli('enable ext');
    const installed = await net.timeUntil(t0, (i, n) => n >= base[i]! + COUNT, INSTALL_TIMEOUT_MS);
    console.log(`# installed ${COUNT} prefixes (ms after birdc enable): ${fmt(installed)}`);
    const missing: string[] = [];
    for (const [i, s] of sockets.entries()) {
      const ext = await net.externalRoutes(s);
      let absent = 0;
      for (let k = 0; k < COUNT; k++) if (ext.get(externalPrefix(k))?.source !== 'ospf') absent++;
      if (absent > 0) missing.push(`${nodeName(i)}: ${absent} missing`);
    }
    if (missing.length > 0) console.log(`# NOT all installed: ${missing.join('; ')}`);
    for (const [i, t] of installed.entries()) {
      results.push({ name: `bird10k.install.${nodeName(i)}`, value: t ?? Number.NaN, unit: 'ms', note: `${COUNT} externals, birdc enable -> all in the FIB` });
    }
    const all = installed.every((x) => x !== undefined) ? Math.max(...(installed as number[])) : Number.NaN;
    results.push({ name: 'bird10k.install.all', value: all, unit: 'ms', note: `every node of ${NODES}${missing.length ? `; ${missing.join('; ')}` : ''}` });

    // 2. Memory and FIB size (after the dust settles: delayed acks, the last SPF, GC).
    await new Promise((r) => setTimeout(r, 3000));
    const memAfter = await Promise.all(sockets.map((s) => net.memory(s)));
    const after = await Promise.all(sockets.map((s) => net.routeCount(s)));
    for (const [i] of sockets.entries()) {
      const b = memBefore[i]!;
      const a = memAfter[i]!;
      results.push({
        name: `bird10k.rss.${nodeName(i)}`,
        value: mib(a, 'rss') - mib(b, 'rss'),
        unit: 'MiB',
        note: `RSS ${b.rss} -> ${a.rss} MiB; heap used ${b.heapUsed} -> ${a.heapUsed} MiB (total ${b.heapTotal} -> ${a.heapTotal}); external ${b.external} -> ${a.external}`,
      });
      results.push({ name: `bird10k.heap.${nodeName(i)}`, value: mib(a, 'heapUsed') - mib(b, 'heapUsed'), unit: 'MiB', note: 'main thread V8 heap used, growth' });
    }
    const fb = fibBytes(COUNT, base[0]!);
    results.push({ name: 'bird10k.fib.routes', value: after[0]!, unit: 'routes', note: `per node: ${after.map((n, i) => `${nodeName(i)} ${n}`).join(', ')} (before ${base.join(', ')})` });
    results.push({
      name: 'bird10k.fib.bytes',
      value: (fb.hotFull - fb.hotEmpty) / 1024,
      unit: 'KiB',
      note: `our FIB structure with the same routes, in use ${(fb.hotEmpty / 1024).toFixed(0)} -> ${(fb.hotFull / 1024).toFixed(0)} KiB, allocated ${(fb.empty / 1024).toFixed(0)} -> ${(fb.full / 1024).toFixed(0)} KiB`,
    });
    const ospfAfter = await Promise.all(sockets.map((s) => ospfCounters(s)));
    const plane = await Promise.all(sockets.map((s) => planeCounters(s)));
    for (const [i] of sockets.entries()) {
      const d = (k: string): number => (ospfAfter[i]![k] ?? 0) - (ospfBefore[i]![k] ?? 0);
      console.log(
        `# ${nodeName(i)} OSPF during the export: lsa_installed ${d('lsa_installed')}, lsa_flooded ${d('lsa_flooded')}, ` +
          `lsa_retransmitted ${d('lsa_retransmitted')}, spf_runs ${d('spf_runs')}, route_table_changes ${d('route_table_changes')}, ` +
          `drop_lsa_min_arrival ${d('drop_lsa_min_arrival')}; punt_policed_ospf ${plane[i]!['punt_policed_ospf'] ?? 0}, drop_punt_overflow ${plane[i]!['drop_punt_overflow'] ?? 0}`,
      );
    }

    // 3. Data plane: C -> a sample of the prefixes, answered by BIRD's namespace.
    const rx0 = await net.birdRxPackets();
    const ping = await net.pingSamples();
    const rx1 = await net.birdRxPackets();
    results.push({
      name: 'bird10k.forward.sample',
      value: ping.ok.length,
      unit: `of ${net.samples.length}`,
      note: `pings from ${nodeName(NODES - 1)} answered through the mesh; ${rx1 - rx0} packets arrived on BIRD's link${ping.failed.length ? `; failed: ${ping.failed.map(externalPrefix).join(' ')}` : ''}`,
    });

    // 4. Withdrawal.
    const t1 = performance.now();
    await net.birdCli('disable ext');
    const removed = await net.timeUntil(t1, (i, n) => n <= base[i]!, INSTALL_TIMEOUT_MS);
    console.log(`# removed ${COUNT} prefixes (ms after birdc disable): ${fmt(removed)}`);
    for (const [i, t] of removed.entries()) results.push({ name: `bird10k.withdraw.${nodeName(i)}`, value: t ?? Number.NaN, unit: 'ms', note: 'birdc disable -> none left' });
    const allW = removed.every((x) => x !== undefined) ? Math.max(...(removed as number[])) : Number.NaN;
    results.push({ name: 'bird10k.withdraw.all', value: allW, unit: 'ms', note: `every node of ${NODES}` });
    await new Promise((r) => setTimeout(r, 3000));
    const memEnd = await Promise.all(sockets.map((s) => net.memory(s)));
    console.log(`# memory after the withdrawal: ${memEnd.map((m, i) => `${nodeName(i)} RSS ${m.rss} heap ${m.heapUsed} MiB`).join(', ')}`);
  } catch (err) {
    console.log(`# failed: ${(err as Error).message}\n${await net.logs()}`);
    throw err;
  } finally {
    await net.destroy();
  }
  return results;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of await run()) console.log(formatResult(r));
}
