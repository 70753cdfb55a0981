/**
 * LAN discovery beacons between two network namespaces joined by two veth pairs (two LANs):
 *
 *   A  <p>a1 fdff:6c62::1/64 ---- <p>b1 fdff:6c62::2/64 (and ::3 for the flood test)  B
 *      <p>a2 fdff:6c63::1/64 ---- <p>b2 fdff:6c63::2/64
 *
 * Each node is a LanBeacons in a child process inside its namespace (test/helpers/lan-beacon-node.ts),
 * with its own Ed25519 MoltID and real signed bindings. Each finds the other on both LANs with the
 * endpoint it signed there and never reports itself; an excluded interface sends nothing (tcpdump) and
 * hears nothing; garbage, a forged signature and a flood from one source are counted and dropped; a
 * signer that fails costs only the beacons it does not sign.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connectVeth, createNamespace, deleteNamespace, sh } from '../../src/demo/netns.js';
import type { LanCounters } from '../../src/controlplane/discovery/lan.js';
import type { BeaconNodeOptions } from '../helpers/lan-beacon-node.js';
import { runPrefix } from '../helpers/integration.js';
import { BEACON_HEX } from '../fixtures/beacon-packets.js';

const NODE_SCRIPT = fileURLToPath(new URL('../helpers/lan-beacon-node.js', import.meta.url));
const INTERVAL_MS = 500;
/** How long discovery may take with a 500 ms interval (the first beacon goes at start). */
const FIND_WITHIN_MS = 5000;
const UA = '3d2ac1b0-6f1e-4c8a-9b57-0a1f2e3d4c5b';
const UB = '7e4f0a9c-2b6d-4f31-8c0e-5d9a1b2c3e4f';

interface Candidate {
  event: 'candidate';
  uuid: string;
  address: string;
  moltid: string;
  endpoint: string;
  interface: string;
  from: string;
}

interface Ready {
  event: 'ready';
  uuid: string;
  moltid: string;
  interfaces: { name: string; endpointAddress?: string }[];
}

async function waitFor<T>(check: () => T | undefined, ms: number, what: () => string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() >= deadline) throw new Error(`${what()} (waited ${ms} ms)`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A beacon node's child process and everything it printed. */
class BeaconNode {
  readonly lines: Record<string, unknown>[] = [];
  stderr = '';
  exited = false;
  readonly ready: Promise<Ready>;
  private readonly exit: Promise<void>;

  constructor(readonly name: string, private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (l) => {
      try {
        this.lines.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        this.stderr += `(stdout) ${l}\n`;
      }
    });
    child.stderr.on('data', (d) => (this.stderr += d));
    this.exit = new Promise((r) => child.once('exit', () => r()));
    void this.exit.then(() => (this.exited = true));
    this.ready = waitFor(() => this.lines.find((l) => l['event'] === 'ready') as Ready | undefined, 10_000, () => `${name} did not start${this.exited ? ' (exited)' : ''}\n${this.stderr}`);
  }

  get candidates(): Candidate[] {
    return this.lines.filter((l) => l['event'] === 'candidate') as unknown as Candidate[];
  }

  async counters(): Promise<LanCounters> {
    const n = this.countersLines().length;
    this.child.stdin.write('counters\n');
    return waitFor(() => this.countersLines()[n], 3000, () => `${this.name} did not report its counters\n${this.stderr}`);
  }

  /** End its input: the node stops and must exit by itself (stop() leaves no socket or timer behind). */
  async stop(): Promise<LanCounters> {
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exit;
    clearTimeout(timer);
    assert.equal(this.child.exitCode, 0, `${this.name} did not exit by itself after stop()\n${this.stderr}`);
    return this.countersLines().at(-1)!;
  }

  async kill(): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGKILL');
    await this.exit;
  }

  private countersLines(): LanCounters[] {
    return this.lines.filter((l) => l['event'] === 'counters').map((l) => l['counters'] as LanCounters);
  }
}

