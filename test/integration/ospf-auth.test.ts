/**
 * OSPFv3 authentication trailer (RFC 7166, HMAC-SHA-256) against BIRD 2 over a kernel link: the right key
 * gives a Full adjacency; a wrong key never does, and the failed packets are counted and dropped.
 * (FRR 8.4 puts the trailer's protocol ID in the wrong byte order, so it cannot interoperate with RFC
 * 7166 implementations, BIRD included; BIRD is the reference here.)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { callDaemon } from '../../src/cli/control-client.js';
import { createNamespace, deleteNamespace, stopProcess } from '../../src/demo/netns.js';
import { logs, runPrefix, startNode, tempDir } from '../helpers/integration.js';
import { startBird, waitFor, type RouterHandle } from '../helpers/routers.js';

const U1 = 'daa46e88-46c5-4af7-9268-1482c54c1922';

const birdConfig = (ifname: string, password: string) => `
router id 10.201.0.1;
log stderr all;
protocol device { scan time 2; }
protocol ospf v3 mesh {
  ipv6 { import all; export none; };
  area 0 {
    interface "${ifname}" {
      type ptp; hello 1; dead 4;
      authentication cryptographic;
      password "${password}" { id 1; algorithm hmac sha256; };
    };
  };
}
`;

for (const variant of ['right key', 'wrong key'] as const) {
  describe(`OSPFv3 RFC 7166 authentication with BIRD: ${variant}`, { timeout: 120_000 }, () => {
    const p = runPrefix(variant === 'right key' ? 'ar' : 'aw');
    const [ns1, nsr] = [`${p}1`, `${p}r`];
    const mlink = `${p}ml`;
    let dir: string;
    let pid: number | undefined;
    let bird: RouterHandle | undefined;
    const sock = () => join(dir, 'n1.sock');

    before(async () => {
      dir = await tempDir('ospf-auth');
      await createNamespace(ns1);
      await createNamespace(nsr);
      const cfg = {
        uuid: U1,
        kernelLinks: [{ name: mlink, netns: nsr }],
        ospf: { helloInterval: 1, deadInterval: 4, authentication: { keyId: 1, key: 'moltnet-s3cret' } },
        bfd: { enabled: false },
      };
      pid = (await startNode(ns1, dir, 'n1', cfg)).pid;
      bird = await startBird(nsr, dir, 'bird', birdConfig(mlink, variant === 'right key' ? 'moltnet-s3cret' : 'not-the-key'));
    });

    after(async () => {
      await bird?.stop();
      if (pid !== undefined) await stopProcess(pid);
      await deleteNamespace(ns1);
      await deleteNamespace(nsr);
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    const neighbors = async () => (await callDaemon(sock(), 'show', { what: 'ospf neighbors' })) as { state: string }[];

    if (variant === 'right key') {
      test('adjacency Full on both sides', async () => {
        await waitFor(async () => (await neighbors()).some((n) => n.state === 'Full'), 30_000, 'no Full adjacency').catch(async (e) => {
          throw new Error(`${(e as Error).message}\n${await bird!.cli('show ospf neighbors')}\n${await logs([join(dir, 'n1.log'), bird!.logPath])}`);
        });
        assert.match(await bird!.cli('show ospf neighbors'), /Full/);
      });
    } else {
      test('no adjacency; the packets are counted as authentication failures', async () => {
        await new Promise((r) => setTimeout(r, 6000));
        assert.ok(!(await neighbors()).some((n) => n.state === 'Full' || n.state === 'ExStart'), JSON.stringify(await neighbors()));
        const s = (await callDaemon(sock(), 'show', { what: 'ospf status' })) as { counters: Record<string, number> };
        const failed = Object.entries(s.counters).filter(([k]) => k.includes('auth_failed')).reduce((a, [, v]) => a + v, 0);
        assert.ok(failed >= 3, JSON.stringify(s.counters));
      });
    }
  });
}
