/**
 * Router IDs as users make them: agents whose UUIDs differ only in their first group (assigned in a
 * pattern) used to share a router ID (the last 32 bits of the mesh address), so no adjacency formed and
 * routing beyond one hop failed. A 4-node ring of such agents must reach every pair; two nodes with
 * the same configured router ID must say so, naming the other router.
 *
 *   n1 --- n2
 *   |       |
 *   n4 --- n3
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { buildTopology, destroyChain, ringEdges, type Chain } from '../../src/demo/chain.js';
import { callDaemon } from '../../src/cli/control-client.js';
import { waitFor } from '../helpers/routers.js';
import { CLI, everyNodeRoutesAll, inNs, logs, runPrefix, tempDir } from '../helpers/integration.js';

const OSPF = { ospf: { helloInterval: 1, deadInterval: 4 }, bfd: { enabled: false } };
/** Only the first group differs: the mesh addresses share their last 32 bits. */
const PATTERNED = [1, 2, 3, 4].map((i) => ({ name: `agent${i}`, uuid: `0000000${i}-46c5-4af7-9268-1482c54c1922` }));

interface Status {
  routerId: string;
  routerIdConflicts: { detail?: string; state?: string }[];
}

describe('router IDs of patterned UUIDs', { timeout: 180_000 }, () => {
  let ring: Chain;

  before(async () => {
    ring = await buildTopology({
      prefix: runPrefix('id'),
      nodes: 4,
      agents: PATTERNED,
      edges: ringEdges(4),
      staticRoutes: 'none',
      dir: await tempDir('rid'),
      cliPath: CLI,
      extra: OSPF,
    });
  });

  after(async () => {
    if (ring) await destroyChain(ring);
  });

  test('distinct router IDs, and every pair reaches the other', async () => {
    const ids = await Promise.all(ring.nodes.map(async (n) => ((await callDaemon(n.socket, 'show', { what: 'ospf status' })) as Status).routerId));
    assert.equal(new Set(ids).size, 4, `router IDs: ${ids.join(', ')}`);
    await waitFor(() => everyNodeRoutesAll(ring.nodes), 30_000, 'the ring did not converge').catch(async (err) => {
      throw new Error(`${(err as Error).message}\n${await logs(ring.nodes.map((n) => n.logPath))}`);
    });
    for (const a of ring.nodes) {
      for (const b of ring.nodes) {
        if (a === b) continue;
        const r = await inNs(a.ns, 'ping', ['-6', '-c', '1', '-W', '2', b.address], 10_000);
        assert.equal(r.code, 0, `${a.name} -> ${b.name}: ${r.stdout}`);
      }
    }
  });
});

describe('two nodes configured with the same router ID', { timeout: 120_000 }, () => {
  let pair: Chain;

  before(async () => {
    pair = await buildTopology({
      prefix: runPrefix('dup'),
      nodes: 2,
      edges: [[0, 1]],
      staticRoutes: 'none',
      dir: await tempDir('dupid'),
      cliPath: CLI,
      extra: { ospf: { helloInterval: 1, deadInterval: 4, routerId: '10.0.0.1' }, bfd: { enabled: false } },
    });
  });

  after(async () => {
    if (pair) await destroyChain(pair);
  });

  test('each reports the conflict naming the other, and keeps its configured ID', async () => {
    for (const [me, other] of [pair.nodes, [...pair.nodes].reverse()]) {
      await waitFor(
        async () => ((await callDaemon(me!.socket, 'show', { what: 'ospf status' })) as Status).routerIdConflicts.length > 0,
        20_000,
        `${me!.name} did not report the conflict`,
      );
      const st = (await callDaemon(me!.socket, 'show', { what: 'ospf status' })) as Status;
      assert.equal(st.routerId, '10.0.0.1');
      const log = await readFile(me!.logPath, 'utf8');
      const line = log.split('\n').find((l) => /router ID conflict/.test(l));
      assert.ok(line, `no log line about the conflict in ${me!.name}'s log`);
      // The other router is named by its link-local address (fe80:: + the last 64 bits of its mesh address).
      const otherLl = `fe80::${other!.address.split(':').slice(4).join(':')}`;
      assert.match(line!, new RegExp(otherLl.replace(/:/g, ':0*')), line);
      assert.match(line!, /"level":50/, 'a configured ID conflict is an error');
    }
  });
});
