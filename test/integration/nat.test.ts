/**
 * Nodes behind NAT: A and B each sit behind an nftables masquerade router in a namespace of its own, with
 * no inbound reachability; P is public. A and B know only P. P takes them as inbound peers after their
 * handshakes and answers the UDP ports their NATs chose (roaming); the mesh routes A <-> B through P.
 *
 *   A (10.0.1.2) - natA [masquerade] (198.51.100.2) -\
 *                                                     br0 (inet) - P (198.51.100.1)
 *   B (10.0.2.2) - natB [masquerade] (198.51.100.3) -/
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { stringify } from 'yaml';
import { uuidToMeshAddress } from '../../src/common/address.js';
import { callDaemon } from '../../src/cli/control-client.js';
import { createNamespace, deleteNamespace, sh, startDaemon, stopProcess, waitForDaemon } from '../../src/demo/netns.js';
import { waitFor } from '../helpers/routers.js';
import { CLI, inNs, logs, runPrefix, tempDir } from '../helpers/integration.js';

interface Node {
  name: string;
  uuid: string;
  address: string;
  ns: string;
  socket: string;
  log: string;
  pid?: number;
}

describe('nodes behind NAT', { timeout: 240_000 }, () => {
  const p = runPrefix('nt');
  const inet = `${p}inet`;
  const routers = [`${p}ra`, `${p}rb`];
  let dir: string;
  const nodes: Node[] = [];
  const mk = (name: string, ns: string): Node => {
    const uuid = randomUUID();
    return { name, uuid, address: uuidToMeshAddress(uuid), ns, socket: join(dir, `${name}.sock`), log: join(dir, `${name}.log`) };
  };
  const link = async (nsA: string, ifA: string, nsB: string, ifB: string) => {
    await sh('ip', ['link', 'add', `${p}x`, 'type', 'veth', 'peer', 'name', `${p}y`]);
    await sh('ip', ['link', 'set', `${p}x`, 'netns', nsA]);
    await sh('ip', ['link', 'set', `${p}y`, 'netns', nsB]);
    await sh('ip', ['-n', nsA, 'link', 'set', `${p}x`, 'name', ifA, 'up']);
    await sh('ip', ['-n', nsB, 'link', 'set', `${p}y`, 'name', ifB, 'up']);
  };

  before(async () => {
    dir = await tempDir('nat');
    const pub = mk('public', `${p}pub`);
    const a = mk('behind-a', `${p}a`);
    const b = mk('behind-b', `${p}b`);
    nodes.push(pub, a, b);
    for (const ns of [inet, ...routers, pub.ns, a.ns, b.ns]) await createNamespace(ns);
    await sh('ip', ['-n', inet, 'link', 'add', 'br0', 'type', 'bridge']);
    await sh('ip', ['-n', inet, 'link', 'set', 'br0', 'up']);
    await link(inet, 'pp', pub.ns, 'wan');
    await sh('ip', ['-n', inet, 'link', 'set', 'pp', 'master', 'br0']);
    await sh('ip', ['-n', pub.ns, 'addr', 'add', '198.51.100.1/24', 'dev', 'wan']);
    for (const [i, node] of [a, b].entries()) {
      const r = routers[i]!;
      await link(inet, `p${i}`, r, 'wan');
      await sh('ip', ['-n', inet, 'link', 'set', `p${i}`, 'master', 'br0']);
      await sh('ip', ['-n', r, 'addr', 'add', `198.51.100.${i + 2}/24`, 'dev', 'wan']);
      await link(r, 'lan', node.ns, 'eth0');
      await sh('ip', ['-n', r, 'addr', 'add', `10.0.${i + 1}.1/24`, 'dev', 'lan']);
      await sh('ip', ['-n', node.ns, 'addr', 'add', `10.0.${i + 1}.2/24`, 'dev', 'eth0']);
      await sh('ip', ['-n', node.ns, 'route', 'add', 'default', 'via', `10.0.${i + 1}.1`]);
      await sh('ip', ['netns', 'exec', r, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      // A home router: masquerade out, nothing in that the router did not see go out first.
      const rules = join(dir, `${r}.nft`);
      await writeFile(
        rules,
        [
          'table ip nat {',
          '  chain post {',
          '    type nat hook postrouting priority 100;',
          '    oifname "wan" meta l4proto { tcp, udp } masquerade to :40000-49999',
          '    oifname "wan" masquerade',
          '  }',
          '}',
          'table ip filter {',
          '  chain forwarding {',
          '    type filter hook forward priority 0; policy drop;',
          '    ct state established,related accept',
          '    iifname "lan" accept',
          '  }',
          '}',
          '',
        ].join('\n'),
      );
      await sh('ip', ['netns', 'exec', r, 'nft', '-f', rules]);
    }
    for (const n of nodes) {
      const peers = n === pub ? [] : [{ name: 'public', uuid: pub.uuid, endpoint: '198.51.100.1:4789' }];
      const config = {
        uuid: n.uuid,
        name: n.name,
        stateDir: join(dir, `${n.name}-state`),
        controlSocket: n.socket,
        peers,
        discovery: { lan: false, exchange: true, exchangeSeconds: 5 },
        ospf: { helloInterval: 1, deadInterval: 4 },
      };
      await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
      await writeFile(join(dir, `${n.name}.yaml`), stringify(config), { mode: 0o600 });
      n.pid = startDaemon(n.ns, CLI, join(dir, `${n.name}.yaml`), n.log);
    }
    await Promise.all(nodes.map((n) => waitForDaemon(n.socket, 20_000)));
  });

  after(async () => {
    for (const n of nodes) if (n.pid) await stopProcess(n.pid);
    for (const n of nodes) await deleteNamespace(n.ns);
    for (const r of [...routers, inet]) await deleteNamespace(r);
  });

  test('both NATed nodes join through the public one, which answers their NAT ports; they ping each other through it', async () => {
    const [pub, a, b] = nodes;
    await waitFor(
      async () => {
        const peers = (await callDaemon(pub!.socket, 'show', { what: 'peers' })) as { uuid?: string; state: string; source: string }[];
        return [a, b].every((n) => peers.some((x) => x.uuid === n!.uuid && x.state === 'established' && x.source === 'inbound'));
      },
      30_000,
      'the public node did not take both NATed nodes as inbound peers',
    ).catch(async (err) => assert.fail(`${(err as Error).message}\n${JSON.stringify(await callDaemon(pub!.socket, 'show', { what: 'peers' }))}\n${await logs(nodes.map((n) => n.log))}`));
    await waitFor(async () => (await inNs(a!.ns, 'ping', ['-c', '1', '-W', '1', b!.address], 5000)).code === 0, 30_000, 'A did not reach B').catch(async (err) =>
      assert.fail(`${(err as Error).message}\n${await logs(nodes.map((n) => n.log))}`),
    );
    const r = await inNs(a!.ns, 'ping', ['-6', '-c', '1', '-t', '1', '-W', '2', b!.address], 10_000);
    assert.match(r.stdout, new RegExp(`From ${pub!.address}.*Time exceeded`, 'i'), `the path A -> B goes through the public node\n${r.stdout}`);
    // The public node's links to them send to the ports their NATs chose, not to 4789.
    const links = (await callDaemon(pub!.socket, 'show', { what: 'links' })) as { name: string; endpoint: string }[];
    assert.equal(links.length, 2, JSON.stringify(links));
  });
});
