/**
 * OSPFv3 convergence in a 4-node ring of real daemons: time from spawning the daemons to (a) every
 * adjacency Full and (b) every node holding a route to every other node's /128. With the default timers
 * (hello 10 s, dead 40 s) and with fast hellos (1 s / 4 s). MinLSInterval (5 s) between two originations
 * of a router's own LSA bounds (b) from below: the LSA that lists a new adjacency waits for it.
 */
import { pathToFileURL } from 'node:url';
import { buildTopology, destroyChain, ringEdges, type Chain } from '../src/demo/chain.js';
import { callDaemon } from '../src/cli/control-client.js';
import { CLI, tempDir } from '../test/helpers/integration.js';
import { formatResult, type BenchResult } from './result.js';

async function converge(tag: string, ospf: Record<string, unknown>): Promise<{ fullMs: number; routesMs: number; startMs: number }> {
  let t0 = 0;
  const ring: Chain = await buildTopology({
    prefix: `mc${tag}${(process.pid % 1000).toString(36)}`,
    nodes: 4,
    edges: ringEdges(4),
    staticRoutes: 'none',
    dir: await tempDir('conv'),
    cliPath: CLI,
    extra: { ospf, bfd: { enabled: false } },
    onDaemonsStarted: () => (t0 = performance.now()),
  });
  const startMs = performance.now() - t0;
  try {
    let fullMs = -1;
    let routesMs = -1;
    const deadline = performance.now() + 120_000;
    while (performance.now() < deadline && routesMs < 0) {
      let allFull = true;
      let allRoutes = true;
      for (const n of ring.nodes) {
        const nb = (await callDaemon(n.socket, 'show', { what: 'ospf neighbors' })) as { state: string }[];
        if (nb.length !== 2 || nb.some((x) => x.state !== 'Full')) allFull = false;
        const routes = (await callDaemon(n.socket, 'show', { what: 'routes' })) as { prefix: string; source: string }[];
        for (const m of ring.nodes) {
          if (m !== n && !routes.some((r) => r.prefix === `${m.address}/128`)) allRoutes = false;
        }
      }
      const t = performance.now() - t0;
      if (allFull && fullMs < 0) fullMs = t;
      if (allFull && allRoutes) routesMs = t;
      await new Promise((r) => setTimeout(r, 20));
    }
    return { fullMs, routesMs, startMs };
  } finally {
    await destroyChain(ring);
  }
}

export async function run(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  for (const [tag, ospf, label] of [
    ['d', {}, 'default timers 10/40 s'],
    ['f', { helloInterval: 1, deadInterval: 4 }, 'hello 1 s, dead 4 s'],
  ] as const) {
    const r = await converge(tag, ospf);
    out.push({ name: `ospf.ring4.${tag === 'd' ? 'default' : 'fast'}.daemons-up`, value: r.startMs, unit: 'ms', note: label });
    out.push({ name: `ospf.ring4.${tag === 'd' ? 'default' : 'fast'}.all-full`, value: r.fullMs, unit: 'ms', note: 'from daemon start' });
    out.push({ name: `ospf.ring4.${tag === 'd' ? 'default' : 'fast'}.all-routes`, value: r.routesMs, unit: 'ms', note: 'from daemon start' });
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  for (const r of await run()) console.log(formatResult(r));
}
