/**
 * Mesh scale with real daemons: convergence time and idle memory of 10, 20 and 30 MoltNet daemons, each in
 * its own namespace, in a seeded random connected mesh (a random spanning tree plus n/2 extra links,
 * average degree ~3; one VXLAN link per edge over its own veth; OSPF hello 1 / dead 4; BFD 100 ms x 3),
 * and in the same run the 30-node graph built of BIRD 2 routers (OSPFv3 ptp over the veths, the same
 * timers, `bfd yes` at 100 ms x 3, a /128 on each lo). test/helpers/mesh.ts builds both.
 *
 * Figures per mesh:
 * - converge: from spawning the first daemon until every node has a route to every other (MoltNet also:
 *   30 routers in every LSDB, every adjacency Full, identical LSDBs). MoltNet daemons are started two at
 *   a time (START_CONCURRENCY: a daemon's start is ~1-2 s of CPU, 30 at once on 2 cores time out), so this
 *   includes the staggered start; BIRD routers are all started at once (a few ms each).
 * - converge.ready: from the last daemon up (peering established) until converged: the routing protocol
 *   alone.
 * - rss, pss: VmRSS (/proc/<pid>/status) and Pss (/proc/<pid>/smaps_rollup) per daemon 5 s after
 *   convergence, median (max in the note).
 * - bfd flaps (MoltNet): transitions out of Up over all sessions, from start to the memory reading.
 * Ratios: MoltNet / BIRD at 30 nodes.
 *
 *   node dist/bench/mesh-scale.bench.js            (root; BENCH_MESH_SIZES=10,20,30, BENCH_MESH_SEED)
 *
 * Traffic only inside the namespaces made here.
 */
import { pathToFileURL } from 'node:url';
import { runPrefix, tempDir } from '../test/helpers/integration.js';
import {
  BirdMesh,
  bfdSummary,
  buildMoltnetMesh,
  destroyMoltnetMesh,
  memoryFigures,
  waitMoltnetConverged,
  type Convergence,
  type MemoryFigures,
  type MoltnetMesh,
} from '../test/helpers/mesh.js';
import { formatResult, type BenchResult } from './result.js';

const SIZES = (process.env['BENCH_MESH_SIZES'] ?? '10,20,30').split(',').map(Number).filter((x) => x > 1);
const SEED = Number(process.env['BENCH_MESH_SEED'] ?? 20261201);
const BIRD_N = Math.max(...SIZES);
const IDLE_MS = 5000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Figures {
  n: number;
  links: number;
  converge: Convergence;
  memory: MemoryFigures;
  note?: string;
}

async function moltnet(n: number): Promise<Figures & { flaps: number }> {
  let mesh: MoltnetMesh | undefined;
  try {
    mesh = await buildMoltnetMesh({ prefix: runPrefix(`s${n}`), n, seed: SEED, dir: await tempDir(`mesh-bench-${n}`) });
    const converge = await waitMoltnetConverged(mesh, 180_000);
    await sleep(IDLE_MS);
    const memory = await memoryFigures(mesh.chain.nodes.map((x) => x.pid!));
    const bfd = await bfdSummary(mesh.chain);
    console.log(`# moltnet ${n}: ${mesh.edges.length} links; BFD ${bfd.up}/${bfd.sessions} Up, ${bfd.downs} flaps, longest silence while Up ${bfd.maxRxGapMs.toFixed(0)} ms`);
    return { n, links: mesh.edges.length, converge, memory, flaps: bfd.downs };
  } finally {
    if (mesh) await destroyMoltnetMesh(mesh);
  }
}

async function bird(n: number): Promise<Figures> {
  const mesh = new BirdMesh(runPrefix(`sb`), await tempDir('mesh-bench-bird'), n, SEED);
  try {
    await mesh.build();
    const converge = await mesh.waitConverged(120_000);
    await sleep(IDLE_MS);
    const memory = await memoryFigures(await mesh.pids());
    console.log(`# bird ${n}: ${mesh.edges.length} links; BFD sessions Up ${await mesh.bfdUp()}/${2 * mesh.edges.length}`);
    return { n, links: mesh.edges.length, converge, memory };
  } finally {
    await mesh.destroy();
  }
}

function push(results: BenchResult[], impl: string, f: Figures): void {
  const p = `mesh.${impl}.${f.n}`;
  results.push({ name: `${p}.converge`, value: f.converge.fromStart / 1000, unit: 's', note: `${f.links} links; from the first spawn` });
  results.push({ name: `${p}.converge.ready`, value: f.converge.fromReady / 1000, unit: 's', note: 'from the last daemon up' });
  results.push({ name: `${p}.rss`, value: f.memory.rssMedian, unit: 'MiB', note: `median per daemon, max ${f.memory.rssMax.toFixed(1)}` });
  results.push({ name: `${p}.pss`, value: f.memory.pssMedian, unit: 'MiB', note: `median per daemon, max ${f.memory.pssMax.toFixed(1)}` });
}

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const m = new Map<number, Figures>();
  for (const n of SIZES) {
    const f = await moltnet(n);
    m.set(n, f);
    push(results, 'moltnet', f);
    results.push({ name: `mesh.moltnet.${n}.bfd.flaps`, value: f.flaps, unit: '', note: 'BFD sessions that left Up, start to idle' });
  }
  const b = await bird(BIRD_N);
  push(results, 'bird', b);
  const mm = m.get(BIRD_N)!;
  results.push({ name: 'mesh.ratio.converge', value: mm.converge.fromStart / b.converge.fromStart, unit: 'x', note: `MoltNet / BIRD, ${BIRD_N} nodes, from the first spawn` });
  results.push({ name: 'mesh.ratio.converge.ready', value: mm.converge.fromReady / Math.max(1, b.converge.fromReady), unit: 'x', note: 'from the last daemon up' });
  results.push({ name: 'mesh.ratio.rss', value: mm.memory.rssMedian / b.memory.rssMedian, unit: 'x', note: 'median VmRSS per daemon' });
  results.push({ name: 'mesh.ratio.pss', value: mm.memory.pssMedian / b.memory.pssMedian, unit: 'x', note: 'median Pss per daemon' });
  return results;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of await run()) console.log(formatResult(r));
}
