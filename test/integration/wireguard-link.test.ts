/**
 * WireGuard links between real daemons: the peers learn each other's WireGuard key and port in the
 * peering handshake, each runs one wireguard-go, and the VXLAN link rides inside it. ping and iperf3
 * cross it, the underlay carries only WireGuard (and the peering TCP), and a killed wireguard-go is
 * restarted with the link back.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { buildTopology, destroyChain, type Chain } from '../../src/demo/chain.js';
import { callDaemon } from '../../src/cli/control-client.js';
import { waitFor } from '../helpers/routers.js';
import { startDaemon, waitForDaemon, waitForPeers } from '../../src/demo/netns.js';
import { CLI, inNs, logs, run, runPrefix, tempDir } from '../helpers/integration.js';

interface WgInfo {
  interface: string;
  running: boolean;
  pid?: number;
}

describe('WireGuard links', { timeout: 240_000 }, () => {
  let net: Chain;
  const allLogs = () => logs(net.nodes.map((n) => n.logPath));

  before(async () => {
    net = await buildTopology({
      prefix: runPrefix('wg'),
      nodes: 2,
      edges: [[0, 1]],
      link: 'wireguard',
      staticRoutes: 'none',
      dir: await tempDir('wglink'),
      cliPath: CLI,
      extra: { ospf: { helloInterval: 1, deadInterval: 4 } },
    });
  });

  after(async () => {
    if (net) await destroyChain(net);
  });

  test('ping crosses the link, and the underlay sees only WireGuard for it', async () => {
    const [n1, n2] = net.nodes;
    const wg = (await callDaemon(n1!.socket, 'show', { what: 'wireguard' })) as WgInfo;
    assert.equal(wg.running, true, JSON.stringify(wg));
    // The first WireGuard handshake may cross the peer's and wait for wireguard-go's 5 s retry.
    await waitFor(async () => (await inNs(n1!.ns, 'ping', ['-6', '-c', '1', '-W', '1', n2!.address], 5000)).code === 0, 20_000, 'no ping over the new link').catch(async (err) =>
      assert.fail(`${(err as Error).message}\n${await allLogs()}`),
    );
    const veth = net.veths[0]!;
    const cap = spawn('ip', ['netns', 'exec', n1!.ns, 'tshark', '-i', veth, '-n', '-l', '-T', 'fields', '-e', 'udp.port', '-e', 'tcp.port', '-f', 'udp or tcp', '-a', 'duration:6'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    cap.stdout.on('data', (d) => (out += d));
    const done = new Promise<void>((res) => cap.on('close', () => res()));
    await new Promise((res) => setTimeout(res, 1500));
    const r = await inNs(n1!.ns, 'ping', ['-6', '-c', '5', '-i', '0.2', '-W', '2', '-s', '1200', n2!.address], 15_000);
    assert.equal(r.code, 0, `${r.stdout}\n${await allLogs()}`);
    await done;
    const lines = out.split('\n').filter(Boolean);
    assert.ok(lines.length >= 10, `too few packets captured: ${out}`);
    for (const l of lines) {
      const [udp, tcp] = l.split('\t');
      if (tcp) assert.match(tcp, /\b6802\b/, `TCP other than peering: ${l}`);
      else assert.match(udp ?? '', /\b51820\b/, `UDP other than WireGuard on the underlay: ${l}`);
    }
  });

  test('iperf3 TCP over the link', async () => {
    const [n1, n2] = net.nodes;
    const server = spawn('ip', ['netns', 'exec', n2!.ns, 'iperf3', '-s', '-1', '-B', n2!.address], { stdio: 'ignore' });
    try {
      await new Promise((res) => setTimeout(res, 500));
      const r = await run('ip', ['netns', 'exec', n1!.ns, 'iperf3', '-c', n2!.address, '-t', '3', '-J'], 30_000);
      assert.equal(r.code, 0, r.stdout.slice(0, 2000));
      const bps = (JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second;
      process.stdout.write(`# iperf3 over the WireGuard link: ${(bps / 1e6).toFixed(0)} Mbit/s\n`);
      assert.ok(bps > 0);
    } finally {
      server.kill('SIGKILL');
    }
  });

  test('killing wireguard-go is survived: it is restarted and the link comes back', async () => {
    const [n1, n2] = net.nodes;
    const before = (await callDaemon(n1!.socket, 'show', { what: 'wireguard' })) as WgInfo;
    assert.ok(before.pid);
    process.kill(before.pid, 'SIGKILL');
    await waitFor(
      async () => {
        const now = (await callDaemon(n1!.socket, 'show', { what: 'wireguard' })) as WgInfo;
        return now.running && now.pid !== undefined && now.pid !== before.pid;
      },
      15_000,
      'wireguard-go was not restarted',
    ).catch(async (err) => assert.fail(`${(err as Error).message}\n${await allLogs()}`));
    await waitFor(async () => (await inNs(n1!.ns, 'ping', ['-6', '-c', '1', '-W', '1', n2!.address], 5000)).code === 0, 30_000, 'no ping after the restart').catch(async (err) =>
      assert.fail(`${(err as Error).message}\n${await allLogs()}`),
    );
  });

  test('a daemon killed with SIGKILL leaves wireguard-go behind; the next daemon ends it and takes over', async () => {
    const [n1, n2] = net.nodes;
    const orphan = ((await callDaemon(n1!.socket, 'show', { what: 'wireguard' })) as WgInfo).pid!;
    process.kill(n1!.pid!, 'SIGKILL');
    await new Promise((res) => setTimeout(res, 300));
    assert.doesNotThrow(() => process.kill(orphan, 0), 'wireguard-go outlived the daemon, as expected');
    n1!.pid = startDaemon(n1!.ns, CLI, n1!.configPath, n1!.logPath);
    await waitForDaemon(n1!.socket, 20_000);
    await waitForPeers(n1!.socket, 20_000);
    await waitFor(async () => (await inNs(n1!.ns, 'ping', ['-6', '-c', '1', '-W', '1', n2!.address], 5000)).code === 0, 30_000, 'no ping after the daemon came back').catch(async (err) =>
      assert.fail(`${(err as Error).message}\n${await allLogs()}`),
    );
    const now = (await callDaemon(n1!.socket, 'show', { what: 'wireguard' })) as WgInfo;
    assert.notEqual(now.pid, orphan);
    assert.throws(() => process.kill(orphan, 0), 'the orphan is gone');
  });
});
