/**
 * Large meshes of real routers on one machine, shared by test/integration/mesh30.test.ts and
 * bench/mesh-scale.bench.ts:
 *
 * - meshEdges: a seeded random connected graph (a random spanning tree plus n/2 extra links, average
 *   degree ~3; test/helpers/ospf-net.ts's randomGraph, 0-based);
 * - buildMoltnetMesh: one daemon per namespace, one VXLAN link per edge over its own veth
 *   (src/demo/chain.ts's buildTopology), OSPF hello 1 / dead 4, BFD at its defaults (100 ms x 3);
 * - moltnetConverged: every node has 30 routers in its LSDB, Full adjacencies on every edge, a route to
 *   every other node, and every node's area LSDB is the same (type, IDs, sequence);
 * - BirdMesh: the same graph of BIRD 2 routers (OSPFv3 ptp over the veths, the same timers and BFD), a /128
 *   on each router's lo; converged when every kernel table has a route to every other router's /128;
 * - memoryOf: VmRSS (/proc/<pid>/status) and Pss (/proc/<pid>/smaps_rollup) of a process;
 * - pingAll: from every node, one echo to every other node (fping, all sources at once).
 *
 * Every wait is bounded; names come from the caller's prefix (unique per run).
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { callDaemon } from '../../src/cli/control-client.js';
import { buildTopology, destroyChain, type Chain } from '../../src/demo/chain.js';
import { connectVeth, createNamespace, deleteNamespace, sh } from '../../src/demo/netns.js';
import { formatIpv6 } from '../../src/common/address.js';
import { parseIpv6Address } from '../../src/common/ipv6-text.js';
import { CLI, run } from './integration.js';
import { prng, randomGraph } from './ospf-net.js';
import { startBird, waitFor, type RouterHandle } from './routers.js';

/** A random connected graph on nodes 0..n-1: a spanning tree plus round(n/2) extra links (degree ~3). */
export function meshEdges(n: number, seed: number): [number, number][] {
  // Never more extra links than the complete graph has room for (randomGraph would look for ever).
  const extra = Math.min(Math.round(n / 2), (n * (n - 1)) / 2 - (n - 1));
  return randomGraph(n, extra, prng(seed)).map((e): [number, number] => [e.a - 1, e.b - 1]);
}

export function degrees(n: number, edges: [number, number][]): number[] {
  const d = new Array<number>(n).fill(0);
  for (const [a, b] of edges) {
    d[a]!++;
    d[b]!++;
  }
  return d;
}

// ---------------------------------------------------------------------------------------------------------
// MoltNet

/** Config for every node of a mesh: fast OSPF hellos, no peer exchange (it would add links), BFD defaults. */
export const MESH_CONFIG = { ospf: { helloInterval: 1, deadInterval: 4 }, discovery: { lan: false, exchange: false } };

export interface MoltnetMesh {
  chain: Chain;
  edges: [number, number][];
  /** Epoch ms when the first daemon was spawned. */
  startedAt: number;
  /** Epoch ms when the last daemon was up with its peering sessions established. */
  readyAt: number;
}

/**
 * Daemons starting at once: each start is CPU-bound (module loading, keys, the TUN, the services), so on
 * a 2-core machine two at a time keeps both cores busy without 30 daemons all waiting for one another.
 */
export const START_CONCURRENCY = 2;

export async function buildMoltnetMesh(o: {
  prefix: string;
  n: number;
  seed: number;
  dir: string;
  extra?: Record<string, unknown>;
  startConcurrency?: number;
}): Promise<MoltnetMesh> {
  const edges = meshEdges(o.n, o.seed);
  let startedAt = 0;
  const chain = await buildTopology({
    prefix: o.prefix,
    nodes: o.n,
    edges,
    staticRoutes: 'none',
    dir: o.dir,
    cliPath: CLI,
    extra: { ...MESH_CONFIG, ...o.extra },
    onDaemonsStarted: () => (startedAt = Date.now()),
    startConcurrency: o.startConcurrency ?? START_CONCURRENCY,
  });
  return { chain, edges, startedAt, readyAt: Date.now() };
}

interface Lsa {
  type: string;
  linkStateId: string;
  advertisingRouter: string;
  sequence: string;
  scope: string;
}

const show = (socket: string, what: string) => callDaemon(socket, 'show', { what }, 5000);

