/**
 * The addon's offload primitives (native/src/offload.c) against superpackets a real kernel handed out
 * (test/fixtures/offload-packets.ts): segmentation, coalescing, the round trip between them, checksums, and bad
 * input. Every checksum is checked with the plain JS one below, which shares no code with the C.
 *
 * Pure functions on buffers: no root, no devices.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as F from '../fixtures/offload-packets.js';
import {
  GRO_BAD_CSUM,
  GRO_IN,
  GRO_MALFORMED,
  GRO_MERGED,
  GRO_OTHER,
  GRO_OUT,
  GRO_PASSED,
  GRO_STATS,
  GRO_SUPER,
  GSO_ECN,
  GSO_NONE,
  GSO_TCPV4,
  GSO_TCPV6,
  GSO_UDP_L4,
  OFFLOAD_ECSUM,
  OFFLOAD_EGSOSIZE,
  OFFLOAD_EGSOTYPE,
  OFFLOAD_EHDR,
  OFFLOAD_ENOSPACE,
  OFFLOAD_EPROTO,
  OFFLOAD_ERRORS,
  OFFLOAD_ETRUNC,
  VNET_F_NEEDS_CSUM,
  VNET_HDR_LEN,
  loadNative,
} from '../../src/dataplane/io/native.js';
import { MemoryNetwork } from '../../src/dataplane/io/memory.js';

const native = loadNative();

// --- an independent checksum -------------------------------------------------------------------------

/** RFC 1071, one 16-bit big-endian word at a time, the slow obvious way. */
function jsSum(bytes: Uint8Array, initial = 0): number {
  let s = initial;
  for (let i = 0; i < bytes.length; i += 2) s += (bytes[i]! << 8) | (i + 1 < bytes.length ? bytes[i + 1]! : 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** Pseudo-header (RFC 8200 §8.1) sum of an IPv6 packet for its L4 protocol and length. */
function jsPseudo6(ip: Uint8Array, proto: number, l4len: number): number {
  return jsSum(ip.subarray(8, 40), (l4len >>> 16) + (l4len & 0xffff) + proto);
}

/** True when the TCP/UDP checksum of IPv6 packet `ip` (no extension headers) verifies. */
function l4ChecksumOk(ip: Uint8Array): boolean {
  const l4 = ip.subarray(40);
  return jsSum(l4, jsPseudo6(ip, ip[6]!, l4.length)) === 0xffff;
}

function ipv4ChecksumOk(ip: Uint8Array): boolean {
  return jsSum(ip.subarray(0, (ip[0]! & 15) * 4)) === 0xffff;
}

/** Recompute the TCP checksum of an IPv6 packet after a test edited it. */
function fixTcp6(ip: Buffer): Buffer {
  ip.writeUInt16BE(0, 56);
  ip.writeUInt16BE(~jsSum(ip.subarray(40), jsPseudo6(ip, 6, ip.length - 40)) & 0xffff, 56);
  return ip;
}

// --- helpers ---------------------------------------------------------------------------------------

interface Vnet {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

function vnet(b: Buffer): Vnet {
  return {
    flags: b[0]!,
    gsoType: b[1]!,
    hdrLen: b.readUInt16LE(2),
    gsoSize: b.readUInt16LE(4),
    csumStart: b.readUInt16LE(6),
    csumOffset: b.readUInt16LE(8),
  };
}

function vnetBytes(v: Vnet): Buffer {
  const b = Buffer.alloc(VNET_HDR_LEN);
  b[0] = v.flags;
  b[1] = v.gsoType;
  b.writeUInt16LE(v.hdrLen, 2);
  b.writeUInt16LE(v.gsoSize, 4);
  b.writeUInt16LE(v.csumStart, 6);
  b.writeUInt16LE(v.csumOffset, 8);
  return b;
}

const STRIDE = 2048;
const MAX = 64;
const FILL = 0xff; // output slots start as 0xff: bytes past a segment must stay so

/** gsoSplit into fresh 0xff slots; checks nothing was written past any segment. */
function split(pkt: Buffer, stride = STRIDE, max = MAX): Buffer[] | number {
  const out = Buffer.alloc(stride * max, FILL);
  const sizes = new Int32Array(max);
  const n = native.gsoSplit(pkt, 0, pkt.length, out, 0, stride, max, sizes);
  if (n < 0) return n;
  for (let i = 0; i < max; i++) {
    const from = i < n ? i * stride + sizes[i]! : i * stride;
    for (let j = from; j < (i + 1) * stride; j++) if (out[j] !== FILL) assert.fail(`slot ${i} byte ${j - i * stride} written past the segment`);
  }
  return Array.from({ length: n }, (_, i) => Buffer.from(out.subarray(i * stride, i * stride + sizes[i]!)));
}

function segments(pkt: Buffer): Buffer[] {
  const r = split(pkt);
  assert.ok(Array.isArray(r), `gsoSplit failed: ${String(r)} (${OFFLOAD_ERRORS[r as number]})`);
  return r;
}

interface Coalesced {
  packets: Buffer[];
  stats: Int32Array;
}

/** groCoalesce on copies of `pkts` packed with gaps into one src buffer. */
function coalesce(pkts: Buffer[]): Coalesced {
  const offsets = new Int32Array(pkts.length);
  const lengths = new Int32Array(pkts.length);
  let total = 0;
  for (const [i, p] of pkts.entries()) {
    offsets[i] = total + 3; // not aligned, not packed: offsets are arbitrary
    lengths[i] = p.length;
    total += p.length + 3;
  }
  const src = Buffer.alloc(total);
  pkts.forEach((p, i) => p.copy(src, offsets[i]));
  const before = Buffer.from(src);
  const need = pkts.reduce((s, p) => s + p.length + VNET_HDR_LEN, 0);
  const dst = Buffer.alloc(need + 17, FILL);
  const outOffsets = new Int32Array(pkts.length);
  const outLengths = new Int32Array(pkts.length);
  const stats = new Int32Array(GRO_STATS);
  const n = native.groCoalesce(src, offsets, lengths, pkts.length, dst, 17, outOffsets, outLengths, stats);
  assert.ok(src.equals(before), 'groCoalesce must not write its input');
  for (let j = 0; j < 17; j++) assert.equal(dst[j], FILL, 'wrote before dstOff');
  const packets: Buffer[] = [];
  let at = 17;
  for (let k = 0; k < n; k++) {
    assert.equal(outOffsets[k], at, 'output packed in order');
    packets.push(Buffer.from(dst.subarray(outOffsets[k]!, outOffsets[k]! + outLengths[k]!)));
    at += outLengths[k]!;
  }
  assert.equal(stats[GRO_IN], pkts.length);
  assert.equal(stats[GRO_OUT], n);
  return { packets, stats };
}

const tcpSeq = (ip: Buffer): number => ip.readUInt32BE(44);
const tcpFlags = (ip: Buffer): number => ip[53]!;
const tcpHdrLen = (ip: Buffer): number => (ip[52]! >> 4) * 4;
const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;
const URG = 0x20;
const CWR = 0x80;

/** The superpacket's TCP stream offset of its first payload byte (the client's writes: 3000, 7000, 1000...). */
const STREAM_AT: Record<string, number> = {
  TS_SUPER_3000: 0,
  TS_SUPER_7000: 3000,
  TS_SUPER_EXACT: 23000,
  NOTS_SUPER_3000: 0,
  NOTS_SUPER_7000: 3000,
};

const TCP_SUPERS = ['TS_SUPER_3000', 'TS_SUPER_7000', 'TS_SUPER_EXACT', 'NOTS_SUPER_3000', 'NOTS_SUPER_7000'] as const;

function fixture(name: keyof typeof F): Buffer {
  return F.fromHex(F[name] as string);
}

// --- the fixtures themselves ---------------------------------------------------------------------------

test('fixtures: what the kernel wrote (GSO_TCPV6, NEEDS_CSUM, pseudo-header sum in the checksum field)', () => {
  for (const name of TCP_SUPERS) {
    const b = fixture(name);
    const v = vnet(b);
    const ip = b.subarray(VNET_HDR_LEN);
    assert.equal(v.gsoType, GSO_TCPV6, name);
    assert.equal(v.flags, VNET_F_NEEDS_CSUM, name);
    assert.equal(v.csumStart, 40);
    assert.equal(v.csumOffset, 16);
    assert.equal(v.hdrLen, 40 + tcpHdrLen(ip));
    assert.equal(ip.readUInt16BE(4) + 40, ip.length);
    // CHECKSUM_PARTIAL: the field is the folded pseudo-header sum over the whole TCP length.
    assert.equal(ip.readUInt16BE(56), jsPseudo6(ip, 6, ip.length - 40), name);
  }
  assert.equal(vnet(fixture('UDP_SUPER_4500')).gsoType, GSO_UDP_L4);
});

// --- checksum --------------------------------------------------------------------------------------

test('checksum: equals the JS one on random data, odd lengths and offsets, with an initial sum', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(7), fc.nat(0xffffffff), (data, skip, initial) => {
      const off = Math.min(skip, data.length);
      const len = data.length - off;
      const buf = Buffer.from(data);
      const want = ~jsSum(buf.subarray(off, off + len), (initial & 0xffff) + Math.floor(initial / 0x10000)) & 0xffff;
      assert.equal(native.checksum(buf, off, len, initial), want);
      assert.equal(native.checksum(buf, off, len), ~jsSum(buf.subarray(off, off + len)) & 0xffff);
    }),
    { numRuns: 400 },
  );
  // RFC 1071 §3's example: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2.
  assert.equal(native.checksum(Buffer.from('0001f203f4f5f6f7', 'hex'), 0, 8), ~0xddf2 & 0xffff);
  assert.equal(native.checksum(Buffer.alloc(0), 0, 0), 0xffff);
  assert.throws(() => native.checksum(Buffer.alloc(4), 2, 3), RangeError);
  assert.throws(() => native.checksum('x' as unknown as Buffer, 0, 0), TypeError);
});

