/**
 * A Linux kernel `vxlan` device is a working VXLAN peer (DESIGN.md "Link addressing"): the kernel
 * resolves our mesh address by Neighbor Discovery over the link, pings it, and we ping back.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { uuidToMeshAddress } from '../../src/common/address.js';
import { connectVeth, createNamespace, deleteNamespace, sh, startDaemon, stopProcess, waitForDaemon } from '../../src/demo/netns.js';
import { CLI, counters, inNs, logs, runPrefix, tempDir } from '../helpers/integration.js';

const NODE_UUID = 'daa46e88-46c5-4af7-9268-1482c54c1922';
const KERNEL_UUID = '88833763-60b7-47db-8703-349c6b2c70ff';

describe('a Linux kernel vxlan interface as a peer', { timeout: 120_000 }, () => {
  const p = runPrefix('k');
  const nodeNs = `${p}n`;
  const kernNs = `${p}k`;
  const nodeAddr = uuidToMeshAddress(NODE_UUID);
  const kernAddr = uuidToMeshAddress(KERNEL_UUID);
  let dir: string;
  let pid: number | undefined;
  const socket = () => join(dir, 'node.sock');

  before(async () => {
    dir = await tempDir('kvx');
    await createNamespace(nodeNs);
    await createNamespace(kernNs);
    await connectVeth(nodeNs, `${p}a`, 'fdff:6d6e:10::1/64', kernNs, `${p}b`, 'fdff:6d6e:10::2/64');
    await sh('ip', ['-n', kernNs, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '7171948', 'local', 'fdff:6d6e:10::2', 'remote', 'fdff:6d6e:10::1', 'dstport', '4789']);
    await sh('ip', ['-n', kernNs, 'link', 'set', 'vx0', 'mtu', '1380', 'up']);
    await sh('ip', ['-n', kernNs, '-6', 'addr', 'add', `${kernAddr}/128`, 'dev', 'vx0', 'nodad']);
    await sh('ip', ['-n', kernNs, '-6', 'route', 'add', `${nodeAddr}/128`, 'dev', 'vx0']);
    const config = {
      uuid: NODE_UUID,
      name: 'node',
      stateDir: join(dir, 'state'),
      controlSocket: socket(),
      peers: [{ name: 'kernel', address: kernAddr, endpoint: '[fdff:6d6e:10::2]:4789', link: 'vxlan', authenticate: false }],
    };
    await writeFile(join(dir, 'node.yaml'), stringify(config));
    pid = startDaemon(nodeNs, CLI, join(dir, 'node.yaml'), join(dir, 'node.log'));
    await waitForDaemon(socket(), 20_000);
  });

  after(async () => {
    if (pid !== undefined) await stopProcess(pid);
    await deleteNamespace(nodeNs);
    await deleteNamespace(kernNs);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the kernel pings our mesh address (it resolves us by ND first)', async () => {
    const r = await inNs(kernNs, 'ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', nodeAddr], 20_000);
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}\n${await logs([join(dir, 'node.log')])}\n${JSON.stringify(await counters(socket()))}`);
    const neigh = await sh('ip', ['-n', kernNs, '-6', 'neigh', 'show', 'dev', 'vx0']);
    // Our MAC on VXLAN links: 02 + the last 5 bytes of our mesh address (…:46c5:4af7:9268).
    assert.match(neigh, new RegExp(`${nodeAddr} lladdr 02:c5:4a:f7:92:68`), neigh);
  });

  test('we ping the kernel side (its MAC learned from its frames)', async () => {
    const r = await inNs(nodeNs, 'ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', kernAddr], 20_000);
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  });
});
