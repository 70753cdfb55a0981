/**
 * Forwarding through the real Engine, no kernel: Engine.step() over a fake addon whose UDP socket returns
 * a prepared batch of VXLAN frames on every recvBatch (copied into the slab, as the kernel copies) and
 * whose sendBatch takes what it is given. Per packet that is the whole receive path of a step: the
 * sender look-up (peer table), VXLAN decap, Forwarder.fromLink (validate, hop limit, FIB lookup over 1k
 * routes, MTU), encap in place for the next link, queueing, counters; per batch one recvBatch and one
 * sendBatch. The reference is a naive forwarder doing the job the obvious way (a parsed object per
 * packet, a linear route scan, Buffer.concat for the outer header), in the same run.
 *
 *   node dist/bench/forward.bench.js
 */
import { pathToFileURL } from 'node:url';
import { Engine } from '../src/dataplane/engine.js';
import { Forwarder } from '../src/dataplane/forward.js';
import { Fib } from '../src/dataplane/fib/fib.js';
import { C, createCounters } from '../src/dataplane/counters.js';
import { ADDR_RECORD_LEN, type NativeAddon } from '../src/dataplane/io/native.js';
import { VxlanLink } from '../src/transport/vxlan-link.js';
import type { LinkSpec } from '../src/transport/link-spec.js';
import { parseIpv6Address } from '../src/dataplane/wire/ipv6.js';
import { formatResult, type BenchResult } from './result.js';

const ME = 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268';
const BATCH = 64;
const PAYLOAD = 1400;
const TUN_FD = 1;
const SOCK_FD = 2;
const PORT = 0;

/** The underlay address record of peer i: fd00:2::<i+1> port 4789. */
function peerRecord(i: number): Uint8Array {
  const r = new Uint8Array(ADDR_RECORD_LEN);
  r[0] = 0xfd;
  r[3] = 2;
  r[12] = ((i + 1) >>> 24) & 0xff;
  r[13] = ((i + 1) >>> 16) & 0xff;
  r[14] = ((i + 1) >>> 8) & 0xff;
  r[15] = (i + 1) & 0xff;
  r[16] = 4789 >> 8;
  r[17] = 4789 & 0xff;
  return r;
}

function spec(id: number): LinkSpec {
  return {
    id,
    name: `l${id}`,
    kind: 'vxlan',
    port: PORT,
    remote: peerRecord(id),
    mtu: 1500,
    localMesh: parseIpv6Address(ME),
    localLinkLocal: parseIpv6Address('fe80::6e88:46c5:4af7:9268'),
    peerMesh: parseIpv6Address(`fd00:6d6f:6c74:${(id + 1).toString(16)}::1`),
    vni: 0x6d6f6c,
  };
}

function routes(n: number): { prefix: Buffer; length: number }[] {
  const out = [];
  for (let i = 0; i < n; i++) {
    const a = Buffer.alloc(16);
    a.writeUInt32BE(0xfd006d6f, 0);
    a.writeUInt16BE(0x6c74, 4);
    a.writeUInt16BE(i, 6);
    a.writeUInt32BE(0x1000 + i, 8);
    out.push({ prefix: a, length: 64 + (i % 65) });
  }
  return out;
}

/** BATCH VXLAN frames back to back (FRAME bytes each), each an IPv6/UDP packet for a routed destination. */
const FRAME = 22 + 40 + PAYLOAD;
function makeFrames(rs: { prefix: Buffer }[]): Buffer {
  const frames = Buffer.alloc(BATCH * FRAME);
  for (let i = 0; i < BATCH; i++) {
    const o = i * FRAME;
    frames.set([0x08, 0, 0, 0, 0x6d, 0x6f, 0x6c, 0], o);
    frames.set([0x02, 0xc5, 0x4a, 0xf7, 0x92, 0x68], o + 8); // our MAC: 02 + the last 5 bytes of ME
    frames.set([0x02, 0, 0, 0, 0, 1], o + 14);
    frames.writeUInt16BE(0x86dd, o + 20);
    const p = o + 22;
    frames.writeUInt32BE(0x60000000 | i, p);
    frames.writeUInt16BE(PAYLOAD, p + 4);
    frames[p + 6] = 17;
    frames[p + 7] = 64;
    parseIpv6Address('fd00:6d6f:6c74:8883:3763:60b7:47db:8703').copy(frames, p + 8);
    rs[(i * 7) % rs.length]!.prefix.copy(frames, p + 24);
  }
  return frames;
}