// --- segmentation ----------------------------------------------------------------------------------

test('gsoSplit: captured TCP/IPv6 superpackets become MSS segments with right lengths, seqs, flags, checksums, payload', () => {
  for (const name of TCP_SUPERS) {
    const sp = fixture(name);
    const v = vnet(sp);
    const ip = sp.subarray(VNET_HDR_LEN);
    const hl = 40 + tcpHdrLen(ip);
    const payload = ip.length - hl;
    const segs = segments(sp);
    assert.equal(segs.length, Math.ceil(payload / v.gsoSize), `${name}: segment count`);
    let at = 0;
    for (const [i, s] of segs.entries()) {
      const last = i === segs.length - 1;
      const n = last ? payload - v.gsoSize * i : v.gsoSize;
      assert.equal(s.length, hl + n, `${name} seg ${i}: length`);
      assert.equal(s.readUInt16BE(4), s.length - 40, `${name} seg ${i}: payload length`);
      assert.equal(tcpSeq(s), (tcpSeq(ip) + at) >>> 0, `${name} seg ${i}: sequence number`);
      assert.equal(tcpFlags(s), last ? tcpFlags(ip) : tcpFlags(ip) & ~(PSH | FIN), `${name} seg ${i}: flags`);
      assert.ok(l4ChecksumOk(s), `${name} seg ${i}: checksum`);
      // Everything else in the headers is the superpacket's: addresses, ports, ACK, window, options.
      assert.ok(s.subarray(0, 4).equals(ip.subarray(0, 4)) && s.subarray(6, 44).equals(ip.subarray(6, 44)));
      assert.ok(s.subarray(48, 53).equals(ip.subarray(48, 53)) && s.subarray(54, 56).equals(ip.subarray(54, 56)));
      assert.ok(s.subarray(58, hl).equals(ip.subarray(58, hl)));
      for (let j = 0; j < n; j++) {
        if (s[hl + j] !== F.patternByte(STREAM_AT[name]! + at + j)) assert.fail(`${name} seg ${i} payload byte ${j}`);
      }
      at += n;
    }
    assert.equal(at, payload);
  }
  // The short last segment and the exact multiple, as captured.
  assert.deepEqual(segments(fixture('TS_SUPER_3000')).map((s) => s.length - 72), [1428, 1428, 144]);
  assert.deepEqual(segments(fixture('TS_SUPER_EXACT')).map((s) => s.length - 72), Array(11).fill(1428));
  assert.deepEqual(segments(fixture('NOTS_SUPER_7000')).map((s) => s.length - 60), [1440, 1440, 1440, 1440, 1240]);
});

