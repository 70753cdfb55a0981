/**
 * BIRD 2 and FRR ospf6d as OSPFv3 neighbors of a MoltNet node over a kernel link:
 *
 *   r (BIRD or FRR; lo: fd00:6d6f:6c74:b1d0::1) ==mlink== n1 (MoltNet) --vxlan-- n2 (MoltNet)
 *
 * Adjacency Full on both sides; the router's kernel table holds the mesh nodes' /128s; the prefix the
 * router originates is in our FIB; ping works both ways through n1; tshark decodes our OSPF cleanly.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { uuidToMeshAddress } from '../../src/common/address.js';
import { callDaemon } from '../../src/cli/control-client.js';
import { connectVeth, createNamespace, deleteNamespace, sh, startDaemon, stopProcess, waitForDaemon } from '../../src/demo/netns.js';
import { CLI, inNs, logs, run, runPrefix, tempDir } from '../helpers/integration.js';
import { startBird, startFrr, waitFor, type RouterHandle } from '../helpers/routers.js';

const U1 = 'daa46e88-46c5-4af7-9268-1482c54c1922';
const U2 = '88833763-60b7-47db-8703-349c6b2c70ff';
const A1 = uuidToMeshAddress(U1);
const A2 = uuidToMeshAddress(U2);
const R = 'fd00:6d6f:6c74:b1d0::1';

const birdConfig = (ifname: string) => `
router id 10.200.0.1;
log stderr all;
protocol device { scan time 2; }
protocol direct { ipv6; interface "lo"; }
protocol kernel { ipv6 { import none; export where source = RTS_OSPF; }; }
protocol ospf v3 mesh {
  ipv6 { import all; export where source = RTS_DEVICE; };
  area 0 {
    interface "${ifname}" { type ptp; hello 1; dead 4; };
  };
}
`;

const frrOspf6 = (ifname: string) => `hostname r
log stdout
interface ${ifname}
 ipv6 ospf6 area 0.0.0.0
 ipv6 ospf6 network point-to-point
 ipv6 ospf6 hello-interval 1
 ipv6 ospf6 dead-interval 4
!
router ospf6
 ospf6 router-id 10.200.0.2
 redistribute connected
!
`;

for (const impl of ['bird', 'frr'] as const) {
  describe(`OSPFv3 interop with ${impl === 'bird' ? 'BIRD 2' : 'FRR ospf6d'}`, { timeout: 180_000 }, () => {
    const p = runPrefix(impl === 'bird' ? 'b' : 'f');
    const [ns1, ns2, nsr] = [`${p}1`, `${p}2`, `${p}r`];
    const mlink = `${p}ml`;
    let dir: string;
    const pids: number[] = [];
    let router: RouterHandle | undefined;
    const sock = (i: number) => join(dir, `n${i}.sock`);
    const allLogs = () => logs([join(dir, 'n1.log'), join(dir, 'n2.log'), router?.logPath ?? '']);

    before(async () => {
      dir = await tempDir(`ospf-${impl}`);
      for (const ns of [ns1, ns2, nsr]) await createNamespace(ns);
      await connectVeth(ns1, `${p}a`, 'fdff:6d6e:30::1/64', ns2, `${p}b`, 'fdff:6d6e:30::2/64');
      await sh('ip', ['-n', nsr, '-6', 'addr', 'add', `${R}/128`, 'dev', 'lo']);
      const ospf = { helloInterval: 1, deadInterval: 4 };
      const c1 = {
        uuid: U1,
        stateDir: join(dir, 's1'),
        controlSocket: sock(1),
        peers: [{ name: 'n2', uuid: U2, endpoint: '[fdff:6d6e:30::2]:4789' }],
        kernelLinks: [{ name: mlink, netns: nsr }],
        ospf,
        bfd: { enabled: false },
      };
      const c2 = { uuid: U2, stateDir: join(dir, 's2'), controlSocket: sock(2), peers: [{ name: 'n1', uuid: U1, endpoint: '[fdff:6d6e:30::1]:4789' }], ospf, bfd: { enabled: false } };
      await writeFile(join(dir, 'n1.yaml'), stringify(c1));
      await writeFile(join(dir, 'n2.yaml'), stringify(c2));
      pids.push(startDaemon(ns1, CLI, join(dir, 'n1.yaml'), join(dir, 'n1.log')));
      pids.push(startDaemon(ns2, CLI, join(dir, 'n2.yaml'), join(dir, 'n2.log')));
      await waitForDaemon(sock(1), 20_000);
      await waitForDaemon(sock(2), 20_000);
      router =
        impl === 'bird'
          ? await startBird(nsr, dir, 'bird', birdConfig(mlink))
          : await startFrr(nsr, dir, 'frr', { ospf6: frrOspf6(mlink) });
    });

    after(async () => {
      await router?.stop();
      await Promise.all(pids.map((pid) => stopProcess(pid)));
      for (const ns of [ns1, ns2, nsr]) await deleteNamespace(ns);
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    test('adjacency Full on both sides', async () => {
      await waitFor(
        async () => {
          const nb = (await callDaemon(sock(1), 'show', { what: 'ospf neighbors' })) as { interface: string; state: string }[];
          return nb.some((n) => n.interface === mlink && n.state === 'Full');
        },
        30_000,
        `no Full adjacency with ${impl}`,
      ).catch(async (e) => {
        throw new Error(`${(e as Error).message}\n${impl === 'bird' ? await router!.cli('show ospf neighbors') : await router!.cli('show ipv6 ospf6 neighbor')}\n${await allLogs()}`);
      });
      const theirs = impl === 'bird' ? await router!.cli('show ospf neighbors') : await router!.cli('show ipv6 ospf6 neighbor');
      assert.match(theirs, /Full/, theirs);
    });

    test("the router's kernel table has the mesh nodes' /128s; our FIB has its prefix", async () => {
      await waitFor(
        async () => {
          const t = await sh('ip', ['-n', nsr, '-6', 'route', 'show']);
          return t.includes(A1) && t.includes(A2);
        },
        30_000,
        `${impl} did not install the mesh routes`,
      ).catch(async (e) => {
        throw new Error(`${(e as Error).message}\n${await sh('ip', ['-n', nsr, '-6', 'route', 'show'])}\n${await allLogs()}`);
      });
      await waitFor(
        async () => {
          const routes = (await callDaemon(sock(2), 'show', { what: 'routes' })) as { prefix: string; source: string }[];
          return routes.some((r) => r.prefix === `${R}/128` && r.source === 'ospf');
        },
        30_000,
        `n2 did not learn ${R}/128`,
      );
    });

    test('ping both ways through n1', async () => {
      // Routes may still be settling in the kernel tables: retry within a bounded window.
      let out = await inNs(nsr, 'ping', ['-6', '-c', '2', '-i', '0.2', '-W', '2', '-I', R, A2], 15_000);
      for (let i = 0; i < 4 && out.code !== 0; i++) out = await inNs(nsr, 'ping', ['-6', '-c', '2', '-i', '0.2', '-W', '2', '-I', R, A2], 15_000);
      if (out.code !== 0) {
        const state = [
          await sh('ip', ['-n', nsr, '-6', 'route', 'show']),
          JSON.stringify(await callDaemon(sock(1), 'show', { what: 'routes' })),
          JSON.stringify(await callDaemon(sock(2), 'show', { what: 'routes' })),
          JSON.stringify(await callDaemon(sock(1), 'show', { what: 'ospf neighbors' })),
          JSON.stringify((await callDaemon(sock(1), 'show', { what: 'status' }) as { counters: unknown }).counters),
        ].join('\n');
        assert.fail(`${out.stdout}\n${state}\n${await allLogs()}`);
      }
      const back = await inNs(ns2, 'ping', ['-6', '-c', '2', '-i', '0.2', '-W', '2', R], 15_000);
      assert.equal(back.code, 0, back.stdout);
    });

    test('tshark decodes our OSPFv3 packets with good checksums and nothing malformed', async () => {
      // Not in `dir`: FRR's tests hand that directory to the frr user, and dumpcap cannot write there.
      const pcapDir = await tempDir('pcap');
      const pcap = join(pcapDir, 'ospf.pcap');
      const cap = spawn('ip', ['netns', 'exec', nsr, 'tshark', '-i', mlink, '-a', 'duration:5', '-w', pcap], { stdio: ['ignore', 'ignore', 'pipe'] });
      let capErr = '';
      cap.stderr.on('data', (d) => (capErr += d));
      await new Promise((r) => cap.on('close', r));
      const r = await run('tshark', ['-r', pcap, '-V', '-Y', 'ospf'], 30_000);
      assert.equal(r.code, 0, `tshark: ${r.stderr}\ncapture: ${capErr}`);
      assert.match(r.stdout, /Open Shortest Path First/);
      assert.match(r.stdout, /Source OSPF Router: 193\.242\.3\.195/, 'our hellos are in the capture');
      assert.doesNotMatch(r.stdout, /Malformed/i);
      assert.doesNotMatch(r.stdout, /\[Bad checksum|incorrect/i);
      await rm(pcapDir, { recursive: true, force: true });
    });
  });
}
