/**
 * The REST API and /metrics of a running node (a 2-node chain, so there are links, OSPF neighbors and
 * BFD sessions to show), asked with curl inside the node's namespace on [::1]:8080 as an operator would.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildChain, destroyChain, type Chain } from '../../src/demo/chain.js';
import { callDaemon } from '../../src/cli/control-client.js';
import { waitFor } from '../helpers/routers.js';
import { CLI, inNs, runPrefix, tempDir } from '../helpers/integration.js';
import { checkExposition } from '../helpers/prometheus.js';

describe('REST API and Prometheus metrics', { timeout: 120_000 }, () => {
  let chain: Chain;
  const curl = async (path: string, extra: string[] = []) => {
    const r = await inNs(chain.nodes[0]!.ns, 'curl', ['-s', '-g', '-w', '\n%{http_code} %{content_type}', ...extra, `http://[::1]:8080${path}`], 10_000);
    const lines = r.stdout.split('\n');
    const [status, type] = lines.pop()!.split(' ');
    return { status: Number(status), type: type ?? '', body: lines.join('\n') };
  };

  before(async () => {
    chain = await buildChain({ prefix: runPrefix('ht'), nodes: 2, link: 'vxlan', dir: await tempDir('http'), cliPath: CLI });
    await waitFor(
      async () => ((await callDaemon(chain.nodes[0]!.socket, 'show', { what: 'bfd' })) as { state: string }[]).some((s) => s.state === 'Up'),
      20_000,
      'BFD did not come up',
    );
  });

  after(async () => {
    if (chain) await destroyChain(chain);
  });

  test('/api/ lists what can be asked; each answers JSON as `moltnet show` does', async () => {
    const index = await curl('/api/');
    assert.equal(index.status, 200);
    assert.match(index.type, /application\/json/);
    const { queries } = JSON.parse(index.body) as { queries: string[] };
    for (const q of ['/api/status', '/api/links', '/api/routes', '/api/bfd', '/api/peers', '/api/ospf/neighbors', '/api/ospf/database']) assert.ok(queries.includes(q), `${q} in ${queries.join(' ')}`);
    const status = JSON.parse((await curl('/api/status')).body) as { state: string; address: string };
    assert.equal(status.state, 'up');
    assert.equal(status.address, chain.nodes[0]!.address);
    const links = JSON.parse((await curl('/api/links')).body) as { name: string; counters: Record<string, number> }[];
    assert.equal(links.length, 1);
    assert.ok(links[0]!.counters['rx_packets']! > 0);
    const neighbors = JSON.parse((await curl('/api/ospf/neighbors')).body) as unknown[];
    const fromSocket = (await callDaemon(chain.nodes[0]!.socket, 'show', { what: 'ospf neighbors' })) as unknown[];
    assert.equal(neighbors.length, fromSocket.length);
    assert.equal(neighbors.length, 1);
    assert.match(JSON.stringify(neighbors[0]), /"Full"/);
  });

  test('bad requests get JSON errors: unknown names 404 with the list, writes 405, bodies 413', async () => {
    const missing = await curl('/api/nope');
    assert.equal(missing.status, 404);
    assert.match((JSON.parse(missing.body) as { error: string }).error, /nothing named "nope": try .*\/api\/status/);
    assert.equal((await curl('/elsewhere')).status, 404);
    const post = await curl('/api/status', ['-X', 'POST']);
    assert.equal(post.status, 405);
    assert.match(post.body, /read only/);
    assert.equal((await curl('/api/status', ['-X', 'GET', '--data-binary', 'x'.repeat(100)])).status, 413);
    // Still serving.
    assert.equal((await curl('/api/status')).status, 200);
  });

  test('/metrics is Prometheus text: per-link counters, data-plane counters, BFD and OSPF state, SPF runs', async () => {
    const m = await curl('/metrics');
    assert.equal(m.status, 200);
    assert.match(m.type, /text\/plain/);
    const samples = checkExposition(m.body);
    const names = new Set(samples.map((s) => s.name));
    for (const n of ['moltnet_link_rx_packets_total', 'moltnet_link_tx_bytes_total', 'moltnet_link_rx_drops_total', 'moltnet_dataplane_total', 'moltnet_bfd_session_up', 'moltnet_ospf_neighbors', 'moltnet_ospf_spf_duration_seconds_count']) {
      assert.ok(names.has(n), `${n} missing`);
    }
    for (const s of samples) assert.match(s.name, /^moltnet_/, `${s.name} is not prefixed moltnet_`);
    const rx = samples.find((s) => s.name === 'moltnet_link_rx_packets_total');
    assert.equal(rx?.labels['link'], chain.nodes[1]!.name);
    assert.ok(rx!.value > 0);
    assert.equal(samples.find((s) => s.name === 'moltnet_bfd_session_up')?.value, 1);
    assert.ok(samples.find((s) => s.name === 'moltnet_ospf_spf_duration_seconds_count')!.value >= 1);
  });

  test('it listens on loopback only (nothing on the mesh or underlay address)', async () => {
    const ss = await inNs(chain.nodes[0]!.ns, 'ss', ['-H', '-l', '-t', '-n', 'sport', '=', ':8080'], 5000);
    const lines = ss.stdout.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, ss.stdout);
    assert.match(lines[0]!, /\[::1\]:8080/);
  });
});