test('gsoSplit: FIN and PSH only on the last segment, CWR only on the first (as tcp_gso_segment)', () => {
  const sp = fixture('TS_SUPER_7000');
  sp[VNET_HDR_LEN + 53] = ACK | PSH | FIN | CWR | 0x40; // + ECE, which every segment keeps
  sp[1] = GSO_TCPV6 | GSO_ECN;
  const segs = segments(sp);
  assert.equal(segs.length, 5);
  assert.deepEqual(
    segs.map((s) => tcpFlags(s)),
    [ACK | CWR | 0x40, ACK | 0x40, ACK | 0x40, ACK | 0x40, ACK | PSH | FIN | 0x40],
  );
  for (const s of segs) assert.ok(l4ChecksumOk(s));
});

test('gsoSplit: the captured USO superpacket becomes 1000-byte UDP datagrams with lengths and checksums', () => {
  const sp = fixture('UDP_SUPER_4500');
  const segs = segments(sp);
  assert.deepEqual(segs.map((s) => s.length - 48), [1000, 1000, 1000, 1000, 500]);
  let at = 0;
  for (const s of segs) {
    assert.equal(s.readUInt16BE(44), s.length - 40, 'UDP length');
    assert.equal(s.readUInt16BE(4), s.length - 40, 'IPv6 payload length');
    assert.ok(l4ChecksumOk(s), 'UDP checksum');
    assert.notEqual(s.readUInt16BE(46), 0, 'IPv6 UDP checksum is never 0');
    for (let j = 48; j < s.length; j++) if (s[j] !== F.udpPatternByte(at + j - 48)) assert.fail(`payload byte ${at + j}`);
    at += s.length - 48;
  }
});

test('gsoSplit: GSO_NONE with NEEDS_CSUM is copied with its checksum finished; without, copied as is', () => {
  for (const name of ['TS_SYN', 'TS_ACK', 'NOTS_FIN'] as const) {
    const p = fixture(name);
    assert.equal(vnet(p).gsoType, GSO_NONE);
    const [s, ...rest] = segments(p);
    assert.equal(rest.length, 0);
    assert.equal(s!.length, p.length - VNET_HDR_LEN);
    assert.ok(l4ChecksumOk(s!), `${name}: checksum`);
    assert.ok(s!.subarray(0, 56).equals(p.subarray(10, 66)) && s!.subarray(58).equals(p.subarray(68)), `${name}: rest unchanged`);
  }
  const done = segments(fixture('TS_SYN'))[0]!;
  const plain = Buffer.concat([Buffer.alloc(VNET_HDR_LEN), done]);
  assert.ok(segments(plain)[0]!.equals(done));
});

