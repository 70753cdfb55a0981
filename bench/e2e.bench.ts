/**
 * End to end, between two network namespaces on this host, in one run:
 *   - a plain veth (the ceiling),
 *   - wireguard-go (Debian's package) over the same kind of veth (the mesh VPN we compare with), as
 *     installed and again with the 7 MiB socket buffers our daemon gives its own wireguard-go (what
 *     upstream releases since 2023 do themselves), so the WireGuard link's ratio is shown against both,
 *   - MoltNet: two daemons joined by a VXLAN link (and GRE-in-UDP), and by a WireGuard link (VXLAN inside
 *     the daemons' own wireguard-go, keys learned in the peering handshake).
 * For each: iperf3 TCP throughput, 64-byte UDP packets per second, and ping round-trip time; then the
 * ratios. Traffic goes only to addresses inside the namespaces made here.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readFile } from 'node:fs/promises';
import { availableParallelism as nproc } from 'node:os';
import { spawn, type ChildProcess } from 'node:child_process';
import { buildChain, destroyChain } from '../src/demo/chain.js';
import { sh } from '../src/demo/netns.js';
import { CLI, inNs, tempDir } from '../test/helpers/integration.js';
import { formatResult, type BenchResult } from './result.js';
import { kernelVxlanPair, plainVethPair, wireguardGoPair, withPair } from './reference-pairs.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);

interface Figures {
  tcpGbps: number;
  /** iperf3 -P 4. */
  tcp4Gbps: number;
  udpKpps: number;
  /** 64-byte UDP through the path with a sendmmsg generator over 4 flows (udp-blast.ts): what the path carries. */
  blastKpps: number;
  rttMs: number;
  /** Cores busy (the whole host, /proc/stat) per Gbit/s during the single-stream run. */
  coresPerGbps: number;
}

/** Busy and total jiffies of the whole host. */
async function cpuTimes(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

function iperfJson<T>(what: string, r: { code: number | null; stdout: string; stderr: string }): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`${what}: iperf3 exited ${String(r.code)} without a JSON report: ${r.stdout.slice(-500)} ${r.stderr.slice(-500)}`);
  }
}

async function measure(clientNs: string, serverNs: string, serverAddr: string): Promise<Figures> {
  const server: ChildProcess = spawn('ip', ['netns', 'exec', serverNs, 'iperf3', '-s', '-B', serverAddr], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 700));
    const cpu0 = await cpuTimes();
    const tcp = await inNs(clientNs, 'iperf3', ['-c', serverAddr, '-t', String(SECONDS), '-J'], (SECONDS + 20) * 1000);
    const cpu1 = await cpuTimes();
    const tj = iperfJson<{ end: { sum_received: { bits_per_second: number } } }>('tcp', tcp);
    const tcp4 = await inNs(clientNs, 'iperf3', ['-c', serverAddr, '-P', '4', '-t', String(SECONDS), '-J'], (SECONDS + 20) * 1000);
    const t4 = iperfJson<{ end: { sum_received: { bits_per_second: number } } }>('tcp -P 4', tcp4);
    const udp = await inNs(clientNs, 'iperf3', ['-c', serverAddr, '-u', '-l', '64', '-b', '0', '-t', String(SECONDS), '-J'], (SECONDS + 20) * 1000);
    const uj = iperfJson<{ end: { sum: { packets: number; lost_packets: number; seconds: number } } }>('udp', udp);
    const blastKpps = await blast(clientNs, serverNs, serverAddr);
    const ping = await inNs(clientNs, 'ping', ['-c', '100', '-i', '0.01', '-q', serverAddr], 30_000);
    const m = /= [\d.]+\/([\d.]+)\//.exec(ping.stdout);
    const cores = (nproc() * (cpu1.busy - cpu0.busy)) / Math.max(1, cpu1.total - cpu0.total);
    return {
      tcpGbps: tj.end.sum_received.bits_per_second / 1e9,
      tcp4Gbps: t4.end.sum_received.bits_per_second / 1e9,
      coresPerGbps: cores / (tj.end.sum_received.bits_per_second / 1e9),
      udpKpps: (uj.end.sum.packets - uj.end.sum.lost_packets) / uj.end.sum.seconds / 1000,
      blastKpps,
      rttMs: m ? Number(m[1]) : NaN,
    };
  } finally {
    server.kill('SIGKILL');
  }
}

