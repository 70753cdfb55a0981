/**
 * Discovery between real daemons in namespaces: peer exchange (a node that knows one member reaches
 * the others).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTopology, destroyChain, type Chain } from '../../src/demo/chain.js';
import { callDaemon } from '../../src/cli/control-client.js';
import { sh } from '../../src/demo/netns.js';
import { waitFor } from '../helpers/routers.js';
import { CLI, inNs, logs, runPrefix, tempDir } from '../helpers/integration.js';

interface Peer {
  name: string;
  uuid?: string;
  state: string;
  source: string;
  origin: string;
}

const peersOf = async (socket: string) => (await callDaemon(socket, 'show', { what: 'peers' })) as Peer[];

describe('peer exchange', { timeout: 180_000 }, () => {
  let net: Chain;

  before(async () => {
    // n1 - n2 - n3, and the underlay routes between the two subnets through n2's kernel (as the Internet
    // would), so n1 can reach the endpoint n3 announced to n2. Only n2 knows both.
    net = await buildTopology({
      prefix: runPrefix('px'),
      nodes: 3,
      edges: [[0, 1], [1, 2]],
      staticRoutes: 'none',
      dir: await tempDir('exchange'),
      cliPath: CLI,
      extra: { ospf: { helloInterval: 1, deadInterval: 4 }, discovery: { lan: false, exchange: true, exchangeSeconds: 5 } },
    });
    const [e0, e1] = net.edges;
    await sh('ip', ['netns', 'exec', net.nodes[1]!.ns, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
    await sh('ip', ['-n', net.nodes[0]!.ns, '-6', 'route', 'add', `${e1!.addrB.replace(/::\d+$/, '::')}/64`, 'via', e0!.addrB]);
    await sh('ip', ['-n', net.nodes[2]!.ns, '-6', 'route', 'add', `${e0!.addrA.replace(/::\d+$/, '::')}/64`, 'via', e1!.addrA]);
  });

  after(async () => {
    if (net) await destroyChain(net);
  });

  test('n1, which knows only n2, learns n3 from n2, peers with it and pings it over their own link', async () => {
    const [n1, , n3] = net.nodes;
    await waitFor(
      async () => (await peersOf(n1!.socket)).some((p) => p.uuid === n3!.uuid && p.state === 'established' && (p.source === 'exchange' || p.source === 'inbound')),
      40_000,
      'n1 did not peer with n3 through exchange',
    ).catch(async (err) => assert.fail(`${(err as Error).message}\n${JSON.stringify(await peersOf(n1!.socket))}\n${await logs(net.nodes.map((n) => n.logPath))}`));
    const viaN3 = (await peersOf(n1!.socket)).find((p) => p.uuid === n3!.uuid)!;
    assert.equal(viaN3.origin, 'discovered');
    const r = await inNs(n1!.ns, 'ping', ['-6', '-c', '1', '-t', '1', '-W', '2', n3!.address], 10_000);
    assert.equal(r.code, 0, `one hop: n1 reaches n3 over their exchanged link\n${r.stdout}`);
  });
});

describe('LAN discovery', { timeout: 120_000 }, () => {
  let net: Chain;

  before(async () => {
    // Two nodes on one link and nothing configured: no peers, no Moltbook.
    net = await buildTopology({
      prefix: runPrefix('ln'),
      nodes: 2,
      edges: [[0, 1]],
      unconfiguredEdges: [0],
      staticRoutes: 'none',
      dir: await tempDir('lan'),
      cliPath: CLI,
      extra: { ospf: { helloInterval: 1, deadInterval: 4 }, discovery: { lan: true, lanIntervalSeconds: 1, exchange: false } },
    });
  });

  after(async () => {
    if (net) await destroyChain(net);
  });

  test('two nodes with no Moltbook and no peers find each other by beacons, peer and ping', async () => {
    const [n1, n2] = net.nodes;
    await waitFor(
      async () => {
        const a = await peersOf(n1!.socket);
        const b = await peersOf(n2!.socket);
        return a.some((p) => p.uuid === n2!.uuid && p.state === 'established') && b.some((p) => p.uuid === n1!.uuid && p.state === 'established');
      },
      30_000,
      'the LAN neighbours did not peer',
    ).catch(async (err) => assert.fail(`${(err as Error).message}\n${JSON.stringify(await peersOf(n1!.socket))}\n${await logs(net.nodes.map((n) => n.logPath))}`));
    const sources = [...(await peersOf(n1!.socket)), ...(await peersOf(n2!.socket))].map((p) => p.source);
    assert.ok(sources.includes('lan'), JSON.stringify(sources));
    type Lan = { lan: { interfaces: string[]; counters: { tx: number; rx: number; rx_bad: number; rx_unverified: number } } };
    const lanOf = async () => ((await callDaemon(n1!.socket, 'show', { what: 'discovery' })) as Lan).lan;
    // Either side may have heard the other first; both send and hear within a few intervals.
    await waitFor(async () => {
      const l = await lanOf();
      return l.counters.tx > 0 && l.counters.rx > 0;
    }, 10_000, 'n1 did not both send and hear beacons').catch(async (err) => assert.fail(`${(err as Error).message}: ${JSON.stringify(await lanOf())}`));
    const l = await lanOf();
    assert.deepEqual(l.interfaces, [net.veths[0]]);
    assert.equal(l.counters.rx_bad + l.counters.rx_unverified, 0);
    await waitFor(async () => (await inNs(n1!.ns, 'ping', ['-6', '-c', '1', '-W', '1', n2!.address], 5000)).code === 0, 15_000, 'no ping between the LAN neighbours');
  });
});
