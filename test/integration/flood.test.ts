/**
 * A peer floods a node's control plane: n1 sends 100,000 packets per second for 20 s at n2 inside valid
 * VXLAN from its own underlay address (OSPF to ff02::5, Neighbor Solicitations for n2's link-local,
 * ICMPv6 to ff02::1). n2 must police the punt path, not drown in it:
 *   - its BFD session toward n3 (the other link) never leaves Up;
 *   - pings from n1 through n2 to n3 keep working;
 *   - the punt drops are counted.
 *
 *   n1 (flooder) --- n2 --- n3
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { buildChain, destroyChain, type Chain } from '../../src/demo/chain.js';
import { callDaemon } from '../../src/cli/control-client.js';
import { waitFor } from '../helpers/routers.js';
import { CLI, inNs, logs, runPrefix, tempDir, counters } from '../helpers/integration.js';

const FLOOD = fileURLToPath(new URL('../helpers/flood.js', import.meta.url));
const RATE = 100_000;
const SECONDS = 20;

interface BfdInfo {
  link: string;
  state: string;
  counters: { stateChanges: number };
}

describe('a peer floods the control plane', { timeout: 180_000 }, () => {
  let chain: Chain;

  before(async () => {
    chain = await buildChain({
      prefix: runPrefix('fl'),
      nodes: 3,
      dir: await tempDir('flood'),
      cliPath: CLI,
      extra: { ospf: { helloInterval: 1, deadInterval: 4 } },
    });
    await waitFor(
      async () => {
        const s = (await callDaemon(chain.nodes[1]!.socket, 'show', { what: 'bfd' })) as BfdInfo[];
        return s.length === 2 && s.every((x) => x.state === 'Up');
      },
      20_000,
      'n2 BFD sessions did not come up',
    );
  });

  after(async () => {
    if (chain) await destroyChain(chain);
  });

  test(`${RATE} punted packets/s for ${SECONDS} s: BFD on the other link stays Up, pings pass, drops counted`, async () => {
    const [n1, n2, n3] = chain.nodes;
    const edge = chain.edges[0]!;
    const bfdBefore = (await callDaemon(n2!.socket, 'show', { what: 'bfd' })) as BfdInfo[];
    const toN3 = bfdBefore.find((s) => s.link === n3!.name)!;
    const flood = inNs(
      n1!.ns,
      process.execPath,
      [FLOOD, '--bind', edge.addrA, '--to', edge.addrB, '--port', String(edge.port), '--src-mesh', n1!.address, '--dst-mesh', n2!.address, '--rate', String(RATE), '--seconds', String(SECONDS)],
      (SECONDS + 20) * 1000,
    );
    const ping = inNs(n1!.ns, 'ping', ['-6', '-c', String(SECONDS * 5), '-i', '0.2', '-W', '1', n3!.address], (SECONDS + 20) * 1000);
    const notUp: string[] = [];
    const deadline = Date.now() + SECONDS * 1000;
    while (Date.now() < deadline) {
      const s = ((await callDaemon(n2!.socket, 'show', { what: 'bfd' }, 5000)) as BfdInfo[]).find((x) => x.link === n3!.name);
      if (s?.state !== 'Up') notUp.push(`${new Date().toISOString()} ${s?.state}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const [f, p] = await Promise.all([flood, ping]);
    assert.equal(f.code, 0, f.stderr);
    const sent = (JSON.parse(f.stdout) as { sent: number }).sent;
    assert.ok(sent >= RATE * SECONDS * 0.8, `the flood sent only ${sent} packets`);
    const after = ((await callDaemon(n2!.socket, 'show', { what: 'bfd' })) as BfdInfo[]).find((x) => x.link === n3!.name)!;
    assert.deepEqual(notUp, [], 'the BFD session toward n3 left Up during the flood');
    assert.equal(after.counters.stateChanges, toN3.counters.stateChanges, 'the BFD session toward n3 flapped');
    const received = Number(/(\d+) received/.exec(p.stdout)?.[1] ?? 0);
    assert.ok(received >= SECONDS * 5 * 0.9, `pings through n2 during the flood: ${received} of ${SECONDS * 5}\n${p.stdout.slice(-300)}`);
    const c = await counters(n2!.socket);
    const puntDrops = Object.entries(c)
      .filter(([k]) => k.startsWith('drop_punt'))
      .reduce((a, [, v]) => a + v, 0);
    assert.ok(puntDrops > sent / 10, `punt drops counted: ${JSON.stringify(c)}\n${await logs([n2!.logPath])}`);
    const st = (await callDaemon(n2!.socket, 'show', { what: 'status' })) as { state: string };
    assert.equal(st.state, 'up');
  });
});
