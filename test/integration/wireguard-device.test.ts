/**
 * WireGuardDevice with the real wireguard-go: two namespaces joined by a veth, a device in each with
 * the other as its peer.
 *
 *   nsA: veth fd00:99::1, overlay A  ==== WireGuard over UDP ====  nsB: veth fd00:99::2, overlay B
 *
 * A is configured before B exists and B once both run, so the first handshake is B's initiation to an
 * A that already knows B. (Two initiations that cross cost wireguard-go a 5 s retry, longer than a
 * ping waits.)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { meshAddressBytes } from '../../src/common/address.js';
import type { Timers } from '../../src/controlplane/service.js';
import { alive, connectVeth, createNamespace, deleteNamespace, sh } from '../../src/demo/netns.js';
import { WireGuardDevice, type WireGuardDeviceOptions, type WireGuardLog } from '../../src/transport/wireguard/device.js';
import { WireGuardBusyError, WireGuardNotFoundError, WireGuardUapiError } from '../../src/transport/wireguard/errors.js';
import { generateWireGuardKey, type WireGuardKeyPair } from '../../src/transport/wireguard/keys.js';
import { overlayAddress, wireguardInterfaceName } from '../../src/transport/wireguard/naming.js';
import { uapiSet } from '../../src/transport/wireguard/uapi.js';
import { inNs, runPrefix, tempDir } from '../helpers/integration.js';

interface Node {
  ns: string;
  veth: string;
  underlay: string;
  port: number;
  iface: string;
  overlay: string;
  key: WireGuardKeyPair;
}

const lines: string[] = [];
const log: WireGuardLog = {
  debug: (o, m) => void lines.push(`debug ${m} ${JSON.stringify(o)}`),
  info: (o, m) => void lines.push(`info ${m} ${JSON.stringify(o)}`),
  warn: (o, m) => void lines.push(`warn ${m} ${JSON.stringify(o)}`),
  error: (o, m) => void lines.push(`error ${m} ${JSON.stringify(o)}`),
};
const recentLog = (): string => `\n--- device log\n${lines.slice(-30).join('\n')}`;

function node(ns: string, veth: string, underlay: string, port: number): Node {
  const uuid = randomUUID();
  return { ns, veth, underlay, port, iface: wireguardInterfaceName(uuid), overlay: overlayAddress(meshAddressBytes(uuid)), key: generateWireGuardKey() };
}

function options(n: Node, extra: Partial<WireGuardDeviceOptions> = {}): WireGuardDeviceOptions {
  return { interfaceName: n.iface, privateKey: n.key.privateKey, listenPort: n.port, overlayAddress: n.overlay, netns: n.ns, log, ...extra };
}

const peerOf = (n: Node) => ({ publicKey: n.key.publicKey, endpoint: { host: n.underlay, port: n.port }, allowedIps: [`${n.overlay}/128`], keepaliveSeconds: 25 });

async function ping(from: Node, to: Node, count = 3): Promise<void> {
  const r = await inNs(from.ns, 'ping', ['-6', '-c', String(count), '-i', '0.2', '-W', '2', to.overlay], 20_000);
  assert.equal(r.code, 0, `ping ${from.ns} -> ${to.overlay}: ${r.stdout}${r.stderr}${recentLog()}`);
}

/** Timers the test fires by hand, remembering each one's delay. */
function manualTimers(): Timers & { delays(): number[]; fire(ms: number): void } {
  const queue = new Map<number, { fn: () => void; ms: number }>();
  let next = 0;
  return {
    setTimeout: (fn, ms) => (queue.set(++next, { fn, ms }), next),
    clearTimeout: (h) => void queue.delete(h as number),
    delays: () => [...queue.values()].map((t) => t.ms).sort((a, b) => a - b),
    fire(ms) {
      const [h, t] = [...queue.entries()].find(([, t]) => t.ms === ms) ?? assert.fail(`no timer of ${ms} ms pending: ${this.delays()}`);
      queue.delete(h);
      t.fn();
    },
  };
}

const within = (ms: number) => ({ signal: AbortSignal.timeout(ms) });

