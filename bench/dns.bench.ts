/**
 * Mesh DNS queries per second with dnsperf, against unbound answering the same names from a static
 * local-zone on the same path, in the same run. A 2-node chain (agenticmesh - clawdboy over VXLAN);
 * dnsperf runs in node A's namespace and asks
 *   local  A's mesh address (no tunnel: the kernel delivers it inside A's namespace)
 *   mesh   B's mesh address (through A's daemon, the VXLAN link and B's daemon)
 * moltnet on UDP 53, unbound on the same mesh address, UDP 5353, in the same namespace. The query file is
 * the same for both: AAAA of the nodes' names, PTR of their addresses, and names that do not exist
 * (NXDOMAIN); before the timed runs every query is asked of both servers with dig and their answers must
 * agree. unbound never forwards (no forward-zone, `.` refused, do-not-query-localhost) and listens on the
 * namespace's mesh address only; the namespaces have no way out. Traffic goes only to addresses inside
 * the namespaces made here.
 *
 * Each path is run twice: unpaced (dnsperf's default 100 queries outstanding, for the rate) and paced at a
 * rate a real resolver might send (for latency). The mesh DNS per-source limit (services.dnsRatePerSource,
 * 200/s by default) is raised for the benchmark, or it would be all it measures; `dns.zone.rate` is the
 * zone's own answer rate in this process (decode, look up, encode; no sockets) for what the server costs.
 *
 * BENCH_DNS_SECONDS (default 10) per unpaced run, half that per paced run; BENCH_DNS_PACED_QPS (default 150).
 */
import { pathToFileURL } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { buildChain, destroyChain, type Chain, type ChainNode } from '../src/demo/chain.js';
import { MeshZone, REVERSE_ZONE, reverseName } from '../src/services/dns/zone.js';
import { CLI, inNs, tempDir } from '../test/helpers/integration.js';
import { formatResult, type BenchResult } from './result.js';

const SECONDS = Number(process.env['BENCH_DNS_SECONDS'] ?? 10);
const PACED_QPS = Number(process.env['BENCH_DNS_PACED_QPS'] ?? 150);
const MOLTNET_PORT = 53;
const UNBOUND_PORT = 5353;

interface Query {
  name: string;
  type: 'AAAA' | 'PTR';
}

export interface DnsperfResult {
  sent: number;
  completed: number;
  lost: number;
  qps: number;
  /** Average latency, microseconds. */
  avgUs: number;
  /** Response codes, e.g. { NOERROR: 800, NXDOMAIN: 200 }. */
  rcodes: Record<string, number>;
}

/** The figures of dnsperf's "Statistics:" block. */
export function parseDnsperf(out: string): DnsperfResult {
  const num = (re: RegExp): number => {
    const m = re.exec(out);
    if (!m) throw new Error(`dnsperf output has no ${re.source}:\n${out}`);
    return Number(m[1]);
  };
  const rcodes: Record<string, number> = {};
  const codes = /Response codes:\s+(.*)/.exec(out)?.[1] ?? '';
  for (const m of codes.matchAll(/([A-Z]+) (\d+)/g)) rcodes[m[1]!] = Number(m[2]);
  return {
    sent: num(/Queries sent:\s+(\d+)/),
    completed: num(/Queries completed:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    qps: num(/Queries per second:\s+([\d.]+)/),
    avgUs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1e6,
    rcodes,
  };
}

/** The mix: per node 3 AAAA and 1 PTR, and 1 unknown name per node (NXDOMAIN): 60% AAAA, 20% PTR, 20% NXDOMAIN. */
function queryMix(nodes: readonly ChainNode[]): Query[] {
  const q: Query[] = [];
  for (const [i, n] of nodes.entries()) {
    for (let k = 0; k < 3; k++) q.push({ name: `${n.name}.molt`, type: 'AAAA' });
    q.push({ name: reverseName(n.address), type: 'PTR' });
    q.push({ name: `nosuch${i + 1}.molt`, type: 'AAAA' });
  }
  return q;
}

/** unbound answering the chain's names from a static local-zone on [address]:UNBOUND_PORT, never forwarding. */
function unboundConfig(dir: string, address: string, nodes: readonly ChainNode[]): string {
  const soa = (zone: string) => `  local-data: "${zone}. 30 IN SOA ns.molt. hostmaster.molt. 1 3600 600 86400 30"`;
  return [
    'server:',
    '  verbosity: 0',
    '  num-threads: 1',
    `  interface: ${address}@${UNBOUND_PORT}`,
    `  port: ${UNBOUND_PORT}`,
    '  interface-automatic: no',
    '  do-ip4: no',
    '  do-ip6: yes',
    '  do-udp: yes',
    '  do-tcp: yes',
    '  access-control: ::/0 refuse',
    '  access-control: fd00:6d6f:6c74::/48 allow',
    '  chroot: ""',
    '  username: ""',
    `  directory: "${dir}"`,
    `  pidfile: "${join(dir, 'unbound.pid')}"`,
    '  logfile: ""',
    '  use-syslog: no',
    '  do-daemonize: no',
    '  do-not-query-localhost: yes',
    '  module-config: "iterator"',
    '  local-zone: "." refuse',
    '  local-zone: "molt." static',
    soa('molt'),
    ...nodes.map((n) => `  local-data: "${n.name}.molt. 60 IN AAAA ${n.address}"`),
    `  local-zone: "${REVERSE_ZONE}." static`,
    soa(REVERSE_ZONE),
    ...nodes.map((n) => `  local-data: "${reverseName(n.address)}. 60 IN PTR ${n.name}.molt."`),
    'remote-control:',
    '  control-enable: no',
    '',
  ].join('\n');
}

async function waitUntil(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(what);
}

/** dig's status and answer section (TTLs and all), to compare two servers' answers to one query. */
async function digAnswer(ns: string, server: string, port: number, q: Query): Promise<string> {
  const r = await inNs(ns, 'dig', ['+time=2', '+tries=1', '+noall', '+comments', '+answer', '+authority', `@${server}`, '-p', String(port), q.name, q.type], 10_000);
  const status = /status: (\w+)/.exec(r.stdout)?.[1] ?? `no answer (${r.stdout.trim() || r.stderr.trim()})`;
  const records = r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith(';'))
    .map((l) => l.trim().split(/\s+/).join(' '))
    .sort();
  return [status, ...records].join(' | ');
}

