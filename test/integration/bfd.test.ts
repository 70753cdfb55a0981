/**
 * BFD on MoltNet links, with real daemons in namespaces:
 *   - sessions come Up on every link (100 ms x 3 by default);
 *   - dropping the peer's underlay packets with nftables takes the session Down within the detection
 *     time and withdraws the routes through that link; removing the drop brings both back;
 *   - saturating iperf3 through the middle node causes no flap (the forwarding plane runs in its own
 *     thread, so the control plane's timers are not starved).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { SPEC_AGENTS, buildChain, destroyChain, type Chain } from '../../src/demo/chain.js';
import { callDaemon } from '../../src/cli/control-client.js';
import { waitFor } from '../helpers/routers.js';
import { CLI, inNs, logs, runPrefix, tempDir } from '../helpers/integration.js';

interface Session {
  link: string;
  state: string;
  multihop: boolean;
  diag: string;
  detectionTimeMs: number | null;
  counters: { stateChanges: number; downCount: number; maxRxGapMs: number };
}

const FLAP_SECONDS = Number(process.env['MOLTNET_FLAP_SECONDS'] ?? 60);
/** Forwarding workers per node (default: the daemon's 'auto'); MOLTNET_BFD_WORKERS=2 saturates both cores with them. */
const WORKERS = process.env['MOLTNET_BFD_WORKERS'] === undefined ? undefined : Number(process.env['MOLTNET_BFD_WORKERS']);

describe('BFD on mesh links', { timeout: 240_000 }, () => {
  let chain: Chain;
  const bfd = async (i: number) => (await callDaemon(chain.nodes[i]!.socket, 'show', { what: 'bfd' })) as Session[];

  before(async () => {
    chain = await buildChain({
      prefix: runPrefix('bf'),
      nodes: 3,
      dir: await tempDir('bfd'),
      cliPath: CLI,
      extra: { ospf: { enabled: false }, ...(WORKERS === undefined ? {} : { interface: { workers: WORKERS } }) },
      // A multihop session (RFC 5883) between the ends of the chain, through the middle node.
      perNode: (i) => (i === 0 ? { bfd: { multihop: [SPEC_AGENTS[2]!.uuid] } } : i === 2 ? { bfd: { multihop: [SPEC_AGENTS[0]!.uuid] } } : {}),
    });
  });

  after(async () => {
    if (chain) await destroyChain(chain);
  });

  test('every session comes Up', async () => {
    await waitFor(
      async () => {
        for (let i = 0; i < 3; i++) {
          const s = await bfd(i);
          // n2: two single-hop sessions; n1 and n3: one single-hop and one multihop (to each other).
          if (s.length !== 2 || s.some((x) => x.state !== 'Up')) return false;
          if (i !== 1 && !s.some((x) => x.multihop)) return false;
        }
        return true;
      },
      15_000,
      'BFD sessions did not come Up',
    ).catch(async (e) => {
      throw new Error(`${(e as Error).message}\n${JSON.stringify(await bfd(0))}\n${await logs(chain.nodes.map((n) => n.logPath))}`);
    });
  });

  test('an nftables drop takes the session Down within the detection time; removing it restores', async () => {
    const [n1, n2] = chain.nodes;
    // n1 stops hearing n2: drop n2's underlay packets on n1's input.
    await inNs(n1!.ns, 'nft', ['add table inet mtest; add chain inet mtest in { type filter hook input priority 0; }; add rule inet mtest in udp dport 4789 drop'], 5000);
    const t0 = Date.now();
    let down = 0;
    await waitFor(
      async () => {
        const s = (await bfd(0)).find((x) => !x.multihop)!;
        if (s.state === 'Down' && down === 0) down = Date.now();
        const routes = (await callDaemon(n1!.socket, 'show', { what: 'routes' })) as { prefix: string }[];
        return down > 0 && !routes.some((r) => r.prefix === `${n2!.address}/128`);
      },
      5000,
      'the session did not go Down',
    );
    const ms = down - t0;
    process.stdout.write(`# BFD detection observed after ${ms} ms (300 ms detection time + polling)\n`);
    assert.ok(ms < 1000, `took ${ms} ms`);
    await inNs(n1!.ns, 'nft', ['delete table inet mtest'], 5000);
    await waitFor(
      async () => {
        const routes = (await callDaemon(n1!.socket, 'show', { what: 'routes' })) as { prefix: string }[];
        return (await bfd(0)).find((x) => !x.multihop)!.state === 'Up' && routes.some((r) => r.prefix === `${n2!.address}/128`);
      },
      10_000,
      'the session did not come back Up',
    );
    const p = await inNs(n1!.ns, 'ping', ['-6', '-c', '2', '-i', '0.2', '-W', '2', chain.nodes[2]!.address], 10_000);
    assert.equal(p.code, 0, p.stdout);
  });

  test(`${FLAP_SECONDS} s of saturating iperf3 through the middle node: no BFD flap`, { timeout: (FLAP_SECONDS + 60) * 1000 }, async () => {
    const [n1, , n3] = chain.nodes;
    // The previous test's drop also took the multihop session down: start from everything Up.
    await waitFor(async () => (await Promise.all([0, 1, 2].map(bfd))).every((l) => l.every((x) => x.state === 'Up')), 15_000, 'sessions not Up');
    const before = await Promise.all([0, 1, 2].map(bfd));
    const server = spawn('ip', ['netns', 'exec', n3!.ns, 'iperf3', '-s', '-1', '-B', n3!.address], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 500));
      const r = await inNs(n1!.ns, 'iperf3', ['-c', n3!.address, '-t', String(FLAP_SECONDS), '-P', '4', '-J'], (FLAP_SECONDS + 30) * 1000);
      assert.equal(r.code, 0, r.stdout.slice(-500));
      const j = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } };
      process.stdout.write(`# ${FLAP_SECONDS} s iperf3 through n2: ${(j.end.sum_received.bits_per_second / 1e6).toFixed(0)} Mbit/s\n`);
    } finally {
      server.kill('SIGKILL');
    }
    const afterS = await Promise.all([0, 1, 2].map(bfd));
    const gaps = afterS.flatMap((l, i) => l.map((s) => `n${i + 1} ${s.multihop ? 'multihop' : s.link} ${Math.round(s.counters.maxRxGapMs)}/${s.detectionTimeMs} ms${s.counters.stateChanges !== before[i]!.find((x) => x.link === s.link)!.counters.stateChanges ? ` (flapped: ${s.diag})` : ''}`));
    process.stdout.write(`# longest silence while Up / detection time: ${gaps.join(', ')}\n`);
    for (let i = 0; i < 3; i++) {
      for (const s of afterS[i]!) {
        const b = before[i]!.find((x) => x.link === s.link)!;
        assert.equal(s.state, 'Up', `node ${i + 1} link ${s.link}`);
        assert.equal(s.counters.stateChanges, b.counters.stateChanges, `node ${i + 1} link ${s.link} flapped`);
      }
    }
  });
});
