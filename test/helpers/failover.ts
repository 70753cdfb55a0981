/**
 * Failover on a diamond, shared by test/integration/failover.test.ts and bench/failover.bench.ts:
 *
 *        B                  A-B, B-D: cost 10 (the active path)
 *      /   \                A-C: cost 20 on A, C-A: cost 20 on D's side (D-C): the backup path
 *     A     D
 *      \   /
 *        C
 *
 * - a MoltNet diamond (real daemons in namespaces, VXLAN links, OSPFv3 + BFD 100 ms x 3);
 * - the same diamond of BIRD 2 routers (veths, OSPFv3 ptp with `bfd yes`, the same BFD timers and costs);
 * - a continuous `ping -i 0.009 -D -O` (see PING_INTERVAL) whose replies are timestamped, and the loss window it shows around a
 *   failure: the time between the last reply before the outage and the first reply after it;
 * - one trial: ping, cut the active path (nftables drop on B, or SIGKILL of B's daemon/bird), wait for the
 *   backup path, restore B, wait until traffic is back on the cheaper path, measure both windows.
 * Every wait is bounded; names come from the caller's prefix (unique per run).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { callDaemon } from '../../src/cli/control-client.js';
import { agentFor, buildTopology, destroyChain, type Chain } from '../../src/demo/chain.js';
import { connectVeth, createNamespace, deleteNamespace, sh, startDaemon, waitForDaemon } from '../../src/demo/netns.js';
import { CLI, inNs, logs } from './integration.js';
import { startBird, waitFor, type RouterHandle } from './routers.js';

export const [A, B, C, D] = [0, 1, 2, 3] as const;
/** Edge h joins nodes EDGES[h]: veth `${prefix}v${h}a` in the first node's namespace. */
export const EDGES: [number, number][] = [
  [A, B],
  [B, D],
  [A, C],
  [C, D],
];
export const BACKUP_COST = 20;
/**
 * `ping -i`: iputils 20221126 keeps whole milliseconds below 10 ms but sends every ~16 ms when asked for
 * 0.01 (measured on ::1: 100 pings take 1.62 s at -i 0.01, 0.89 s at -i 0.009), so 9 ms is the closest
 * cadence to 10 ms it keeps. The cadence is measured from the replies anyway.
 */
export const PING_INTERVAL = '0.009';

export type FailureKind = 'nft' | 'kill';

export interface Trial {
  kind: FailureKind;
  /** Time between the last reply before the outage and the first reply after it (ms). */
  windowMs: number;
  /** Sequence numbers with no reply in the same stretch, times the measured ping cadence (ms). */
  lostMs: number;
  lost: number;
  /** The measured ping cadence (ms between echo requests). */
  cadenceMs: number;
  /** The same two figures for restoring B (traffic moving back to the cheaper path). */
  restoreWindowMs: number;
  restoreLostMs: number;
  /** From the cut until A's route to D was on the backup path (ms; what the control plane saw). */
  rerouteMs: number;
}

// ---------------------------------------------------------------------------------------------------------
// Ping with timestamped replies

interface Reply {
  seq: number;
  t: number;
}

/** `ping -6 -i 0.01 -D -O` in a namespace; every reply's epoch time (ms) by sequence number. */
export class Pinger {
  readonly replies: Reply[] = [];
  readonly errors: string[] = [];
  private readonly child: ChildProcess;
  private readonly closed: Promise<void>;
  private buf = '';
  private out = '';