const BLAST = fileURLToPath(new URL('./udp-blast.js', import.meta.url));
const BLAST_PORT = 5301;

/** Received 64-byte datagrams per second (thousands) from udp-blast's sendmmsg generator, 4 flows. */
async function blast(clientNs: string, serverNs: string, serverAddr: string): Promise<number> {
  const rx = spawn('ip', ['netns', 'exec', serverNs, process.execPath, BLAST, 'recv', serverAddr, String(BLAST_PORT), String(SECONDS + 10)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const ready = new Promise<void>((resolve) => rx.stdout!.on('data', (d: Buffer) => ((out += d), out.includes('ready') && resolve())));
  const done = new Promise<void>((resolve) => rx.on('close', () => resolve()));
  try {
    await Promise.race([ready, new Promise((r) => setTimeout(r, 5000))]);
    await inNs(clientNs, process.execPath, [BLAST, 'send', serverAddr, String(BLAST_PORT), String(SECONDS), '4'], (SECONDS + 20) * 1000);
    await Promise.race([done, new Promise((r) => setTimeout(r, 15_000))]);
    const line = out.split('\n').find((l) => l.startsWith('{'));
    if (!line) return NaN;
    const r = JSON.parse(line) as { packets: number; seconds: number };
    return r.packets / r.seconds / 1000;
  } finally {
    rx.kill('SIGKILL');
  }
}

/** A 2-node MoltNet pair; `workers`: forwarding threads per node (default: the daemon's 'auto', 1 on 2 cores). */
async function moltnet(p: string, link: 'vxlan' | 'gre' | 'wireguard', dir: string, workers?: number): Promise<Figures> {
  const tag = workers === undefined ? link : `${link}-w${workers}`;
  const chain = await buildChain({
    prefix: `${p}${link[0]}${workers ?? ''}`,
    nodes: 2,
    link,
    dir: `${dir}/${tag}`,
    cliPath: CLI,
    ...(workers === undefined ? {} : { extra: { interface: { workers } } }),
  });
  try {
    return await measure(chain.nodes[0]!.ns, chain.nodes[1]!.ns, chain.nodes[1]!.address);
  } finally {
    await destroyChain(chain);
  }
}

export async function run(): Promise<BenchResult[]> {
  const p = `mb${(process.pid % 1000).toString(36)}`;
  const dir = await tempDir('bench');
  // BENCH_E2E=wireguard: only the WireGuard comparison.
  // BENCH_E2E=vxlan: only the VXLAN link against the kernel's vxlan and a plain veth.
  const onlyWg = process.env['BENCH_E2E'] === 'wireguard';
  const out: BenchResult[] = [];
  const add = (name: string, f: Figures) => {
    out.push({ name: `e2e.${name}.tcp`, value: f.tcpGbps, unit: 'Gbit/s' });
    out.push({ name: `e2e.${name}.tcp-P4`, value: f.tcp4Gbps, unit: 'Gbit/s' });
    out.push({ name: `e2e.${name}.cpu`, value: f.coresPerGbps, unit: 'cores per Gbit/s', note: 'whole host, single stream' });
    out.push({ name: `e2e.${name}.udp64`, value: f.udpKpps, unit: 'kpps', note: 'iperf3 -u -l 64' });
    out.push({ name: `e2e.${name}.udp64-sendmmsg`, value: f.blastKpps, unit: 'kpps', note: 'bench/udp-blast.ts, 4 flows; goal >= 150 for MoltNet' });
    out.push({ name: `e2e.${name}.rtt`, value: f.rttMs, unit: 'ms' });
  };
  const addKernel = (vx: Figures, kvx: Figures, veth: Figures) => {
    out.push({ name: 'e2e.ratio.vxlan/kernel-vxlan.tcp', value: vx.tcpGbps / kvx.tcpGbps, unit: 'x', note: 'goal >= 0.5' });
    out.push({ name: 'e2e.ratio.vxlan/kernel-vxlan.tcp-P4', value: vx.tcp4Gbps / kvx.tcp4Gbps, unit: 'x', note: 'goal >= 0.5' });
    out.push({ name: 'e2e.ratio.vxlan/kernel-vxlan.udp64-sendmmsg', value: vx.blastKpps / kvx.blastKpps, unit: 'x', note: '64-byte packets per second' });
    out.push({ name: 'e2e.ratio.vxlan/veth.udp64-sendmmsg', value: vx.blastKpps / veth.blastKpps, unit: 'x', note: 'the plain veth: what this host carries at all' });
    out.push({ name: 'e2e.added-rtt.vxlan', value: (vx.rttMs - veth.rttMs) * 1000, unit: 'us', note: 'vs plain veth, goal < 100' });
    out.push({ name: 'e2e.added-rtt.kernel-vxlan', value: (kvx.rttMs - veth.rttMs) * 1000, unit: 'us', note: 'vs plain veth' });
  };
  /** Two forwarding workers per node against one, and against the kernel (issue 11 item 4). */
  const addWorkers = (vx: Figures, vx2: Figures, kvx: Figures) => {
    add('moltnet-vxlan-2workers', vx2);
    out.push({ name: 'e2e.ratio.vxlan-2workers/1worker.tcp-P4', value: vx2.tcp4Gbps / vx.tcp4Gbps, unit: 'x', note: 'both nodes on one 2-core host' });
    out.push({ name: 'e2e.ratio.vxlan-2workers/kernel-vxlan.tcp-P4', value: vx2.tcp4Gbps / kvx.tcp4Gbps, unit: 'x', note: 'goal >= 0.5' });
  };
  if (process.env['BENCH_E2E'] === 'vxlan') {
    const veth = await withPair(plainVethPair(p), (r) => measure(r.a, r.b, r.target));
    const kvx = await withPair(kernelVxlanPair(p), (r) => measure(r.a, r.b, r.target));
    const vx = await moltnet(p, 'vxlan', dir);
    const vx2 = await moltnet(p, 'vxlan', dir, 2);
    add('veth', veth);
    add('kernel-vxlan', kvx);
    add('moltnet-vxlan', vx);
    addKernel(vx, kvx, veth);
    addWorkers(vx, vx2, kvx);
    await sh('rm', ['-rf', dir]);
    return out;
  }
  const wg = await withPair(wireguardGoPair(p, dir, false), (r) => measure(r.a, r.b, r.target));
  const wgTuned = await withPair(wireguardGoPair(p, dir, true), (r) => measure(r.a, r.b, r.target));
  const wgLink = await moltnet(p, 'wireguard', dir);
  const addWg = () => {
    add('wireguard-go', wg);
    add('wireguard-go-7MiB', wgTuned);
    add('moltnet-wireguard', wgLink);
    out.push({ name: 'e2e.ratio.wglink/wg.tcp', value: wgLink.tcpGbps / wg.tcpGbps, unit: 'x', note: 'goal >= 0.8' });
    out.push({ name: 'e2e.ratio.wglink/wg-7MiB.tcp', value: wgLink.tcpGbps / wgTuned.tcpGbps, unit: 'x', note: 'against the reference with our buffers' });
  };
  if (onlyWg) {
    addWg();
    await sh('rm', ['-rf', dir]);
    return out;
  }
  const veth = await withPair(plainVethPair(p), (r) => measure(r.a, r.b, r.target));
  const kvx = await withPair(kernelVxlanPair(p), (r) => measure(r.a, r.b, r.target));
  const vx = await moltnet(p, 'vxlan', dir);
  const vx2 = await moltnet(p, 'vxlan', dir, 2);
  const gre = await moltnet(p, 'gre', dir);
  add('veth', veth);
  add('kernel-vxlan', kvx);
  add('moltnet-vxlan', vx);
  add('moltnet-gre', gre);
  addWg();
  out.push({ name: 'e2e.ratio.vxlan/wg.tcp', value: vx.tcpGbps / wg.tcpGbps, unit: 'x', note: 'goal >= 1.5' });
  out.push({ name: 'e2e.ratio.gre/wg.tcp', value: gre.tcpGbps / wg.tcpGbps, unit: 'x' });
  out.push({ name: 'e2e.ratio.vxlan/veth.tcp', value: vx.tcpGbps / veth.tcpGbps, unit: 'x' });
  out.push({ name: 'e2e.ratio.vxlan/wg.udp64', value: vx.udpKpps / wg.udpKpps, unit: 'x' });
  addKernel(vx, kvx, veth);
  addWorkers(vx, vx2, kvx);
  await sh('rm', ['-rf', dir]);
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  for (const r of await run()) console.log(formatResult(r));
}
