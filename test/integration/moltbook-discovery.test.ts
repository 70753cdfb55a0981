/**
 * Moltbook discovery between real daemons: four nodes on one underlay LAN (a bridge in a hub namespace)
 * configured with only a fake Moltbook's URL and an API key each, no peers, LAN beacons off. They
 * announce (the endpoint found from the default route), discover each other, peer through the handshake
 * and reach every pair. The API keys appear in no log line or state file, and only ever in the
 * Authorization header.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes, randomUUID } from 'node:crypto';
import { stringify } from 'yaml';
import { uuidToMeshAddress } from '../../src/common/address.js';
import { callDaemon } from '../../src/cli/control-client.js';
import { createNamespace, deleteNamespace, sh, startDaemon, stopProcess, waitForDaemon } from '../../src/demo/netns.js';
import { waitFor } from '../helpers/routers.js';
import { CLI, inNs, logs, runPrefix, tempDir } from '../helpers/integration.js';

const FAKE = fileURLToPath(new URL('../helpers/fake-moltbook-main.js', import.meta.url));
const N = 4;
const HUB_ADDR = 'fdff:6d62::100';

interface Node {
  name: string;
  uuid: string;
  address: string;
  ns: string;
  key: string;
  env: string;
  socket: string;
  log: string;
  config: string;
  pid?: number;
}

describe('Moltbook discovery', { timeout: 240_000 }, () => {
  const p = runPrefix('mb');
  const hub = `${p}hub`;
  let dir: string;
  let fake: ChildProcess | undefined;
  let fakeOut = '';
  const nodes: Node[] = [];

  before(async () => {
    dir = await tempDir('moltbook');
    await createNamespace(hub);
    await sh('ip', ['-n', hub, 'link', 'add', 'br0', 'type', 'bridge']);
    await sh('ip', ['-n', hub, 'link', 'set', 'br0', 'up']);
    await sh('ip', ['-n', hub, '-6', 'addr', 'add', `${HUB_ADDR}/64`, 'dev', 'br0', 'nodad']);
    for (let i = 0; i < N; i++) {
      const uuid = randomUUID();
      const n: Node = {
        name: `agent${i + 1}`,
        uuid,
        address: uuidToMeshAddress(uuid),
        ns: `${p}n${i + 1}`,
        key: `moltbook_sk_${randomBytes(12).toString('hex')}`,
        env: `MOLTBOOK_KEY_${i + 1}_${process.pid}`,
        socket: join(dir, `n${i + 1}.sock`),
        log: join(dir, `n${i + 1}.log`),
        config: join(dir, `n${i + 1}.yaml`),
      };
      nodes.push(n);
      await createNamespace(n.ns);
      const a = `${p}h${i}`;
      const b = `${p}e${i}`;
      await sh('ip', ['link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
      await sh('ip', ['link', 'set', a, 'netns', hub]);
      await sh('ip', ['link', 'set', b, 'netns', n.ns]);
      await sh('ip', ['-n', hub, 'link', 'set', a, 'master', 'br0', 'up']);
      await sh('ip', ['-n', n.ns, '-6', 'addr', 'add', `fdff:6d62::${i + 1}/64`, 'dev', b, 'nodad']);
      await sh('ip', ['-n', n.ns, 'link', 'set', b, 'up']);
      // The default route's interface is where the node's announced endpoint comes from.
      await sh('ip', ['-n', n.ns, '-6', 'route', 'add', 'default', 'via', HUB_ADDR]);
    }
    const agents = Object.fromEntries(nodes.map((n) => [n.key, { id: n.uuid, name: n.name }]));
    fake = spawn('ip', ['netns', 'exec', hub, process.execPath, FAKE, HUB_ADDR, '8000', JSON.stringify(agents)], { stdio: ['ignore', 'pipe', 'inherit'] });
    fake.stdout!.on('data', (d) => (fakeOut += d));
    await waitFor(async () => fakeOut.includes('ready'), 10_000, 'the fake Moltbook did not start');
    for (const n of nodes) {
      process.env[n.env] = n.key;
      await mkdir(join(dir, `${n.name}-state`), { recursive: true, mode: 0o700 });
      const config = {
        uuid: n.uuid,
        name: n.name,
        stateDir: join(dir, `${n.name}-state`),
        controlSocket: n.socket,
        moltbook: { baseUrl: `http://[${HUB_ADDR}]:8000`, apiKeyEnv: n.env, pollSeconds: 2 },
        discovery: { lan: false, exchange: false },
        ospf: { helloInterval: 1, deadInterval: 4 },
      };
      await writeFile(n.config, stringify(config), { mode: 0o600 });
      n.pid = startDaemon(n.ns, CLI, n.config, n.log);
    }
    await Promise.all(nodes.map((n) => waitForDaemon(n.socket, 20_000)));
  });

  after(async () => {
    for (const n of nodes) if (n.pid) await stopProcess(n.pid);
    for (const n of nodes) delete process.env[n.env];
    if (fake && fake.exitCode === null) {
      const done = new Promise((r) => fake!.once('exit', r));
      fake.kill('SIGTERM');
      await Promise.race([done, new Promise((r) => setTimeout(r, 3000))]);
      fake.kill('SIGKILL');
    }
    for (const n of nodes) await deleteNamespace(n.ns);
    await deleteNamespace(hub);
  });

  test('four nodes with no peers announce, discover each other, peer and ping every pair', async () => {
    await waitFor(
      async () => {
        for (const n of nodes) {
          const peers = (await callDaemon(n.socket, 'show', { what: 'peers' })) as { uuid?: string; state: string }[];
          if (peers.filter((x) => x.state === 'established').length < N - 1) return false;
        }
        return true;
      },
      60_000,
      'the nodes did not all peer',
    ).catch(async (err) => {
      const shown = await Promise.all(nodes.map((n) => callDaemon(n.socket, 'show', { what: 'peers' }).catch((e) => String(e))));
      assert.fail(`${(err as Error).message}\n${JSON.stringify(shown)}\n${await logs(nodes.map((n) => n.log))}`);
    });
    for (const a of nodes) {
      for (const b of nodes) {
        if (a === b) continue;
        await waitFor(async () => (await inNs(a.ns, 'ping', ['-6', '-c', '1', '-W', '1', b.address], 5000)).code === 0, 20_000, `${a.name} -> ${b.name}`);
      }
    }
    // Every node's polls (every 2 s) come to see every other node's post.
    type Discovery = { moltbook: { enabled: boolean; announcedEndpoint: string; candidates: number } };
    await waitFor(
      async () => {
        for (const n of nodes) {
          const d = (await callDaemon(n.socket, 'show', { what: 'discovery' })) as Discovery;
          if (!d.moltbook.enabled || d.moltbook.candidates < N - 1) return false;
        }
        return true;
      },
      20_000,
      'not every node saw every other node\'s post',
    ).catch(async (err) => assert.fail(`${(err as Error).message}: ${JSON.stringify(await Promise.all(nodes.map((n) => callDaemon(n.socket, 'show', { what: 'discovery' }))))}`));
    const d = (await callDaemon(nodes[0]!.socket, 'show', { what: 'discovery' })) as Discovery;
    assert.equal(d.moltbook.announcedEndpoint, '[fdff:6d62::1]:4789');
    // Each pair peered through a Moltbook candidate one way (the other side may have taken it as inbound).
    const sources = (await Promise.all(nodes.map((n) => callDaemon(n.socket, 'show', { what: 'peers' })))).flat() as { source: string }[];
    assert.ok(sources.every((x) => x.source === 'moltbook' || x.source === 'inbound'), JSON.stringify(sources));
    assert.ok(sources.some((x) => x.source === 'moltbook'), JSON.stringify(sources));
  });

  test('moltnet announce posts now and prints the post id', async () => {
    const r = await inNs(nodes[0]!.ns, process.execPath, [CLI, 'announce', '--socket', nodes[0]!.socket], 30_000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.trim(), /^\S+$/);
  });

  test('the API keys appear in no log or state file, and on the wire only in the Authorization header', async () => {
    for (const n of nodes) await stopProcess(n.pid!);
    for (const n of nodes) n.pid = undefined;
    const files: string[] = [];
    const walk = async (d: string) => {
      for (const f of await readdir(d)) {
        const path = join(d, f);
        if ((await stat(path)).isDirectory()) await walk(path);
        else files.push(path);
      }
    };
    await walk(dir);
    assert.ok(files.some((f) => f.endsWith('discovered-peers.json')), 'the discovered peers were cached');
    for (const f of files) {
      const text = await readFile(f, 'utf8').catch(() => '');
      for (const n of nodes) assert.ok(!text.includes(n.key), `${f} contains an API key`);
    }
    const done = new Promise((r) => fake!.once('exit', r));
    fake!.kill('SIGTERM');
    await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
    const line = fakeOut.split('\n').find((l) => l.startsWith('{'));
    assert.ok(line, 'the fake Moltbook reported its requests');
    const seen = JSON.parse(line) as { requests: { url: string; headers: Record<string, string>; body: string }[] };
    assert.ok(seen.requests.length >= 2 * N);
    for (const r of seen.requests) {
      const { authorization, ...rest } = r.headers;
      assert.match(String(authorization), /^Bearer moltbook_sk_/);
      for (const n of nodes) assert.ok(!`${r.url}${JSON.stringify(rest)}${r.body}`.includes(n.key), 'a key outside the Authorization header');
    }
  });
});
