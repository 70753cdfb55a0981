/**
 * BIRD 2 originating many AS-external prefixes into a chain of MoltNet nodes:
 *
 *   BIRD (ns r) ==kernel link== n1 --vxlan-- n2 --vxlan-- ... nN
 *
 * BIRD's `static` protocol `ext` holds `count` blackhole routes (2001:db8:<i>::/48, documentation
 * space) and starts disabled; OSPF exports it (AS-External-LSAs, E2). `birdc enable ext` starts the export,
 * `birdc disable ext` withdraws it (BIRD flushes the LSAs at MaxAge). A sample of the prefixes gets an
 * address (<prefix>::1/128) on BIRD's lo, and the last node's namespace routes 2001:db8::/32 into molt0,
 * so a ping from the last node to a sampled address crosses the whole mesh and is answered by BIRD's kernel.
 * Shared by bench/bird-prefixes.bench.ts and test/integration/bird-prefixes.test.ts. Every wait is bounded;
 * destroy() tolerates half-built state.
 */
import { rm } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import { callDaemon } from '../../src/cli/control-client.js';
import { buildTopology, destroyChain, type Chain } from '../../src/demo/chain.js';
import { createNamespace, deleteNamespace, sh } from '../../src/demo/netns.js';
import { CLI, inNs } from './integration.js';
import { startBird, waitFor, type RouterHandle } from './routers.js';

export interface BirdPrefixOptions {
  /** Namespace/interface prefix (runPrefix). */
  prefix: string;
  dir: string;
  /** MoltNet nodes in the chain behind BIRD (at least 1). */
  nodes: number;
  /** External prefixes BIRD originates. */
  count: number;
  /** How many of them get an address in BIRD's namespace for the data-plane check. */
  sample: number;
  /** Seed of the sample. */
  seed?: number;
}

export interface NodeMemory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

/** 2001:db8:<i>::/48 for i < 65536, in the canonical form `show routes` prints. */
export function externalPrefix(i: number): string {
  if (!(i >= 0 && i < 0x10000)) throw new RangeError(`prefix index ${i} out of 0..65535`);
  return i === 0 ? '2001:db8::/48' : `2001:db8:${i.toString(16)}::/48`;
}

/** The address in BIRD's namespace for sampled prefix i. */
export function sampleAddress(i: number): string {
  return i === 0 ? '2001:db8::1' : `2001:db8:${i.toString(16)}::1`;
}

/** `k` distinct indexes of 0..n-1, from a seeded generator (mulberry32). */
export function sampleIndexes(n: number, k: number, seed: number): number[] {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const picked = new Set<number>();
  while (picked.size < Math.min(k, n)) picked.add(Math.floor(next() * n));
  return [...picked];
}

export function birdConfig(ifname: string, count: number): string {
  const routes: string[] = [];
  for (let i = 0; i < count; i++) routes.push(`  route ${externalPrefix(i)} blackhole;`);
  return `
router id 10.200.0.1;
log stderr { info, warning, error, fatal };
protocol device { scan time 2; }
protocol kernel { ipv6 { import none; export where source = RTS_OSPF; }; }
protocol static ext {
  disabled yes;
  ipv6;
${routes.join('\n')}
}
protocol ospf v3 mesh {
  ipv6 { import all; export where source = RTS_STATIC; };
  area 0 {
    interface "${ifname}" { type ptp; hello 1; dead 4; };
  };
}
`;
}

export class BirdPrefixNet {
  readonly birdNs: string;
  readonly mlink: string;
  chain: Chain | undefined;
  bird: RouterHandle | undefined;
  readonly samples: number[];

  constructor(readonly o: BirdPrefixOptions) {
    this.birdNs = `${o.prefix}r`;
    this.mlink = `${o.prefix}ml`;
    this.samples = sampleIndexes(o.count, o.sample, o.seed ?? 12);
  }

  get sockets(): string[] {
    return this.chain?.nodes.map((n) => n.socket) ?? [];
  }

  get lastNs(): string {
    return this.chain!.nodes[this.chain!.nodes.length - 1]!.ns;
  }

  async build(): Promise<void> {
    const o = this.o;
    await createNamespace(this.birdNs);
    const edges: [number, number][] = [];
    for (let i = 0; i + 1 < o.nodes; i++) edges.push([i, i + 1]);
    this.chain = await buildTopology({
      prefix: o.prefix,
      nodes: o.nodes,
      dir: o.dir,
      cliPath: CLI,
      edges,
      staticRoutes: 'none',
      extra: { ospf: { helloInterval: 1, deadInterval: 4 } },
      perNode: (i) => (i === 0 ? { kernelLinks: [{ name: this.mlink, netns: this.birdNs }] } : {}),
    });
    for (const i of this.samples) await sh('ip', ['-n', this.birdNs, '-6', 'addr', 'add', `${sampleAddress(i)}/128`, 'dev', 'lo']);
    const last = this.chain.nodes[this.chain.nodes.length - 1]!;
    await sh('ip', ['-n', last.ns, '-6', 'route', 'add', '2001:db8::/32', 'dev', 'molt0', 'src', last.address]);
    // The kernel link appears in BIRD's namespace when n1 starts.
    await waitFor(async () => (await sh('ip', ['-n', this.birdNs, 'link', 'show', this.mlink])).length > 0, 10_000, `${this.mlink} in ${this.birdNs}`);
    this.bird = await startBird(this.birdNs, o.dir, 'bird', birdConfig(this.mlink, o.count));
  }