/** Why the mesh is not converged yet, or undefined when it is (see the file comment). */
export async function moltnetNotConverged(mesh: MoltnetMesh): Promise<string | undefined> {
  const { chain, edges } = mesh;
  const n = chain.nodes.length;
  const deg = degrees(n, edges);
  const per = await Promise.all(
    chain.nodes.map(async (node) => {
      const [nbrs, db, routes] = await Promise.all([show(node.socket, 'ospf neighbors'), show(node.socket, 'ospf database'), show(node.socket, 'routes')]);
      return { node, nbrs: nbrs as { state: string }[], db: db as Lsa[], routes: routes as { prefix: string }[] };
    }),
  );
  for (const { node, nbrs, db, routes } of per) {
    const full = nbrs.filter((x) => x.state === 'Full').length;
    if (full !== deg[node.index]) return `${node.name}: ${full} of ${deg[node.index]} adjacencies Full`;
    const routers = new Set(db.filter((l) => l.type === 'Router').map((l) => l.advertisingRouter)).size;
    if (routers !== n) return `${node.name}: ${routers} routers in its LSDB`;
    const have = new Set(routes.map((r) => r.prefix));
    const missing = chain.nodes.filter((m) => m !== node && !have.has(`${m.address}/128`)).length;
    if (missing > 0) return `${node.name}: no route to ${missing} nodes`;
  }
  const digest = (db: Lsa[]) =>
    db
      .filter((l) => !l.scope.startsWith('link'))
      .map((l) => `${l.type} ${l.linkStateId} ${l.advertisingRouter} ${l.sequence}`)
      .sort()
      .join('\n');
  const first = digest(per[0]!.db);
  const differ = per.filter((p) => digest(p.db) !== first).map((p) => p.node.name);
  if (differ.length > 0) return `LSDBs differ from ${per[0]!.node.name}'s on ${differ.join(', ')}`;
  return undefined;
}

export interface Convergence {
  /** From the first daemon's spawn (ms). */
  fromStart: number;
  /** From the moment the last daemon was up (ms). */
  fromReady: number;
}

/** Wait until converged. Throws with the last reason. */
export async function waitMoltnetConverged(mesh: MoltnetMesh, timeoutMs: number): Promise<Convergence> {
  let why: string | undefined = 'not checked';
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    why = await moltnetNotConverged(mesh).catch((e: Error) => `a query failed: ${e.message}`);
    const now = Date.now();
    if (why === undefined) return { fromStart: now - mesh.startedAt, fromReady: Math.max(0, now - mesh.readyAt) };
    await sleep(250);
  }
  throw new Error(`the ${mesh.chain.nodes.length}-node mesh did not converge within ${timeoutMs} ms: ${why}`);
}

export interface BfdSummary {
  sessions: number;
  up: number;
  /** Transitions out of Up over all sessions (flaps). */
  downs: number;
  /** The longest silence any session saw while Up (ms). */
  maxRxGapMs: number;
  /** Sessions that went down at least once, as `node/link`. */
  flapped: string[];
  /** Expired detection times the packet door brought back (packets queued behind a late timer). */
  detectSaved: number;
}

export async function bfdSummary(chain: Chain): Promise<BfdSummary> {
  const s: BfdSummary = { sessions: 0, up: 0, downs: 0, maxRxGapMs: 0, flapped: [], detectSaved: 0 };
  for (const node of chain.nodes) {
    const sessions = (await show(node.socket, 'bfd')) as { link: string; state: string; detectSaved: number; counters: { downCount: number; maxRxGapMs: number } }[];
    for (const x of sessions) {
      s.sessions++;
      s.detectSaved += x.detectSaved;
      if (x.state === 'Up') s.up++;
      s.downs += x.counters.downCount;
      s.maxRxGapMs = Math.max(s.maxRxGapMs, x.counters.maxRxGapMs);
      if (x.counters.downCount > 0) s.flapped.push(`${node.name}/${x.link}`);
    }
  }
  return s;
}

export function destroyMoltnetMesh(mesh: MoltnetMesh): Promise<void> {
  return destroyChain(mesh.chain);
}

// ---------------------------------------------------------------------------------------------------------
// Memory

export interface Memory {
  /** KiB. */
  rss: number;
  pss: number;
}

