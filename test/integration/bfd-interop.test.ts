/**
 * BFD interop over a kernel link, with OSPFv3 asking for the session as routers do (RFC 5882):
 *
 *   r (FRR ospf6d + bfdd, or BIRD ospf + bfd) ==mlink== n1 (MoltNet)
 *
 * The session comes Up on both sides; dropping the router's packets with nftables takes it Down on our
 * side within the detection time (3 x 100 ms), and dropping ours takes it Down on theirs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { callDaemon } from '../../src/cli/control-client.js';
import { createNamespace, deleteNamespace, stopProcess } from '../../src/demo/netns.js';
import { inNs, logs, runPrefix, startNode, tempDir } from '../helpers/integration.js';
import { startBird, startFrr, waitFor, type RouterHandle } from '../helpers/routers.js';

const U1 = 'daa46e88-46c5-4af7-9268-1482c54c1922';

const bird = (ifname: string, auth = '') => `
router id 10.202.0.1;
log stderr all;
protocol device { scan time 2; }
protocol bfd {
  interface "${ifname}" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; ${auth} };
}
protocol ospf v3 mesh {
  ipv6 { import all; export none; };
  area 0 { interface "${ifname}" { type ptp; hello 1; dead 4; bfd yes; }; };
}
`;

const frrBfd = `hostname r
bfd
 profile fast
  receive-interval 100
  transmit-interval 100
  detect-multiplier 3
 !
!
`;
const frrOspf6 = (ifname: string) => `hostname r
interface ${ifname}
 ipv6 ospf6 area 0.0.0.0
 ipv6 ospf6 network point-to-point
 ipv6 ospf6 hello-interval 1
 ipv6 ospf6 dead-interval 4
 ipv6 ospf6 bfd profile fast
!
router ospf6
 ospf6 router-id 10.202.0.2
!
`;

interface Session {
  link: string;
  state: string;
}

const BIRD_AUTH = 'authentication meticulous keyed sha1; password "bfd-s3cret" { id 7; };';

for (const impl of ['frr', 'bird', 'bird-auth'] as const) {
  const label = impl === 'frr' ? 'FRR bfdd' : impl === 'bird' ? 'BIRD' : 'BIRD, meticulous keyed SHA1 authentication';
  describe(`BFD interop with ${label}`, { timeout: 150_000 }, () => {
    const p = runPrefix(impl === 'frr' ? 'xf' : impl === 'bird' ? 'xb' : 'xa');
    const [ns1, nsr] = [`${p}1`, `${p}r`];
    const mlink = `${p}ml`;
    let dir: string;
    let pid: number | undefined;
    let router: RouterHandle | undefined;
    const sock = () => join(dir, 'n1.sock');
    const ours = async () => ((await callDaemon(sock(), 'show', { what: 'bfd' })) as Session[]).find((s) => s.link === mlink);
    const theirs = async () => (impl === 'frr' ? await router!.cli('show bfd peers brief') : await router!.cli('show bfd sessions'));

    before(async () => {
      dir = await tempDir(`bfd-${impl}`);
      await createNamespace(ns1);
      await createNamespace(nsr);
      const cfg = {
        uuid: U1,
        kernelLinks: [{ name: mlink, netns: nsr }],
        ospf: { helloInterval: 1, deadInterval: 4 },
        ...(impl === 'bird-auth' ? { bfd: { authentication: { type: 'meticulous-keyed-sha1', keyId: 7, key: 'bfd-s3cret' } } } : {}),
      };
      pid = (await startNode(ns1, dir, 'n1', cfg)).pid;
      router =
        impl === 'frr'
          ? await startFrr(nsr, dir, 'frr', { bfd: frrBfd, ospf6: frrOspf6(mlink) })
          : await startBird(nsr, dir, 'bird', bird(mlink, impl === 'bird-auth' ? BIRD_AUTH : ''));
    });

    after(async () => {
      await router?.stop();
      if (pid !== undefined) await stopProcess(pid);
      await deleteNamespace(ns1);
      await deleteNamespace(nsr);
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    test('the session comes Up on both sides', async () => {
      await waitFor(async () => (await ours())?.state === 'Up' && /\bup\b/i.test(await theirs()), 30_000, 'BFD did not come Up').catch(async (e) => {
        throw new Error(`${(e as Error).message}\nours: ${JSON.stringify(await ours())}\ntheirs: ${await theirs()}\n${await logs([join(dir, 'n1.log'), router!.logPath])}`);
      });
    });

    if (impl === 'bird-auth') return;

    test("dropping the router's packets: our side goes Down within the detection time", async () => {
      await inNs(nsr, 'nft', [`add table inet mt; add chain inet mt out { type filter hook output priority 0; }; add rule inet mt out oifname "${mlink}" udp dport 3784 drop`], 5000);
      const t0 = Date.now();
      await waitFor(async () => (await ours())?.state === 'Down', 3000, 'our session did not go Down');
      const ms = Date.now() - t0;
      process.stdout.write(`# ${impl}: our side Down after ${ms} ms\n`);
      assert.ok(ms < 700, `${ms} ms`);
      await inNs(nsr, 'nft', ['delete table inet mt'], 5000);
      await waitFor(async () => (await ours())?.state === 'Up', 15_000, 'our session did not come back Up');
    });

    test('dropping our packets: their side goes Down', async () => {
      await waitFor(async () => /\bup\b/i.test(await theirs()), 15_000, 'their session is not Up again');
      await inNs(nsr, 'nft', [`add table inet mt; add chain inet mt in { type filter hook input priority 0; }; add rule inet mt in iifname "${mlink}" udp dport 3784 drop`], 5000);
      const t0 = Date.now();
      await waitFor(async () => /\bdown\b/i.test(await theirs()), 5000, 'their session did not go Down');
      process.stdout.write(`# ${impl}: their side Down after ${Date.now() - t0} ms (observed through their CLI)\n`);
      await inNs(nsr, 'nft', ['delete table inet mt'], 5000);
    });
  });
}