test('gsoSplit: a TCP/IPv4 superpacket (synthetic): total length, IDs numbered on, IPv4 and TCP checksums', () => {
  const v6 = fixture('NOTS_SUPER_3000').subarray(VNET_HDR_LEN);
  const tcp = v6.subarray(40);
  const ip = Buffer.alloc(20 + tcp.length);
  ip[0] = 0x45;
  ip.writeUInt16BE(ip.length, 2);
  ip.writeUInt16BE(0xfffe, 4); // the IDs wrap
  ip.writeUInt16BE(0x4000, 6); // DF
  ip[8] = 64;
  ip[9] = 6;
  Buffer.from([10, 0, 0, 1, 10, 0, 0, 2]).copy(ip, 12);
  tcp.copy(ip, 20);
  const sp = Buffer.concat([vnetBytes({ flags: 1, gsoType: GSO_TCPV4, hdrLen: 40, gsoSize: 1440, csumStart: 20, csumOffset: 16 }), ip]);
  const segs = segments(sp);
  assert.deepEqual(segs.map((s) => s.readUInt16BE(2)), [1480, 1480, 160]);
  assert.deepEqual(segs.map((s) => s.readUInt16BE(4)), [0xfffe, 0xffff, 0]);
  for (const s of segs) {
    assert.ok(ipv4ChecksumOk(s), 'IPv4 header checksum');
    const l4 = s.subarray(20);
    const pseudo = jsSum(s.subarray(12, 20), 6 + l4.length);
    assert.equal(jsSum(l4, pseudo), 0xffff, 'TCP checksum');
  }
  // And TCPV4 on an IPv6 packet is refused, as is TCPV6 on IPv4.
  sp[1] = GSO_TCPV6;
  assert.equal(split(sp), OFFLOAD_EGSOTYPE);
});

test('gsoSplit: bad input gets an error code, never a crash or a stray write', () => {
  const good = fixture('TS_SUPER_3000');
  const edit = (f: (b: Buffer) => void): Buffer => {
    const b = Buffer.from(good);
    f(b);
    return b;
  };
  const cases: Array<[string, Buffer, number]> = [
    ['empty', Buffer.alloc(0), OFFLOAD_ETRUNC],
    ['header only', good.subarray(0, 10), OFFLOAD_ETRUNC],
    ['IPv6 header cut', good.subarray(0, 30), OFFLOAD_ETRUNC],
    ['TCP header cut', good.subarray(0, 60), OFFLOAD_EHDR], // the payload length says more
    ['payload cut', good.subarray(0, good.length - 1), OFFLOAD_EHDR],
    ['gso_size 0', edit((b) => b.writeUInt16LE(0, 4)), OFFLOAD_EGSOSIZE],
    ['gso_size 1: 3000 segments', edit((b) => b.writeUInt16LE(1, 4)), OFFLOAD_ENOSPACE],
    ['gso_type UFO', edit((b) => (b[1] = 3)), OFFLOAD_EGSOTYPE],
    ['gso_type 9', edit((b) => (b[1] = 9)), OFFLOAD_EGSOTYPE],
    ['TCPV4 on IPv6', edit((b) => (b[1] = GSO_TCPV4)), OFFLOAD_EGSOTYPE],
    ['UDP_L4 on TCP', edit((b) => (b[1] = GSO_UDP_L4)), OFFLOAD_EPROTO],
    ['no NEEDS_CSUM', edit((b) => (b[0] = 0)), OFFLOAD_ECSUM],
    ['csum_start 39', edit((b) => b.writeUInt16LE(39, 6)), OFFLOAD_ECSUM],
    ['csum_start 65535', edit((b) => b.writeUInt16LE(65535, 6)), OFFLOAD_ECSUM],
    ['csum_offset 6', edit((b) => b.writeUInt16LE(6, 8)), OFFLOAD_ECSUM],
    ['csum_offset 65535', edit((b) => b.writeUInt16LE(65535, 8)), OFFLOAD_ECSUM],
    ['GSO_NONE, csum out of range', edit((b) => { b[1] = GSO_NONE; b.writeUInt16LE(good.length, 6); }), OFFLOAD_ECSUM],
    ['GSO_NONE, csum field past the end', edit((b) => { b[1] = GSO_NONE; b.writeUInt16LE(good.length - 11, 8); b.writeUInt16LE(0, 6); }), OFFLOAD_ECSUM],
    ['IPv6 payload length too big', edit((b) => b.writeUInt16BE(b.readUInt16BE(14) + 1, 14)), OFFLOAD_EHDR],
    ['version 5', edit((b) => (b[10] = 0x50)), OFFLOAD_EHDR],
    ['next header UDP', edit((b) => (b[16] = 17)), OFFLOAD_EPROTO],
    ['hop-by-hop header', edit((b) => (b[16] = 0)), OFFLOAD_EPROTO],
    ['TCP data offset 4', edit((b) => (b[62] = 0x40)), OFFLOAD_EHDR],
    ['TCP data offset 15 (60 bytes)', edit((b) => (b[62] = 0xf0)), -1000], // valid headers, just options: any result but no crash
  ];
  for (const [name, pkt, want] of cases) {
    const r = split(pkt);
    if (want === -1000) continue;
    assert.equal(r, want, `${name}: got ${String(Array.isArray(r) ? `${r.length} segments` : r)}`);
    assert.ok(OFFLOAD_ERRORS[want], 'every code has a name');
  }
  // Output too small for one segment, or fewer slots than segments.
  assert.equal(split(good, 1000, 8), OFFLOAD_ENOSPACE);
  assert.equal(split(good, STRIDE, 2), OFFLOAD_ENOSPACE);
  assert.equal(split(fixture('TS_ACK'), 10, 1), OFFLOAD_ENOSPACE);
  // Every prefix of a superpacket: a code, never segments that read past the end.
  for (let n = 0; n < good.length; n += 7) {
    const r = split(good.subarray(0, n));
    assert.ok(typeof r === 'number' && r < 0, `prefix ${n}`);
  }
  // Arguments that escape their buffers are the caller's bug: thrown.
  const out = Buffer.alloc(STRIDE * 4);
  const sizes = new Int32Array(4);
  assert.throws(() => native.gsoSplit(good, 0, good.length + 1, out, 0, STRIDE, 4, sizes), RangeError);
  assert.throws(() => native.gsoSplit(good, 0, good.length, out, 1, STRIDE, 4, sizes), RangeError);
  assert.throws(() => native.gsoSplit(good, 0, good.length, out, 0, STRIDE, 5, sizes), RangeError);
  assert.throws(() => native.gsoSplit(good, 0, good.length, out, 0, 0, 4, sizes), RangeError);
  assert.throws(() => native.gsoSplit(out, 0, 100, out, 50, 100, 1, sizes), RangeError, 'overlap');
  assert.throws(() => native.gsoSplit(good, 0, good.length, out, 0, STRIDE, 4, new Uint32Array(4) as unknown as Int32Array), TypeError);
});

