/**
 * A peer floods a node's control plane: n1 sends 100,000 packets per second for 20 s at n2 inside valid
 * VXLAN from its own underlay address (OSPF to ff02::5, Neighbor Solicitations for n2's link-local,
 * ICMPv6 to ff02::1). n2 must police the punt path, not drown in it:
 *   - its BFD sessions toward n3 and n4 (the other links) never leave Up;
 *   - pings from n3 through n2 to n4 keep working;
 *   - the punt drops are counted.
 * (What the flood does to the flooder's own adjacency is its own business: its forged Hellos claim
 * other router IDs from its address.)
 *
 *   n1 (flooder) --- n2 --- n3
 *                     |
 *                     n4
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readFile } from 'node:fs/promises';
import { buildTopology, destroyChain, type Chain } from '../../src/demo/chain.js';
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
    chain = await buildTopology({
      prefix: runPrefix('fl'),
      nodes: 4,
      edges: [
        [0, 1],
        [1, 2],
        [1, 3],
      ],
      staticRoutes: 'none',
      dir: await tempDir('flood'),
      cliPath: CLI,
      // BFD detects in 500 ms here (100 ms x 5), not the default 300: four daemons, the flooder and its
      // 100k packets/s share two cores, and a 300 ms scheduling gap of the CI machine is not starvation.
      extra: { ospf: { helloInterval: 1, deadInterval: 4 }, bfd: { multiplier: 5 } },
    });
    await waitFor(
      async () => {
        const s = (await callDaemon(chain.nodes[1]!.socket, 'show', { what: 'bfd' })) as BfdInfo[];
        // Both ways: the replies need n4's route to n3, and each node runs SPF on its own throttle.
        const has = async (from: number, to: number) =>
          ((await callDaemon(chain.nodes[from]!.socket, 'show', { what: 'routes' })) as { prefix: string }[]).some((r) => r.prefix === `${chain.nodes[to]!.address}/128`);
        return s.length === 3 && s.every((x) => x.state === 'Up') && (await has(2, 3)) && (await has(3, 2));
      },
      30_000,
      'n2 BFD sessions did not come up, or n3 and n4 did not learn each other',
    );
  });

  after(async () => {
    if (chain) await destroyChain(chain);
  });

  test(`${RATE} punted packets/s for ${SECONDS} s: BFD on the other links stays Up, pings pass, drops counted`, async () => {
    const [n1, n2, n3, n4] = chain.nodes;
    const edge = chain.edges[0]!;
    const others = [n3!.name, n4!.name];
    const bfdBefore = ((await callDaemon(n2!.socket, 'show', { what: 'bfd' })) as BfdInfo[]).filter((s) => others.includes(s.link));
    const flood = inNs(
      n1!.ns,
      process.execPath,
      [FLOOD, '--bind', edge.addrA, '--to', edge.addrB, '--port', String(edge.port), '--src-mesh', n1!.address, '--dst-mesh', n2!.address, '--rate', String(RATE), '--seconds', String(SECONDS)],
      (SECONDS + 20) * 1000,
    );
    const ping = inNs(n3!.ns, 'ping', ['-6', '-c', String(SECONDS * 5), '-i', '0.2', '-W', '1', n4!.address], (SECONDS + 20) * 1000);
    const notUp: string[] = [];
    const deadline = Date.now() + SECONDS * 1000;
    while (Date.now() < deadline) {
      const sessions = ((await callDaemon(n2!.socket, 'show', { what: 'bfd' }, 5000)) as BfdInfo[]).filter((x) => others.includes(x.link));
      for (const s of sessions) if (s.state !== 'Up') notUp.push(`${new Date().toISOString()} ${s.link} ${s.state}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const [f, p] = await Promise.all([flood, ping]);
    assert.equal(f.code, 0, f.stderr);
    const sent = (JSON.parse(f.stdout) as { sent: number }).sent;
    assert.ok(sent >= RATE * SECONDS * 0.8, `the flood sent only ${sent} packets`);
    const after = ((await callDaemon(n2!.socket, 'show', { what: 'bfd' })) as BfdInfo[]).filter((x) => others.includes(x.link));
    if (notUp.length > 0) {
      const bfdLines = async (path: string) => (await readFile(path, 'utf8').catch(() => '')).split('\n').filter((l) => l.includes('bfd session state')).slice(-12).join('\n');
      assert.fail(`a BFD session on another link left Up during the flood: ${notUp.join(', ')}\n--- n2\n${await bfdLines(n2!.logPath)}\n--- n4\n${await bfdLines(n4!.logPath)}\n--- n3\n${await bfdLines(n3!.logPath)}`);
    }
    for (const b of bfdBefore) {
      assert.equal(after.find((a) => a.link === b.link)?.counters.stateChanges, b.counters.stateChanges, `the BFD session toward ${b.link} flapped`);
    }
    const received = Number(/(\d+) received/.exec(p.stdout)?.[1] ?? 0);
    const c2 = await counters(n2!.socket);
    const drops = Object.fromEntries(Object.entries(c2).filter(([k, v]) => k.startsWith('drop') && v > 0));
    const snmp = (await inNs(n2!.ns, 'cat', ['/proc/net/snmp6'], 5000)).stdout;
    const rcvbuf = snmp.split('\n').filter((l) => /Udp6(RcvbufErrors|InErrors|InDatagrams)/.test(l)).map((l) => l.replace(/\s+/g, ' ')).join(', ');
    const got = new Set([...p.stdout.matchAll(/icmp_seq=(\d+)/g)].map((m) => Number(m[1])));
    const lost = Array.from({ length: SECONDS * 5 }, (_, i) => i + 1).filter((q) => !got.has(q));
    if (lost.length > 0) console.log(`# lost icmp_seq ${lost.join(',')}`);
    const dropsOf = async (sock: string) => JSON.stringify(Object.fromEntries(Object.entries(await counters(sock)).filter(([k, v]) => k.startsWith('drop') && v > 0)));
    console.log(`# pings n3 -> n2 -> n4 during the flood: ${received}/${SECONDS * 5}; flood sent ${sent}; n2 drops ${JSON.stringify(drops)}; n2 kernel ${rcvbuf}; n3 drops ${await dropsOf(n3!.socket)}; n4 drops ${await dropsOf(n4!.socket)}`);
    assert.ok(received >= SECONDS * 5 * 0.9, `pings n3 -> n2 -> n4 during the flood: ${received} of ${SECONDS * 5}\n${p.stdout.slice(-300)}`);
    const c = await counters(n2!.socket);
    const puntDrops = Object.entries(c)
      .filter(([k]) => k.startsWith('drop_punt'))
      .reduce((a, [, v]) => a + v, 0);
    assert.ok(puntDrops > sent / 10, `punt drops counted: ${JSON.stringify(c)}\n${await logs([n2!.logPath])}`);
    const st = (await callDaemon(n2!.socket, 'show', { what: 'status' })) as { state: string };
    assert.equal(st.state, 'up');
  });
});
