/**
 * Where a ping's added round-trip time goes on an idle MoltNet VXLAN link (issue 11, item 5).
 *
 * Two daemons joined by a VXLAN link; tcpdump with nanosecond stamps on molt0 and on the underlay veth in
 * both namespaces; ping every 20 ms. Each echo is followed through eight points, so the stages are:
 *
 *   A molt0 -> A veth    node A's worker: woken by the TUN, reads, decides, encapsulates, sends
 *   A veth  -> B veth    the veth (kernel)
 *   B veth  -> B molt0   node B's worker: woken by the socket, receives, decapsulates, writes the TUN
 *   B molt0 -> B molt0   B's kernel answers the echo
 *   B molt0 -> B veth    B's worker again (woken by the TUN)
 *   B veth  -> A veth    the veth
 *   A veth  -> A molt0   A's worker again (woken by the socket)
 *
 * Then the same ping with every thread of both daemons and the ping held on one CPU: the steps are the
 * same, but no wake has to cross to another (possibly halted) CPU. The gap between the two is the cost of
 * cross-CPU wake-ups on this host, not of the work.
 *
 * And the RTT against ping's interval, through the daemons, over a plain veth pair, the kernel's vxlan and
 * wireguard-go in the same run: a ping once a second (ping's default, an idle mesh) finds every cache of the
 * host cold, the kernel's too, and one every 10 ms finds them warm. Traffic goes only inside the namespaces made here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { buildChain, destroyChain } from '../src/demo/chain.js';
import { CLI, run as runCmd, tempDir } from '../test/helpers/integration.js';
import { formatResult, type BenchResult } from './result.js';
import { kernelVxlanPair, plainVethPair, wireguardGoPair, type ReferencePair } from './reference-pairs.js';

const PINGS = Number(process.env['BENCH_PINGS'] ?? 100);
/** Seconds between pings; ping's own default is 1 (an idle mesh), 0.02 keeps the bench short. */
const INTERVAL = process.env['BENCH_PING_INTERVAL'] ?? '0.02';
/** The interval sweep: [seconds between pings, pings]; BENCH_LATENCY_SWEEP=0 leaves it out. */
const SWEEP: [string, number][] = process.env['BENCH_LATENCY_SWEEP'] === '0' ? [] : [['1', 20], ['0.1', 50], ['0.01', 100]];

const STAGES = [
  'A worker, request (TUN in to underlay out)',
  'veth A to B',
  'B worker, request (underlay in to TUN out)',
  'B kernel answers',
  'B worker, reply (TUN in to underlay out)',
  'veth B to A',
  'A worker, reply (underlay in to TUN out)',
] as const;
const SHORT = ['a-req', 'veth-ab', 'b-req', 'b-kernel', 'b-reply', 'veth-ba', 'a-reply'] as const;

/** The eight capture points in path order: [capture file tag, ICMPv6 type]. */
const POINTS: [string, number][] = [
  ['a-tun', 128], ['a-veth', 128], ['b-veth', 128], ['b-tun', 128],
  ['b-tun', 129], ['b-veth', 129], ['a-veth', 129], ['a-tun', 129],
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!;
}

/** Echo sequence number -> first time (s) it was seen at this capture point, for request and reply. */
async function stamps(file: string): Promise<Map<string, number>> {
  const r = await runCmd('tshark', ['-r', file, '-Y', 'icmpv6.type == 128 || icmpv6.type == 129', '-T', 'fields',
    '-e', 'frame.time_epoch', '-e', 'icmpv6.type', '-e', 'icmpv6.echo.sequence_number'], 60_000);
  const out = new Map<string, number>();
  for (const line of r.stdout.split('\n')) {
    const [t, type, seq] = line.split('\t');
    if (!t || !type || !seq) continue;
    // In the underlay capture the inner ICMPv6 is the last of each field's values.
    const key = `${type.split(',').pop()}/${seq.split(',').pop()}`;
    const time = Number(t);
    if (!out.has(key)) out.set(key, time);
  }
  return out;
}

async function pingAvgMs(ns: string, addr: string, pre: string[], interval = INTERVAL, count = PINGS): Promise<number> {
  const r = await runCmd('ip', ['netns', 'exec', ns, ...pre, 'ping', '-c', String(count), '-i', interval, '-q', addr], 60_000 + count * Number(interval) * 1000);
  const m = /= [\d.]+\/([\d.]+)\//.exec(r.stdout);
  if (!m) throw new Error(`ping: ${r.stdout} ${r.stderr}`);
  return Number(m[1]);
}