  constructor(ns: string, target: string, source?: string, interval = PING_INTERVAL) {
    const args = ['netns', 'exec', ns, 'ping', '-6', '-n', '-i', interval, '-D', '-O', '-W', '1'];
    if (source) args.push('-I', source);
    args.push(target);
    this.child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (d: string) => this.data(d));
    this.child.stderr!.on('data', (d) => (this.out += d));
    this.closed = new Promise((r) => this.child.once('close', () => r()));
  }

  private data(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      const m = /^\[(\d+\.\d+)\] (.*)$/.exec(line);
      if (!m) continue;
      const t = Number(m[1]) * 1000;
      const seq = /icmp_seq=(\d+)/.exec(m[2]!);
      if (!seq) continue;
      if (/bytes from/.test(m[2]!)) this.replies.push({ seq: Number(seq[1]), t });
      else if (!/no answer yet/.test(m[2]!)) this.errors.push(line);
    }
  }

  /** Mean time between echo requests, from the first and last replies (ms). */
  cadenceMs(): number {
    const [f, l] = [this.replies[0], this.replies[this.replies.length - 1]];
    return f && l && l.seq > f.seq ? (l.t - f.t) / (l.seq - f.seq) : NaN;
  }

  /** Replies received after `t` (epoch ms). */
  repliesAfter(t: number): number {
    let n = 0;
    for (let i = this.replies.length - 1; i >= 0 && this.replies[i]!.t > t; i--) n++;
    return n;
  }

  /** SIGINT (ping prints its summary), SIGKILL if it has not gone within 3 s. */
  async stop(): Promise<string> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGINT');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
      await this.closed;
      clearTimeout(timer);
    }
    return this.out;
  }
}

/**
 * The outage in [from, to] (epoch ms): the longest gap between consecutive replies that ends after
 * `from` (the failure) and starts before `to`. With no reply after `from` at all, the window runs to `to`.
 */