describe('LAN discovery beacons between namespaces', { timeout: 120_000 }, () => {
  const p = runPrefix('lb');
  const nsA = `${p}a`;
  const nsB = `${p}b`;
  const a1 = `${p}a1`;
  const a2 = `${p}a2`;
  const b1 = `${p}b1`;
  const b2 = `${p}b2`;
  /** This test's processes: ended after each test, whatever happened. */
  let children: { kill(): Promise<void> }[] = [];

  function startNode(ns: string, name: string, opts: Omit<BeaconNodeOptions, 'intervalMs'>): BeaconNode {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, NODE_SCRIPT, JSON.stringify({ intervalMs: INTERVAL_MS, ...opts })], { stdio: ['pipe', 'pipe', 'pipe'] });
    const node = new BeaconNode(name, child);
    children.push(node);
    return node;
  }

  /** tcpdump on one interface and direction, counting the beacon port's packets. */
  async function capture(ns: string, iface: string, direction: 'in' | 'out') {
    const child = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', iface, '-Q', direction, '-n', '-l', 'udp', 'port', '6803'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exit = new Promise<void>((r) => child.once('exit', () => r()));
    const handle = {
      async kill() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exit;
      },
    };
    children.push(handle);
    await waitFor(() => (/listening on/.test(err) ? true : undefined), 10_000, () => `tcpdump on ${iface} did not start: ${err}`);
    return {
      async packets(): Promise<string[]> {
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exit;
        clearTimeout(timer);
        return out.split('\n').filter((l) => l.includes('.6803'));
      },
    };
  }

  const linkOf = (iface: string) => ({ [a1]: 1, [b1]: 1, [a2]: 2, [b2]: 2 })[iface];
  const peerEndpoint = { [a1]: '[fdff:6c62::2]:4789', [a2]: '[fdff:6c63::2]:4789', [b1]: '[fdff:6c62::1]:4789', [b2]: '[fdff:6c63::1]:4789' };
  /** The addresses a beacon that came in on `iface` may come from: the peer's link-local (with our scope) or, while that is tentative, its ULA. */
  const plausibleFrom = (iface: string, from: string) => from.endsWith(`%${iface}`) ? from.startsWith('fe80:') : from === peerEndpoint[iface]!.slice(1, -6);

  before(async () => {
    await createNamespace(nsA);
    await createNamespace(nsB);
    await connectVeth(nsA, a1, 'fdff:6c62::1/64', nsB, b1, 'fdff:6c62::2/64');
    await connectVeth(nsA, a2, 'fdff:6c63::1/64', nsB, b2, 'fdff:6c63::2/64');
  });

  afterEach(async () => {
    const ending = children;
    children = [];
    await Promise.all(ending.map((c) => c.kill()));
  });

  after(async () => {
    await Promise.all(children.map((c) => c.kill()));
    await deleteNamespace(nsA);
    await deleteNamespace(nsB);
  });

  test('each node finds the other on both LANs with the endpoint it signed there, and never reports itself', async (t) => {
    const A = startNode(nsA, 'A', { uuid: UA });
    const B = startNode(nsB, 'B', { uuid: UB });
    // The veths may get their link-local addresses only after the nodes start (the kernel's link watch
    // delays carrier events up to a second): a later scan brings them in, so this waits on candidates.
    const [ra, rb] = await Promise.all([A.ready, B.ready]);
    const started = Date.now();
    const sees = (n: BeaconNode, uuid: string, iface: string) => n.candidates.some((c) => c.uuid === uuid && c.interface === iface);
    await waitFor(
      () => (sees(A, UB, a1) && sees(A, UB, a2) && sees(B, UA, b1) && sees(B, UA, b2) ? true : undefined),
      FIND_WITHIN_MS,
      () => `not found on both LANs\nA: ${JSON.stringify(A.candidates)}\nB: ${JSON.stringify(B.candidates)}\n${A.stderr}\n${B.stderr}`,
    );
    const tookMs = Date.now() - started;
    t.diagnostic(`found on both LANs ${tookMs} ms after both nodes were up`);
    // A few more rounds, to see that nothing wrong turns up later either.
    await new Promise((r) => setTimeout(r, 3 * INTERVAL_MS));
    const [ca, cb] = await Promise.all([A.stop(), B.stop()]);
    for (const [n, peer, peerUuid] of [[A, rb, UB], [B, ra, UA]] as const) {
      assert.ok(n.candidates.length >= 4, `${n.name}: ${n.candidates.length} candidates`);
      for (const c of n.candidates) {
        assert.equal(c.uuid, peerUuid, `${n.name} reported ${c.uuid}`);
        assert.equal(c.moltid, peer.moltid);
        assert.equal(c.address, peerUuid === UA ? 'fd00:6d6f:6c74:3d2a:c1b0:6f1e:4c8a:9b57' : 'fd00:6d6f:6c74:7e4f:a9c:2b6d:4f31:8c0e');
        assert.equal(c.endpoint, peerEndpoint[c.interface], `${n.name}: ${JSON.stringify(c)}`);
        assert.ok(plausibleFrom(c.interface, c.from), `${n.name}: from ${c.from} on ${c.interface} (link ${linkOf(c.interface)})`);
      }
    }
    for (const c of [ca, cb]) {
      assert.deepEqual({ ...c, rx: 0, tx: 0 }, { rx: 0, rx_bad: 0, rx_unverified: 0, rx_own: 0, rx_ratelimited: 0, tx: 0, tx_errors: 0 }, JSON.stringify(c));
      assert.ok(c.tx >= 4 && c.rx >= 4, JSON.stringify(c));
    }
    assert.ok(tookMs < FIND_WITHIN_MS, `${tookMs} ms`);
  });

  test('an excluded interface sends nothing and hears nothing; the other carries on', async () => {
    const out = await capture(nsA, a2, 'out');
    const inb = await capture(nsA, a2, 'in');
    const A = startNode(nsA, 'A', { uuid: UA, exclude: [a2] });
    const B = startNode(nsB, 'B', { uuid: UB });
    const [ra] = await Promise.all([A.ready, B.ready]);
    assert.ok(!ra.interfaces.some((i) => i.name === a2), JSON.stringify(ra.interfaces));
    await waitFor(
      () => (B.candidates.some((c) => c.uuid === UA && c.interface === b1) && A.candidates.some((c) => c.uuid === UB) ? true : undefined),
      FIND_WITHIN_MS,
      () => `A and B did not find each other on the first LAN\nA: ${JSON.stringify(A.candidates)}\nB: ${JSON.stringify(B.candidates)}\n${A.stderr}`,
    );
    await new Promise((r) => setTimeout(r, 4 * INTERVAL_MS));
    await Promise.all([A.stop(), B.stop()]);
    const [sent, heard] = await Promise.all([out.packets(), inb.packets()]);
    assert.deepEqual(sent, [], 'A sent beacons on its excluded interface');
    // B's beacons did reach a2 (so the capture works), and A took none of them.
    assert.ok(heard.length >= 4, `B's beacons on ${a2}: ${heard.length}`);
    assert.deepEqual([...new Set(A.candidates.map((c) => c.interface))], [a1]);
    assert.deepEqual([...new Set(B.candidates.map((c) => c.interface))], [b1]);
  });

  test('garbage, a forged signature and a flood from one source are counted and dropped, and the real peer is still heard', async () => {
    // The flood's own source address: B's beacons (from its link-local address by now) never share its budget.
    await sh('ip', ['-n', nsB, '-6', 'addr', 'add', 'fdff:6c62::3/64', 'dev', b1, 'nodad']);
    children.push({ kill: () => sh('ip', ['-n', nsB, '-6', 'addr', 'del', 'fdff:6c62::3/64', 'dev', b1]).then(() => undefined, () => undefined) });
    const A = startNode(nsA, 'A', { uuid: UA });
    const B = startNode(nsB, 'B', { uuid: UB });
    await Promise.all([A.ready, B.ready]);
    await waitFor(() => (A.candidates.some((c) => c.uuid === UB) ? true : undefined), FIND_WITHIN_MS, () => `A did not hear B\n${A.stderr}`);
    const before = await A.counters();
    // From B's namespace, from an address B's own beacons never use: one beacon whose signature is
    // broken (the captured one, last byte flipped), then 29 datagrams that are not beacons, at once.
    const forged = Buffer.from(BEACON_HEX, 'hex');
    forged[forged.length - 1]! ^= 1;
    const script = `
      const s = require('node:dgram').createSocket('udp6');
      s.bind(0, 'fdff:6c62::3', () => {
        const sends = [Buffer.from('${forged.toString('hex')}', 'hex')];
        for (let i = 0; i < 29; i++) sends.push(Buffer.alloc(20 + i, i));
        let left = sends.length;
        for (const b of sends) s.send(b, 6803, 'ff02::6d6f:6c74%${b1}', (err) => { if (err) throw err; if (--left === 0) s.close(); });
      });`;
    const sender = spawn('ip', ['netns', 'exec', nsB, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let senderErr = '';
    sender.stderr.on('data', (d) => (senderErr += d));
    const code = await new Promise<number | null>((r) => {
      const timer = setTimeout(() => sender.kill('SIGKILL'), 10_000);
      sender.once('exit', (c) => (clearTimeout(timer), r(c)));
    });
    assert.equal(code, 0, senderErr);
    const delta = (c: LanCounters) => ({ bad: c.rx_bad - before.rx_bad, unverified: c.rx_unverified - before.rx_unverified, limited: c.rx_ratelimited - before.rx_ratelimited });
    // All 30 are counted one way or another once they have arrived (bounded: 3 s).
    let now = await A.counters();
    const deadline = Date.now() + 3000;
    while (delta(now).bad + delta(now).unverified + delta(now).limited < 30 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      now = await A.counters();
    }
    // The first 10 from the source are read (1 forged, 9 garbage), the other 20 dropped unread.
    assert.deepEqual(delta(now), { bad: 9, unverified: 1, limited: 20 }, `${JSON.stringify(before)} -> ${JSON.stringify(now)}`);
    const heardBefore = A.candidates.length;
    await waitFor(() => (A.candidates.length > heardBefore ? true : undefined), FIND_WITHIN_MS, () => 'A stopped hearing B after the flood');
    const [ca] = await Promise.all([A.stop(), B.stop()]);
    assert.equal(ca.rx_own, 0);
    assert.ok(A.candidates.every((c) => c.uuid === UB), JSON.stringify(A.candidates.filter((c) => c.uuid !== UB)));
  });

  test('a signer that fails is counted per beacon, never thrown; the node keeps rounds going and keeps hearing its peer', async () => {
    const A = startNode(nsA, 'A', { uuid: UA, signerFails: true });
    const B = startNode(nsB, 'B', { uuid: UB });
    await Promise.all([A.ready, B.ready]);
    await waitFor(() => (A.candidates.some((c) => c.uuid === UB) ? true : undefined), FIND_WITHIN_MS, () => `A did not hear B\n${A.stderr}`);
    await new Promise((r) => setTimeout(r, 3 * INTERVAL_MS));
    const [ca] = await Promise.all([A.stop(), B.stop()]);
    assert.equal(ca.tx, 0);
    // Two interfaces, a first round at start and one every 400-600 ms.
    assert.ok(ca.tx_errors >= 6, JSON.stringify(ca));
    assert.equal(B.candidates.length, 0);
    assert.match(A.stderr, /the signer is down/);
  });
});