export async function run(): Promise<BenchResult[]> {
  const p = `ml${(process.pid % 1000).toString(36)}`;
  const dir = await tempDir('latency');
  const chain = await buildChain({ prefix: p, nodes: 2, link: 'vxlan', dir, cliPath: CLI });
  const caps: ChildProcess[] = [];
  const out: BenchResult[] = [];
  try {
    const [a, b] = [chain.nodes[0]!, chain.nodes[1]!];
    const avg = await pingAvgMs(a.ns, b.address, []);
    const swept = SWEEP.length > 0 ? await sweep(a.ns, b.address, p, dir) : [];
    for (const [node, tag] of [[a, 'a'], [b, 'b']] as const) {
      for (const [ifc, filter, what] of [['molt0', 'icmp6', 'tun'], ['any', 'udp port 4789', 'veth']] as const) {
        caps.push(spawn('ip', ['netns', 'exec', node.ns, 'tcpdump', '-i', ifc, '-w', `${dir}/${tag}-${what}.pcap`,
          '--time-stamp-precision=nano', '-U', filter], { stdio: 'ignore' }));
      }
    }
    await new Promise((r) => setTimeout(r, 1500));
    const traced = await pingAvgMs(a.ns, b.address, []);
    await new Promise((r) => setTimeout(r, 500));
    for (const c of caps) c.kill('SIGINT');
    await Promise.all(caps.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
    const points = await Promise.all(POINTS.map(async ([tag, type]) => ({ type, at: await stamps(`${dir}/${tag}.pcap`) })));
    const perStage: number[][] = STAGES.map(() => []);
    const totals: number[] = [];
    for (let seq = 1; seq <= PINGS; seq++) {
      const t = points.map((pt) => pt.at.get(`${pt.type}/${seq}`));
      if (t.some((x) => x === undefined)) continue;
      for (let i = 0; i < STAGES.length; i++) perStage[i]!.push((t[i + 1]! - t[i]!) * 1e6);
      totals.push((t[7]! - t[0]!) * 1e6);
    }
    out.push({ name: 'latency.ping.avg', value: avg * 1000, unit: 'us', note: `${PINGS} pings ${INTERVAL} s apart, through the daemons` });
    out.push({ name: 'latency.ping.traced', value: traced * 1000, unit: 'us', note: 'the same while tcpdump runs on all four interfaces' });
    out.push({ name: 'latency.echoes.traced', value: totals.length, unit: 'echoes', note: 'seen at all eight points' });
    for (let i = 0; i < STAGES.length; i++) {
      out.push({ name: `latency.stage.${SHORT[i]}`, value: median(perStage[i]!), unit: 'us median', note: STAGES[i] });
    }
    out.push({ name: 'latency.molt0-to-molt0', value: median(totals), unit: 'us median', note: 'A molt0 request to A molt0 reply' });
    // Every thread of both daemons, and the ping, on CPU 0.
    for (const n of chain.nodes) await runCmd('taskset', ['-a', '-p', '1', String(n.pid)], 5000);
    const pinned = await pingAvgMs(a.ns, b.address, ['taskset', '1']);
    out.push({ name: 'latency.ping.one-cpu', value: pinned * 1000, unit: 'us', note: 'both daemons and ping on one CPU: no cross-CPU wake-ups' });
    out.push({ name: 'latency.cross-cpu-share', value: (avg - pinned) / avg, unit: 'x', note: 'of the RTT that is waking threads on other CPUs' });
    out.push(...swept);
  } finally {
    for (const c of caps) c.kill('SIGKILL');
    await destroyChain(chain);
    await rm(dir, { recursive: true, force: true });
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  for (const r of await run()) console.log(formatResult(r));
}

/**
 * RTT per interval between pings: through the daemons, over a plain veth, and through the two references
 * (the kernel's vxlan: no thread to wake; wireguard-go: a userspace forwarder, woken per packet as ours is).
 * What a hop adds is the difference to the veth.
 */
async function sweep(ns: string, addr: string, p: string, dir: string): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const pairs: ReferencePair[] = [];
  try {
    pairs.push(await plainVethPair(p), await kernelVxlanPair(p), await wireguardGoPair(p, dir, false));
    const [veth, kvx, wg] = pairs as [ReferencePair, ReferencePair, ReferencePair];
    for (const pr of pairs) await pingAvgMs(pr.a, pr.target, [], '0.2', 3);
    for (const [interval, count] of SWEEP) {
      const mesh = await pingAvgMs(ns, addr, [], interval, count);
      const v = await pingAvgMs(veth.a, veth.target, [], interval, count);
      const k = await pingAvgMs(kvx.a, kvx.target, [], interval, count);
      const w = await pingAvgMs(wg.a, wg.target, [], interval, count);
      const tag = `latency.every-${Number(interval) * 1000}ms`;
      out.push({ name: `${tag}.mesh`, value: mesh * 1000, unit: 'us', note: `${count} pings ${interval} s apart through the daemons` });
      out.push({ name: `${tag}.veth`, value: v * 1000, unit: 'us', note: 'the same over a plain veth pair' });
      out.push({ name: `${tag}.added`, value: (mesh - v) * 1000, unit: 'us', note: 'what the MoltNet hop adds; goal < 100' });
      out.push({ name: `${tag}.kernel-vxlan-added`, value: (k - v) * 1000, unit: 'us', note: "what the kernel's vxlan adds" });
      out.push({ name: `${tag}.wireguard-go-added`, value: (w - v) * 1000, unit: 'us', note: 'what a wireguard-go hop adds' });
    }
  } finally {
    for (const pr of pairs) await pr.close();
  }
  return out;
}
