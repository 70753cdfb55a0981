/**
 * Agent RPC across a 3-node chain with no peer exchange (agenticmesh - clawdboy - carlotta: A and C are
 * not peers, their requests cross B): `moltnet rpc` by address and by name, a method forwarded to the
 * agent's webhook, bad input on a live connection, signatures.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { parse, stringify } from 'yaml';
import { buildTopology, destroyChain, type Chain } from '../../src/demo/chain.js';
import { waitFor } from '../helpers/routers.js';
import { CLI, inNs, logs, runPrefix, tempDir } from '../helpers/integration.js';

const PROBE = fileURLToPath(new URL('../helpers/rpc-probe.js', import.meta.url));
const HOOK_PORT = 9911;

describe('agent RPC', { timeout: 120_000 }, () => {
  let chain: Chain;
  let hook: ChildProcess | undefined;
  const rpc = (from: number, args: string[]) => inNs(chain.nodes[from]!.ns, process.execPath, [CLI, 'rpc', ...args, '--socket', chain.nodes[from]!.socket], 20_000);

  before(async () => {
    chain = await buildTopology({
      prefix: runPrefix('rp'),
      nodes: 3,
      edges: [
        [0, 1],
        [1, 2],
      ],
      staticRoutes: 'none',
      dir: await tempDir('rpc'),
      cliPath: CLI,
      extra: {
        ospf: { helloInterval: 1, deadInterval: 4 },
        discovery: { lan: false, exchange: false },
        services: { rpcHandlers: { query: `http://127.0.0.1:${HOOK_PORT}/query` } },
      },
    });
    // carlotta's agent: answers "query" with what it was asked, as a webhook on its own loopback.
    const script = `require('http').createServer((q,s)=>{let b='';q.on('data',d=>b+=d);q.on('end',()=>{const r=JSON.parse(b);s.setHeader('content-type','application/json');s.end(JSON.stringify({answer:'I use GitHub Actions',asked:r.params.question,from:r.from,method:r.method}))})}).listen(${HOOK_PORT},'127.0.0.1')`;
    hook = spawn('ip', ['netns', 'exec', chain.nodes[2]!.ns, process.execPath, '-e', script], { stdio: 'ignore' });
    const [a, , c] = chain.nodes;
    await waitFor(async () => (await inNs(a!.ns, 'ping', ['-c', '1', '-W', '1', c!.address], 5000)).code === 0, 30_000, 'A does not reach C');
  });

  after(async () => {
    hook?.kill('SIGKILL');
    if (chain) await destroyChain(chain);
  });

  test('ping and info from A to C by address, across B', async () => {
    const [, , c] = chain.nodes;
    const ping = await rpc(0, [c!.address, 'ping']);
    assert.equal(ping.code, 0, ping.stderr);
    assert.equal((JSON.parse(ping.stdout) as { pong: boolean }).pong, true);
    const info = await rpc(0, [c!.address, 'info']);
    assert.equal(info.code, 0, info.stderr);
    const i = JSON.parse(info.stdout) as { name: string; uuid: string; address: string; moltid: string; methods: string[] };
    assert.equal(i.name, c!.name);
    assert.equal(i.uuid, c!.uuid);
    assert.equal(i.address, c!.address);
    assert.match(i.moltid, /^MOLTID:0x302a/);
    assert.deepEqual(i.methods, ['ping', 'info', 'query']);
  });

  test('by name (a peer\'s, and a far node\'s from the registry), and a method forwarded to the agent\'s webhook', async () => {
    const [a, b, c] = chain.nodes;
    const byName = await rpc(0, [`${b!.name}.molt`, 'ping']);
    assert.equal(byName.code, 0, byName.stderr);
    // A and C are not peers: A knows C's name from C's registry record, flooded through B.
    await waitFor(async () => (await rpc(0, [c!.name, 'ping'])).code === 0, 15_000, `A cannot call ${c!.name} by name`);
    const q = await rpc(0, [c!.address, 'query', JSON.stringify({ question: 'How do you handle CI/CD pipelines?' })]);
    assert.equal(q.code, 0, `${q.stderr}\n${await logs([chain.nodes[2]!.logPath])}`);
    assert.deepEqual(JSON.parse(q.stdout), { answer: 'I use GitHub Actions', asked: 'How do you handle CI/CD pipelines?', from: a!.address, method: 'query' });
    const none = await rpc(0, [c!.address, 'nothing']);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /no method "nothing" on this node \(it has ping, info, query\)/);
    const unknown = await rpc(0, ['nobody', 'ping']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no node named "nobody" is known here/);
    const badParams = await rpc(0, [c!.address, 'query', '[1]']);
    assert.equal(badParams.code, 2);
    assert.match(badParams.stderr, /params: expected a JSON object/);
  });

  test('malformed JSON gets an error and the connection stays usable', async () => {
    const [a, , c] = chain.nodes;
    const r = await inNs(a!.ns, process.execPath, [PROBE, 'raw', a!.address, c!.address], 15_000);
    assert.equal(r.code, 0, r.stderr);
    const [err, ok] = JSON.parse(r.stdout) as [{ id: null; error: { code: number; message: string } }, { id: string; result: { pong: boolean } }];
    assert.equal(err.id, null);
    assert.equal(err.error.code, -32700);
    assert.match(err.error.message, /not JSON/);
    assert.equal(ok.id, 'p1');
    assert.equal(ok.result.pong, true);
  });

  test('signatures: a peer\'s signed request verifies, and a far node\'s by its registry record; a bad signature is refused', async () => {
    const [a, b, c] = chain.nodes;
    const state = (i: number) => join(chain.dir, `state${i + 1}`);
    const good = JSON.parse((await inNs(b!.ns, process.execPath, [PROBE, 'signed', b!.address, c!.address, state(1)], 15_000)).stdout) as { result?: { pong: boolean }; error?: string };
    assert.equal(good.result?.pong, true, JSON.stringify(good));
    const bad = JSON.parse((await inNs(b!.ns, process.execPath, [PROBE, 'signed', b!.address, c!.address, state(1), 'bad'], 15_000)).stdout) as { error?: string; code?: number };
    assert.equal(bad.code, -32001);
    assert.match(bad.error!, /the signature does not verify with .*'s MoltID/);
    // A is no peer of C: C checks A's signature with the MoltID of A's registry record.
    const far = JSON.parse((await inNs(a!.ns, process.execPath, [PROBE, 'signed', a!.address, c!.address, state(0)], 15_000)).stdout) as { result?: { pong: boolean }; error?: string };
    assert.equal(far.result?.pong, true, JSON.stringify(far));
    const farBad = JSON.parse((await inNs(a!.ns, process.execPath, [PROBE, 'signed', a!.address, c!.address, state(0), 'bad'], 15_000)).stdout) as { code?: number };
    assert.equal(farBad.code, -32001);
  });

  test('locked down (rpcServe: contacts), C serves only its allowed MoltID contacts, on signed requests', async () => {
    const [, b, c] = chain.nodes;
    const state = (i: number) => join(chain.dir, `state${i + 1}`);
    const card = await inNs(b!.ns, process.execPath, [CLI, 'id', 'info', '--config', b!.configPath], 15_000);
    assert.equal(card.code, 0, card.stderr);
    const bId = (JSON.parse(card.stdout) as { moltid: string }).moltid;
    const add = await inNs(c!.ns, process.execPath, [CLI, 'id', 'contacts', 'allow', 'add', bId, '--config', c!.configPath], 15_000);
    assert.equal(add.code, 0, add.stderr);
    const cfg = parse(await readFile(c!.configPath, 'utf8')) as { services: Record<string, unknown> };
    cfg.services['rpcServe'] = 'contacts';
    await writeFile(c!.configPath, stringify(cfg));
    const reload = await inNs(c!.ns, process.execPath, [CLI, 'reload', '--socket', c!.socket], 20_000);
    assert.equal(reload.code, 0, reload.stderr);
    const signedBy = async (i: number) => {
      const n = chain.nodes[i]!;
      return JSON.parse((await inNs(n.ns, process.execPath, [PROBE, 'signed', n.address, c!.address, state(i)], 15_000)).stdout) as { result?: { pong: boolean }; error?: string; code?: number };
    };
    // B is a contact: served. A signs, but is not one. Unsigned, even B is not served.
    await waitFor(async () => (await signedBy(1)).result?.pong === true, 10_000, 'C does not serve its contact B after the reload');
    const far = await signedBy(0);
    assert.equal(far.code, -32001, JSON.stringify(far));
    assert.match(far.error!, /serves only its MoltID contacts, and .* is not one/);
    const unsigned = await rpc(1, [c!.address, 'ping']);
    assert.notEqual(unsigned.code, 0);
    assert.match(unsigned.stderr, /sign the request with your MoltID/);
    // The CLI signs with the node's MoltID when given its config.
    const cliSigned = await rpc(1, [c!.address, 'ping', '--config', b!.configPath]);
    assert.equal(cliSigned.code, 0, cliSigned.stderr);
    assert.equal((JSON.parse(cliSigned.stdout) as { pong: boolean }).pong, true);
    const shown = JSON.parse((await inNs(c!.ns, process.execPath, [CLI, 'show', 'rpc', '--json', '--socket', c!.socket], 10_000)).stdout) as { serve: string; counters: { not_contacts: number } };
    assert.equal(shown.serve, 'contacts');
    assert.ok(shown.counters.not_contacts >= 2);
  });
});
