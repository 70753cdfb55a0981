/**
 * Soak: BENCH_SOAK_SECONDS (default 600) of saturating iperf3 through a node while another of its links
 * flaps every 10 s (nftables cut, 10 s later mended, and so on):
 *
 *     A ---- M ---- C        iperf3 -P 2 from A to C, through M
 *            |
 *            D               M-D: cut and mended every 10 s
 *
 * Figures: the BFD flaps on the links that are not flapped (A-M, M-C on both ends: must be 0); M's resident
 * memory at the start, after warm-up (the first 60 s, or a tenth of a shorter run) and at the end, and its
 * slope after warm-up (least squares, MiB per hour), and the lowest within 60 s once the traffic stops (what
 * the run left behind, once V8 has given back the heap it grew for the load); M's open file descriptors and active timers
 * (`show status` resources) at warm-up and at the end; the throughput.
 *
 *   node dist/bench/soak.bench.js          (root; BENCH_SOAK_SECONDS=60 for a short run)
 *
 * Traffic only inside the namespaces made here.
 */
import { pathToFileURL } from 'node:url';
import { spawn } from 'node:child_process';
import { buildTopology, destroyChain, type Chain } from '../src/demo/chain.js';
import { callDaemon } from '../src/cli/control-client.js';
import { CLI, inNs, runPrefix, tempDir } from '../test/helpers/integration.js';
import { cutEdge } from '../test/helpers/faults.js';
import { waitFor } from '../test/helpers/routers.js';
import { formatResult, type BenchResult } from './result.js';

const SECONDS = Math.max(30, Number(process.env['BENCH_SOAK_SECONDS'] ?? 600));
const FLAP_EVERY_MS = 10_000;
const SAMPLE_EVERY_MS = 5_000;
const A = 0;
const M = 1;
const C = 2;
const FLAPPED_EDGE = 2; // M-D

interface Status {
  memory: { rss: number; heapUsed: number; heapAfterFullGc: number | null; fullGcs: number };
  resources: { fds: number | null; handles: Record<string, number> };
}
interface Session {
  link: string;
  state: string;
  counters: { stateChanges: number };
}

