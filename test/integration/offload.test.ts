/**
 * TUN offloads against the real kernel: what tunOpen's vnetHdr option is granted, and that the kernel takes the
 * superpackets groCoalesce makes. A TCP connection runs from namespace A to namespace B across two vnetHdr TUNs
 * (test/fixtures/offload-netns.ts); this process is the wire: it splits what A's kernel hands out with
 * gsoSplit, coalesces the segments again with groCoalesce and writes them to B, whose server must receive
 * every byte in order.
 *
 * Needs root (TUN, `ip netns`); skipped otherwise. Only addresses inside the namespaces it makes are used;
 * every wait is bounded and every fd and namespace is released in `finally`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import {
  GRO_BAD_CSUM,
  GRO_MERGED,
  GRO_STATS,
  GRO_SUPER,
  OS_STATS,
  OS_TUN_BAD,
  OS_TUN_READS,
  OS_TUN_SEGMENTS,
  OS_TUN_SUPER,
  TUN_F_CSUM,
  TUN_SCRATCH_BYTES,
  TUN_STATE_LEN,
  TUN_F_DEFAULT,
  TUN_F_TSO4,
  TUN_F_TSO6,
  TUN_F_USO4,
  loadNative,
} from '../../src/dataplane/io/native.js';
import { ADDR_B, coalesce, makePair, relay, split, type Hop, type Pair, type RelayCounts } from '../fixtures/offload-netns.js';

const native = loadNative();
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const rootOnly = isRoot ? {} : { skip: 'needs root (TUN devices, ip netns)' };
const linuxOnly = process.platform === 'linux' ? rootOnly : { skip: 'TUN offloads are Linux only' };
const run = process.pid;

/** Open a TUN in this namespace, hand its result to `body`, close it. */
function withTun<T>(name: string, options: Parameters<typeof native.tunOpen>[1], body: (t: ReturnType<typeof native.tunOpen>) => T): T {
  const t = native.tunOpen(name.slice(0, 15), options);
  try {
    return body(t);
  } finally {
    native.close(t.fd);
  }
}

