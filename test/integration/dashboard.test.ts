/**
 * The web dashboard in headless Chromium: a 3-node chain A - B - C routed by OSPF; a browser inside
 * A's namespace opens A's dashboard on [::1]:8080 (test/helpers/dashboard-probe.ts). The page loads
 * with no console errors and shows the three routers by name and both links up, with the tables
 * filled; then B's underlay toward C is cut and the page, without reloading, shows B - C no longer up
 * and C unreachable, its event stream still the first one after the server's request timeout.
 * Screenshots before and after go to test-artifacts/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { buildTopology, destroyChain, type Chain } from '../../src/demo/chain.js';
import { waitFor } from '../helpers/routers.js';
import { CLI, inNs, logs, runPrefix, tempDir } from '../helpers/integration.js';

const PROBE = fileURLToPath(new URL('../helpers/dashboard-probe.js', import.meta.url));
/** At the repository root (the test runs from dist/test/integration/). */
const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));
/** Longer than the REST server's request timeout (10 s), so a stream it cut would show as a reconnect. */
const MIN_OPEN_MS = 11_000;

interface Seen {
  nodes: { name: string; address: string; self: boolean; reachable: boolean }[];
  edges: { source: string; target: string; state: string; link: string }[];
  rows: Record<string, number>;
  summary: string;
  connected: boolean;
  opens: number;
  linkRates: ({ rxPps: number; txPps: number } | null)[];
}

interface Phase {
  phase: 'ready' | 'changed' | 'failed';
  waiting?: string;
  seen?: Seen;
  screenshot: string;
  consoleErrors: string[];
}

/** The probe's stdout, a line at a time; next() waits (bounded) for the next line. */
function lines(child: ChildProcess): { next: (timeoutMs: number) => Promise<string> } {
  const queue: string[] = [];
  const waiting: ((line: string | undefined) => void)[] = [];
  let closed = false;
  const rl = createInterface({ input: child.stdout! });
  rl.on('line', (l) => (waiting.length ? waiting.shift()!(l) : queue.push(l)));
  rl.on('close', () => {
    closed = true;
    for (const w of waiting.splice(0)) w(undefined);
  });
  return {
    next: (timeoutMs) =>
      new Promise((resolve, reject) => {
        if (queue.length) return resolve(queue.shift()!);
        if (closed) return reject(new Error('the probe ended without another line'));
        const timer = setTimeout(() => reject(new Error(`no line from the probe within ${timeoutMs} ms`)), timeoutMs);
        waiting.push((l) => {
          clearTimeout(timer);
          if (l === undefined) reject(new Error('the probe ended without another line'));
          else resolve(l);
        });
      }),
  };
}

const edgeBetween = (s: Seen, a: string, b: string) => s.edges.find((e) => (e.source === a && e.target === b) || (e.source === b && e.target === a));