test('gsoSplit: random corruption of captured packets never crashes; what it accepts checksums right', () => {
  const all = [...TCP_SUPERS, 'UDP_SUPER_4500', 'TS_SYN', 'NOTS_FIN'] as const;
  fc.assert(
    fc.property(
      fc.constantFrom(...all),
      fc.array(fc.tuple(fc.nat(200), fc.nat(255)), { minLength: 1, maxLength: 6 }),
      fc.nat(4000),
      (name, edits, cut) => {
        const b = fixture(name);
        for (const [at, v] of edits) if (at < b.length) b[at] = v;
        const pkt = b.subarray(0, Math.max(0, b.length - (cut % 50 === 0 ? cut % b.length : 0)));
        const r = split(pkt);
        if (typeof r === 'number') {
          assert.ok(OFFLOAD_ERRORS[r], `unknown code ${r}`);
          return;
        }
        const v = vnet(pkt);
        if (v.gsoType === GSO_NONE) return; // copied; its checksum is only as right as its csum_start says
        for (const s of r) {
          if (s[0]! >> 4 === 6) assert.ok(l4ChecksumOk(s), `${name}: accepted segment with a bad checksum`);
        }
      },
    ),
    { numRuns: 500 },
  );
});

// --- coalescing ------------------------------------------------------------------------------------

test('groCoalesce: the segments of a superpacket give back the kernel\'s own superpacket, byte for byte', () => {
  for (const name of TCP_SUPERS) {
    const sp = fixture(name);
    const segs = segments(sp);
    const { packets, stats } = coalesce(segs);
    assert.equal(packets.length, 1, name);
    // Same virtio header (hdr_len, gso_size, csum_start/offset) and the same CHECKSUM_PARTIAL packet.
    assert.ok(packets[0]!.equals(sp), `${name}: round trip`);
    assert.equal(stats[GRO_SUPER], 1);
    assert.equal(stats[GRO_MERGED], segs.length - 1);
  }
});

test('groCoalesce: PSH ends a superpacket; gaps and reordering are never merged; each flow keeps its order', () => {
  const segs = segments(fixture('TS_SUPER_7000')); // 5 segments, PSH on the last
  const hl = 72;
  const payloadOf = (bs: Buffer[]): Buffer => Buffer.concat(bs.map((s) => s.subarray(hl)));
  const superOf = (b: Buffer): { v: Vnet; ip: Buffer } => ({ v: vnet(b), ip: b.subarray(VNET_HDR_LEN) });

  // PSH in the middle: [0 1 2+PSH] [3 4+PSH].
  const psh = segs.map((s) => Buffer.from(s));
  psh[2]![53] |= PSH;
  fixTcp6(psh[2]!);
  let r = coalesce(psh);
  assert.equal(r.packets.length, 2);
  assert.ok(superOf(r.packets[0]!).ip.subarray(hl).equals(payloadOf(segs.slice(0, 3))));
  assert.equal(tcpFlags(superOf(r.packets[0]!).ip), ACK | PSH);
  assert.ok(superOf(r.packets[1]!).ip.subarray(hl).equals(payloadOf(segs.slice(3))));
  assert.equal(tcpSeq(superOf(r.packets[1]!).ip), tcpSeq(segs[3]!));

  // A gap (segment 2 lost): [0 1] [3 4].
  r = coalesce([segs[0]!, segs[1]!, segs[3]!, segs[4]!]);
  assert.equal(r.packets.length, 2);
  assert.ok(superOf(r.packets[0]!).ip.subarray(hl).equals(payloadOf(segs.slice(0, 2))));
  assert.ok(superOf(r.packets[1]!).ip.subarray(hl).equals(payloadOf(segs.slice(3))));

  // Out of order (3 before 2): [0 1] [3] [2] [4]: never merged backwards, never moved.
  r = coalesce([segs[0]!, segs[1]!, segs[3]!, segs[2]!, segs[4]!]);
  assert.equal(r.packets.length, 4);
  assert.equal(vnet(r.packets[0]!).gsoType, GSO_TCPV6);
  for (const [k, i] of [[1, 3], [2, 2], [3, 4]] as const) {
    assert.equal(vnet(r.packets[k]!).gsoType, GSO_NONE);
    assert.ok(r.packets[k]!.subarray(VNET_HDR_LEN).equals(segs[i]!), `packet ${k} is segment ${i} unchanged`);
    assert.ok(r.packets[k]!.subarray(0, VNET_HDR_LEN).equals(Buffer.alloc(VNET_HDR_LEN)), 'zero header');
  }

  // A duplicate (retransmission) is not merged either.
  r = coalesce([segs[0]!, segs[1]!, segs[1]!]);
  assert.equal(r.packets.length, 2);
});

