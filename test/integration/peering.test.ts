/**
 * Authenticated peering between real daemons in namespaces (TCP 6802): two nodes peer through the
 * handshake and ping; an impostor with the same uuid and another key, on the same underlay address
 * after the real node stops, is refused and cannot inject packets; a denied MoltID is refused; and
 * lifting the denial lets the real node back in.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { buildTopology, destroyChain, type Chain } from '../../src/demo/chain.js';
import { callDaemon } from '../../src/cli/control-client.js';
import { startDaemon, stopProcess, waitForDaemon } from '../../src/demo/netns.js';
import { waitFor } from '../helpers/routers.js';
import { vxlanFrame, packet } from '../helpers/engine-net.js';
import { meshMac } from '../../src/transport/wire/ethernet.js';
import { addr } from '../helpers/packets.js';
import { CLI, counters, inNs, logs, runPrefix, sendUdpFrom, tempDir } from '../helpers/integration.js';

interface Peer {
  name: string;
  state: string;
  reason?: string;
  moltid?: string;
  link: { id: number; state: string } | null;
}

const peersOf = async (socket: string) => (await callDaemon(socket, 'show', { what: 'peers' })) as Peer[];

describe('authenticated peering on TCP 6802', { timeout: 240_000 }, () => {
  let net: Chain;
  let impostorPid: number | undefined;
  const allLogs = async () => logs([...net.nodes.map((n) => n.logPath), join(net.dir, 'impostor.log')]);

  before(async () => {
    net = await buildTopology({
      prefix: runPrefix('pe'),
      nodes: 2,
      edges: [[0, 1]],
      staticRoutes: 'none',
      dir: await tempDir('peering'),
      cliPath: CLI,
      extra: { ospf: { helloInterval: 1, deadInterval: 4 } },
    });
  });

  after(async () => {
    if (impostorPid !== undefined) await stopProcess(impostorPid);
    if (net) await destroyChain(net);
  });

  test('two nodes peer through the handshake, pin each other and ping', async () => {
    const [n1, n2] = net.nodes;
    // Established is the handshake; the link it creates comes up once BFD does, a moment later.
    await waitFor(async () => (await peersOf(n1!.socket))[0]!.link?.state === 'up', 10_000, 'the peer link did not come up');
    const p1 = (await peersOf(n1!.socket))[0]!;
    const me2 = (await callDaemon(n2!.socket, 'show', { what: 'peering' })) as { moltid: string };
    assert.equal(p1.state, 'established', JSON.stringify(p1));
    assert.equal(p1.moltid, me2.moltid);
    assert.equal(p1.link?.state, 'up');
    const pins = JSON.parse(await readFile(join(net.dir, 'state1', 'known-peers.json'), 'utf8')) as Record<string, string>;
    assert.equal(pins[n2!.uuid], me2.moltid);
    const r = await inNs(n1!.ns, 'ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', n2!.address], 15_000);
    assert.equal(r.code, 0, `${r.stdout}\n${await allLogs()}`);
  });

  test('a connection flood on 6802 from the peer\'s address is refused past the per-source limit; the session stays up', async () => {
    const [n1, n2] = net.nodes;
    const edge = net.edges[0]!;
    // 60 connections at once from n2's underlay address, held open for a second, sending garbage.
    const script = `
      const net = require('node:net');
      const socks = [];
      for (let i = 0; i < 60; i++) {
        const s = net.connect({ host: '${edge.addrA}', port: 6802, localAddress: '${edge.addrB}' });
        s.on('error', () => {});
        s.on('connect', () => s.write(Buffer.alloc(64, 0xff)));
        socks.push(s);
      }
      setTimeout(() => { for (const s of socks) s.destroy(); }, 1000);`;
    const r = await inNs(n2!.ns, process.execPath, ['-e', script], 20_000);
    assert.equal(r.code, 0, r.stderr);
    const st = (await callDaemon(n1!.socket, 'show', { what: 'peering' })) as { counters: { refused_connections: number } };
    assert.ok(st.counters.refused_connections >= 40, JSON.stringify(st));
    const p = (await peersOf(n1!.socket))[0]!;
    assert.equal(p.state, 'established', JSON.stringify(p));
    const ping = await inNs(n1!.ns, 'ping', ['-6', '-c', '2', '-i', '0.2', '-W', '2', n2!.address], 10_000);
    assert.equal(ping.code, 0, ping.stdout);
  });

  test('an impostor with the uuid of a stopped node and another key is refused and cannot inject packets', async () => {
    const [n1, n2] = net.nodes;
    await stopProcess(n2!.pid!);
    // The session's end (the stopped daemon's sockets close) takes the link away at once.
    await waitFor(async () => (await peersOf(n1!.socket))[0]!.link === null, 5000, 'n1 kept the link of a stopped peer');
    // Same uuid, same underlay address, a state directory of its own: a new MoltID key.
    const cfg = parse(await readFile(n2!.configPath, 'utf8')) as Record<string, unknown>;
    const impostorConfig = join(net.dir, 'impostor.yaml');
    await writeFile(impostorConfig, stringify({ ...cfg, stateDir: join(net.dir, 'impostor-state'), controlSocket: join(net.dir, 'impostor.sock') }), { mode: 0o600 });
    impostorPid = startDaemon(n2!.ns, CLI, impostorConfig, join(net.dir, 'impostor.log'));
    try {
      await impostorChecks();
    } finally {
      // Whatever failed, the next test needs n2's ports back.
      await stopProcess(impostorPid);
      impostorPid = undefined;
    }
  });

  async function impostorChecks(): Promise<void> {
    const [n1, n2] = net.nodes;
    await waitForDaemon(join(net.dir, 'impostor.sock'), 20_000);
    await waitFor(
      async () => {
        const p = (await peersOf(n1!.socket))[0]!;
        return p.state === 'refused' && /another MoltID than the one pinned/.test(p.reason ?? '');
      },
      20_000,
      'n1 did not refuse the impostor for its key',
    ).catch(async (err) => assert.fail(`${(err as Error).message}\n${JSON.stringify(await peersOf(n1!.socket))}\n${await allLogs()}`));
    // The impostor dials n1 (refused, with the reason in n1's reply) while n1 dials it (n1 drops that
    // connection): its shown reason is the last attempt's, so wait for one of its own dials.
    await waitFor(async () => /refused by the peer|another MoltID/.test((await peersOf(join(net.dir, 'impostor.sock')))[0]!.reason ?? ''), 20_000, 'the impostor was not told why').catch(async (err) =>
      assert.fail(`${(err as Error).message}\n${JSON.stringify(await peersOf(join(net.dir, 'impostor.sock')))}`),
    );
    const imp = (await peersOf(join(net.dir, 'impostor.sock')))[0]!;
    assert.equal(imp.link, null);

    // VXLAN frames from the peer's own underlay address, carrying an echo request to n1: dropped,
    // counted as unauthenticated, never answered.
    const before = await counters(n1!.socket);
    const echo = vxlanFrame(packet({ src: n2!.address, dst: n1!.address }), meshMac(addr(n2!.address)), meshMac(addr(n1!.address)));
    const edge = net.edges[0]!;
    const r = await sendUdpFrom(n2!.ns, { bind: edge.addrB, to: edge.addrA, port: 4789, payload: echo, count: 20 });
    assert.equal(r.code, 0, r.stderr);
    await new Promise((res) => setTimeout(res, 300));
    const afterC = await counters(n1!.socket);
    assert.ok((afterC['drop_unauthenticated'] ?? 0) - (before['drop_unauthenticated'] ?? 0) >= 20, JSON.stringify(afterC));
    assert.equal((afterC['host_tx_packets'] ?? 0) - (before['host_tx_packets'] ?? 0), 0, 'nothing reached n1\'s host');
    const ping = await inNs(n2!.ns, 'ping', ['-6', '-c', '1', '-W', '1', n1!.address], 10_000);
    assert.notEqual(ping.code, 0);
  }

  test('a denied MoltID is refused with the reason on both sides; lifting the denial lets it back', async () => {
    const [n1, n2] = net.nodes;
    const moltid2 = JSON.parse(await readFile(join(net.dir, 'state1', 'known-peers.json'), 'utf8'))[n2!.uuid] as string;
    const cfg1 = parse(await readFile(n1!.configPath, 'utf8')) as Record<string, unknown>;
    await writeFile(n1!.configPath, stringify({ ...cfg1, peering: { deny: [moltid2] } }), { mode: 0o600 });
    await callDaemon(n1!.socket, 'reload', {});
    n2!.pid = startDaemon(n2!.ns, CLI, n2!.configPath, n2!.logPath);
    await waitForDaemon(n2!.socket, 20_000);
    await waitFor(
      async () => /is denied/.test((await peersOf(n1!.socket))[0]!.reason ?? '') && /refused by the peer: MoltID .* is denied/.test((await peersOf(n2!.socket))[0]!.reason ?? ''),
      20_000,
      'the denied MoltID was not refused on both sides',
    ).catch(async (err) => assert.fail(`${(err as Error).message}\n${JSON.stringify(await peersOf(n1!.socket))}\n${JSON.stringify(await peersOf(n2!.socket))}`));
    assert.equal((await peersOf(n1!.socket))[0]!.link, null);

    await writeFile(n1!.configPath, stringify(cfg1), { mode: 0o600 });
    await callDaemon(n1!.socket, 'reload', {});
    await waitFor(async () => (await peersOf(n1!.socket))[0]!.state === 'established', 45_000, 'the real peer did not come back after the denial was lifted');
    await waitFor(async () => (await inNs(n1!.ns, 'ping', ['-6', '-c', '1', '-W', '1', n2!.address], 5000)).code === 0, 15_000, 'no ping after re-peering');
  });
});
