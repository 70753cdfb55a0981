/**
 * Mesh DNS on a 3-node chain (agenticmesh - clawdboy - carlotta), asked with dig as an operator would,
 * over UDP and TCP, on the node itself and across the mesh.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildChain, destroyChain, type Chain } from '../../src/demo/chain.js';
import { callDaemon } from '../../src/cli/control-client.js';
import { waitFor } from '../helpers/routers.js';
import { CLI, inNs, runPrefix, tempDir } from '../helpers/integration.js';

describe('mesh DNS', { timeout: 120_000 }, () => {
  let chain: Chain;
  const dig = async (ns: string, args: string[]) => {
    const r = await inNs(ns, 'dig', ['+time=2', '+tries=1', ...args], 10_000);
    return { out: r.stdout, status: /status: (\w+)/.exec(r.stdout)?.[1], short: r.stdout };
  };
  const short = async (ns: string, args: string[]) => (await inNs(ns, 'dig', ['+time=2', '+tries=1', '+short', ...args], 10_000)).stdout.trim();

  before(async () => {
    chain = await buildChain({ prefix: runPrefix('dn'), nodes: 3, link: 'vxlan', dir: await tempDir('dns'), cliPath: CLI });
    const [n1, , n3] = chain.nodes;
    await waitFor(async () => (await inNs(n1!.ns, 'ping', ['-c', '1', '-W', '1', n3!.address], 5000)).code === 0, 30_000, 'n1 does not reach n3');
  });

  after(async () => {
    if (chain) await destroyChain(chain);
  });

  test('every node answers AAAA for its own name, asked from another node across the mesh (UDP and TCP)', async () => {
    const from = chain.nodes[0]!;
    for (const n of chain.nodes) {
      assert.equal(await short(from.ns, [`@${n.address}`, 'AAAA', `${n.name}.molt`]), n.address, `${n.name} at ${n.address}`);
      assert.equal(await short(from.ns, ['+tcp', `@${n.address}`, 'AAAA', `${n.name.toUpperCase()}.molt`]), n.address);
    }
  });

  test('every node answers for every node of the mesh (names from the registry), and show registry lists them', async () => {
    const [n1] = chain.nodes;
    await waitFor(
      async () => {
        for (const at of chain.nodes) for (const n of chain.nodes) if ((await short(n1!.ns, [`@${at.address}`, 'AAAA', `${n.name}.molt`])) !== n.address) return false;
        return true;
      },
      20_000,
      'not every node answers for every name',
    );
    const reg = (await callDaemon(n1!.socket, 'show', { what: 'registry' })) as { nodes: { name: string; address: string; moltid: string; services: string[] }[] };
    assert.deepEqual(reg.nodes.map((n) => n.name).sort(), [chain.nodes[1]!.name, chain.nodes[2]!.name].sort());
    for (const n of reg.nodes) {
      assert.match(n.moltid, /^MOLTID:0x/);
      assert.deepEqual(n.services, ['rpc', 'mcp', 'dns']);
    }
  });

  test('a node answers for its peers; unknown names are NXDOMAIN, other zones REFUSED', async () => {
    const [n1, n2] = chain.nodes;
    assert.equal(await short(n2!.ns, [`@${n2!.address}`, 'AAAA', `${n1!.name}.molt`]), n1!.address);
    assert.equal(await short(n2!.ns, [`@${n2!.address}`, 'AAAA', `${chain.nodes[2]!.name}.molt`]), chain.nodes[2]!.address);
    const nx = await dig(n1!.ns, [`@${n1!.address}`, 'AAAA', 'nobody.molt']);
    assert.equal(nx.status, 'NXDOMAIN', nx.out);
    assert.match(nx.out, /flags: qr aa/);
    const other = await dig(n1!.ns, [`@${n1!.address}`, 'A', 'example.com']);
    assert.equal(other.status, 'REFUSED', other.out);
  });

  test('dig -x answers PTR for a known mesh address, NXDOMAIN for an unknown one', async () => {
    const [n1, n2] = chain.nodes;
    assert.equal(await short(n1!.ns, [`@${n1!.address}`, '-x', n2!.address]), `${n2!.name}.molt.`);
    const nx = await dig(n1!.ns, [`@${n1!.address}`, '-x', 'fd00:6d6f:6c74:1234::1']);
    assert.equal(nx.status, 'NXDOMAIN', nx.out);
  });

  test('show dns lists the names with their sources and counts the queries; it listens on the mesh address only', async () => {
    const [n1] = chain.nodes;
    const d = (await callDaemon(n1!.socket, 'show', { what: 'dns' })) as { names: { name: string; source: string }[]; counters: { queries: number; nxdomain: number } };
    // This node and its configured peer; a peer found by exchange is there too, by the name peering gave it.
    const names = d.names.map((n) => n.name);
    assert.ok(names.includes(chain.nodes[0]!.name) && names.includes(chain.nodes[1]!.name), names.join(' '));
    assert.equal(d.names.find((n) => n.name === chain.nodes[0]!.name)?.source, 'this node');
    assert.ok(d.counters.queries >= 4 && d.counters.nxdomain >= 1, JSON.stringify(d.counters));
    const ss = await inNs(n1!.ns, 'ss', ['-H', '-l', '-u', '-t', '-n', 'sport', '=', ':53'], 5000);
    const lines = ss.stdout.split('\n').filter(Boolean);
    assert.equal(lines.length, 2, ss.stdout);
    for (const l of lines) assert.ok(l.includes(`[${n1!.address}]:53`), l);
  });
});
