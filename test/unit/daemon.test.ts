/**
 * The daemon's wiring, in one process: two daemons over the in-memory addon, each with the in-process
 * forwarding plane and a fake host network. Config peers, runtime peers, reload, removal and the
 * control socket, with real packets through the real engine; no root, no namespaces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon } from '../../src/daemon/daemon.js';
import { InProcessForwardingPlane } from '../../src/daemon/forwarding-plane-inprocess.js';
import { MemoryNetwork } from '../../src/dataplane/io/memory.js';
import { parseConfig } from '../../src/config/load.js';
import { parsePeer } from '../../src/config/load.js';
import { callDaemon } from '../../src/cli/control-client.js';
import { silentLogger } from '../../src/common/log.js';
import type { HostNet } from '../../src/daemon/host-interface.js';
import { ipv6Packet } from '../helpers/packets.js';
import { waitFor } from '../helpers/routers.js';

// The in-memory underlay carries no TCP: these peers skip the handshake (peering has its own tests),
// and the peering servers listen on loopback ports of their own.
const PEERING_PORT = 20000 + (process.pid % 20000);
const A = { uuid: 'daa46e88-46c5-4af7-9268-1482c54c1922', address: 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268', underlay: 'fd00:1::1' };
const B = { uuid: '88833763-60b7-47db-8703-349c6b2c70ff', address: 'fd00:6d6f:6c74:8883:3763:60b7:47db:8703', underlay: 'fd00:1::2' };

function fakeHostNet(calls: string[]): HostNet {
  return {
    configureHostInterface: async (o) => void calls.push(`host ${o.name} ${o.address} ${o.meshPrefix}`),
    configureKernelLink: async (o) => void calls.push(`kernel ${o.name}`),
  };
}

interface Route {
  prefix: string;
  via: string[];
  source: string;
}

test('two daemons over the in-memory addon: config and runtime peers, forwarding, reload, removal', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'moltnet-daemon-'));
  const net = new MemoryNetwork();
  const calls: string[] = [];
  const nodeConfig = (n: typeof A, name: string, extra: string) =>
    parseConfig(
      `uuid: ${n.uuid}\nstateDir: ${join(dir, name)}\ncontrolSocket: ${join(dir, `${name}.sock`)}\n` +
        `interface: { name: molt-${name} }\nunderlay: { listen: "[${n.underlay}]:4789", greListen: "[${n.underlay}]:4754" }\n` +
        `ospf: { enabled: false }\nbfd: { enabled: false }\npeering: { listen: 127.0.0.1, port: ${n === A ? PEERING_PORT : PEERING_PORT + 1} }\n` +
        // The mesh services bind real sockets; these daemons share this process's network.
        `services: { dns: false, http: false, rpc: false, mcp: false }\n${extra}`,
    );
  let configA = nodeConfig(A, 'a', `peers:\n  - { name: b, uuid: ${B.uuid}, endpoint: "[${B.underlay}]:4789", authenticate: false }\n`);
  const deps = (load: () => ReturnType<typeof nodeConfig>) => ({
    io: net,
    hostNet: fakeHostNet(calls),
    createPlane: (o: ConstructorParameters<typeof InProcessForwardingPlane>[0]) => new InProcessForwardingPlane(o),
    loadConfig: async () => load(),
  });
  const a = new Daemon(configA, silentLogger(), deps(() => configA));
  const b = new Daemon(nodeConfig(B, 'b', ''), silentLogger(), deps(() => nodeConfig(B, 'b', '')));
  try {
    await a.start();
    await b.start();
    assert.deepEqual(calls.slice(0, 2), [
      `host molt-a ${A.address} fd00:6d6f:6c74::/48`,
      `host molt-b ${B.address} fd00:6d6f:6c74::/48`,
    ]);
    // B learns A at run time; it is kept in B's state directory.
    const peer = await b.addPeer(parsePeer({ name: 'a', uuid: A.uuid, endpoint: `[${A.underlay}]:4789`, authenticate: false }));
    assert.equal(peer['origin'], 'runtime');
    assert.equal(peer['state'], 'unauthenticated');
    const saved = join(dir, 'b', 'runtime-peers.json');
    assert.equal((await stat(saved)).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(await readFile(saved, 'utf8')), [{ name: 'a', uuid: A.uuid, endpoint: `[${A.underlay}]:4789`, link: 'vxlan', vni: 7171948, authenticate: false, cost: 10 }]);
    await assert.rejects(b.addPeer(parsePeer({ name: 'a2', uuid: A.uuid, endpoint: '[fd00:1::9]:4789', authenticate: false })), /already peer "a"/);

    // A ping from A's host reaches B's host through both engines (connected routes, no OSPF).
    const tunA = net.tunFd('molt-a');
    const tunB = net.tunFd('molt-b');
    assert.ok(tunA !== undefined && tunB !== undefined);
    const ping = ipv6Packet({ src: A.address, dst: B.address });
    net.inject(tunA, ping.buf.subarray(ping.off, ping.off + ping.len));
    const atB: Buffer[] = [];
    await waitFor(async () => (atB.push(...net.written(tunB)), atB.some((p) => p.equals(ping.buf))), 2000, 'the ping did not reach B');

    const routesA = (await callDaemon(configA.controlSocket, 'show', { what: 'routes' })) as Route[];
    assert.deepEqual(routesA, [{ prefix: `${B.address}/128`, via: ['b'], source: 'connected' }]);
    const linksB = (await callDaemon(join(dir, 'b.sock'), 'show', { what: 'links' })) as { name: string; origin: string; state: string }[];
    assert.deepEqual(linksB.map((l) => [l.name, l.origin, l.state]), [['a', 'runtime', 'up']]);

    // Reload: a cost change is taken in place (same link id); a static route is added.
    configA = nodeConfig(A, 'a', `peers:\n  - { name: b, uuid: ${B.uuid}, endpoint: "[${B.underlay}]:4789", cost: 30, authenticate: false }\nroutes:\n  - { prefix: "fd00:6d6f:6c74:f8a9::/64", via: b }\n`);
    const idBefore = ((await callDaemon(configA.controlSocket, 'show', { what: 'links' })) as { id: number }[])[0]!.id;
    const summary = await a.reload();
    assert.deepEqual(summary.cost, ['b']);
    assert.equal(summary.routes, true);
    const linksA = (await callDaemon(configA.controlSocket, 'show', { what: 'links' })) as { id: number; cost: number }[];
    assert.deepEqual(linksA.map((l) => [l.id, l.cost]), [[idBefore, 30]]);
    assert.equal(((await callDaemon(configA.controlSocket, 'show', { what: 'routes' })) as Route[]).length, 2);

    // A reload that would change the node's identity is refused and changes nothing.
    const good = configA;
    configA = nodeConfig(B, 'a', '');
    await assert.rejects(a.reload(), /uuid: changed .*restart the daemon/);
    configA = good;
    assert.equal(((await callDaemon(configA.controlSocket, 'show', { what: 'links' })) as unknown[]).length, 1);

    // Removing the peer withdraws its routes at once: the next ping gets No Route back.
    await a.removePeer('b');
    assert.deepEqual((await callDaemon(configA.controlSocket, 'show', { what: 'routes' })) as Route[], []);
    net.written(tunA);
    net.inject(tunA, ping.buf.subarray(ping.off, ping.off + ping.len));
    const atA: Buffer[] = [];
    await waitFor(async () => (atA.push(...net.written(tunA)), atA.length > 0), 2000, 'no ICMPv6 error came back');
    assert.equal(atA[0]![40], 1, 'Destination Unreachable');
    await assert.rejects(callDaemon(configA.controlSocket, 'show', { what: 'ospf neighbors' }), /OSPF is not running on this node/);
  } finally {
    await a.stop();
    await b.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
