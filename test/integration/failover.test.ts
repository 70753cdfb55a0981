/**
 * Sub-second failover on a diamond of MoltNet nodes (OSPFv3 hello 1 / dead 4, BFD 100 ms x 3):
 *
 *        B
 *      /   \        A-B-D costs 20 (the active path), A-C-D costs 30 (A->C and D->C have cost 20)
 *     A     D
 *      \   /
 *        C
 *
 * A continuous ping from A's host to D's mesh address every 9 ms (`-i 0.009`: this iputils sends every
 * ~16 ms when asked for 0.01, see PING_INTERVAL in test/helpers/failover.ts); the active path is cut by
 *   (a) an nftables drop of B's whole underlay (VXLAN in and out), and
 *   (b) SIGKILL of B's daemon.
 * Each time: the loss window (last reply before the outage to the first reply after) is under 1 s,
 * A and D route through C and a hop-limit-1 ping from A is answered by C; after B is restored (table
 * deleted / daemon restarted) both route through B again and the hop-limit-1 ping is answered by B.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { A, B, C, D, MoltnetDiamond, buildMoltnetDiamond, type FailureKind, type Trial } from '../helpers/failover.js';
import { runPrefix, tempDir } from '../helpers/integration.js';
import { waitFor } from '../helpers/routers.js';

const LIMIT_MS = 1000;
const TRIALS = Number(process.env['MOLTNET_FAILOVER_TRIALS'] ?? 2);

describe('failover on a MoltNet diamond', { timeout: 600_000 }, () => {
  let net: MoltnetDiamond | undefined;

  before(async () => {
    net = new MoltnetDiamond(await buildMoltnetDiamond(runPrefix('fo'), await tempDir('failover')));
  });

  after(async () => {
    await net?.destroy();
  });

  test('converges on the cheaper path A-B-D, the data plane agrees', async () => {
    await net!.converge();
    const ad = (await net!.routes(A)).find((r) => r.prefix === `${net!.node(D).address}/128`);
    assert.equal(ad?.source, 'ospf', JSON.stringify(ad));
    assert.deepEqual(ad?.via, [net!.node(B).name]);
    assert.equal(ad?.cost, 20, JSON.stringify(ad));
    assert.equal(await net!.firstHop(), net!.node(B).address, 'a hop-limit-1 ping from A is answered by B');
  });

  const check = async (kind: FailureKind) => {
    const trials: Trial[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const t = await net!.trial(kind);
      trials.push(t);
      process.stdout.write(
        `# ${kind} trial ${i + 1}: loss window ${t.windowMs.toFixed(0)} ms (${t.lost} lost x ${t.cadenceMs.toFixed(1)} ms = ${t.lostMs.toFixed(0)} ms), ` +
          `A rerouted after ${t.rerouteMs} ms; restore: window ${t.restoreWindowMs.toFixed(0)} ms (${t.restoreLostMs.toFixed(0)} ms lost)\n`,
      );
      assert.ok(t.windowMs < LIMIT_MS, `${kind}: the loss window was ${t.windowMs.toFixed(0)} ms (limit ${LIMIT_MS})`);
      assert.ok(t.lostMs < LIMIT_MS, `${kind}: ${t.lost} pings lost (${t.lostMs.toFixed(0)} ms)`);
      // Back on the cheaper path, in the control plane (checked by the trial) and in the data plane.
      assert.deepEqual(await net!.via(A, D), [net!.node(B).name]);
      assert.deepEqual(await net!.via(D, A), [net!.node(B).name]);
      assert.equal(await net!.firstHop(), net!.node(B).address, 'after the restore a hop-limit-1 ping from A is answered by B');
    }
    return trials;
  };

  test('(a) nftables drop of B\'s underlay: loss under 1 s, back via B after the drop is removed', async () => {
    await check('nft');
  });

  test("(b) SIGKILL of B's daemon: loss under 1 s, back via B after it restarts", async () => {
    await check('kill');
  });

  test('the restarted B formed each adjacency only after BFD was Up on its link', async () => {
    const text = await readFile(net!.node(B).logPath, 'utf8');
    // The last run of B: from its last start.
    const lines = text.split('\n').filter(Boolean);
    const start = lines.map((l) => /"msg":"peering listens"/.test(l)).lastIndexOf(true);
    assert.ok(start > 0, 'B was restarted');
    const bfdUp = new Map<string, number>();
    let adjacencies = 0;
    for (const line of lines.slice(start)) {
      let e: { msg?: string; link?: string; iface?: string; to?: unknown; time: number };
      try {
        e = JSON.parse(line) as typeof e;
      } catch {
        continue;
      }
      if (e.msg === 'bfd session state' && e.to === 'Up' && !bfdUp.has(e.link!)) bfdUp.set(e.link!, e.time);
      if (e.msg === 'OSPF adjacency up') {
        adjacencies++;
        assert.ok(bfdUp.has(e.iface!), `B's adjacency on ${e.iface} came up before BFD on that link\n${lines.slice(start).join('\n')}`);
      }
    }
    assert.ok(adjacencies >= 2, `B formed ${adjacencies} adjacencies after its restart`);
  });

  test('while B is cut, the data plane goes through C', async () => {
    await net!.dropB();
    try {
      await waitFor(() => net!.onBackup(), 5000, 'A and D did not route through C');
      assert.equal(await net!.firstHop(), net!.node(C).address, 'a hop-limit-1 ping from A is answered by C');
    } finally {
      await net!.undropB();
    }
    await net!.converge();
  });
});
