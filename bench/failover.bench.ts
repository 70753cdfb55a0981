/**
 * Failover benchmark: the ping loss window when the active path of a diamond fails,
 *
 *        B
 *      /   \        A-B-D costs 20 (active), A-C-D costs 30 (backup)
 *     A     D
 *      \   /
 *        C
 *
 * for a diamond of MoltNet nodes (OSPFv3 hello 1 / dead 4, BFD 100 ms x 3, VXLAN links) and, in the same
 * run, the same diamond of BIRD 2 routers (OSPFv3 ptp over veths, `bfd yes`, BFD 100 ms x 3, the same
 * costs, a /128 on D's lo pinged from A's lo). Failure kinds: an nftables drop on B (MoltNet: its VXLAN
 * underlay in and out; BIRD: everything in, out and through B's two links) and SIGKILL of B's daemon
 * (moltnet / bird). Each trial: ping A -> D every 9 ms, cut, wait for the backup path, restore B, wait
 * until traffic is back on A-B-D. The loss window is the time between the last reply before the outage
 * and the first reply after it. Median and max per kind, and the ratio MoltNet / BIRD of the medians
 * (failover.ratio: the nft drop, where B's links die for both; with SIGKILL, B's kernel keeps forwarding
 * on the routes a dead bird left, so BIRD's figure is not a failover at all).
 *
 * Before every cut the network is left quiet for STEADY_MS (6 s, longer than OSPF's MinLSInterval): BIRD
 * computes routes from its LSDB and would otherwise wait for its own Router-LSA to be re-originated.
 * BIRD's route calculation runs on its `tick` (1 s, the least it can be), which bounds its figure.
 *
 *   node dist/bench/failover.bench.js          (root; BENCH_FAILOVER_TRIALS=5 per kind by default)
 *
 * Traffic only inside the namespaces made here.
 */
import { pathToFileURL } from 'node:url';
import { rm } from 'node:fs/promises';
import { BirdDiamond, MoltnetDiamond, buildMoltnetDiamond, median, type FailureKind, type Trial } from '../test/helpers/failover.js';
import { runPrefix, tempDir } from '../test/helpers/integration.js';
import { formatResult, type BenchResult } from './result.js';

const TRIALS = Math.max(1, Number(process.env['BENCH_FAILOVER_TRIALS'] ?? 5));
const KINDS: FailureKind[] = ['nft', 'kill'];

interface Net {
  converge(): Promise<void>;
  trial(kind: FailureKind): Promise<Trial>;
}

/** TRIALS trials of each kind, alternating kinds. */
async function trials(impl: string, net: Net): Promise<Record<FailureKind, Trial[]>> {
  const out: Record<FailureKind, Trial[]> = { nft: [], kill: [] };
  await net.converge();
  for (let i = 0; i < TRIALS; i++) {
    for (const kind of KINDS) {
      const t = await net.trial(kind);
      out[kind].push(t);
      console.log(
        `# ${impl} ${kind} trial ${i + 1}: window ${t.windowMs.toFixed(0)} ms, ${t.lost} lost x ${t.cadenceMs.toFixed(1)} ms = ${t.lostMs.toFixed(0)} ms; ` +
          `restore window ${t.restoreWindowMs.toFixed(0)} ms`,
      );
    }
  }
  return out;
}

function figures(impl: string, r: Record<FailureKind, Trial[]>, results: BenchResult[]): Record<FailureKind | 'all', number> {
  const med: Record<string, number> = {};
  for (const kind of KINDS) {
    const w = r[kind].map((t) => t.windowMs);
    med[kind] = median(w);
    results.push({ name: `failover.${impl}.${kind}.median`, value: med[kind]!, unit: 'ms', note: `trials: ${w.map((x) => x.toFixed(0)).join(', ')}` });
    results.push({ name: `failover.${impl}.${kind}.max`, value: Math.max(...w), unit: 'ms' });
    const rw = r[kind].map((t) => t.restoreWindowMs);
    results.push({ name: `failover.${impl}.${kind}.restore`, value: median(rw), unit: 'ms', note: `median window when B comes back; max ${Math.max(...rw).toFixed(0)}` });
  }
  med['all'] = median(KINDS.flatMap((k) => r[k].map((t) => t.windowMs)));
  return med as Record<FailureKind | 'all', number>;
}

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];

  const mDir = await tempDir('failover-bench');
  const moltnet = new MoltnetDiamond(await buildMoltnetDiamond(runPrefix('fm'), mDir));
  let m: Record<FailureKind, Trial[]>;
  try {
    m = await trials('moltnet', moltnet);
  } finally {
    await moltnet.destroy();
  }
  const mm = figures('moltnet', m, results);
  const all = KINDS.flatMap((k) => m[k].map((t) => t.windowMs));
  results.push({
    name: 'failover.moltnet.median',
    value: mm.all,
    unit: 'ms',
    note: `all ${all.length} trials, max ${Math.max(...all).toFixed(0)}; goal under 500 ms: ${mm.all < 500 ? 'met' : 'NOT met'}`,
  });

  const bDir = await tempDir('failover-bird');
  const bird = new BirdDiamond(runPrefix('fb'), bDir);
  let b: Record<FailureKind, Trial[]>;
  try {
    await bird.build();
    b = await trials('bird', bird);
  } finally {
    await bird.destroy();
    await rm(bDir, { recursive: true, force: true });
  }
  const bm = figures('bird', b, results);

  // nft: B's links are dead for both (MoltNet: the VXLAN underlay; BIRD: the veths) -- the comparable case.
  results.push({ name: 'failover.ratio', value: mm.nft / bm.nft, unit: 'x', note: 'MoltNet / BIRD median loss window, nft drop on B' });
  // kill: MoltNet's forwarding plane dies with its daemon; a SIGKILLed bird leaves B's kernel forwarding on
  // its last routes, so BIRD loses (next to) nothing and the figure compares different failures.
  results.push({
    name: 'failover.ratio.kill',
    value: mm.kill / bm.kill,
    unit: 'x',
    note: "SIGKILL of B's daemon; not like for like: B's kernel keeps forwarding after bird dies",
  });
  return results;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of await run()) console.log(formatResult(r));
}
