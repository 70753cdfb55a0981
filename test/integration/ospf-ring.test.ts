/**
 * Four MoltNet nodes in a ring with no static routes: OSPFv3 alone makes every pair reachable, and
 * cutting one link reroutes around the ring.
 *
 *   n1 --- n2
 *   |       |
 *   n4 --- n3
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTopology, destroyChain, ringEdges, type Chain } from '../../src/demo/chain.js';
import { callDaemon } from '../../src/cli/control-client.js';
import { sh } from '../../src/demo/netns.js';
import { waitFor } from '../helpers/routers.js';
import { CLI, inNs, logs, runPrefix, tempDir } from '../helpers/integration.js';

const OSPF = { ospf: { helloInterval: 1, deadInterval: 4 }, bfd: { enabled: false } };

interface Neighbor {
  state: string;
}
interface Route {
  prefix: string;
  source: string;
  via: string[];
}

describe('OSPFv3: a 4-node ring', { timeout: 180_000 }, () => {
  let ring: Chain;

  before(async () => {
    ring = await buildTopology({
      prefix: runPrefix('r'),
      nodes: 4,
      edges: ringEdges(4),
      staticRoutes: 'none',
      dir: await tempDir('ring'),
      cliPath: CLI,
      extra: OSPF,
    });
  });

  after(async () => {
    if (ring) await destroyChain(ring);
  });

  const routesOf = async (i: number) => (await callDaemon(ring.nodes[i]!.socket, 'show', { what: 'routes' })) as Route[];

  test('every node reaches Full with both neighbors and learns every /128', async () => {
    await waitFor(
      async () => {
        for (const n of ring.nodes) {
          const nb = (await callDaemon(n.socket, 'show', { what: 'ospf neighbors' })) as Neighbor[];
          if (nb.length !== 2 || nb.some((x) => x.state !== 'Full')) return false;
          const routes = (await callDaemon(n.socket, 'show', { what: 'routes' })) as Route[];
          for (const m of ring.nodes) {
            if (m !== n && !routes.some((r) => r.prefix === `${m.address}/128`)) return false;
          }
        }
        // Converged means the final routes, not the first ones: the opposite node's second path comes
        // with the last LSAs, and a node's SPF may still be in its backoff when the first path is there.
        return (await routesOf(0)).find((r) => r.prefix === `${ring.nodes[2]!.address}/128`)?.via.length === 2;
      },
      30_000,
      'the ring did not converge',
    ).catch(async (err) => {
      throw new Error(`${(err as Error).message}\n${await logs(ring.nodes.map((n) => n.logPath))}`);
    });
    // The opposite node is two hops away both ways: ECMP over both neighbors.
    const opposite = (await routesOf(0)).find((r) => r.prefix === `${ring.nodes[2]!.address}/128`);
    assert.equal(opposite?.source, 'ospf');
    assert.equal(opposite?.via.length, 2, JSON.stringify(opposite));
  });

  test('ping works between every pair', async () => {
    for (const a of ring.nodes) {
      for (const b of ring.nodes) {
        if (a === b) continue;
        const r = await inNs(a.ns, 'ping', ['-6', '-c', '1', '-W', '2', b.address], 10_000);
        assert.equal(r.code, 0, `${a.name} -> ${b.name}: ${r.stdout}`);
      }
    }
  });

  test('cutting n1-n2 reroutes n1 -> n2 around the ring', async () => {
    const [n1, n2] = ring.nodes;
    await sh('ip', ['-n', n1!.ns, 'link', 'set', ring.veths[0]!, 'down']);
    // n4 must have dropped its ECMP half through n1 as well: until n1's new router-LSA reaches it,
    // n1 -> n4 -> n1 is a transient micro-loop (as on any link-state router) and pings see Time exceeded.
    // The replies too: n2 must have dropped its route to n1 over the cut link (BFD on its side), and n3
    // its ECMP half to n1 through n2.
    const viaOnly = async (i: number, hop: string, to = n2!.address) => {
      const r = (await routesOf(i)).find((x) => x.prefix === `${to}/128`);
      return r !== undefined && r.source === 'ospf' && r.via.length === 1 && r.via[0] === hop;
    };
    await waitFor(
      async () =>
        (await viaOnly(0, ring.nodes[3]!.name)) &&
        (await viaOnly(3, ring.nodes[2]!.name)) &&
        (await viaOnly(1, ring.nodes[2]!.name, n1!.address)) &&
        (await viaOnly(2, ring.nodes[3]!.name, n1!.address)),
      20_000,
      'n1 did not reroute to n2 via n4 (and n4 via n3), or n2 back to n1 via n3',
    );
    const r = await inNs(n1!.ns, 'ping', ['-6', '-c', '2', '-i', '0.2', '-W', '2', n2!.address], 10_000);
    assert.equal(r.code, 0, r.stdout);
    const tr = await inNs(n1!.ns, 'ping', ['-6', '-c', '1', '-t', '1', '-W', '2', n2!.address], 10_000);
    assert.match(tr.stdout, new RegExp(`From ${ring.nodes[3]!.address}`), 'the first hop is now n4');
  });
});
