/**
 * Nodes behind NAT: A and B each sit behind an nftables masquerade router in a namespace of its own, with
 * no inbound reachability; P is public and a relay. A and B know only P.
 *   1. P takes them as inbound peers after their handshakes, answers the UDP ports their NATs chose
 *      (roaming) and tells each one where it sees it from;
 *   2. A and B learn each other by exchange, peer over the mesh (through P), send each other their
 *      observed endpoints and punch a direct path: their pings go direct, P's underlay carries none;
 *   3. with the direct path blocked between the NATs, they fall back to the path through P.
 *
 * The routers map the VXLAN port to one public port per router whatever the destination (endpoint-
 * independent mapping, RFC 4787 REQ-1, as home routers that allow hole punching do) and let in only
 * replies to what went out, to themselves as to their LAN.
 *
 *   A (10.0.1.2) - natA [masquerade] (198.51.100.2) -\
 *                                                     br0 (inet) - P (198.51.100.1)
 *   B (10.0.2.2) - natB [masquerade] (198.51.100.3) -/
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { stringify } from 'yaml';
import { uuidToMeshAddress } from '../../src/common/address.js';
import { callDaemon } from '../../src/cli/control-client.js';
import { createNamespace, deleteNamespace, sh, startDaemon, stopProcess, waitForDaemon } from '../../src/demo/netns.js';
import { waitFor } from '../helpers/routers.js';
import { CLI, inNs, logs, run, runPrefix, tempDir } from '../helpers/integration.js';

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
          `    oifname "wan" udp sport 4789 masquerade to :${45789 + i * 1000}`,
          '    oifname "wan" meta l4proto { tcp, udp } masquerade to :40000-49999',
          '    oifname "wan" masquerade',
          '  }',
          '}',
          'table ip filter {',
          // Nothing unsolicited reaches the router itself (a home router's WAN zone): dropped before
          // conntrack confirms it, a peer's first punch packet leaves no entry that would clash with the
          // mapping its reply is about to make.
          '  chain input {',
          '    type filter hook input priority 0; policy accept;',
          '    iifname "wan" ct state new drop',
          '  }',
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
        ...(n === pub ? { peering: { relay: true } } : {}),
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

  interface PeerInfo {
    uuid?: string;
    state: string;
    source: string;
    session?: string;
    path?: string;
    via?: string;
  }
  const peerOf = async (from: Node, to: Node) => ((await callDaemon(from.socket, 'show', { what: 'peers' })) as PeerInfo[]).find((x) => x.uuid === to.uuid);
  const allLogs = () => logs(nodes.map((n) => n.log));

  test('both NATed nodes join through the public relay, which answers their NAT ports and tells each its mapping', async () => {
    const [pub, a, b] = nodes;
    await waitFor(
      async () => {
        const peers = (await callDaemon(pub!.socket, 'show', { what: 'peers' })) as PeerInfo[];
        return [a, b].every((n) => peers.some((x) => x.uuid === n!.uuid && x.state === 'established' && x.source === 'inbound'));
      },
      30_000,
      'the public node did not take both NATed nodes as inbound peers',
    ).catch(async (err) => assert.fail(`${(err as Error).message}\n${JSON.stringify(await callDaemon(pub!.socket, 'show', { what: 'peers' }))}\n${await allLogs()}`));
    // The public node's links send to the ports the NATs chose for the VXLAN socket, not to 4789.
    await waitFor(
      async () => {
        const links = (await callDaemon(pub!.socket, 'show', { what: 'links' })) as { endpoint: string }[];
        const eps = links.map((l) => l.endpoint).sort();
        return eps.length === 2 && eps[0] === '198.51.100.2:45789' && eps[1] === '198.51.100.3:46789';
      },
      15_000,
      'the public node does not answer the NAT ports',
    ).catch(async (err) => assert.fail(`${(err as Error).message}\n${JSON.stringify(await callDaemon(pub!.socket, 'show', { what: 'links' }))}`));
    for (const [n, ep] of [
      [a!, '198.51.100.2:45789'],
      [b!, '198.51.100.3:46789'],
    ] as const) {
      await waitFor(async () => ((await callDaemon(n.socket, 'show', { what: 'peering' })) as { publicEndpoint?: string }).publicEndpoint === ep, 15_000, `${n.name} was not told its mapping ${ep}`);
    }
  });

  test('they peer over the mesh and punch a direct path: pings go direct and the relay carries none of them', async () => {
    const [pub, a, b] = nodes;
    await waitFor(
      async () => {
        const [ab, ba] = [await peerOf(a!, b!), await peerOf(b!, a!)];
        return ab?.state === 'established' && ab.session === 'mesh' && ab.path === 'direct' && ba?.path === 'direct';
      },
      45_000,
      'A and B did not get a direct path',
    ).catch(async (err) => assert.fail(`${(err as Error).message}\n${JSON.stringify(await peerOf(a!, b!))}\n${JSON.stringify(await peerOf(b!, a!))}\n${await allLogs()}`));
    // Direct: no router between them, so hop limit 1 arrives.
    const direct = await inNs(a!.ns, 'ping', ['-6', '-c', '1', '-t', '1', '-W', '2', b!.address], 10_000);
    assert.equal(direct.code, 0, `ping -t 1 A -> B\n${direct.stdout}`);
    const pcap = join(dir, 'relay.pcap');
    const capture = spawn('ip', ['netns', 'exec', pub!.ns, 'tshark', '-q', '-i', 'wan', '-a', 'duration:5', '-w', pcap], { stdio: 'ignore' });
    const captured = new Promise((r) => capture.on('close', r));
    await new Promise((r) => setTimeout(r, 1500));
    const r = await inNs(a!.ns, 'ping', ['-6', '-c', '10', '-i', '0.2', '-W', '2', b!.address], 15_000);
    await captured;
    assert.equal(r.code, 0, r.stdout);
    const t = await run('tshark', ['-r', pcap, '-n', '-T', 'fields', '-e', 'vxlan.vni', '-e', 'ipv6.src', '-e', 'ipv6.dst', '-e', 'icmpv6.type'], 30_000);
    assert.equal(t.code, 0, t.stderr);
    const lines = t.stdout.split('\n').filter(Boolean);
    // The capture works: the relay's own links (OSPF, BFD) are in it.
    assert.ok(lines.filter((l) => /^\d+\t/.test(l)).length >= 10, `the capture on the relay's underlay saw too little:\n${t.stdout.slice(0, 2000)}`);
    const relayed = lines.filter((l) => l.includes(a!.address) && l.includes(b!.address));
    assert.deepEqual(relayed, [], 'packets between A and B (pings, their peering session) crossed the relay');
  });

  test('with the direct path blocked between the NATs they fall back to the relay, and stay there', async () => {
    const [pub, a, b] = nodes;
    for (const [r, other] of [
      [routers[0]!, '198.51.100.3'],
      [routers[1]!, '198.51.100.2'],
    ] as const) {
      await sh('ip', ['netns', 'exec', r, 'nft', 'insert', 'rule', 'ip', 'filter', 'forwarding', 'ip', 'daddr', other, 'drop']);
      await sh('ip', ['netns', 'exec', r, 'nft', 'insert', 'rule', 'ip', 'filter', 'forwarding', 'ip', 'saddr', other, 'drop']);
    }
    await waitFor(async () => (await peerOf(a!, b!))?.path === 'relayed', 15_000, 'A did not fall back to the relay').catch(async (err) =>
      assert.fail(`${(err as Error).message}\n${JSON.stringify(await peerOf(a!, b!))}\n${await allLogs()}`),
    );
    // Past the dead interval the pair peers again over the mesh and punches again, which fails again.
    await new Promise((r) => setTimeout(r, 8000));
    const ab = await peerOf(a!, b!);
    assert.equal(ab?.path, 'relayed', JSON.stringify(ab));
    assert.equal(ab?.via, 'public');
    const r = await inNs(a!.ns, 'ping', ['-6', '-c', '5', '-i', '0.2', '-W', '2', b!.address], 15_000);
    assert.equal(r.code, 0, r.stdout);
    const t = await inNs(a!.ns, 'ping', ['-6', '-c', '1', '-t', '1', '-W', '2', b!.address], 10_000);
    assert.match(t.stdout, new RegExp(`From ${pub!.address}.*Time exceeded`, 'i'), `the path A -> B goes through the public node\n${t.stdout}`);
  });
});