test('groCoalesce: different flows interleaved with other traffic: one superpacket per flow, the rest unchanged in order', () => {
  const ts = segments(fixture('TS_SUPER_7000'));
  const nots = segments(fixture('NOTS_SUPER_7000')); // another connection: other source port
  const udp = segments(fixture('UDP_SUPER_4500'))[0]!;
  const syn = Buffer.from(segments(fixture('TS_SYN'))[0]!);
  syn.writeUInt16BE(9, 40); // a SYN of a third connection (TS_SYN itself is flow 1's and would end its run)
  fixTcp6(syn);
  const batch = [ts[0]!, nots[0]!, udp, ts[1]!, nots[1]!, syn, ts[2]!, ts[3]!, nots[2]!, nots[3]!, ts[4]!, nots[4]!];
  const { packets, stats } = coalesce(batch);
  assert.equal(packets.length, 4);
  assert.ok(packets[0]!.equals(fixture('TS_SUPER_7000')), 'flow 1 whole, where its first segment was');
  assert.ok(packets[1]!.equals(fixture('NOTS_SUPER_7000')), 'flow 2 whole');
  assert.ok(packets[2]!.subarray(VNET_HDR_LEN).equals(udp), 'UDP unchanged');
  assert.ok(packets[3]!.subarray(VNET_HDR_LEN).equals(syn), 'SYN unchanged');
  assert.equal(stats[GRO_SUPER], 2);
  assert.equal(stats[GRO_MERGED], 8);
  assert.equal(stats[GRO_OTHER], 1);
  assert.equal(stats[GRO_PASSED], 1);
});

test('groCoalesce: only equal headers merge (hop limit, traffic class, options, window, ACK, flags)', () => {
  const segs = segments(fixture('TS_SUPER_7000'));
  const edits: Array<[string, (b: Buffer) => void, number]> = [
    ['hop limit', (b) => (b[7] = 63), 3],
    ['traffic class (ECN CE)', (b) => (b[1] = b[1]! | 0x30), 3],
    ['flow label', (b) => (b[3] = b[3]! ^ 1), 3],
    ['timestamp option', (b) => (b[72 - 5] = b[72 - 5]! ^ 1), 3],
    ['window', (b) => b.writeUInt16BE(b.readUInt16BE(54) - 1, 54), 3],
    ['ACK number', (b) => b.writeUInt32BE(b.readUInt32BE(48) + 1, 48), 3],
    ['ECE', (b) => (b[53] = b[53]! | 0x40), 3],
    // CWR may only start a superpacket: [0 1] [2' 3].
    ['CWR on a later segment', (b) => (b[53] = b[53]! | CWR), 2],
  ];
  for (const [name, f, want] of edits) {
    const b = Buffer.from(segs[2]!);
    f(b);
    fixTcp6(b);
    // Segment 3 follows 2' in sequence but not in headers: [0 1] [2'] [3].
    const { packets } = coalesce([segs[0]!, segs[1]!, b, segs[3]!]);
    assert.equal(packets.length, want, name);
    assert.equal(vnet(packets[0]!).gsoType, GSO_TCPV6, name);
    assert.equal(packets[0]!.length, VNET_HDR_LEN + 72 + 2 * 1428, name);
  }
  // CWR on the first segment: merged, and the superpacket says ECN as tcp_gro_complete does.
  const first = fixTcp6(Buffer.from(segs[0]!));
  first[53] |= CWR;
  fixTcp6(first);
  const { packets } = coalesce([first, segs[1]!, segs[2]!]);
  assert.equal(packets.length, 1);
  assert.equal(vnet(packets[0]!).gsoType, GSO_TCPV6 | GSO_ECN);
});