export function lossWindow(replies: Reply[], from: number, to: number): { windowMs: number; lost: number; recovered: boolean } {
  const rs = replies.filter((r) => r.t <= to).sort((x, y) => x.t - y.t);
  const before = rs.filter((r) => r.t <= from);
  const last = before[before.length - 1];
  if (!last) return { windowMs: NaN, lost: NaN, recovered: false };
  const afterCut = rs.filter((r) => r.t > from);
  if (afterCut.length === 0) return { windowMs: to - last.t, lost: NaN, recovered: false };
  let prev = last;
  let gap = 0;
  for (const r of afterCut) {
    if (r.t - prev.t > gap) gap = r.t - prev.t;
    prev = r;
  }
  // Lost sequence numbers between the last reply before the failure and the last reply before `to`.
  const seen = new Set(afterCut.map((r) => r.seq));
  const hi = Math.max(...afterCut.map((r) => r.seq));
  let lost = 0;
  for (let s = last.seq + 1; s <= hi; s++) if (!seen.has(s)) lost++;
  return { windowMs: gap, lost, recovered: true };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * How long the network is left alone between convergence and a cut, by default: longer than OSPF's
 * MinLSInterval (5 s), so that a router may re-originate its Router-LSA at once when the cut comes, as in
 * a network that has been stable for a while. (BIRD holds the new LSA back for the rest of MinLSInterval
 * and computes routes from the LSDB, so right after a restore it reroutes seconds late; MoltNet's own SPF
 * drops a dead neighbor at once whatever the LSA timers.)
 */
export const STEADY_MS = 6000;

/** The common parts of a trial; `cut`/`restore` break and mend B, `onBackup`/`onPrimary` say where traffic is. */
async function trial(o: {
  kind: FailureKind;
  settleMs: number;
  pinger: () => Pinger;
  cut: () => Promise<void>;
  restore: () => Promise<void>;
  onBackup: () => Promise<boolean>;
  onPrimary: () => Promise<boolean>;
  diagnose: () => Promise<string>;
}): Promise<Trial> {
  const ping = o.pinger();
  try {
    // Steady traffic, and a network quiet for `settleMs` (see STEADY_MS).
    const t0 = Date.now();
    await waitFor(async () => ping.repliesAfter(t0) >= 30, 10_000, 'no steady ping before the cut');
    await sleep(Math.max(0, t0 + o.settleMs - Date.now()));
    if (!(await o.onPrimary())) throw new Error(`(${o.kind}) not on the primary path before the cut`);
    const tCut = Date.now();
    await o.cut();
    let rerouted = 0;
    await waitFor(
      async () => {
        if (!(await o.onBackup())) return false;
        rerouted ||= Date.now();
        return true;
      },
      10_000,
      `(${o.kind}) traffic did not move to the backup path`,
    );
    // Traffic flowing on the backup path for a while.
    await waitFor(async () => ping.repliesAfter(Math.max(rerouted, tCut + 1000)) >= 30, 10_000, `(${o.kind}) no replies on the backup path`);
    const tRestore = Date.now();
    await o.restore();
    await waitFor(o.onPrimary, 60_000, `(${o.kind}) traffic did not return to the restored path`);
    await sleep(1000);
    const tEnd = Date.now();
    await waitFor(async () => ping.repliesAfter(tEnd - 300) >= 10, 5000, `(${o.kind}) no replies after the restore`);
    const cutW = lossWindow(ping.replies, tCut, tRestore);
    const restoreW = lossWindow(ping.replies, tRestore, tEnd);
    const cadenceMs = ping.cadenceMs();
    return {
      kind: o.kind,
      windowMs: cutW.windowMs,
      lost: cutW.lost,
      lostMs: cutW.lost * cadenceMs,
      cadenceMs,
      restoreWindowMs: restoreW.windowMs,
      restoreLostMs: restoreW.lost * cadenceMs,
      rerouteMs: rerouted - tCut,
    };
  } catch (err) {
    throw new Error(`${(err as Error).message}\nping errors: ${ping.errors.slice(-5).join('\n')}\n${await o.diagnose().catch(String)}`);
  } finally {
    await ping.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------
// The MoltNet diamond

interface Route {
  prefix: string;
  source: string;
  via: string[];
  cost?: number;
}

function underlayEndpoint(hop: number, side: 0 | 1): string {
  return `[fdff:6d6e:${hop.toString(16)}::${side + 1}]:4789`;
}

/**
 * A, B, C of the diamond are the spec's three agents (known UUIDs); D gets a random one. A's and D's
 * peer lists are written here so that their links to C carry the backup cost (they name only B and C).
 */
export async function buildMoltnetDiamond(prefix: string, dir: string): Promise<Chain> {
  const [b, c] = [agentFor(B), agentFor(C)];
  const peersOf: Record<number, Record<string, unknown>[]> = {
    [A]: [
      { name: b.name, uuid: b.uuid, endpoint: underlayEndpoint(0, 1), link: 'vxlan' },
      { name: c.name, uuid: c.uuid, endpoint: underlayEndpoint(2, 1), link: 'vxlan', cost: BACKUP_COST },
    ],
    [D]: [
      { name: b.name, uuid: b.uuid, endpoint: underlayEndpoint(1, 0), link: 'vxlan' },
      { name: c.name, uuid: c.uuid, endpoint: underlayEndpoint(3, 0), link: 'vxlan', cost: BACKUP_COST },
    ],
  };
  return buildTopology({
    prefix,
    nodes: 4,
    edges: EDGES,
    staticRoutes: 'none',
    dir,
    cliPath: CLI,
    extra: { ospf: { helloInterval: 1, deadInterval: 4 } },
    perNode: (i) => (peersOf[i] ? { peers: peersOf[i] } : {}),
  });
}

export class MoltnetDiamond {
  constructor(readonly chain: Chain) {}

  node(i: number) {
    return this.chain.nodes[i]!;
  }

  async routes(i: number): Promise<Route[]> {
    return (await callDaemon(this.node(i).socket, 'show', { what: 'routes' }, 2000)) as Route[];
  }

  /** The links node i's route to node j goes through (peer names), or [] without a route. */
  async via(i: number, j: number): Promise<string[]> {
    return (await this.routes(i)).find((r) => r.prefix === `${this.node(j).address}/128`)?.via ?? [];
  }

  async bfdUp(i: number): Promise<boolean> {
    const s = (await callDaemon(this.node(i).socket, 'show', { what: 'bfd' }, 2000)) as { state: string }[];
    return s.length === 2 && s.every((x) => x.state === 'Up');
  }

  /** A -> D and D -> A both through B, every BFD session Up, every adjacency Full. */
  async onPrimary(): Promise<boolean> {
    const bName = this.node(B).name;
    const [ad, da] = [await this.via(A, D), await this.via(D, A)];
    if (ad.length !== 1 || ad[0] !== bName || da.length !== 1 || da[0] !== bName) return false;
    for (const i of [A, B, C, D]) {
      if (!(await this.bfdUp(i))) return false;
      const nb = (await callDaemon(this.node(i).socket, 'show', { what: 'ospf neighbors' }, 2000)) as { state: string }[];
      if (nb.length !== 2 || nb.some((n) => n.state !== 'Full')) return false;
    }
    return true;
  }

  /** A -> D and D -> A both through C. */
  async onBackup(): Promise<boolean> {
    const cName = this.node(C).name;
    const [ad, da] = [await this.via(A, D), await this.via(D, A)];
    return ad.length === 1 && ad[0] === cName && da.length === 1 && da[0] === cName;
  }

  /** The first hop of A -> D as the data plane sees it: who answers a hop-limit-1 ping. */
  async firstHop(): Promise<string | undefined> {
    const r = await inNs(this.node(A).ns, 'ping', ['-6', '-n', '-c', '1', '-t', '1', '-W', '2', this.node(D).address], 10_000);
    return /From (\S+?):? icmp_seq/.exec(r.stdout)?.[1];
  }

  private nftTable(): string {
    return `${this.chain.prefix}fo`;
  }

  /** B stops sending and receiving VXLAN (its whole underlay). */
  async dropB(): Promise<void> {
    const t = this.nftTable();
    const rules = `add table inet ${t}; add chain inet ${t} in { type filter hook input priority 0; }; add chain inet ${t} out { type filter hook output priority 0; }; add rule inet ${t} in udp dport 4789 drop; add rule inet ${t} out udp dport 4789 drop`;
    const r = await inNs(this.node(B).ns, 'nft', [rules], 5000);
    if (r.code !== 0) throw new Error(`nft on B: ${r.stderr}`);
  }

  async undropB(): Promise<void> {
    const r = await inNs(this.node(B).ns, 'nft', [`delete table inet ${this.nftTable()}`], 5000);
    if (r.code !== 0) throw new Error(`nft on B: ${r.stderr}`);
  }

  /** SIGKILL B's daemon (chain pids are the daemons': `ip netns exec` execs into node). */
  async killB(): Promise<void> {
    const n = this.node(B);
    if (n.pid === undefined) throw new Error('B has no pid');
    process.kill(n.pid, 'SIGKILL');
    const pid = n.pid;
    await waitFor(
      async () => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      },
      5000,
      "B's daemon did not die",
    );
  }

  async restartB(): Promise<void> {
    const n = this.node(B);
    n.pid = startDaemon(n.ns, CLI, n.configPath, n.logPath);
    await waitForDaemon(n.socket, 20_000);
  }

  async converge(timeoutMs = 60_000): Promise<void> {
    await waitFor(() => this.onPrimary(), timeoutMs, 'the MoltNet diamond did not converge on A-B-D').catch(async (err) => {
      throw new Error(`${(err as Error).message}\n${await this.diagnose()}`);
    });
  }

  async diagnose(): Promise<string> {
    const parts: string[] = [];
    for (const i of [A, B, C, D]) {
      const n = this.node(i);
      const show = async (what: string) => JSON.stringify(await callDaemon(n.socket, 'show', { what }, 2000).catch((e) => String(e)));
      parts.push(`${n.name}: routes ${await show('routes')}\n  bfd ${await show('bfd')}\n  ospf ${await show('ospf neighbors')}`);
    }
    return `${parts.join('\n')}\n${await logs(this.chain.nodes.map((n) => n.logPath))}`;
  }

  trial(kind: FailureKind, settleMs = STEADY_MS): Promise<Trial> {
    return trial({
      kind,
      settleMs,
      pinger: () => new Pinger(this.node(A).ns, this.node(D).address),
      cut: () => (kind === 'nft' ? this.dropB() : this.killB()),
      restore: () => (kind === 'nft' ? this.undropB() : this.restartB()),
      onBackup: () => this.onBackup(),
      onPrimary: () => this.onPrimary(),
      diagnose: () => this.diagnose(),
    });
  }

  destroy(): Promise<void> {
    return destroyChain(this.chain);
  }
}

// ---------------------------------------------------------------------------------------------------------
// The BIRD diamond

/** Loopback /128 of node i (the ping source on A and target on D). */
export const birdLo = (i: number) => `fdff:6d6e:f0${i}::1`;

function birdConfig(i: number, ifaces: { name: string; cost: number }[]): string {
  return `
router id 10.201.0.${i + 1};
log stderr { info, remote, warning, error, auth, fatal, bug };
protocol device { scan time 1; }
protocol direct { ipv6; interface "lo"; }
protocol kernel { ipv6 { import none; export where source ~ [ RTS_OSPF, RTS_OSPF_IA, RTS_OSPF_EXT1, RTS_OSPF_EXT2 ]; }; }
protocol bfd { interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }
protocol ospf v3 diamond {
  ipv6 { import all; export where source = RTS_DEVICE; };
  area 0 {
${ifaces.map((f) => `    interface "${f.name}" { type ptp; hello 1; dead 4; cost ${f.cost}; bfd yes; };`).join('\n')}
  };
}
`;
}

export class BirdDiamond {
  readonly ns: string[];
  readonly routers: (RouterHandle | undefined)[] = [undefined, undefined, undefined, undefined];
  /** Interfaces per node, with their OSPF cost. */
  private readonly ifaces: { name: string; cost: number; peer: number }[][] = [[], [], [], []];

  constructor(
    readonly prefix: string,
    readonly dir: string,
  ) {
    this.ns = [A, B, C, D].map((i) => `${prefix}b${i + 1}`);
  }

  async build(): Promise<void> {
    for (const ns of this.ns) {
      await createNamespace(ns);
      for (const k of ['all', 'default']) {
        await sh('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `net.ipv6.conf.${k}.forwarding=1`]);
        await sh('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `net.ipv6.conf.${k}.accept_dad=0`]);
      }
    }
    for (const [h, [i, j]] of EDGES.entries()) {
      const [a, b] = [`${this.prefix}w${h}a`, `${this.prefix}w${h}b`];
      await connectVeth(this.ns[i]!, a, `fdff:6d6e:e${h}::1/64`, this.ns[j]!, b, `fdff:6d6e:e${h}::2/64`);
      // The backup path's cost on A's and D's side (as in the MoltNet diamond); 10 elsewhere.
      this.ifaces[i]!.push({ name: a, cost: i === A && j === C ? BACKUP_COST : 10, peer: j });
      this.ifaces[j]!.push({ name: b, cost: j === D && i === C ? BACKUP_COST : 10, peer: i });
    }
    for (const i of [A, D]) await sh('ip', ['-n', this.ns[i]!, '-6', 'addr', 'add', `${birdLo(i)}/128`, 'dev', 'lo']);
    for (const i of [A, B, C, D]) await this.startRouter(i);
  }

  private async startRouter(i: number): Promise<void> {
    this.routers[i] = await startBird(this.ns[i]!, this.dir, `bird${i + 1}`, birdConfig(i, this.ifaces[i]!));
  }

  /** The interface node i's kernel route to node j's loopback leaves by, or undefined. */
  async dev(i: number, j: number): Promise<string | undefined> {
    const out = await sh('ip', ['-n', this.ns[i]!, '-6', 'route', 'show', `${birdLo(j)}/128`]).catch(() => '');
    const m = / dev (\S+)/.exec(out);
    return out.includes(' via ') ? m?.[1] : undefined;
  }

  private ifaceToward(i: number, j: number): string {
    return this.ifaces[i]!.find((f) => f.peer === j)!.name;
  }

  async bfdUp(i: number): Promise<boolean> {
    const out = (await this.routers[i]?.cli('show bfd sessions')) ?? '';
    return (out.match(/\bUp\b/g) ?? []).length === 2;
  }

  async onPrimary(): Promise<boolean> {
    if ((await this.dev(A, D)) !== this.ifaceToward(A, B) || (await this.dev(D, A)) !== this.ifaceToward(D, B)) return false;
    if ((await this.dev(B, A)) !== this.ifaceToward(B, A) || (await this.dev(B, D)) !== this.ifaceToward(B, D)) return false;
    for (const i of [A, B, C, D]) {
      if (!(await this.bfdUp(i))) return false;
      const nb = (await this.routers[i]?.cli('show ospf neighbors')) ?? '';
      if ((nb.match(/Full/g) ?? []).length !== 2) return false;
    }
    return true;
  }

  async onBackup(): Promise<boolean> {
    return (await this.dev(A, D)) === this.ifaceToward(A, C) && (await this.dev(D, A)) === this.ifaceToward(D, C);
  }

  private nftTable(): string {
    return `${this.prefix}fo`;
  }

  /** B drops everything on its two links: in, out and through. */
  async dropB(): Promise<void> {
    const t = this.nftTable();
    const ifs = this.ifaces[B]!.map((f) => `"${f.name}"`).join(', ');
    const rules =
      `add table inet ${t}; ` +
      `add chain inet ${t} cin { type filter hook input priority 0; }; add chain inet ${t} cout { type filter hook output priority 0; }; ` +
      `add chain inet ${t} cfwd { type filter hook forward priority 0; }; ` +
      `add rule inet ${t} cin iifname { ${ifs} } drop; add rule inet ${t} cout oifname { ${ifs} } drop; add rule inet ${t} cfwd drop`;
    const r = await inNs(this.ns[B]!, 'nft', [rules], 5000);
    if (r.code !== 0) throw new Error(`nft on B: ${r.stderr}`);
  }

  async undropB(): Promise<void> {
    const r = await inNs(this.ns[B]!, 'nft', [`delete table inet ${this.nftTable()}`], 5000);
    if (r.code !== 0) throw new Error(`nft on B: ${r.stderr}`);
  }

  async killB(): Promise<void> {
    const pid = Number((await readFile(join(this.dir, `bird${B + 1}.pid`), 'utf8')).trim());
    if (!(pid > 0)) throw new Error("no pid for B's bird");
    process.kill(pid, 'SIGKILL');
    await waitFor(
      async () => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      },
      5000,
      "B's bird did not die",
    );
  }

  async restartB(): Promise<void> {
    await this.startRouter(B);
  }

  async converge(timeoutMs = 60_000): Promise<void> {
    await waitFor(() => this.onPrimary(), timeoutMs, 'the BIRD diamond did not converge on A-B-D').catch(async (err) => {
      throw new Error(`${(err as Error).message}\n${await this.diagnose()}`);
    });
  }

  async diagnose(): Promise<string> {
    const parts: string[] = [];
    for (const i of [A, B, C, D]) {
      const r = this.routers[i];
      parts.push(
        `bird${i + 1}: ${await sh('ip', ['-n', this.ns[i]!, '-6', 'route', 'show']).catch(String)}\n` +
          `${(await r?.cli('show ospf neighbors')) ?? ''}\n${(await r?.cli('show bfd sessions')) ?? ''}`,
      );
    }
    return `${parts.join('\n')}\n${await logs(this.routers.map((r) => r?.logPath ?? ''))}`;
  }

  trial(kind: FailureKind, settleMs = STEADY_MS): Promise<Trial> {
    return trial({
      kind,
      settleMs,
      pinger: () => new Pinger(this.ns[A]!, birdLo(D), birdLo(A)),
      cut: () => (kind === 'nft' ? this.dropB() : this.killB()),
      restore: () => (kind === 'nft' ? this.undropB() : this.restartB()),
      onBackup: () => this.onBackup(),
      onPrimary: () => this.onPrimary(),
      diagnose: () => this.diagnose(),
    });
  }

  async destroy(): Promise<void> {
    for (const r of this.routers) await r?.stop().catch(() => undefined);
    // A SIGKILLed bird is not stopped through its handle; its namespace going away is enough.
    for (const ns of this.ns) await deleteNamespace(ns);
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