test('tunOpen: the vnetHdr option and what TUNSETOFFLOAD grants, with fallbacks', linuxOnly, () => {
  withTun(`ofo${run}`, undefined, (t) => {
    assert.equal(t.vnetHdr, false, 'no option: the plain TUN of before');
    assert.equal(t.offloads, 0);
  });
  withTun(`ofo${run}`, { vnetHdr: true }, (t) => {
    assert.equal(t.vnetHdr, true);
    // Every kernel since 2.6.27 takes checksum and TSO; USO needs 6.2. Never more than was asked.
    assert.equal(t.offloads! & (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6), TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
    assert.equal(t.offloads! & ~TUN_F_DEFAULT, 0);
    process.stdout.write(`# offloads granted: 0x${t.offloads!.toString(16)} (asked 0x${TUN_F_DEFAULT.toString(16)})\n`);
  });
  // USO4 without USO6 is refused (the kernel enables UDP GSO only for both): falls back to what it takes.
  withTun(`ofo${run}`, { vnetHdr: true, offloads: TUN_F_CSUM | TUN_F_USO4 }, (t) => assert.equal(t.offloads, TUN_F_CSUM));
  // TSO without CSUM cannot be had: nothing, but the header is still there.
  withTun(`ofo${run}`, { vnetHdr: true, offloads: TUN_F_TSO6 }, (t) => {
    assert.equal(t.vnetHdr, true);
    assert.equal(t.offloads, 0);
  });
  withTun(`ofo${run}`, { vnetHdr: false, offloads: TUN_F_DEFAULT }, (t) => assert.equal(t.offloads, 0));
  assert.throws(() => native.tunOpen('ofx', { vnetHdr: 'yes' as unknown as boolean }), TypeError);
  assert.throws(() => native.tunOpen('ofx', { vnetHdr: true, offloads: 0x10 }), RangeError); // UFO: not ours
  assert.throws(() => native.tunOpen('ofx', { vnetHdr: true, offloads: 1.5 }), RangeError);
  assert.throws(() => native.tunOpen('ofx', 7 as unknown as object), TypeError);
});

const TOTAL = 4 << 20;

const SERVER = `
const net = require('node:net');
const srv = net.createServer((s) => {
  let n = 0, bad = -1;
  s.on('data', (d) => { for (const b of d) { if (bad < 0 && b !== ((n * 7 + (n >> 8) * 13 + 3) & 0xff)) bad = n; n++; } });
  s.on('end', () => { console.log(JSON.stringify({ n, bad })); s.end(); srv.close(); });
});
srv.listen(5201, process.argv[1], () => console.log('listening'));
`;

const CLIENT = `
const net = require('node:net');
const total = Number(process.argv[2]);
let off = 0;
const s = net.connect(5201, process.argv[1], () => {
  const more = () => {
    while (off < total) {
      const size = Math.min(65536, total - off);
      const b = Buffer.alloc(size);
      for (let i = 0; i < size; i++, off++) b[i] = (off * 7 + (off >> 8) * 13 + 3) & 0xff;
      if (!s.write(b)) return void s.once('drain', more);
    }
    s.end();
  };
  more();
});
s.on('close', () => process.exit(0));
`;

/**
 * TOTAL bytes from a client in A to a server in B, with this process as the wire (relay() with the given hops):
 * what the server received (byte count, first wrong byte or -1) and what the relay counted.
 */
async function transfer(pair: Pair, toB: Hop, toA: Hop, readA?: (fd: number) => Buffer[]): Promise<{ counts: RelayCounts; n: number; bad: number }> {
  const server = execa('ip', ['netns', 'exec', pair.b.ns, process.execPath, '-e', SERVER, ADDR_B], { timeout: 60_000, reject: false });
  await new Promise<void>((resolve, reject) => {
    server.stdout!.once('data', () => resolve());
    void server.then((r) => reject(new Error(`server exited: ${String(r.stderr)}`)));
  });
  const client = execa('ip', ['netns', 'exec', pair.a.ns, process.execPath, '-e', CLIENT, ADDR_B, String(TOTAL)], { timeout: 60_000, reject: false });
  let done = false;
  void client.finally(() => (done = true));
  const counts = await relay(pair, toB, toA, () => done, 60_000, readA);
  await relay(pair, toB, toA, () => false, 300, readA);
  const c = await client;
  const r = await server;
  const got = String(r.stdout).split('\n').find((l) => l.startsWith('{'));
  assert.equal(c.exitCode, 0, `client: ${String(c.stderr)}`);
  assert.ok(got, `server said nothing: ${String(r.stdout)} ${String(r.stderr)}`);
  return { counts, ...(JSON.parse(got) as { n: number; bad: number }) };
}

test('the kernel takes coalesced superpackets: TCP A -> B through gsoSplit + groCoalesce arrives intact', { ...linuxOnly, timeout: 90_000 }, async () => {
  const pair = await makePair('i', { vnetHdr: true }, { vnetHdr: true });
  const stats = new Int32Array(GRO_STATS);
  const back = new Int32Array(GRO_STATS);
  const errors: number[] = [];
  let segmentsIn = 0;
  try {
    const hop = (out: Int32Array) => (pkts: Buffer[]): Buffer[] => {
      const segs = pkts.flatMap((p) => split(p, (code) => errors.push(code)));
      segmentsIn += out === stats ? segs.length : 0;
      return coalesce(segs, out);
    };
    const { counts, n, bad } = await transfer(pair, hop(stats), hop(back));
    process.stdout.write(
      `# A->B: ${counts.read[0]} packets read (${segmentsIn} segments), ${counts.written[0]} written, ${stats[GRO_SUPER]} superpackets ` +
        `of ${stats[GRO_MERGED]! + stats[GRO_SUPER]!} segments; refused ${counts.refused.join('/')}\n`,
    );
    assert.equal(n, TOTAL, 'every byte arrived');
    assert.equal(bad, -1, 'in order, unchanged');
    assert.deepEqual(errors, [], 'gsoSplit took every packet the kernel wrote');
    assert.deepEqual(counts.refused, [0, 0], 'the kernel took every write, superpackets included');
    assert.ok(stats[GRO_SUPER]! > 0, 'superpackets were written to B');
    assert.ok(counts.written[0] < segmentsIn / 2, 'B got far fewer packets than segments');
    assert.equal(stats[GRO_BAD_CSUM], 0);
    // B's kernel counted the superpackets as packets: its RX packets are what we wrote, not the segments.
    const link = await execa('ip', ['-n', pair.b.ns, '-s', '-j', 'link', 'show', pair.b.tun.name], { timeout: 10_000 });
    const rx = (JSON.parse(link.stdout) as Array<{ stats64: { rx: { packets: number } } }>)[0]!.stats64.rx.packets;
    assert.ok(rx <= counts.written[0] && rx < segmentsIn / 2, `B received ${rx} packets`);
  } finally {
    await pair.close();
  }
});

test('tunReadSplit: A\'s superpackets come out as MTU-sized segments, in order, across calls short of slots', { ...linuxOnly, timeout: 90_000 }, async () => {
  const MTU = 1380;
  const pair = await makePair('s', { vnetHdr: true }, { vnetHdr: true }, MTU);
  const stats = new Int32Array(OS_STATS);
  const gro = new Int32Array(GRO_STATS);
  const errors: number[] = [];
  // 7 slots a call: a 64 KiB superpacket (about 48 segments) is taken over several calls, the rest waiting in
  // the scratch buffer. Slots have headroom in front, as the engine's do.
  const MAX = 7;
  const STRIDE = 1600;
  const HEAD = 64;
  const slab = Buffer.alloc(MAX * STRIDE);
  const sizes = new Int32Array(MAX);
  const scratch = Buffer.alloc(TUN_SCRATCH_BYTES);
  const state = new Int32Array(TUN_STATE_LEN);
  let oversize = 0;
  const readA = (fd: number): Buffer[] => {
    const out: Buffer[] = [];
    for (;;) {
      const n = native.tunReadSplit(fd, slab, STRIDE, HEAD, MAX, sizes, scratch, state, stats);
      for (let i = 0; i < n; i++) {
        if (sizes[i]! > MTU) oversize++;
        out.push(Buffer.from(slab.subarray(i * STRIDE + HEAD, i * STRIDE + HEAD + sizes[i]!)));
      }
      if (n < MAX && state[0] === 0) return out;
    }
  };
  try {
    const toB = (pkts: Buffer[]): Buffer[] => coalesce(pkts, gro);
    const toA = (pkts: Buffer[]): Buffer[] => coalesce(pkts.flatMap((p) => split(p, (code) => errors.push(code))));
    const { n, bad } = await transfer(pair, toB, toA, readA);
    process.stdout.write(
      `# tunReadSplit: ${stats[OS_TUN_READS]} reads, ${stats[OS_TUN_SUPER]} superpackets -> ${stats[OS_TUN_SEGMENTS]} segments, ${stats[OS_TUN_BAD]} refused\n`,
    );
    assert.equal(n, TOTAL, 'every byte arrived');
    assert.equal(bad, -1, 'in order, unchanged');
    assert.equal(stats[OS_TUN_BAD], 0, 'every packet A\'s kernel wrote was taken');
    assert.ok(stats[OS_TUN_SUPER]! > 0 && stats[OS_TUN_SEGMENTS]! > stats[OS_TUN_SUPER]! * MAX, 'superpackets larger than one call');
    assert.equal(oversize, 0, 'no segment above the MTU');
    assert.deepEqual(errors, []);
  } finally {
    await pair.close();
  }
});
