import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as P from '../fixtures/packets.js';
import { fromHex } from '../fixtures/packets.js';
import {
  UDP_CHECKSUM,
  UDP_DST_PORT,
  UDP_HEADER_LEN,
  UDP_LENGTH,
  UDP_SRC_PORT,
  UdpError,
  checkUdp,
  emitUdp,
  parseUdp,
  udpChecksum,
  udpDstPort,
  udpLength,
  udpSrcPort,
  verifyUdpChecksum,
  type UdpRepr,
} from '../../src/dataplane/wire/udp.js';
import { ulOffset, upperLayer } from '../../src/dataplane/wire/exthdr.js';
import { IP6_DST, IP6_SRC, emitIpv6, parseIpv6Address } from '../../src/dataplane/wire/ipv6.js';

/** The captured UDP datagrams: [name, packet, UDP offset]. */
const DATAGRAMS: [string, Buffer, number][] = ['UDP', 'UDP_TO_CLOSED_PORT', 'UDP_HBH_DSTOPTS', 'UDP_DSTOPT_UNKNOWN'].map(
  (name) => {
    const b = fromHex(P.ALL_PACKETS[name]!);
    return [name, b, ulOffset(upperLayer(b, 0, b.length))];
  },
);

test('offsets are the RFC 768 layout', () => {
  assert.deepEqual([UDP_SRC_PORT, UDP_DST_PORT, UDP_LENGTH, UDP_CHECKSUM, UDP_HEADER_LEN], [0, 2, 4, 6, 8]);
});

test('decode: the datagram python sent to [fd00:6d6f:6c74:2::b]:7000', () => {
  const b = fromHex(P.UDP);
  assert.equal(checkUdp(b, 40, b.length - 40), 0);
  assert.deepEqual([udpSrcPort(b, 40), udpDstPort(b, 40), udpLength(b, 40), udpChecksum(b, 40)], [40000, 7000, 22, 0x9a02]);
  assert.equal(b.subarray(48, 48 + 14).toString(), 'hello moltnet\n');
  assert.deepEqual(parseUdp(b, 0, 40, 22), { ok: true, repr: { srcPort: 40000, dstPort: 7000, payloadLength: 14 } });
  const closed = fromHex(P.UDP_TO_CLOSED_PORT);
  assert.deepEqual([udpSrcPort(closed, 40), udpDstPort(closed, 40)], [40009, 9]);
});

test('decode: behind hop-by-hop and destination options the datagram and its checksum are the same', () => {
  const plain = fromHex(P.UDP);
  const ext = fromHex(P.UDP_HBH_DSTOPTS);
  assert.equal(ulOffset(upperLayer(ext, 0, ext.length)), 64);
  // The pseudo-header has the same addresses and upper-layer length, so every byte of UDP matches.
  assert.deepEqual(ext.subarray(64), plain.subarray(40));
  assert.ok(verifyUdpChecksum(ext, 0, 64, 22));
});

test('checksums of every captured datagram verify, also the one quoted in Port Unreachable', () => {
  for (const [name, b, off] of DATAGRAMS) {
    assert.ok(verifyUdpChecksum(b, 0, off, udpLength(b, off)), name);
    assert.ok(parseUdp(b, 0, off, b.length - off).ok, name);
  }
  const err = fromHex(P.DST_UNREACH_PORT);
  const inner = 48; // the quoted IPv6 packet
  assert.equal(udpDstPort(err, inner + 40), 9);
  // The quote was taken at B, after R decremented the hop limit; the hop limit is not in the pseudo-header.
  assert.ok(verifyUdpChecksum(err, inner, inner + 40, udpLength(err, inner + 40)));
});

test('emit into a 0xFF-filled buffer reproduces the captured header', () => {
  for (const [name, b, off] of DATAGRAMS) {
    const r = parseUdp(b, 0, off, b.length - off);
    assert.ok(r.ok, name);
    const out = Buffer.alloc(b.length - off + 8, 0xff);
    b.copy(out, 4 + 8, off + 8); // the payload, at off + 8 as emitUdp expects
    const n = emitUdp(r.repr, out, 4, b, IP6_SRC, b, IP6_DST);
    assert.equal(n, b.length - off);
    assert.deepEqual(out.subarray(4, 4 + n), b.subarray(off), name);
    assert.ok(out.subarray(0, 4).every((x) => x === 0xff) && out.subarray(4 + n).every((x) => x === 0xff), name);
  }
});

test('truncated: every prefix is refused with a code, never an exception', () => {
  for (const [name, b, off] of DATAGRAMS) {
    const total = b.length - off;
    for (let len = 0; len < total; len++) {
      const want = len < 8 ? UdpError.Truncated : UdpError.BadLength;
      assert.equal(checkUdp(b, off, len), want, `${name} ${len}`);
      const short = Buffer.from(b.subarray(0, off + len));
      assert.equal(checkUdp(short, off, len), want);
      assert.equal(checkUdp(short, off, len + 1), UdpError.Truncated); // past the buffer
      assert.equal(parseUdp(short, 0, off, len).ok, false);
    }
  }
});