/** Slope of y over x by least squares. */
export function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export async function run(): Promise<BenchResult[]> {
  let chain: Chain | undefined;
  const results: BenchResult[] = [];
  try {
    chain = await buildTopology({
      prefix: runPrefix('sk'),
      nodes: 4,
      edges: [
        [A, M],
        [M, C],
        [M, 3],
      ],
      staticRoutes: 'none',
      dir: await tempDir('soak'),
      cliPath: CLI,
      extra: { ospf: { helloInterval: 1, deadInterval: 4 }, discovery: { exchange: false } },
    });
    const ch = chain;
    const status = async (i: number) => (await callDaemon(ch.nodes[i]!.socket, 'show', { what: 'status' })) as Status;
    const bfd = async (i: number) => (await callDaemon(ch.nodes[i]!.socket, 'show', { what: 'bfd' })) as Session[];
    await waitFor(async () => (await Promise.all([A, M, C, 3].map(bfd))).every((l) => l.length > 0 && l.every((s) => s.state === 'Up')), 30_000, 'BFD sessions did not come Up');
    await waitFor(async () => (await inNs(ch.nodes[A]!.ns, 'ping', ['-6', '-c', '1', '-W', '1', ch.nodes[C]!.address], 5000)).code === 0, 30_000, 'A does not reach C');
    // The sessions of the links that are not flapped: A's, C's, and M's towards A and C.
    const steadyNames = new Set([ch.nodes[A]!.name, ch.nodes[C]!.name, ch.nodes[M]!.name]);
    const steady = async () => {
      const out = new Map<string, number>();
      for (const i of [A, M, C]) for (const s of await bfd(i)) if (steadyNames.has(s.link)) out.set(`${ch.nodes[i]!.name}>${s.link}`, s.counters.stateChanges);
      return out;
    };
    const before = await steady();

    const server = spawn('ip', ['netns', 'exec', ch.nodes[C]!.ns, 'iperf3', '-s', '-1', '-B', ch.nodes[C]!.address], { stdio: 'ignore' });
    const samples: { t: number; rss: number; heap: number; live: number | null; fullGcs: number; fds: number | null; timers: number }[] = [];
    const t0 = Date.now();
    let cut = false;
    let flaps = 0;
    let stop = false;
    const sampler = (async () => {
      while (!stop) {
        const s = await status(M);
        samples.push({ t: (Date.now() - t0) / 1000, rss: s.memory.rss, heap: s.memory.heapUsed, live: s.memory.heapAfterFullGc, fullGcs: s.memory.fullGcs, fds: s.resources.fds, timers: s.resources.handles['Timeout'] ?? 0 });
        await new Promise((r) => setTimeout(r, SAMPLE_EVERY_MS));
      }
    })();
    const flapper = (async () => {
      while (!stop) {
        await new Promise((r) => setTimeout(r, FLAP_EVERY_MS));
        if (stop) break;
        cut = !cut;
        await cutEdge(ch, FLAPPED_EDGE, cut);
        flaps++;
      }
    })();
    let mbps = 0;
    try {
      await new Promise((r) => setTimeout(r, 500));
      const r = await inNs(ch.nodes[A]!.ns, 'iperf3', ['-c', ch.nodes[C]!.address, '-t', String(SECONDS), '-P', '2', '-J'], (SECONDS + 60) * 1000);
      if (r.code === 0) mbps = (JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second / 1e6;
      else console.log(`# iperf3 failed: ${r.stdout.slice(-300)}`);
    } finally {
      stop = true;
      server.kill('SIGKILL');
      await Promise.all([sampler, flapper]);
      if (cut) await cutEdge(ch, FLAPPED_EDGE, false);
    }
    const afterS = await steady();
    // What the run left behind: with the traffic stopped, V8's memory reducer returns the heap it grew
    // for the load (some 10-30 s later); the lowest figure within 60 s is what stays.
    let settled = Infinity;
    let settledHeap = Infinity;
    const settleUntil = Date.now() + 60_000;
    while (Date.now() < settleUntil) {
      const s = await status(M);
      settled = Math.min(settled, s.memory.rss);
      settledHeap = Math.min(settledHeap, s.memory.heapUsed);
      await new Promise((r) => setTimeout(r, 2000));
    }
    const flapped = [...afterS].filter(([k, v]) => v !== before.get(k)).map(([k, v]) => `${k} ${before.get(k)}->${v}`);

    const warm = Math.min(60, SECONDS / 10);
    const late = samples.filter((s) => s.t >= warm);
    const first = late[0] ?? samples[0]!;
    const last = samples[samples.length - 1]!;
    const perHour = slope(late.map((s) => ({ x: s.t, y: s.rss }))) * 3600;
    console.log(`# M rss (MiB) every ${SAMPLE_EVERY_MS / 1000} s: ${samples.map((s) => s.rss.toFixed(0)).join(' ')}`);
    console.log(`# M main heap used (MiB): ${samples.map((s) => s.heap.toFixed(1)).join(' ')}`);
    results.push({ name: 'soak.seconds', value: SECONDS, unit: 's', note: `${flaps} flaps of M-D, iperf3 -P 2 A->C through M` });
    results.push({ name: 'soak.throughput', value: mbps, unit: 'Mbit/s' });
    results.push({ name: 'soak.bfd.flaps', value: flapped.length, unit: 'sessions', note: flapped.length ? flapped.join(', ') : 'no flap on A-M and M-C' });
    results.push({ name: 'soak.rss.start', value: samples[0]!.rss, unit: 'MiB' });
    results.push({ name: 'soak.rss.warm', value: first.rss, unit: 'MiB', note: `at ${first.t.toFixed(0)} s` });
    results.push({ name: 'soak.rss.end', value: last.rss, unit: 'MiB' });
    results.push({ name: 'soak.rss.settled', value: settled, unit: 'MiB', note: `lowest within 60 s after the traffic: ${(settled - first.rss).toFixed(1)} MiB vs after warm-up; main heap ${settledHeap} MiB used` });
    results.push({ name: 'soak.rss.slope', value: perHour, unit: 'MiB/h', note: `least squares over ${late.length} samples after ${warm.toFixed(0)} s` });
    // A heap still growing to the size the load needs bends over; a leak keeps its slope. So the slope of
    // the second half beside the whole, and the main thread's heap beside the resident set.
    const half = late.slice(Math.floor(late.length / 2));
    const halfPerHour = slope(half.map((s) => ({ x: s.t, y: s.rss }))) * 3600;
    const heapPerHour = slope(half.map((s) => ({ x: s.t, y: s.heap }))) * 3600;
    results.push({ name: 'soak.rss.slope-second-half', value: halfPerHour, unit: 'MiB/h', note: `over ${half.length} samples from ${half[0]?.t.toFixed(0) ?? '?'} s` });
    results.push({ name: 'soak.heap.slope-second-half', value: heapPerHour, unit: 'MiB/h', note: `main thread's heapUsed, ${half[0]?.heap.toFixed(1) ?? '?'} -> ${half[half.length - 1]?.heap.toFixed(1) ?? '?'} MiB` });
    // What a full collection leaves is the live data (and V8's code): a leak raises it from one full
    // collection to the next, where heapUsed rises with garbage too. One point per full collection.
    const lives = late.filter((s, i) => s.live !== null && (i === 0 || s.fullGcs !== late[i - 1]!.fullGcs));
    console.log(`# M main heap after each full GC (MiB, at s): ${lives.map((s) => `${s.live!.toFixed(1)}@${s.t.toFixed(0)}`).join(' ')}`);
    const livePerHour = slope(lives.map((s) => ({ x: s.t, y: s.live! }))) * 3600;
    results.push({
      name: 'soak.heap.after-full-gc.slope',
      value: livePerHour,
      unit: 'MiB/h',
      note: `${lives.length} points, ${lives[0]?.live ?? '?'} -> ${lives[lives.length - 1]?.live ?? '?'} MiB; ${last.fullGcs - first.fullGcs} full GCs after warm-up`,
    });
    results.push({ name: 'soak.fds', value: (last.fds ?? 0) - (first.fds ?? 0), unit: 'delta', note: `${first.fds} after warm-up, ${last.fds} at the end` });
    results.push({ name: 'soak.timers', value: last.timers - first.timers, unit: 'delta', note: `${first.timers} after warm-up, ${last.timers} at the end` });
  } finally {
    if (chain) await destroyChain(chain);
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const r of await run()) console.log(formatResult(r));
}