  /** Every node has every other node's /128 and the adjacency with BIRD is Full. */
  async waitConverged(timeoutMs: number): Promise<void> {
    const nodes = this.chain!.nodes;
    await waitFor(
      async () => {
        const nb = (await callDaemon(nodes[0]!.socket, 'show', { what: 'ospf neighbors' })) as { interface: string; state: string }[];
        if (!nb.some((n) => n.interface === this.mlink && n.state === 'Full')) return false;
        for (const n of nodes) {
          const routes = (await callDaemon(n.socket, 'show', { what: 'routes' })) as { prefix: string }[];
          for (const m of nodes) if (m !== n && !routes.some((r) => r.prefix === `${m.address}/128`)) return false;
        }
        const t = await sh('ip', ['-n', this.birdNs, '-6', 'route', 'show']);
        return nodes.every((n) => t.includes(n.address));
      },
      timeoutMs,
      'the mesh and BIRD did not converge',
    );
  }

  async routeCount(socket: string): Promise<number> {
    const s = (await callDaemon(socket, 'show', { what: 'status' }, 10_000)) as { routes: number };
    return s.routes;
  }

  async memory(socket: string): Promise<NodeMemory> {
    const s = (await callDaemon(socket, 'show', { what: 'status' }, 10_000)) as { memory: NodeMemory };
    return s.memory;
  }

  /** The 2001:db8::/32 routes of a node's `show routes` (prefix -> source). */
  async externalRoutes(socket: string): Promise<Map<string, { source: string; type?: string; via: string[] }>> {
    const routes = (await callDaemon(socket, 'show', { what: 'routes' }, 30_000)) as { prefix: string; source: string; type?: string; via: string[] }[];
    const out = new Map<string, { source: string; type?: string; via: string[] }>();
    for (const r of routes) if (r.prefix.startsWith('2001:db8:')) out.set(r.prefix, r);
    return out;
  }

  /**
   * Poll every node's route count until `done(node, count)` holds for all of them (or the deadline); returns each
   * node's time (ms after `t0`, performance.now() clock) when it first held, undefined if never.
   */
  async timeUntil(t0: number, done: (node: number, routes: number) => boolean, timeoutMs: number, pollMs = 100): Promise<(number | undefined)[]> {
    const sockets = this.sockets;
    const at: (number | undefined)[] = sockets.map(() => undefined);
    const deadline = t0 + timeoutMs;
    while (performance.now() < deadline && at.some((x) => x === undefined)) {
      await Promise.all(
        sockets.map(async (s, i) => {
          if (at[i] !== undefined) return;
          const n = await this.routeCount(s).catch(() => -1);
          if (n >= 0 && done(i, n)) at[i] = performance.now() - t0;
        }),
      );
      await new Promise((r) => setTimeout(r, pollMs));
    }
    return at;
  }

  /** Ping each sampled address from the last node (a few tries each); returns the ones that answered. */
  async pingSamples(): Promise<{ ok: number[]; failed: number[] }> {
    const last = this.chain!.nodes[this.chain!.nodes.length - 1]!;
    const ok: number[] = [];
    const failed: number[] = [];
    for (const i of this.samples) {
      let good = false;
      for (let t = 0; t < 3 && !good; t++) {
        const r = await inNs(last.ns, 'ping', ['-6', '-n', '-c', '1', '-W', '2', '-I', last.address, sampleAddress(i)], 10_000);
        good = r.code === 0;
      }
      (good ? ok : failed).push(i);
    }
    return { ok, failed };
  }

  /** Packets counted on the kernel link in BIRD's namespace (what arrived from n1). */
  async birdRxPackets(): Promise<number> {
    const out = await sh('ip', ['-n', this.birdNs, '-s', '-j', 'link', 'show', this.mlink]);
    const j = JSON.parse(out) as { stats64?: { rx?: { packets?: number } } }[];
    return j[0]?.stats64?.rx?.packets ?? 0;
  }

  async birdCli(cmd: string): Promise<string> {
    return this.bird ? this.bird.cli(cmd) : '';
  }

  /** Each node's route count, OSPF neighbors, counters and BFD sessions: what a failure message needs. */
  async diagnose(): Promise<string> {
    const out: string[] = [];
    for (const s of this.sockets) {
      const q = async (what: string): Promise<unknown> => callDaemon(s, 'show', { what }, 10_000).catch((e: Error) => `error: ${e.message}`);
      out.push(`--- ${s}: routes ${await this.routeCount(s).catch(() => -1)}`);
      out.push(`neighbors ${JSON.stringify(await q('ospf neighbors'))}`);
      out.push(`ospf ${JSON.stringify(((await q('ospf status')) as { counters?: unknown }).counters ?? null)}`);
      out.push(`bfd ${JSON.stringify(await q('bfd'))}`);
    }
    return out.join('\n');
  }

  async logs(): Promise<string> {
    const paths = [...(this.chain?.nodes.map((n) => n.logPath) ?? []), this.bird?.logPath ?? ''];
    const parts = await Promise.all(paths.filter(Boolean).map(async (p) => `--- ${p}\n${(await readFile(p, 'utf8').catch(() => '')).slice(-3000)}`));
    return parts.join('\n');
  }

  async destroy(): Promise<void> {
    await this.bird?.stop().catch(() => undefined);
    if (this.chain) await destroyChain(this.chain, false).catch(() => undefined);
    await deleteNamespace(this.birdNs);
    // MOLTNET_KEEP_DIR=1 keeps the logs and configs for a look after the run.
    if (process.env['MOLTNET_KEEP_DIR']) console.log(`# kept ${this.o.dir}`);
    else await rm(this.o.dir, { recursive: true, force: true });
  }
}