describe('web dashboard in headless Chromium', { timeout: 120_000 }, () => {
  let chain: Chain;
  let probe: ChildProcess | undefined;
  let stderr = '';

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    chain = await buildTopology({
      prefix: runPrefix('db'),
      nodes: 3,
      edges: [
        [0, 1],
        [1, 2],
      ],
      staticRoutes: 'none',
      dir: await tempDir('dashboard'),
      cliPath: CLI,
      // BFD detects in 1 s rather than 300 ms: the browser beside A's daemon loads the CPU, and a session
      // flapping under it would take the route to C away at random.
      extra: { ospf: { helloInterval: 1, deadInterval: 4 }, bfd: { minTxMs: 200, minRxMs: 200, multiplier: 5 }, discovery: { lan: false, exchange: false } },
    });
    const [a, , c] = chain.nodes;
    await waitFor(async () => (await inNs(a!.ns, 'ping', ['-c', '1', '-W', '1', c!.address], 5000)).code === 0, 30_000, 'A does not reach C');
  });

  after(async () => {
    if (probe && probe.exitCode === null && probe.signalCode === null) probe.kill('SIGKILL');
    if (chain) await destroyChain(chain);
  });

  test('the page shows the mesh, and shows a cut link without reloading', async () => {
    const a = chain.nodes[0]!;
    probe = spawn('ip', ['netns', 'exec', a.ns, process.execPath, PROBE, 'http://[::1]:8080/', ARTIFACTS, '3', '2', String(MIN_OPEN_MS)], { stdio: ['ignore', 'pipe', 'pipe'] });
    probe.stderr!.on('data', (d) => (stderr += d));
    const out = lines(probe);
    const why = async () => `probe stderr:\n${stderr.slice(-3000)}\n${await logs(chain.nodes.map((n) => n.logPath))}`;

    try {
      await check(out);
    } catch (err) {
      // What the probe and the daemons said, with whatever failed.
      (err as Error).message += `\n${await why()}`;
      throw err;
    }
  });

  async function check(out: ReturnType<typeof lines>): Promise<void> {
    const [a, b, c] = chain.nodes;
    const ready = JSON.parse(await out.next(60_000)) as Phase;
    console.log(`screenshot: ${ready.screenshot}`);
    assert.equal(ready.phase, 'ready', JSON.stringify(ready));
    const s = ready.seen!;
    assert.deepEqual(s.nodes.map((n) => n.name).sort(), chain.nodes.map((n) => n.name).sort());
    assert.deepEqual(s.nodes.map((n) => n.address).sort(), chain.nodes.map((n) => n.address).sort());
    assert.equal(s.nodes.find((n) => n.self)?.name, a!.name);
    assert.ok(s.nodes.every((n) => n.reachable), JSON.stringify(s.nodes));
    assert.equal(edgeBetween(s, a!.name, b!.name)?.state, 'up');
    assert.equal(edgeBetween(s, b!.name, c!.name)?.state, 'up');
    assert.equal(s.edges.length, 2);
    // A's own link carries its name on the graph; the tables have A's link, neighbor, session, 2 routes.
    assert.equal(edgeBetween(s, a!.name, b!.name)?.link, b!.name);
    assert.deepEqual(s.rows, { links: 1, neighbors: 1, bfd: 1, routes: 2 });
    assert.ok(s.linkRates[0] && s.linkRates[0].rxPps > 0, `traffic rates ${JSON.stringify(s.linkRates)}`);
    assert.match(s.summary, /3 routers, 2 of 2 links up/);
    assert.deepEqual(ready.consoleErrors, []);

    // Cut B's underlay toward C: B's BFD sees it, OSPF floods B's new router LSA to A.
    const cut = await inNs(b!.ns, 'ip', ['link', 'set', chain.veths[1]!, 'down'], 5000);
    assert.equal(cut.code, 0, cut.stderr);

    const changed = JSON.parse(await out.next(60_000)) as Phase;
    console.log(`screenshot: ${changed.screenshot}`);
    assert.equal(changed.phase, 'changed', JSON.stringify(changed));
    const t = changed.seen!;
    assert.equal(edgeBetween(t, a!.name, b!.name)?.state, 'up');
    const bc = edgeBetween(t, b!.name, c!.name);
    assert.ok(bc === undefined || bc.state !== 'up', `B - C still shown up: ${JSON.stringify(t.edges)}`);
    assert.equal(t.nodes.find((n) => n.name === c!.name)?.reachable ?? false, false, JSON.stringify(t.nodes));
    assert.equal(t.rows['routes'], 1);
    // One stream all along: the server's request timeout did not cut it and the page never reloaded.
    assert.equal(t.opens, 1);
    assert.equal(t.connected, true);
    assert.deepEqual(changed.consoleErrors, []);
    for (const p of [ready.screenshot, changed.screenshot]) assert.ok((await stat(p)).size > 1000, `${p} is a screenshot`);

    const code = await new Promise<number | null | 'hung'>((resolve) => {
      if (probe!.exitCode !== null) return resolve(probe!.exitCode);
      const timer = setTimeout(() => resolve('hung'), 15_000);
      probe!.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    assert.equal(code, 0, 'the probe failed');
  }
});
