/**
 * In-process forwarding, no I/O: for a batch of packets in a slab, decapsulate VXLAN, decide
 * (Forwarder.fromLink: validate, hop limit, FIB lookup over 1k routes, MTU) and encapsulate in place for
 * the next link. The reference is a naive forwarder doing the same job the obvious way (a parsed object
 * per packet, a linear route scan, Buffer.concat for the outer header), in the same run.
 */
import { pathToFileURL } from 'node:url';
import { Forwarder } from '../src/dataplane/forward.js';
import { Fib } from '../src/dataplane/fib/fib.js';
import { createCounters } from '../src/dataplane/counters.js';
import { VxlanLink } from '../src/transport/vxlan-link.js';
import { PORT_VXLAN, type LinkSpec } from '../src/transport/link-spec.js';
import { parseIpv6Address } from '../src/dataplane/wire/ipv6.js';
import { formatResult, type BenchResult } from './result.js';

const ME = 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268';
const BATCH = 64;
const STRIDE = 2048;
const HEADROOM = 64;
const PAYLOAD = 1400;

function spec(id: number, peer: string): LinkSpec {
  return {
    id,
    name: `l${id}`,
    kind: 'vxlan',
    port: PORT_VXLAN,
    remote: new Uint8Array(20),
    mtu: 1500,
    localMesh: parseIpv6Address(ME),
    localLinkLocal: parseIpv6Address('fe80::6e88:46c5:4af7:9268'),
    peerMesh: parseIpv6Address(peer),
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

/** A slab of BATCH VXLAN frames from link 0, each an IPv6/UDP packet for a routed destination. */
function makeSlab(rs: { prefix: Buffer }[]): { slab: Buffer; len: number } {
  const slab = Buffer.alloc(BATCH * STRIDE);
  const inner = 40 + PAYLOAD;
  const len = 22 + inner;
  for (let i = 0; i < BATCH; i++) {
    const o = i * STRIDE + HEADROOM;
    slab.set([0x08, 0, 0, 0, 0x6d, 0x6f, 0x6c, 0], o);
    slab.set([0x02, 0xc5, 0x4a, 0xf7, 0x92, 0x68], o + 8); // our MAC: 02 + the last 5 bytes of ME
    slab.set([0x02, 0, 0, 0, 0, 1], o + 14);
    slab.writeUInt16BE(0x86dd, o + 20);
    const p = o + 22;
    slab.writeUInt32BE(0x60000000 | i, p);
    slab.writeUInt16BE(PAYLOAD, p + 4);
    slab[p + 6] = 17;
    slab[p + 7] = 64;
    parseIpv6Address('fd00:6d6f:6c74:8883:3763:60b7:47db:8703').copy(slab, p + 8);
    rs[(i * 7) % rs.length]!.prefix.copy(slab, p + 24);
  }
  return { slab, len };
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

export async function run(): Promise<BenchResult[]> {
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
  const links = [0, 1, 2, 3].map((id) => new VxlanLink(spec(id, `fd00:6d6f:6c74:${id + 1}::1`)));
  for (const l of links) {
    fwd.setLinkMtu(l.id, l.mtu);
    l.confirmed = true;
  }
  const { slab, len } = makeSlab(rs);
  const inLink = links[0]!;
  let forwarded = 0;
  const fast = () => {
    for (let i = 0; i < BATCH; i++) {
      const off = i * STRIDE + HEADROOM;
      slab[off + 22 + 7] = 64;
      const inner = inLink.decap(slab, off, len, 0);
      if (inner < 0) continue;
      const v = fwd.fromLink(0, slab, inner, inLink.innerLen, 0);
      if (v >= 0 && links[v]!.encap(slab, inner, inLink.innerLen, 0) >= 0) forwarded++;
      // Restore the inbound frame header for the next round.
      slab.set([0x08, 0, 0, 0, 0x6d, 0x6f, 0x6c, 0, 0x02, 0xc5, 0x4a, 0xf7, 0x92, 0x68, 0x02, 0, 0, 0, 0, 1, 0x86, 0xdd], off);
    }
  };
  fast();
  if (forwarded !== BATCH) throw new Error(`bench setup: only ${forwarded}/${BATCH} packets forwarded`);

  // The naive forwarder: an object per packet, a linear scan for the longest match, Buffer.concat.
  const table = rs.map((r, i) => ({ prefix: r.prefix, length: r.length, link: 1 + (i % 3) }));
  const naive = () => {
    for (let i = 0; i < BATCH; i++) {
      const off = i * STRIDE + HEADROOM;
      const frame = slab.subarray(off, off + len);
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
      if (out.length === 0) forwarded--;
    }
  };

  const results: BenchResult[] = [];
  const pps = measure(fast, BATCH, 1500);
  const naivePps = measure(naive, BATCH, 1500);
  results.push({ name: 'forward.inprocess', value: pps / 1e6, unit: 'Mpps', note: `decap+decide+FIB(1k)+encap, ${PAYLOAD}-byte payload` });
  results.push({ name: 'forward.naive', value: naivePps / 1e6, unit: 'Mpps', note: 'object per packet, linear scan, Buffer.concat' });
  results.push({ name: 'forward.ratio', value: pps / naivePps, unit: 'x naive' });
  results.push({ name: 'forward.gbps-equivalent', value: (pps * (40 + PAYLOAD) * 8) / 1e9, unit: 'Gbit/s of inner packets' });
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  for (const r of await run()) console.log(formatResult(r));
}
