/**
 * The daemon's life cycle in a namespace of its own: what `moltnet up` puts in the kernel (molt0, the
 * /128, one route) and takes away on SIGTERM; `show` over the control socket with --json; one daemon per
 * control socket; clear errors for bad configs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { uuidToMeshAddress } from '../../src/common/address.js';
import { alive, createNamespace, deleteNamespace, sh, startDaemon, stopProcess, waitForDaemon } from '../../src/demo/netns.js';
import { CLI, inNs, run, runPrefix, tempDir } from '../helpers/integration.js';

const UUID = 'f8a9ce03-f512-4311-8792-519109168903';
const ADDR = uuidToMeshAddress(UUID);

describe('moltnet up: life cycle', { timeout: 120_000 }, () => {
  const ns = `${runPrefix('d')}n`;
  let dir: string;
  let pid: number | undefined;
  let cfgPath: string;
  const socket = () => join(dir, 'd.sock');

  before(async () => {
    dir = await tempDir('daemon');
    await createNamespace(ns);
    cfgPath = join(dir, 'node.yaml');
    await writeFile(cfgPath, stringify({ uuid: UUID, name: 'carlotta', stateDir: join(dir, 'state'), controlSocket: socket() }));
    pid = startDaemon(ns, CLI, cfgPath, join(dir, 'node.log'));
    await waitForDaemon(socket(), 20_000);
  });

  after(async () => {
    if (pid !== undefined) await stopProcess(pid);
    await deleteNamespace(ns);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('molt0 has the mesh address as a /128 and the one mesh route', async () => {
    const addrs = await sh('ip', ['-n', ns, '-6', '-o', 'addr', 'show', 'dev', 'molt0']);
    assert.match(addrs, new RegExp(`inet6 ${ADDR}/128`));
    assert.doesNotMatch(addrs, /fe80::/, 'no kernel link-local on molt0');
    const routes = await sh('ip', ['-n', ns, '-6', 'route', 'show', 'dev', 'molt0']);
    const lines = routes.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, routes);
    assert.match(lines[0]!, /^fd00:6d6f:6c74::\/48 /);
    const link = await sh('ip', ['-n', ns, 'link', 'show', 'dev', 'molt0']);
    assert.match(link, /mtu 1380/);
    assert.match(link, /qlen 1000/, 'a TUN queue of 1000 packets, not the default 500');
  });

  test('show status|links|routes --json', async () => {
    const status = await inNs(ns, process.execPath, [CLI, 'show', 'status', '--json', '--socket', socket()]);
    assert.equal(status.code, 0, status.stderr);
    const s = JSON.parse(status.stdout) as { address: string; uuid: string; state: string; counters: Record<string, number> };
    assert.equal(s.address, ADDR);
    assert.equal(s.uuid, UUID);
    assert.equal(s.state, 'up');
    assert.equal(typeof s.counters['drop_no_route'], 'number');
    for (const what of ['links', 'routes']) {
      const r = await run(process.execPath, [CLI, 'show', what, '--json', '--socket', socket()], 10_000);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), []);
    }
    const human = await run(process.execPath, [CLI, 'show', 'status', '--socket', socket()], 10_000);
    assert.match(human.stdout, new RegExp(`address\\s+${ADDR}`));
  });

  test('no route: ping from the host gets Destination Unreachable from molt0', async () => {
    const r = await inNs(ns, 'ping', ['-6', '-c', '1', '-W', '2', 'fd00:6d6f:6c74:1::1'], 10_000);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /Destination unreachable: No route/i, r.stdout);
  });

  test('show with a bad what or no daemon: one-line errors, non-zero exit', async () => {
    const bad = await run(process.execPath, [CLI, 'show', 'nonsense', '--socket', socket()], 10_000);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    const none = await run(process.execPath, [CLI, 'show', 'status', '--socket', join(dir, 'nothing.sock')], 10_000);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /is the daemon running/);
  });

  test('a second daemon on the same control socket is refused', async () => {
    const r = await inNs(ns, process.execPath, [CLI, 'up', '--config', cfgPath], 20_000);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /already serving/);
    assert.ok(alive(pid!), 'the first daemon is still running');
  });

  test('bad config: exit 2 naming the key', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, stringify({ uuid: UUID, peers: [{ name: 'x', uuid: UUID.replace('f8', 'a8'), endpoint: '[::1]:4789', link: 'ipip' }] }));
    const r = await run(process.execPath, [CLI, 'up', '--config', bad], 10_000);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /peers\[0\]\.link/);
  });

  test('SIGTERM removes molt0, its route and the control socket; exit 0', async () => {
    const p = pid!;
    process.kill(p, 'SIGTERM');
    const deadline = Date.now() + 10_000;
    while (alive(p) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(!alive(p), 'the daemon exited');
    pid = undefined;
    const links = await sh('ip', ['-n', ns, 'link', 'show']);
    assert.doesNotMatch(links, /molt0/);
    const routes = await sh('ip', ['-n', ns, '-6', 'route', 'show']);
    assert.doesNotMatch(routes, /fd00:6d6f:6c74::\/48/);
    assert.ok(!existsSync(socket()), 'control socket removed');
  });
});