export async function memoryOf(pid: number): Promise<Memory> {
  const kib = (text: string, key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  const [status, rollup] = await Promise.all([readFile(`/proc/${pid}/status`, 'utf8'), readFile(`/proc/${pid}/smaps_rollup`, 'utf8')]);
  return { rss: kib(status, 'VmRSS'), pss: kib(rollup, 'Pss') };
}

/** CPU time (user + system) a process has used, in seconds (/proc/<pid>/stat; 100 ticks a second). */
export async function cpuSecondsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface MemoryFigures {
  rssMedian: number;
  rssMax: number;
  pssMedian: number;
  pssMax: number;
}

/** Median and max of VmRSS and Pss over the processes (MiB). */
export async function memoryFigures(pids: number[]): Promise<MemoryFigures> {
  const m = await Promise.all(pids.map(memoryOf));
  const mib = (x: number) => x / 1024;
  return {
    rssMedian: mib(median(m.map((x) => x.rss))),
    rssMax: mib(Math.max(...m.map((x) => x.rss))),
    pssMedian: mib(median(m.map((x) => x.pss))),
    pssMax: mib(Math.max(...m.map((x) => x.pss))),
  };
}

export function formatMemory(m: MemoryFigures): string {
  return `VmRSS median ${m.rssMedian.toFixed(1)} MiB, max ${m.rssMax.toFixed(1)} MiB; Pss median ${m.pssMedian.toFixed(1)} MiB, max ${m.pssMax.toFixed(1)} MiB`;
}

// ---------------------------------------------------------------------------------------------------------
// Ping every pair

export interface PingAll {
  pairs: number;
  /** `from -> to` of the pairs with no reply. */
  failed: string[];
  ms: number;
}

/**
 * Sources at once in pingAll. All 30 at once (fping sends 100 echoes/s each: ~3,000/s into the mesh,
 * each crossing ~3.5 userspace hops) overloads 30 daemons on 2 cores: BFD sessions time out, their
 * dampening holds links down for seconds and most pairs go unanswered. 5 at a time is ~500 echoes/s.
 */
export const PING_SOURCES_AT_ONCE = 5;

/**
 * From every node, one echo to each other node (fping: 10 ms apart, 2 s timeout, no retry), `atOnce`
 * sources at a time. `source` optionally sets the source address per node.
 */
export async function pingAll(
  nodes: { ns: string; address: string; name: string; source?: string }[],
  timeoutMs = 2000,
  atOnce = PING_SOURCES_AT_ONCE,
  /** Only these pairs (as `from -> to` in the names `failed` reports); all of them when absent. */
  only?: Set<string>,
): Promise<PingAll> {
  const t0 = Date.now();
  const failed: string[] = [];
  let pairs = 0;
  let next = 0;
  const worker = async () => {
    while (next < nodes.length) await one(nodes[next++]!);
  };
  const one = async (from: (typeof nodes)[number]) => {
    {
      const targets = nodes.filter((t) => t !== from && (!only || only.has(`${from.name} -> ${t.name}`)));
      if (targets.length === 0) return;
      pairs += targets.length;
      const args = ['netns', 'exec', from.ns, 'fping', '-6', '-a', '-r', '0', '-t', String(timeoutMs), ...(from.source ? ['-S', from.source] : []), ...targets.map((t) => t.address)];
      const r = await run('ip', args, timeoutMs + 20 * targets.length + 10_000);
      const alive = new Set(r.stdout.split('\n').map((l) => l.trim()));
      for (const t of targets) if (!alive.has(t.address)) failed.push(`${from.name} -> ${t.name}`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, atOnce) }, worker));
  return { pairs, failed, ms: Date.now() - t0 };
}

// ---------------------------------------------------------------------------------------------------------
// BIRD

/** Router i's loopback, in the text `ip route` prints (RFC 5952: router 0's is fdff:6d6c::1, not fdff:6d6c:0::1). */
export const birdLo = (i: number) => formatIpv6(parseIpv6Address(`fdff:6d6c:${i.toString(16)}::1`));

function birdConfig(i: number, ifaces: string[]): string {
  return `
router id 10.202.${i >> 8}.${(i & 255) + 1};
log stderr { warning, error, auth, fatal, bug };
protocol device { scan time 10; }
protocol direct { ipv6; interface "lo"; }
protocol kernel { ipv6 { import none; export where source ~ [ RTS_OSPF, RTS_OSPF_IA, RTS_OSPF_EXT1, RTS_OSPF_EXT2 ]; }; }
protocol bfd { interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }
protocol ospf v3 mesh {
  ipv6 { import all; export where source = RTS_DEVICE; };
  area 0 {
${ifaces.map((f) => `    interface "${f}" { type ptp; hello 1; dead 4; cost 10; bfd yes; };`).join('\n')}
  };
}
`;
}