/** Start unbound in `ns` (foreground, killed at the end) and wait until it answers. */
async function startUnbound(chain: Chain, node: ChainNode): Promise<ChildProcess> {
  const dir = join(chain.dir, `unbound-${node.index + 1}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const conf = join(dir, 'unbound.conf');
  await writeFile(conf, unboundConfig(dir, node.address, chain.nodes), { mode: 0o600 });
  const check = await inNs(node.ns, 'unbound-checkconf', [conf], 10_000);
  if (check.code !== 0) throw new Error(`unbound-checkconf: ${check.stdout}${check.stderr}`);
  const child = spawn('ip', ['netns', 'exec', node.ns, 'unbound', '-d', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  try {
    await waitUntil(
      async () => {
        if (child.exitCode !== null) throw new Error(`unbound exited ${child.exitCode}: ${stderr}`);
        return (await digAnswer(node.ns, node.address, UNBOUND_PORT, { name: `${node.name}.molt`, type: 'AAAA' })).startsWith('NOERROR');
      },
      15_000,
      `unbound in ${node.ns} does not answer: ${stderr}`,
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return child;
}

async function dnsperf(ns: string, server: string, port: number, file: string, seconds: number, qps?: number): Promise<DnsperfResult> {
  const args = ['-f', 'inet6', '-s', server, '-p', String(port), '-d', file, '-l', String(seconds), '-t', '2', ...(qps ? ['-Q', String(qps)] : [])];
  const r = await inNs(ns, 'dnsperf', args, (seconds + 30) * 1000);
  if (r.code !== 0) throw new Error(`dnsperf ${args.join(' ')}: exit ${r.code}\n${r.stdout}${r.stderr}`);
  return parseDnsperf(r.stdout);
}

/** MeshZone.answer() over the same query mix in this process: the zone's own rate, no sockets, no limit. */
function zoneRate(nodes: readonly ChainNode[], queries: readonly Query[], ms = 2000): number {
  const zone = new MeshZone();
  zone.set(nodes.map((n) => ({ name: n.name, address: n.address, source: 'bench' })));
  const wire = queries.map((q, i) => dnsPacket.encode({ type: 'query', id: i + 1, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: q.name, type: q.type }] }));
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let k = 0; k < 1000; k++) if (zone.answer(wire[n++ % wire.length]!, true) === undefined) throw new Error('the zone dropped a query');
    t = performance.now();
  }
  return n / ((t - t0) / 1000);
}

export async function run(): Promise<BenchResult[]> {
  // The per-source limit (200/s by default) would be all this measures.
  const chain = await buildChain({
    extra: { services: { dnsRatePerSource: 1_000_000 } },
    prefix: `mq${(process.pid % 1000).toString(36)}`,
    nodes: 2,
    link: 'vxlan',
    dir: await tempDir('bench-dns'),
    cliPath: CLI,
  });
  const [a, b] = chain.nodes as [ChainNode, ChainNode];
  const unbounds: ChildProcess[] = [];
  try {
    await waitUntil(async () => (await inNs(a.ns, 'ping', ['-c', '1', '-W', '1', b.address], 5000)).code === 0, 30_000, `${a.name} does not reach ${b.name}`);
    const queries = queryMix(chain.nodes);
    const file = join(chain.dir, 'queries.txt');
    await writeFile(file, queries.map((q) => `${q.name} ${q.type}`).join('\n') + '\n');
    unbounds.push(await startUnbound(chain, a), await startUnbound(chain, b));

    // Same answers from both servers on both paths (moltnet's names from the registry may take a moment).
    for (const target of [a, b]) {
      await waitUntil(
        async () => {
          for (const q of queries) {
            const [m, u] = await Promise.all([digAnswer(a.ns, target.address, MOLTNET_PORT, q), digAnswer(a.ns, target.address, UNBOUND_PORT, q)]);
            if (m !== u) {
              process.stderr.write(`dns bench: ${q.name} ${q.type} at ${target.name}: moltnet "${m}", unbound "${u}"\n`);
              return false;
            }
          }
          return true;
        },
        20_000,
        `moltnet and unbound at ${target.name} do not give the same answers`,
      );
    }

    const results: BenchResult[] = [];
    const mix = `${queries.length}-query mix: 60% AAAA, 20% PTR, 20% NXDOMAIN`;
    for (const [path, target] of [['local', a], ['mesh', b]] as const) {
      const where = path === 'local' ? `${a.name} asks its own mesh address` : `${a.name} asks ${b.name} over VXLAN`;
      const m = await dnsperf(a.ns, target.address, MOLTNET_PORT, file, SECONDS);
      const u = await dnsperf(a.ns, target.address, UNBOUND_PORT, file, SECONDS);
      await new Promise((r) => setTimeout(r, 3000));
      const mp = await dnsperf(a.ns, target.address, MOLTNET_PORT, file, Math.max(1, Math.round(SECONDS / 2)), PACED_QPS);
      const up = await dnsperf(a.ns, target.address, UNBOUND_PORT, file, Math.max(1, Math.round(SECONDS / 2)), PACED_QPS);
      const codes = (r: DnsperfResult) => Object.entries(r.rcodes).map(([k, v]) => `${k} ${v}`).join(', ');
      // Lost queries that unbound, on the same path, did not lose: moltnet could not keep up.
      const limited = m.lost > 0 && u.lost === 0;
      const cap = limited ? '; moltnet lost queries unbound did not' : '';
      results.push(
        { name: `dns.${path}.qps`, value: m.qps, unit: '/s', note: `moltnet, dnsperf unpaced ${SECONDS}s, ${where}, ${mix}; ${m.sent} sent, ${codes(m)}${cap}` },
        { name: `dns.${path}.latency`, value: m.avgUs, unit: 'us', note: 'moltnet, average, unpaced' },
        { name: `dns.${path}.lost`, value: m.lost, unit: 'queries', note: `moltnet, unpaced, of ${m.sent}` },
        { name: `unbound.${path}.qps`, value: u.qps, unit: '/s', note: `the reference on the same path and mix, UDP 5353, 1 thread; ${u.sent} sent, ${codes(u)}` },
        { name: `unbound.${path}.latency`, value: u.avgUs, unit: 'us', note: 'unbound, average, unpaced' },
        { name: `unbound.${path}.lost`, value: u.lost, unit: 'queries' },
        { name: `dns.${path}.ratio`, value: m.qps / u.qps, unit: 'x', note: `moltnet qps / unbound qps, unpaced` },
        { name: `dns.${path}.paced.latency`, value: mp.avgUs, unit: 'us', note: `moltnet at ${PACED_QPS} q/s, ${mp.lost} lost of ${mp.sent}` },
        { name: `unbound.${path}.paced.lat`, value: up.avgUs, unit: 'us', note: `unbound at ${PACED_QPS} q/s, ${up.lost} lost of ${up.sent}` },
      );
    }
    results.push({ name: 'dns.zone.rate', value: zoneRate(chain.nodes, queries), unit: '/s', note: 'MeshZone.answer() on the same mix in one process: decode, look up, encode; no sockets' });
    return results;
  } finally {
    await Promise.all(
      unbounds.map(
        (u) =>
          new Promise<void>((resolve) => {
            if (u.exitCode !== null || u.signalCode !== null) return resolve();
            const t = setTimeout(resolve, 5000);
            u.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            u.kill('SIGKILL');
          }),
      ),
    );
    await destroyChain(chain);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  for (const r of await run()) console.log(formatResult(r));
}