/**
 * The fake addon: every recvBatch on the socket is a full batch of the prepared frames, from the senders
 * in `senders` (records, used in turn); sendBatch sends everything; the TUN is always empty.
 */
class BenchIo implements NativeAddon {
  sent = 0;
  private next = 0;
  /** The frames laid out as the engine's slots (made on the first call, when the stride is known). */
  private template: Buffer | undefined;
  constructor(
    private readonly frames: Buffer,
    private readonly senders: Uint8Array[],
  ) {}
  recvBatch(_fd: number, slab: Buffer, stride: number, headroom: number, max: number, sizes: Int32Array, addrs: Uint8Array): number {
    const n = Math.min(max, BATCH);
    if (this.template === undefined || this.template.length !== n * stride) {
      this.template = Buffer.alloc(n * stride);
      for (let i = 0; i < n; i++) this.frames.copy(this.template, i * stride + headroom, i * FRAME, (i + 1) * FRAME);
    }
    // One copy of the batch, as recvmmsg's copies into the slots (a few hundred bytes more than theirs).
    slab.set(this.template);
    const senders = this.senders;
    for (let i = 0; i < n; i++) {
      sizes[i] = FRAME;
      addrs.set(senders[this.next]!, i * ADDR_RECORD_LEN);
      this.next = this.next + 1 === senders.length ? 0 : this.next + 1;
    }
    return n;
  }
  sendBatch(_fd: number, _slab: Buffer, _o: Int32Array, _l: Int32Array, _a: Uint8Array, count: number): number {
    this.sent += count;
    return count;
  }
  readBatch(): number {
    return 0;
  }
  writeBatch(_fd: number, _slab: Buffer, _o: Int32Array, _l: Int32Array, count: number): number {
    return count;
  }
  pollIn(_fds: Int32Array, _t: number, ready: Uint8Array): number {
    ready.fill(0);
    return 0;
  }
  tunOpen(): { fd: number; name: string } {
    return { fd: TUN_FD, name: 'bench0' };
  }
  close(): void {}
  udpOpen(): number {
    return SOCK_FD;
  }
  udpLocalPort(): number {
    return 4789;
  }
  setThreadPriority(): void {}
  setSocketBuffers(): void {}
}

/**
 * An engine with `links` VXLAN links on one socket (ids 0..links-1; 1..3 carry the 1k routes) whose
 * recvBatch says the frames come from the first `senders` peers in turn.
 */
function setup(links: number, senders: number): { engine: Engine; io: BenchIo; counters: ReturnType<typeof createCounters> } {
  const rs = routes(1000);
  const fib = new Fib();
  rs.forEach((r, i) => fib.insert(r.prefix, r.length, [1 + (i % 3)]));
  const counters = createCounters();
  const fwd = new Forwarder({
    meshAddress: parseIpv6Address(ME),
    linkLocal: parseIpv6Address('fe80::6e88:46c5:4af7:9268'),
    fib,
    counters,
  });
  const io = new BenchIo(makeFrames(rs), Array.from({ length: senders }, (_, i) => peerRecord(i)));
  const engine = new Engine({ io, tunFd: TUN_FD, forwarder: fwd, counters, now: () => 0, batch: BATCH, punt: () => {} });
  engine.addPort(PORT, { fd: SOCK_FD, kind: 'udp' });
  for (let id = 0; id < links; id++) {
    const l = new VxlanLink(spec(id));
    l.confirmed = true; // no solicitations in the figure
    engine.addLink(l);
  }
  return { engine, io, counters };
}

