/**
 * Kernel links: the daemon hands a TUN to another namespace ("the existing network"), where the kernel
 * routes over it as over any interface. Here with static routes; OSPF over the same link comes later.
 *
 *   g (kernel: fd00:6d6f:6c74:eeee::1) --mlink-- n1 (MoltNet) --vxlan-- n2 (MoltNet)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { linkLocalFor, uuidToMeshAddress } from '../../src/common/address.js';
import { connectVeth, createNamespace, deleteNamespace, sh, startDaemon, stopProcess, waitForDaemon } from '../../src/demo/netns.js';
import { CLI, inNs, logs, runPrefix, tempDir } from '../helpers/integration.js';

const U1 = 'daa46e88-46c5-4af7-9268-1482c54c1922';
const U2 = '88833763-60b7-47db-8703-349c6b2c70ff';
const A1 = uuidToMeshAddress(U1);
const A2 = uuidToMeshAddress(U2);
const G = 'fd00:6d6f:6c74:eeee::1';

describe('a kernel link into another namespace', { timeout: 120_000 }, () => {
  const p = runPrefix('l');
  const [ns1, ns2, nsg] = [`${p}1`, `${p}2`, `${p}g`];
  const mlink = `${p}ml`;
  let dir: string;
  const pids: number[] = [];
  const sock = (i: number) => join(dir, `n${i}.sock`);

  before(async () => {
    dir = await tempDir('klink');
    for (const ns of [ns1, ns2, nsg]) await createNamespace(ns);
    await connectVeth(ns1, `${p}a`, 'fdff:6d6e:20::1/64', ns2, `${p}b`, 'fdff:6d6e:20::2/64');
    await sh('ip', ['-n', nsg, '-6', 'addr', 'add', `${G}/128`, 'dev', 'lo']);
    const c1 = {
      uuid: U1,
      stateDir: join(dir, 's1'),
      controlSocket: sock(1),
      peers: [{ name: 'n2', uuid: U2, endpoint: '[fdff:6d6e:20::2]:4789' }],
      kernelLinks: [{ name: mlink, netns: nsg, address: 'fe80::1/64' }],
      routes: [{ prefix: 'fd00:6d6f:6c74:eeee::/64', via: mlink }],
    };
    const c2 = {
      uuid: U2,
      stateDir: join(dir, 's2'),
      controlSocket: sock(2),
      peers: [{ name: 'n1', uuid: U1, endpoint: '[fdff:6d6e:20::1]:4789' }],
      routes: [{ prefix: 'fd00:6d6f:6c74:eeee::/64', via: 'n1' }],
    };
    await writeFile(join(dir, 'n1.yaml'), stringify(c1));
    await writeFile(join(dir, 'n2.yaml'), stringify(c2));
    pids.push(startDaemon(ns1, CLI, join(dir, 'n1.yaml'), join(dir, 'n1.log')));
    pids.push(startDaemon(ns2, CLI, join(dir, 'n2.yaml'), join(dir, 'n2.log')));
    await waitForDaemon(sock(1), 20_000);
    await waitForDaemon(sock(2), 20_000);
    // The "existing network" routes the mesh prefix to n1 over the kernel link.
    await sh('ip', ['-n', nsg, '-6', 'route', 'add', 'fd00:6d6f:6c74::/48', 'via', linkLocalFor(A1), 'dev', mlink]);
  });

  after(async () => {
    await Promise.all(pids.map((pid) => stopProcess(pid)));
    for (const ns of [ns1, ns2, nsg]) await deleteNamespace(ns);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the kernel link is in its namespace with the configured address', async () => {
    const out = await sh('ip', ['-n', nsg, '-6', 'addr', 'show', 'dev', mlink]);
    assert.match(out, /inet6 fe80::1\/64/);
  });

  test('from the kernel side: ping n1 (direct) and n2 (through n1)', async () => {
    for (const dst of [A1, A2]) {
      const r = await inNs(nsg, 'ping', ['-6', '-c', '2', '-i', '0.2', '-W', '2', '-I', G, dst], 15_000);
      assert.equal(r.code, 0, `${dst}: ${r.stdout}${r.stderr}\n${await logs([join(dir, 'n1.log'), join(dir, 'n2.log')])}`);
    }
  });

  test("the node answers pings to its link-local on the kernel link", async () => {
    const r = await inNs(nsg, 'ping', ['-6', '-c', '2', '-i', '0.2', '-W', '2', `${linkLocalFor(A1)}%${mlink}`], 15_000);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  test("from n2's host to the kernel side's address", async () => {
    const r = await inNs(ns2, 'ping', ['-6', '-c', '2', '-i', '0.2', '-W', '2', G], 15_000);
    assert.equal(r.code, 0, r.stdout);
  });

  test('show links lists the kernel link', async () => {
    const r = await inNs(ns1, process.execPath, [CLI, 'show', 'links', '--json', '--socket', sock(1)]);
    const links = JSON.parse(r.stdout) as { name: string; kind: string; counters: { rx_packets: number } }[];
    const k = links.find((l) => l.name === mlink);
    assert.equal(k?.kind, 'kernel');
    assert.ok(k!.counters.rx_packets > 0);
  });

  test('stopping the daemon removes the kernel link from its namespace', async () => {
    await stopProcess(pids[0]!);
    const out = await sh('ip', ['-n', nsg, 'link', 'show']);
    assert.doesNotMatch(out, new RegExp(mlink));
  });
});