async function until(cond: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    assert.ok(Date.now() < deadline, `condition not met within ${ms} ms${recentLog()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('WireGuardDevice over wireguard-go in two namespaces', { timeout: 180_000 }, () => {
  const p = runPrefix('wgd');
  const a = node(`${p}a`, `${p}va`, 'fd00:99::1', 51820);
  const b = node(`${p}b`, `${p}vb`, 'fd00:99::2', 51821);
  const devices: WireGuardDevice[] = [];
  const device = (o: WireGuardDeviceOptions): WireGuardDevice => {
    const d = new WireGuardDevice(o);
    devices.push(d);
    return d;
  };
  let devA: WireGuardDevice;
  let devB: WireGuardDevice;
  let dir: string;

  before(async () => {
    dir = await tempDir('wgd');
    await createNamespace(a.ns);
    await createNamespace(b.ns);
    await connectVeth(a.ns, a.veth, `${a.underlay}/64`, b.ns, b.veth, `${b.underlay}/64`);
    // Underlay neighbors resolved first: an initiation held in the kernel's ND queue could reach B
    // just as B initiates too.
    const r = await inNs(a.ns, 'ping', ['-6', '-c', '1', '-W', '5', b.underlay], 10_000);
    assert.equal(r.code, 0, `underlay ping: ${r.stdout}${r.stderr}`);
    devA = device(options(a));
    await devA.setPeer(peerOf(b)); // kept, applied at start
    await devA.start();
    devB = device(options(b));
    await devB.start();
    await devB.setPeer(peerOf(a)); // applied to the running process
  });

  after(async () => {
    await Promise.all(devices.map((d) => d.stop().catch(() => undefined)));
    await deleteNamespace(a.ns);
    await deleteNamespace(b.ns);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the interface is up with the overlay /128, the MTU and the overlay route', async () => {
    const link = await sh('ip', ['-n', a.ns, 'link', 'show', 'dev', a.iface]);
    assert.match(link, /[<,]UP[,>].* mtu 1420 /);
    assert.match(link, /qlen 1000/);
    assert.match(await sh('ip', ['-n', a.ns, '-6', 'addr', 'show', 'dev', a.iface]), new RegExp(`${a.overlay}/128`));
    assert.match(await sh('ip', ['-n', a.ns, '-6', 'route', 'show', 'dev', a.iface]), /fd6d:6f6c:7767::\/48/);
    assert.equal(await readFile(`/proc/${devA.pid}/comm`, 'utf8'), 'wireguard-go\n');
  });

  test('its UDP sockets get upstream\'s 7 MiB buffers (Debian\'s build leaves them at 208 KiB)', async () => {
    // ss -m: skmem:(r0,rb<receive buffer>,t0,tb<send buffer>,...); the kernel doubles what is set.
    const buffers = async () => {
      const out = await sh('ip', ['netns', 'exec', a.ns, 'ss', '-u', '-a', '-n', '-m', 'sport', '=', `:${a.port}`]);
      return [...out.matchAll(/rb(\d+),t\d+,tb(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
    };
    const got = await buffers();
    assert.ok(got.length >= 1, 'no socket on the listen port');
    for (const [rb, tb] of got) assert.ok(rb! >= 7 << 20 && tb! >= 7 << 20, `rb ${rb} tb ${tb}`);
  });

  test('ping6 between the overlay addresses, both ways', async () => {
    await ping(a, b);
    await ping(b, a);
  });

  test('on the veth only WireGuard UDP passes during a ping: no ICMPv6 echo in the clear', async (t) => {
    const pcap = join(dir, 'veth.pcap');
    const tshark = spawn('ip', ['netns', 'exec', a.ns, 'tshark', '-n', '-q', '-i', a.veth, '-w', pcap], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      let err = '';
      tshark.stderr.setEncoding('utf8');
      tshark.stderr.on('data', (d: string) => (err += d));
      const deadline = Date.now() + 15_000;
      while (!/Capturing on/.test(err)) {
        assert.ok(Date.now() < deadline && tshark.exitCode === null, `tshark did not start: ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      // "Capturing on" comes a moment before dumpcap sees packets.
      await new Promise((r) => setTimeout(r, 500));
      await ping(a, b, 5);
      await new Promise((r) => setTimeout(r, 500)); // the last replies onto the file
    } finally {
      tshark.kill('SIGINT');
      await once(tshark, 'close', within(10_000)).catch(() => tshark.kill('SIGKILL'));
    }
    const fields = await sh('tshark', ['-n', '-r', pcap, '-T', 'fields', '-E', 'separator=,', '-e', 'frame.time_relative', '-e', 'ipv6.nxt', '-e', 'udp.srcport', '-e', 'udp.dstport', '-e', 'icmpv6.type']);
    const frames = fields.split('\n').filter(Boolean).map((l) => l.split(','));
    const ports = new Set([String(a.port), String(b.port)]);
    const wg = frames.filter(([, nxt, sp, dp]) => nxt === '17' && ports.has(sp!) && ports.has(dp!));
    // Underlay neighbor discovery and MLD (behind a hop-by-hop header) are the veth's own business.
    const other = frames.filter((f) => !wg.includes(f) && !['133', '134', '135', '136', '143'].includes(f[4]!));
    assert.ok(wg.length >= 8, `expected the pings' requests and replies as WireGuard UDP, got ${wg.length}: ${fields}`);
    assert.deepEqual(other, [], `frames that are not WireGuard UDP between ports ${[...ports]}:\n${fields}`);
    t.diagnostic(`${frames.length} frames on ${a.veth}, ${wg.length} WireGuard UDP`);
  });

  test('stats: the peer, its endpoint and allowed IP, a recent handshake, bytes both ways', async () => {
    const s = await devA.stats();
    assert.equal(s.listenPort, a.port);
    assert.equal(s.peers.length, 1);
    const peer = s.peers[0]!;
    assert.deepEqual(peer.publicKey, b.key.publicKey);
    assert.equal(peer.endpoint, `[${b.underlay}]:${b.port}`);
    assert.deepEqual(peer.allowedIps, [`${b.overlay}/128`]);
    assert.equal(peer.persistentKeepaliveInterval, 25);
    assert.ok(Math.abs(Date.now() / 1000 - peer.lastHandshakeTimeSec) < 120, `last handshake ${peer.lastHandshakeTimeSec}`);
    assert.ok(peer.rxBytes > 0 && peer.txBytes > 0, JSON.stringify(peer));
  });

  test('kill -9 of wireguard-go: the device restarts it within a bound and ping works again', async (t) => {
    const old = devB.pid!;
    const exit = once(devB, 'exit', within(5000));
    const restarted = once(devB, 'restarted', within(10_000));
    const t0 = performance.now();
    process.kill(old, 'SIGKILL');
    assert.deepEqual(await exit, [{ code: undefined, signal: 'SIGKILL' }]);
    await restarted;
    const ms = Math.round(performance.now() - t0);
    t.diagnostic(`restarted ${ms} ms after the SIGKILL`);
    assert.ok(devB.running && devB.pid !== old, `pid ${devB.pid}`);
    await ping(a, b);
    await ping(b, a);
  });

  test('a peer removed and set again while running', async () => {
    await devA.removePeer(b.key.publicKey);
    assert.deepEqual((await devA.stats()).peers, []);
    await devA.setPeer(peerOf(b));
    await ping(a, b);
  });

  test('a UAPI set that wireguard-go refuses is an error naming its errno', async () => {
    await assert.rejects(uapiSet(devA.socketPath, 'set=1\nlisten_port=notaport\n\n', 2000), (e: unknown) => e instanceof WireGuardUapiError && e.errno === -22);
  });

  test('a missing binary fails start() with the install hint', async () => {
    const d = device(options(node(a.ns, '', '', 51830), { binary: '/nonexistent/wireguard-go' }));
    await assert.rejects(d.start(), (e: unknown) => e instanceof WireGuardNotFoundError && /install the wireguard-go package \(apt-get install wireguard-go\)/.test((e as Error).message));
    assert.equal(d.running, false);
  });

  test('a second device on the same interface name is refused; the first keeps running', async () => {
    const d = device(options(a, { listenPort: 51831 }));
    await assert.rejects(d.start(), (e: unknown) => e instanceof WireGuardBusyError && new RegExp(`another wireguard-go already runs ${a.iface}`).test((e as Error).message));
    await d.stop();
    assert.ok(existsSync(devA.socketPath));
    assert.equal((await devA.stats()).peers.length, 1);
  });

  test('supervision: backoff doubles, a failed restart schedules the next, 30 s up resets it, stop cancels', async () => {
    const timers = manualTimers();
    const c = node(a.ns, '', '', 51840);
    const d = device(options(c, { timers, restartBackoff: { initialMs: 200, maxMs: 500 } }));
    await d.start();
    assert.deepEqual(timers.delays(), [30_000]);
    const crash = async (): Promise<void> => {
      const exit = once(d, 'exit', within(5000));
      process.kill(d.pid!, 'SIGKILL');
      await exit;
    };
    const restart = async (ms: number): Promise<void> => {
      const restarted = once(d, 'restarted', within(10_000));
      timers.fire(ms);
      await restarted;
    };

    await crash();
    assert.deepEqual(timers.delays(), [200]);
    await restart(200);
    await crash();
    assert.deepEqual(timers.delays(), [400]);

    // Something else answering on the socket makes this attempt fail; the next one is scheduled.
    const squatter = createServer((s) => s.resume().end('errno=0\n\n'));
    await rm(d.socketPath, { force: true }); // the stale socket the SIGKILL left
    squatter.listen(d.socketPath);
    await once(squatter, 'listening', within(5000));
    timers.fire(400);
    await until(() => timers.delays().length > 0, 10_000);
    assert.deepEqual(timers.delays(), [500]);
    squatter.close();
    await once(squatter, 'close', within(5000));
    await restart(500);

    timers.fire(30_000); // stayed up 30 s
    await crash();
    assert.deepEqual(timers.delays(), [200]);

    await d.stop();
    assert.deepEqual(timers.delays(), []);
    assert.equal(d.pid, undefined);
    assert.equal(existsSync(d.socketPath), false);
  });

  test('stop: the process, its interface and its socket go; stop again is a no-op', async () => {
    const pid = devB.pid!;
    await devB.stop();
    await devB.stop();
    assert.equal(alive(pid), false);
    assert.equal(devB.running, false);
    assert.equal(existsSync(devB.socketPath), false);
    const r = await inNs(b.ns, 'ip', ['link', 'show', 'dev', b.iface]);
    assert.notEqual(r.code, 0, r.stdout);
    await assert.rejects(devB.stats(), /not running/);
  });
});