test('overlong: bytes after the Length field are tolerated and left out of the checksum', () => {
  const b = Buffer.concat([fromHex(P.UDP), Buffer.alloc(10, 0x77)]);
  assert.equal(checkUdp(b, 40, b.length - 40), 0);
  assert.deepEqual(parseUdp(b, 0, 40, b.length - 40), parseUdp(fromHex(P.UDP), 0, 40, 22));
});

test('bad Length fields: under 8 (0 = jumbogram) or longer than the data', () => {
  const b = fromHex(P.UDP);
  for (const len of [0, 1, 7, 23, 0xffff]) {
    const c = Buffer.from(b);
    c.writeUInt16BE(len, 44);
    assert.equal(checkUdp(c, 40, 22), UdpError.BadLength, String(len));
    assert.deepEqual(parseUdp(c, 0, 40, 22), { ok: false, error: 'UDP length field is under 8 or exceeds the packet' });
  }
  const c = Buffer.from(b);
  c.writeUInt16BE(8, 44); // a shorter but valid Length: the rest is padding
  assert.equal(checkUdp(c, 40, 22), 0);
});

test('a zero checksum is refused over IPv6; a wrong one too; verify=false skips both', () => {
  const zero = fromHex(P.UDP);
  zero.writeUInt16BE(0, 46);
  assert.equal(verifyUdpChecksum(zero, 0, 40, 22), false);
  assert.deepEqual(parseUdp(zero, 0, 40, 22), { ok: false, error: 'UDP checksum 0 is not allowed over IPv6' });
  assert.equal(parseUdp(zero, 0, 40, 22, false).ok, true);
  for (const at of [8, 24, 40, 45, 47, 50, 61]) {
    const c = fromHex(P.UDP);
    c[at] = c[at]! ^ 0x10;
    assert.equal(verifyUdpChecksum(c, 0, 40, udpLength(c, 40)), false, `byte ${at}`);
  }
  const bad = fromHex(P.UDP);
  bad[50] = bad[50]! ^ 1;
  assert.deepEqual(parseUdp(bad, 0, 40, 22), { ok: false, error: 'UDP checksum mismatch' });
});

test('a computed checksum of 0 is sent as 0xffff and verifies', () => {
  const src = parseIpv6Address('fd00:6d6f:6c74:1::a');
  const dst = parseIpv6Address('fd00:6d6f:6c74:2::b');
  const buf = Buffer.alloc(10);
  const repr: UdpRepr = { srcPort: 3784, dstPort: 3784, payloadLength: 2 };
  emitUdp(repr, buf, 0, src, 0, dst, 0);
  // Put the checksum in the payload: the sum of everything is then 0xffff and the computed checksum 0.
  buf.writeUInt16BE(udpChecksum(buf, 0), 8);
  emitUdp(repr, buf, 0, src, 0, dst, 0);
  assert.equal(udpChecksum(buf, 0), 0xffff);
  const pkt = Buffer.alloc(50);
  emitIpv6({ src, dst, nextHeader: 17, hopLimit: 255, payloadLength: 10, trafficClass: 0, flowLabel: 0 }, pkt, 0);
  buf.copy(pkt, 40);
  assert.ok(verifyUdpChecksum(pkt, 0, 40, 10));
});

test('round trip: random datagrams in a real IPv6 packet -> emit -> parse', () => {
  const addr = fc.uint8Array({ minLength: 16, maxLength: 16 });
  fc.assert(
    fc.property(addr, addr, fc.nat(0xffff), fc.nat(0xffff), fc.uint8Array({ maxLength: 300 }), (s, d, sp, dp, payload) => {
      const pkt = Buffer.alloc(40 + 8 + payload.length, 0xff);
      const src = Buffer.from(s);
      const dst = Buffer.from(d);
      emitIpv6(
        { src, dst, nextHeader: 17, hopLimit: 64, payloadLength: 8 + payload.length, trafficClass: 0, flowLabel: 0 },
        pkt,
        0,
      );
      pkt.set(payload, 48);
      const repr: UdpRepr = { srcPort: sp, dstPort: dp, payloadLength: payload.length };
      assert.equal(emitUdp(repr, pkt, 40, src, 0, dst, 0), 8 + payload.length);
      assert.notEqual(udpChecksum(pkt, 40), 0);
      assert.deepEqual(parseUdp(pkt, 0, 40, pkt.length - 40), { ok: true, repr });
    }),
  );
});

test('checkUdp and parseUdp never throw on random bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(90), fc.nat(90), (a, off, len) => {
      const b = Buffer.from(a);
      const code = checkUdp(b, off, len);
      assert.ok(code === 0 || code === UdpError.Truncated || code === UdpError.BadLength);
      const r = parseUdp(b, 0, off, len);
      if (code !== 0) assert.equal(r.ok, false);
    }),
  );
});