/** The same graph as a MoltNet mesh, of BIRD 2 routers joined directly by veths. */
export class BirdMesh {
  readonly ns: string[];
  readonly routers: (RouterHandle | undefined)[];
  readonly edges: [number, number][];
  private readonly ifaces: string[][];
  startedAt = 0;
  readyAt = 0;

  constructor(
    readonly prefix: string,
    readonly dir: string,
    readonly n: number,
    seed: number,
  ) {
    this.edges = meshEdges(n, seed);
    this.ns = Array.from({ length: n }, (_, i) => `${prefix}b${i + 1}`);
    this.routers = new Array(n).fill(undefined);
    this.ifaces = this.ns.map(() => []);
  }

  async build(): Promise<void> {
    for (const ns of this.ns) {
      await createNamespace(ns);
      for (const k of ['all', 'default']) {
        await sh('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `net.ipv6.conf.${k}.forwarding=1`]);
        await sh('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `net.ipv6.conf.${k}.accept_dad=0`]);
      }
    }
    for (const [h, [i, j]] of this.edges.entries()) {
      const [a, b] = [`${this.prefix}w${h}a`, `${this.prefix}w${h}b`];
      await connectVeth(this.ns[i]!, a, `fdff:6d6d:${h.toString(16)}::1/64`, this.ns[j]!, b, `fdff:6d6d:${h.toString(16)}::2/64`);
      this.ifaces[i]!.push(a);
      this.ifaces[j]!.push(b);
    }
    for (const [i, ns] of this.ns.entries()) await sh('ip', ['-n', ns, '-6', 'addr', 'add', `${birdLo(i)}/128`, 'dev', 'lo']);
    this.startedAt = Date.now();
    // startBird waits for each daemon to answer; all of them are started at once, as the MoltNet daemons are.
    await Promise.all(this.ns.map(async (ns, i) => (this.routers[i] = await startBird(ns, this.dir, `bird${i + 1}`, birdConfig(i, this.ifaces[i]!)))));
    this.readyAt = Date.now();
  }

  /** Why not converged, or undefined: every kernel table has a route (via a neighbor) to every other lo. */
  async notConverged(): Promise<string | undefined> {
    const missing = await Promise.all(
      this.ns.map(async (ns, i) => {
        const out = (await run('ip', ['-n', ns, '-6', 'route', 'show', 'proto', 'bird'], 10_000)).stdout;
        const have = new Set(out.split('\n').map((l) => l.split(' ')[0]));
        return this.ns.filter((_, j) => j !== i && !have.has(`${birdLo(j)}`) && !have.has(`${birdLo(j)}/128`)).length;
      }),
    );
    const bad = missing.findIndex((m) => m > 0);
    return bad < 0 ? undefined : `bird${bad + 1}: no route to ${missing[bad]} routers`;
  }

  async waitConverged(timeoutMs: number): Promise<Convergence> {
    let why: string | undefined = 'not checked';
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      why = await this.notConverged();
      const now = Date.now();
      if (why === undefined) return { fromStart: now - this.startedAt, fromReady: Math.max(0, now - this.readyAt) };
      await sleep(250);
    }
    throw new Error(`the ${this.n}-router BIRD mesh did not converge within ${timeoutMs} ms: ${why}`);
  }

  async pids(): Promise<number[]> {
    return Promise.all(this.ns.map(async (_, i) => Number((await readFile(join(this.dir, `bird${i + 1}.pid`), 'utf8')).trim())));
  }

  /** BFD sessions Up over all routers (birdc show bfd sessions). */
  async bfdUp(): Promise<number> {
    let up = 0;
    for (const r of this.routers) up += ((await r?.cli('show bfd sessions')) ?? '').match(/\bUp\b/g)?.length ?? 0;
    return up;
  }

  async destroy(): Promise<void> {
    await Promise.all(this.routers.map((r) => r?.stop().catch(() => undefined)));
    // A router whose start timed out has no handle: end whatever still runs in the namespaces.
    for (const ns of this.ns) await killNamespacePids(ns);
    for (const ns of this.ns) await deleteNamespace(ns);
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** SIGKILL every process still in `ns` (`ip netns pids`); a process outlives its deleted namespace. */
export async function killNamespacePids(ns: string): Promise<void> {
  const out = (await run('ip', ['netns', 'pids', ns], 5000)).stdout;
  for (const pid of out.split('\n').map(Number).filter((p) => p > 0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

// Re-exported so callers need one import for the waits.
export { waitFor };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