function measure(fn: () => void, packetsPerCall: number, ms: number): number {
  const end = performance.now() + ms;
  let calls = 0;
  const t0 = performance.now();
  while (performance.now() < end) {
    for (let k = 0; k < 50; k++) fn();
    calls += 50;
  }
  return (calls * packetsPerCall) / ((performance.now() - t0) / 1000);
}

/** Engine.step() packets per second; checks that every packet of a step was forwarded. */
function engineRate(links: number, senders: number, ms: number): number {
  const { engine, io, counters } = setup(links, senders);
  engine.step();
  if (io.sent !== BATCH || counters.node[C.forwarded_packets] !== BATCH) {
    throw new Error(`bench setup: ${io.sent}/${BATCH} sent, ${counters.node[C.forwarded_packets]} forwarded`);
  }
  return measure(() => engine.step(), BATCH, ms);
}

export async function run(): Promise<BenchResult[]> {
  const pps = engineRate(4, 1, 1500);
  const ppsMany = engineRate(2000, 2000, 1500);

  // The naive forwarder: an object per packet, a linear scan for the longest match, Buffer.concat.
  const rs = routes(1000);
  const frames = makeFrames(rs);
  const table = rs.map((r, i) => ({ prefix: r.prefix, length: r.length, link: 1 + (i % 3) }));
  let forwarded = 0;
  const naive = () => {
    for (let i = 0; i < BATCH; i++) {
      const frame = frames.subarray(i * FRAME, (i + 1) * FRAME);
      const ip = frame.subarray(22);
      const pkt = {
        version: ip[0]! >> 4,
        payloadLength: ip.readUInt16BE(4),
        hopLimit: ip[7]!,
        src: ip.subarray(8, 24).toString('hex'),
        dst: Buffer.from(ip.subarray(24, 40)),
      };
      if (pkt.version !== 6 || pkt.hopLimit <= 1) continue;
      let best = -1;
      let bestLen = -1;
      for (const r of table) {
        if (r.length <= bestLen) continue;
        let ok = true;
        for (let b = 0; b < r.length && ok; b++) {
          if (((pkt.dst[b >> 3]! ^ r.prefix[b >> 3]!) & (0x80 >> (b & 7))) !== 0) ok = false;
        }
        if (ok) {
          best = r.link;
          bestLen = r.length;
        }
      }
      if (best < 0) continue;
      const out = Buffer.concat([Buffer.from([0x08, 0, 0, 0, 0x6d, 0x6f, 0x6c, 0]), Buffer.alloc(14), ip]);
      if (out.length > 0) forwarded++;
    }
  };
  naive();
  if (forwarded !== BATCH) throw new Error(`bench setup: naive forwarded ${forwarded}/${BATCH}`);
  const naivePps = measure(naive, BATCH, 1500);

  return [
    {
      name: 'forward.inprocess',
      value: pps / 1e6,
      unit: 'Mpps',
      note: `Engine.step: recv copy+peer lookup+decap+decide+FIB(1k)+encap+sendBatch, ${PAYLOAD}-byte payload`,
    },
    { name: 'forward.inprocess.2000', value: ppsMany / 1e6, unit: 'Mpps', note: '2000 links on the socket, each packet from the next peer' },
    { name: 'forward.naive', value: naivePps / 1e6, unit: 'Mpps', note: 'object per packet, linear scan, Buffer.concat' },
    { name: 'forward.ratio', value: pps / naivePps, unit: 'x naive' },
    { name: 'forward.gbps-equivalent', value: (pps * (40 + PAYLOAD) * 8) / 1e9, unit: 'Gbit/s of inner packets' },
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  for (const r of await run()) console.log(formatResult(r));
}