test('groCoalesce: SYN/FIN/RST/URG, pure ACKs, bad checksums and malformed packets pass unchanged and are counted', () => {
  const segs = segments(fixture('TS_SUPER_7000'));
  const flagged = [FIN, SYN, RST, URG].map((f) => {
    const b = Buffer.from(segs[1]!);
    b[53] |= f;
    return fixTcp6(b);
  });
  for (const b of flagged) {
    const { packets, stats } = coalesce([segs[0]!, b, segs[2]!]);
    assert.equal(packets.length, 3, `flags ${tcpFlags(b).toString(16)}`);
    assert.ok(packets[1]!.subarray(VNET_HDR_LEN).equals(b));
    assert.equal(stats[GRO_PASSED], 1);
  }
  const ack = segments(fixture('TS_ACK'))[0]!;
  const bad = Buffer.from(segs[1]!);
  bad[200] ^= 0x55; // corrupted in flight
  const cut = Buffer.from(segs[1]!.subarray(0, 50));
  const lying = Buffer.from(segs[1]!);
  lying.writeUInt16BE(100, 4);
  const tinyOff = Buffer.from(segs[1]!);
  tinyOff[52] = 0x30;
  const { packets, stats } = coalesce([segs[0]!, ack, bad, cut, lying, tinyOff, Buffer.alloc(0), Buffer.from([0x60])]);
  assert.equal(packets.length, 8, 'nothing merged, nothing dropped');
  [segs[0]!, ack, bad, cut, lying, tinyOff, Buffer.alloc(0), Buffer.from([0x60])].forEach((p, k) => {
    assert.ok(packets[k]!.subarray(VNET_HDR_LEN).equals(p), `packet ${k} unchanged`);
    assert.equal(vnet(packets[k]!).gsoType, GSO_NONE);
  });
  // The bad one could join nothing (the pure ACK before it closed its flow), so nothing checked it: the
  // kernel does, as for any packet written without offload flags.
  assert.equal(stats[GRO_BAD_CSUM], 0);
  assert.equal(stats[GRO_PASSED], 1);
  assert.equal(stats[GRO_MALFORMED], 3); // cut at 50 bytes and the lying one: payload length; data offset 3
  assert.equal(stats[GRO_OTHER], 2); // empty, and 1 byte: not even an IPv6 header
});

test('groCoalesce: a segment with a bad checksum inside a run is cut out, passed on unchanged, and the run goes on', () => {
  const segs = segments(fixture('TS_SUPER_7000')); // 5 segments, PSH on the last
  const corrupt = (b: Buffer, at: number) => {
    const c = Buffer.from(b);
    c[at] ^= 0x55;
    return c;
  };
  const check = (input: Buffer[], want: number[][], bad: number) => {
    const { packets, stats } = coalesce(input);
    assert.equal(packets.length, want.length);
    want.forEach((group, k) => {
      const p = packets[k]!;
      if (group.length === 1) {
        assert.equal(vnet(p).gsoType, GSO_NONE, `packet ${k} alone`);
        assert.ok(p.subarray(VNET_HDR_LEN).equals(input[group[0]!]!), `packet ${k} unchanged`);
      } else {
        assert.equal(vnet(p).gsoType, GSO_TCPV6, `packet ${k} a superpacket`);
        const back = segments(p);
        assert.equal(back.length, group.length);
        back.forEach((b, i) => assert.ok(b.equals(input[group[i]!]!), `packet ${k} segment ${i}`));
      }
    });
    assert.equal(stats[GRO_BAD_CSUM], bad);
    assert.equal(stats[GRO_SUPER], want.filter((g) => g.length > 1).length);
    assert.equal(stats[GRO_MERGED], want.reduce((n, g) => n + g.length - 1, 0));
  };
  // In the middle (payload corrupted), first (the urgent pointer, which no merge rule compares), last, two in a row.
  check([segs[0]!, segs[1]!, corrupt(segs[2]!, 300), segs[3]!, segs[4]!], [[0, 1], [2], [3, 4]], 1);
  check([corrupt(segs[0]!, 58), segs[1]!, segs[2]!, segs[3]!, segs[4]!], [[0], [1, 2, 3, 4]], 1);
  check([segs[0]!, segs[1]!, segs[2]!, segs[3]!, corrupt(segs[4]!, 100)], [[0, 1, 2, 3], [4]], 1);
  check([segs[0]!, corrupt(segs[1]!, 200), corrupt(segs[2]!, 200), segs[3]!, segs[4]!], [[0], [1], [2], [3, 4]], 2);
  // A bad odd-length last segment: the odd byte counts in the sum.
  const last = segs[4]!;
  const odd = Buffer.concat([last, Buffer.from([0x42])]);
  odd.writeUInt16BE(odd.length - 40, 4);
  const oddOk = fixTcp6(odd);
  assert.equal((oddOk.length - 72) % 2, 1, 'an odd payload');
  check([segs[0]!, segs[1]!, segs[2]!, segs[3]!, oddOk], [[0, 1, 2, 3, 4]], 0);
  check([segs[0]!, segs[1]!, segs[2]!, segs[3]!, corrupt(oddOk, oddOk.length - 1)], [[0, 1, 2, 3], [4]], 1);
});

