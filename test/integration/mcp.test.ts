/**
 * MCP over the mesh: the SDK's client on A connects to C's MCP server (Streamable HTTP on C's mesh
 * address, port 6801) across B, lists the tools and resources and uses each.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { buildTopology, destroyChain, type Chain } from '../../src/demo/chain.js';
import { waitFor } from '../helpers/routers.js';
import { CLI, inNs, logs, runPrefix, tempDir } from '../helpers/integration.js';

const PROBE = fileURLToPath(new URL('../helpers/mcp-probe.js', import.meta.url));

interface ProbeResult {
  tools: string[];
  resources: string[];
  calls: Record<string, { isError: boolean; value: Record<string, unknown> | string }>;
  reads: Record<string, unknown>;
}

describe('MCP over the mesh', { timeout: 120_000 }, () => {
  let chain: Chain;

  before(async () => {
    chain = await buildTopology({
      prefix: runPrefix('mc'),
      nodes: 3,
      edges: [
        [0, 1],
        [1, 2],
      ],
      staticRoutes: 'none',
      dir: await tempDir('mcp'),
      cliPath: CLI,
      extra: { ospf: { helloInterval: 1, deadInterval: 4 }, discovery: { lan: false, exchange: false } },
    });
    const [a, , c] = chain.nodes;
    await waitFor(async () => (await inNs(a!.ns, 'ping', ['-c', '1', '-W', '1', c!.address], 5000)).code === 0, 30_000, 'A does not reach C');
  });

  after(async () => {
    if (chain) await destroyChain(chain);
  });

  test('A\'s SDK client lists C\'s tools and resources and uses each', async () => {
    const [a, b, c] = chain.nodes;
    const r = await inNs(a!.ns, process.execPath, [PROBE, `http://[${c!.address}]:6801/mcp`, a!.address], 30_000);
    assert.equal(r.code, 0, `${r.stderr}\n${await logs([c!.logPath])}`);
    const p = JSON.parse(r.stdout) as ProbeResult;
    assert.deepEqual(p.tools, ['network_diagnosis', 'rfc_lookup', 'topology_map']);
    assert.deepEqual(p.resources, ['moltnet://interface_stats', 'moltnet://neighbor_state', 'moltnet://routing_table']);
    // C diagnoses its path back to A: two hops, through its link to B.
    const d = p.calls['diagnosis']!.value as { reachable: boolean; route: { link: string }; rttMs: { avg: number }; lossPercent: number };
    assert.equal(d.reachable, true, JSON.stringify(d));
    assert.equal(d.route.link, b!.name);
    assert.ok(d.rttMs.avg > 0 && d.lossPercent === 0);
    assert.match(JSON.stringify(p.calls['notMesh']!.value), /only mesh addresses are diagnosed/);
    const rfcs = (p.calls['rfcs']!.value as { rfcs: { rfc: number }[] }).rfcs.map((x) => x.rfc);
    assert.deepEqual(rfcs, [4193, 4291, 4861, 4862, 5340, 4271, 5880, 5881, 2784, 7348]);
    assert.match(JSON.stringify(p.calls['rfc5880']!.value), /Bidirectional Forwarding Detection/);
    assert.equal(p.calls['rfcUnknown']!.isError, true);
    // The topology: three routers, each with its /128, two adjacencies in both directions.
    const t = p.calls['topology']!.value as { routers: { prefixes: string[] }[]; edges: unknown[] };
    assert.equal(t.routers.length, 3);
    assert.deepEqual(t.routers.flatMap((x) => x.prefixes).sort(), chain.nodes.map((n) => `${n.address}/128`).sort());
    assert.equal(t.edges.length, 4);
    // Resources: C's routes include A's /128 via B; its neighbor is B; its one link counts packets.
    const routes = p.reads['moltnet://routing_table'] as { prefix: string }[];
    assert.ok(routes.some((x) => x.prefix === `${a!.address}/128`), JSON.stringify(routes));
    const n = p.reads['moltnet://neighbor_state'] as { ospf: unknown[]; bfd: { state: string }[] };
    assert.equal(n.ospf.length, 1);
    assert.equal(n.bfd[0]!.state, 'Up');
    const links = p.reads['moltnet://interface_stats'] as { name: string; counters: { rx_packets: number } }[];
    assert.equal(links[0]!.name, b!.name);
    assert.ok(links[0]!.counters.rx_packets > 0);
  });

  test('the MCP proxy on A ([::1]:6801/mcp/<name>) relays A\'s local client to C\'s tools, by name and by address', async () => {
    const [a, b, c] = chain.nodes;
    for (const target of [c!.name, `${c!.name}.molt`, c!.address]) {
      const r = await inNs(a!.ns, process.execPath, [PROBE, `http://[::1]:6801/mcp/${target}`, a!.address], 30_000);
      assert.equal(r.code, 0, `${target}: ${r.stderr}\n${await logs([a!.logPath, c!.logPath])}`);
      const p = JSON.parse(r.stdout) as ProbeResult;
      assert.deepEqual(p.tools, ['network_diagnosis', 'rfc_lookup', 'topology_map']);
      // It is C that answers: C diagnoses A as two hops away through B (A would call itself "this node").
      const d = p.calls['diagnosis']!.value as { reachable: boolean; route: { link: string; self: boolean } };
      assert.equal(d.reachable, true, JSON.stringify(d));
      assert.deepEqual(d.route, { link: b!.name, self: false });
    }
    const curl = async (path: string) => {
      const r = await inNs(a!.ns, 'curl', ['-s', '-g', '-w', '\n%{http_code}', '-X', 'POST', '-H', 'content-type: application/json', '-H', 'accept: application/json, text/event-stream', '--data', '{}', `http://[::1]:6801${path}`], 15_000);
      const lines = r.stdout.trim().split('\n');
      const status = lines.pop();
      return { status, body: (JSON.parse(lines.join('\n')) as { error: { message: string } }).error.message };
    };
    const unknown = await curl('/mcp/nobody');
    assert.equal(unknown.status, '404');
    assert.match(unknown.body, /no node named "nobody" is known here/);
    const notMesh = await curl('/mcp/2001:db8::1');
    assert.equal(notMesh.status, '404');
    assert.match(notMesh.body, /not a MoltNet address/);
    // A mesh address nobody has: no route, so the relay fails fast with a reason.
    const gone = await curl('/mcp/fd00:6d6f:6c74:dead::1');
    assert.equal(gone.status, '502');
    assert.match(gone.body, /fd00:6d6f:6c74:dead::1/);
    assert.equal((await curl('/elsewhere')).status, '404');
    const stats = JSON.parse((await inNs(a!.ns, process.execPath, [CLI, 'show', 'mcp-proxy', '--json', '--socket', a!.socket], 10_000)).stdout) as { serving: boolean; counters: { relayed: number; unknown_target: number; unreachable: number } };
    assert.equal(stats.serving, true);
    assert.ok(stats.counters.relayed > 0 && stats.counters.unknown_target === 2 && stats.counters.unreachable === 1, JSON.stringify(stats));
    // Only on loopback: C's mesh address has no proxy.
    const fromOutside = await inNs(a!.ns, 'curl', ['-s', '-g', '-o', '/dev/null', '-w', '%{http_code}', `http://[${a!.address}]:6801/mcp/${c!.name}`], 10_000);
    assert.equal(fromOutside.stdout, '404');
  });

  test('bad requests: GET is 405 (stateless), other paths 404, junk a JSON-RPC parse error', async () => {
    const [a, , c] = chain.nodes;
    const curl = async (args: string[]) => (await inNs(a!.ns, 'curl', ['-s', '-g', '-o', '/dev/null', '-w', '%{http_code}', ...args], 10_000)).stdout;
    assert.equal(await curl([`http://[${c!.address}]:6801/mcp`]), '405');
    assert.equal(await curl([`http://[${c!.address}]:6801/elsewhere`]), '404');
    assert.equal(await curl(['-X', 'POST', '-H', 'content-type: application/json', '--data', '{junk', `http://[${c!.address}]:6801/mcp`]), '400');
  });
});
