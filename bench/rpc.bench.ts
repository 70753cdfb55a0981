/**
 * Agent RPC between two nodes over the mesh (a VXLAN link): sequential ping round trips per second and
 * p50/p99 latency, against a plain TCP line echo between the same namespaces over the same mesh path,
 * in the same run. Traffic goes only to addresses inside the namespaces made here.
 */
import { pathToFileURL, fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { buildChain, destroyChain } from '../src/demo/chain.js';
import { CLI, inNs, tempDir } from '../test/helpers/integration.js';
import { formatResult, type BenchResult } from './result.js';

const N = Number(process.env['BENCH_RPC_CALLS'] ?? 3000);
const LOAD = fileURLToPath(new URL('./rpc-load.js', import.meta.url));

export async function run(): Promise<BenchResult[]> {
  // The per-source rate limit (50/s by default) would be all this measures.
  const chain = await buildChain({
    prefix: `mr${(process.pid % 1000).toString(36)}`,
    nodes: 2,
    link: 'vxlan',
    dir: await tempDir('bench-rpc'),
    cliPath: CLI,
    extra: { services: { rpcRatePerSource: 1_000_000 } },
  });
  const [a, b] = chain.nodes;
  const echo = spawn('ip', ['netns', 'exec', b!.ns, process.execPath, LOAD, 'echo-server', b!.address, '7007'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const measure = async (args: string[]) => {
      const r = await inNs(a!.ns, process.execPath, [LOAD, ...args], 120_000);
      if (r.code !== 0) throw new Error(r.stderr);
      return JSON.parse(r.stdout) as { perSecond: number; p50us: number; p99us: number };
    };
    const rpc = await measure(['rpc', a!.address, b!.address, String(N)]);
    const tcp = await measure(['echo', a!.address, b!.address, '7007', String(N)]);
    return [
      { name: 'rpc.ping.rate', value: rpc.perSecond, unit: '/s', note: `${N} sequential calls over the mesh` },
      { name: 'rpc.ping.p50', value: rpc.p50us, unit: 'us' },
      { name: 'rpc.ping.p99', value: rpc.p99us, unit: 'us' },
      { name: 'tcp-echo.rate', value: tcp.perSecond, unit: '/s', note: 'the reference: a line echo on the same path' },
      { name: 'tcp-echo.p50', value: tcp.p50us, unit: 'us' },
      { name: 'tcp-echo.p99', value: tcp.p99us, unit: 'us' },
      { name: 'rpc.ratio', value: rpc.perSecond / tcp.perSecond, unit: 'x', note: 'RPC round trips / echo round trips' },
    ];
  } finally {
    echo.kill('SIGKILL');
    await destroyChain(chain);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  for (const r of await run()) console.log(formatResult(r));
}