test('groCoalesce: a superpacket stays within 64 KiB; a longer run continues in the next one', () => {
  const seg0 = segments(fixture('TS_SUPER_EXACT'))[0]!; // 1428 bytes of payload, timestamps
  const run: Buffer[] = [];
  for (let i = 0; i < 50; i++) {
    const b = Buffer.from(seg0);
    b.writeUInt32BE((tcpSeq(seg0) + i * 1428) >>> 0, 44);
    run.push(fixTcp6(b));
  }
  const { packets } = coalesce(run);
  assert.equal(packets.length, 2);
  const lens = packets.map((p) => p.length - VNET_HDR_LEN);
  assert.deepEqual(lens, [72 + 45 * 1428, 72 + 5 * 1428]); // 46 would be 65760 > 65535
  for (const p of packets) {
    const ip = p.subarray(VNET_HDR_LEN);
    assert.equal(ip.readUInt16BE(4), ip.length - 40);
    // And it splits back into the same segments.
    const back = segments(p);
    assert.ok(back.every((s) => l4ChecksumOk(s)));
  }
  assert.ok(Buffer.concat([...segments(packets[0]!), ...segments(packets[1]!)]).equals(Buffer.concat(run)));
});

test('groCoalesce: round trip on random runs: split(coalesce(segments)) gives the segments back', () => {
  const base = segments(fixture('NOTS_SUPER_7000'));
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 1440 }), { minLength: 1, maxLength: 40 }), fc.boolean(), (sizes, psh) => {
      // Contiguous segments of arbitrary sizes: only runs of equal sizes (and one shorter at the end) merge.
      let seq = tcpSeq(base[0]!);
      const segs = sizes.map((n, i) => {
        const b = Buffer.alloc(60 + n);
        base[0]!.copy(b, 0, 0, 60);
        for (let j = 0; j < n; j++) b[60 + j] = (seq + j) & 0xff;
        b.writeUInt16BE(20 + n, 4);
        b.writeUInt32BE(seq >>> 0, 44);
        b[53] = ACK | (psh && i % 5 === 4 ? PSH : 0);
        seq += n;
        return fixTcp6(b);
      });
      const { packets } = coalesce(segs);
      const back = packets.flatMap((p) => segments(p));
      assert.equal(back.length, segs.length);
      back.forEach((s, i) => assert.ok(s.equals(segs[i]!), `segment ${i}`));
    }),
    { numRuns: 200 },
  );
});

test('groCoalesce: random bytes never crash it; output sizes add up', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 120 }), { maxLength: 30 }), (raw) => {
      const pkts = raw.map((r) => {
        const b = Buffer.from(r);
        if (b.length > 0) b[0] = 0x60 | (b[0]! & 0x0f); // mostly IPv6 ...
        if (b.length > 6) b[6] = 6; // ... TCP
        return b;
      });
      const { packets } = coalesce(pkts);
      assert.equal(packets.length, pkts.length, 'random bytes do not checksum, so nothing merges');
    }),
    { numRuns: 300 },
  );
  // Arguments that escape their buffers throw.
  const src = Buffer.alloc(100);
  const o = Int32Array.of(0);
  const l = Int32Array.of(100);
  assert.throws(() => native.groCoalesce(src, o, l, 1, Buffer.alloc(109), 0, new Int32Array(1), new Int32Array(1)), RangeError);
  assert.throws(() => native.groCoalesce(src, o, Int32Array.of(101), 1, Buffer.alloc(200), 0, new Int32Array(1), new Int32Array(1)), RangeError);
  assert.throws(() => native.groCoalesce(src, o, l, 2, Buffer.alloc(300), 0, new Int32Array(2), new Int32Array(2)), RangeError);
  assert.throws(() => native.groCoalesce(src, o, l, 1, Buffer.alloc(200), 0, new Int32Array(1), new Int32Array(1), new Int32Array(2)), RangeError);
  assert.throws(() => native.groCoalesce(src, o, l, 1, src, 0, new Int32Array(1), new Int32Array(1)), RangeError, 'overlap');
  assert.equal(native.groCoalesce(src, o, l, 0, Buffer.alloc(0), 0, new Int32Array(0), new Int32Array(0)), 0);
});

test('groCoalesce: a batch longer than its window is coalesced window by window, in order', () => {
  const seg0 = segments(fixture('NOTS_SUPER_7000'))[0]!;
  const run: Buffer[] = [];
  for (let i = 0; i < 300; i++) {
    const b = Buffer.alloc(60 + 100);
    seg0.copy(b, 0, 0, 60);
    b.writeUInt16BE(120, 4);
    b.writeUInt32BE((tcpSeq(seg0) + i * 100) >>> 0, 44);
    b[53] = ACK;
    run.push(fixTcp6(b));
  }
  const { packets } = coalesce(run);
  assert.deepEqual(packets.map((p) => vnet(p).gsoType), [GSO_TCPV6, GSO_TCPV6]);
  assert.deepEqual(packets.map((p) => (p.length - VNET_HDR_LEN - 60) / 100), [256, 44]);
});

// --- the in-memory addon ------------------------------------------------------------------------------

test('MemoryNetwork: tunOpen with vnetHdr reports it unsupported (vnetHdr false, no offloads)', () => {
  const net = new MemoryNetwork();
  const t = net.tunOpen('molt0', { vnetHdr: true });
  assert.equal(t.vnetHdr, false);
  assert.equal(t.offloads, 0);
});
