/**
 * The DNS service on loopback with a fake context: it answers over UDP and TCP from the peers query,
 * rate-limits a flooding source, and a taken port leaves it not serving (said in `show dns`) instead of
 * failing the daemon.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import dnsPacket from 'dns-packet';
import { DnsService } from '../../src/services/dns/service.js';
import type { QueryHandler, ServiceContext } from '../../src/controlplane/service.js';
import type { DnsSection } from '../../src/services/dns/service.js';

const CARLOTTA = 'fd00:6d6f:6c74:f8a9:ce03:f512:4311:8792';

function context(port: number, now = { t: 0 }) {
  const queries = new Map<string, QueryHandler>();
  queries.set('peers', () => [{ name: 'carlotta', address: CARLOTTA, state: 'established', authenticated: true, source: 'config' }]);
  const silent = { info() {}, warn() {}, error() {}, debug() {}, child() { return silent; } };
  const ctx = {
    log: silent,
    clock: { now: () => now.t },
    config: { enabled: true, port, name: 'agenticmesh', tunName: 'molt0', ratePerSource: 200 },
    node: { address: '::1' },
    queries: { register: (n: string, h: QueryHandler) => void queries.set(n, h), get: (n: string) => queries.get(n), names: () => [...queries.keys()] },
  } as unknown as ServiceContext<DnsSection>;
  return { ctx, queries, now };
}

async function freePort(): Promise<number> {
  const s = createSocket('udp6');
  await new Promise<void>((r) => s.bind(0, '::1', () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

function udpAsk(port: number, msg: Buffer): Promise<Buffer | undefined> {
  const s = createSocket('udp6');
  return new Promise((resolve) => {
    const t = setTimeout(() => (s.close(), resolve(undefined)), 500);
    s.on('message', (m) => (clearTimeout(t), s.close(), resolve(m)));
    s.send(msg, port, '::1');
  });
}

test('answers over UDP and TCP (one connection, two queries) from what peering knows', async () => {
  const port = await freePort();
  const { ctx } = context(port);
  const dns = new DnsService();
  await dns.start(ctx);
  try {
    const q = (id: number, name: string) => dnsPacket.encode({ type: 'query', id, questions: [{ name, type: 'AAAA' }] });
    const r = dnsPacket.decode((await udpAsk(port, q(1, 'carlotta.molt')))!);
    assert.equal((r.answers![0] as { data: string }).data, CARLOTTA);
    const self = dnsPacket.decode((await udpAsk(port, q(2, 'agenticmesh.molt')))!);
    assert.equal((self as { rcode?: string }).rcode, 'NXDOMAIN', 'this node\'s own address (::1 here) is no mesh address: refused by the zone');
    const sock = connect(port, '::1');
    const frames: Buffer[] = [];
    let buf = Buffer.alloc(0);
    const got = new Promise<void>((resolve) =>
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          frames.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
          buf = buf.subarray(2 + buf.readUInt16BE(0));
        }
        if (frames.length === 2) resolve();
      }),
    );
    for (const m of [q(3, 'carlotta.molt'), q(4, 'nobody.molt')]) sock.write(Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]));
    await got;
    sock.destroy();
    assert.deepEqual(frames.map((f) => [dnsPacket.decode(f).id, (dnsPacket.decode(f) as { rcode?: string }).rcode]), [[3, 'NOERROR'], [4, 'NXDOMAIN']]);
  } finally {
    await dns.stop();
  }
});

test('a source over its rate is dropped and counted; others are not', async () => {
  const port = await freePort();
  const { ctx, queries, now } = context(port);
  const dns = new DnsService();
  await dns.start(ctx);
  try {
    const s = createSocket('udp6');
    let answers = 0;
    s.on('message', () => answers++);
    const q = dnsPacket.encode({ type: 'query', id: 5, questions: [{ name: 'carlotta.molt', type: 'AAAA' }] });
    await new Promise<void>((r) => s.bind(0, '::1', () => r()));
    // In small batches, so the kernel's socket buffer is not what drops them.
    for (let b = 0; b < 20; b++) {
      for (let i = 0; i < 50; i++) s.send(q, port, '::1');
      await new Promise((r) => setTimeout(r, 15));
    }
    await new Promise((r) => setTimeout(r, 200));
    s.close();
    const shown = queries.get('dns')!({}) as { counters: { rate_limited: number; queries: number } };
    // The clock stands still: the burst (400) is answered, the rest refused.
    assert.equal(answers, 400);
    assert.equal(shown.counters.rate_limited, 600);
    assert.equal(await udpAsk(port, q), undefined, 'still over its rate');
    now.t += 1000; // a second later: 200 more
    assert.ok(await udpAsk(port, q), 'answered again once its bucket refilled');
  } finally {
    await dns.stop();
  }
});

test('a taken port: not serving, said in show dns, the service (and so the daemon) still starts', async () => {
  const holder = createSocket({ type: 'udp6', ipv6Only: true });
  await new Promise<void>((r) => holder.bind({ port: 0, address: '::1', exclusive: true }, () => r()));
  const port = holder.address().port;
  const { ctx, queries } = context(port);
  const dns = new DnsService();
  try {
    await dns.start(ctx);
    const shown = queries.get('dns')!({}) as { serving: boolean; error?: string };
    assert.equal(shown.serving, false);
    assert.match(shown.error!, new RegExp(`port ${port} on ::1: EADDRINUSE`));
  } finally {
    await dns.stop();
    holder.close();
  }
});

test('systemd-resolved: where it runs, ~molt on the TUN goes to the mesh address, undone at stop; a half-done setup is undone', async () => {
  const run = async (fail?: string) => {
    const calls: string[] = [];
    const control = {
      present: async () => true,
      resolvectl: async (args: string[]) => {
        calls.push(args.join(' '));
        if (fail !== undefined && args[0] === fail) throw new Error(`resolvectl ${fail}: Failed to set DNS configuration`);
      },
    };
    const { ctx, queries } = context(await freePort());
    const dns = new DnsService(control);
    await dns.start(ctx);
    const routed = (queries.get('dns')!({}) as { systemdResolved: boolean }).systemdResolved;
    await dns.stop();
    return { calls, routed };
  };
  assert.deepEqual(await run(), { calls: ['dns molt0 ::1', 'domain molt0 ~molt', 'revert molt0'], routed: true });
  assert.deepEqual(await run('domain'), { calls: ['dns molt0 ::1', 'domain molt0 ~molt', 'revert molt0'], routed: false });
  // Not there: resolvectl is never run.
  const calls: string[] = [];
  const { ctx } = context(await freePort());
  const dns = new DnsService({ present: async () => false, resolvectl: async (a) => void calls.push(a.join(' ')) });
  await dns.start(ctx);
  await dns.stop();
  assert.deepEqual(calls, []);
});
