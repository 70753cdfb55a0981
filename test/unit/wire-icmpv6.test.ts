import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as P from '../fixtures/packets.js';
import { fromHex } from '../fixtures/packets.js';
import {
  ICMP6_DST_UNREACH,
  ICMP6_DST_UNREACH_ADMIN,
  ICMP6_DST_UNREACH_NO_ROUTE,
  ICMP6_DST_UNREACH_PORT_UNREACH,
  ICMP6_ECHO_REPLY,
  ICMP6_ECHO_REQUEST,
  ICMP6_ERROR_MAX_QUOTE,
  ICMP6_PACKET_TOO_BIG,
  ICMP6_PARAM_PROBLEM,
  ICMP6_PARAM_PROBLEM_NEXT_HEADER,
  ICMP6_PARAM_PROBLEM_OPTION,
  ICMP6_TIME_EXCEEDED,
  ICMP6_TIME_EXCEEDED_HOP_LIMIT,
  Icmpv6Error,
  MLDV2_LISTENER_REPORT,
  ND_NEIGHBOR_ADVERT,
  ND_NEIGHBOR_SOLICIT,
  ND_REDIRECT,
  ND_ROUTER_SOLICIT,
  checkIcmpv6,
  emitEchoReply,
  emitIcmpv6Error,
  icmp6Checksum,
  icmp6Code,
  icmp6EchoId,
  icmp6EchoSeq,
  icmp6Param,
  icmp6Type,
  icmpv6ErrorAllowed,
  isIcmpv6Error,
  parseIcmpv6,
  verifyIcmpv6Checksum,
} from '../../src/dataplane/wire/icmpv6.js';
import { ulOffset, ulProto, upperLayer } from '../../src/dataplane/wire/exthdr.js';
import { finishChecksum, pseudoHeaderSum, sumBytes } from '../../src/dataplane/wire/checksum.js';
import {
  IP6_DST,
  IP6_SRC,
  checkIpv6,
  ipv6FlowLabel,
  ipv6HopLimit,
  ipv6PayloadLength,
  parseIpv6Address,
  setIpv6PayloadLength,
} from '../../src/dataplane/wire/ipv6.js';

const R_A_SIDE = parseIpv6Address('fd00:6d6f:6c74:1::1'); // the router's address towards A
const B = parseIpv6Address('fd00:6d6f:6c74:2::b');

/** [l4Off, l4Len] of an ICMPv6 capture, found by the extension header walk. */
function icmp(b: Buffer): [number, number] {
  const r = upperLayer(b, 0, b.length);
  assert.equal(ulProto(r), 58);
  return [ulOffset(r), b.length - ulOffset(r)];
}

/** Copies the flow label of `from` into `to`: Linux picks a per-flow label, we send 0; nothing else may differ. */
function withFlowLabelOf(to: Buffer, from: Buffer): Buffer {
  const c = Buffer.from(to);
  c[1] = (c[1]! & 0xf0) | (from[1]! & 0x0f);
  c[2] = from[2]!;
  c[3] = from[3]!;
  return c;
}

/** The ICMPv6 captures, less the fragments: a fragment's checksum covers the reassembled message. */
const ICMP_CAPTURES = Object.entries(P.ALL_PACKETS).filter(([name, hex]) => {
  if (name.startsWith('FRAG_')) return false;
  const b = fromHex(hex);
  const r = upperLayer(b, 0, b.length);
  return r >= 0 && ulProto(r) === 58;
});

test('every captured ICMPv6 message verifies, and any flipped bit breaks it', () => {
  assert.ok(ICMP_CAPTURES.length >= 20);
  for (const [name, hex] of ICMP_CAPTURES) {
    const b = fromHex(hex);
    const [l4, len] = icmp(b);
    if (name === 'SRV6_ECHO_REQUEST') continue; // below: the pseudo-header uses the final segment
    assert.ok(verifyIcmpv6Checksum(b, 0, l4, len), name);
    assert.equal(checkIcmpv6(b, 0, l4, len), 0, name);
    for (const at of [l4, l4 + 2, l4 + len - 1, IP6_SRC + 15, IP6_DST]) {
      const c = Buffer.from(b);
      c[at] = c[at]! ^ 0x04;
      assert.ok(!verifyIcmpv6Checksum(c, 0, l4, len), `${name} byte ${at}`);
      assert.equal(checkIcmpv6(c, 0, l4, len), Icmpv6Error.BadChecksum);
    }
  }
});

test('a routing header with segments left: the checksum covers the final destination, not the IPv6 one', () => {
  const b = fromHex(P.SRV6_ECHO_REQUEST);
  const [l4, len] = icmp(b);
  assert.equal(verifyIcmpv6Checksum(b, 0, l4, len), false);
  // SRH: 8 fixed bytes, then Segment List[0] = the final destination (RFC 8754 §2).
  const finalDst = 40 + 8;
  assert.equal(b.subarray(finalDst, finalDst + 16).toString('hex'), 'fd006d6f6c7400030000000000000001');
  const sum = pseudoHeaderSum(b, IP6_SRC, b, finalDst, len, 58);
  assert.equal(finishChecksum(sumBytes(b, l4, len, sum)), 0);
});

test('decode: echo request and reply', () => {
  const req = fromHex(P.ECHO_REQUEST);
  assert.deepEqual([icmp6Type(req, 40), icmp6Code(req, 40), icmp6Checksum(req, 40)], [128, 0, 0x308a]);
  assert.deepEqual([icmp6EchoId(req, 40), icmp6EchoSeq(req, 40)], [0x04a5, 1]);
  const rep = fromHex(P.ECHO_REPLY);
  assert.deepEqual([icmp6Type(rep, 40), icmp6EchoId(rep, 40), icmp6EchoSeq(rep, 40)], [ICMP6_ECHO_REPLY, 0x04a5, 1]);
  const r = parseIcmpv6(req, 0, 40, 64);
  assert.deepEqual(r, { ok: true, repr: { type: ICMP6_ECHO_REQUEST, code: 0, param: 0x04a50001, bodyLength: 56 } });
});

test('decode: the errors Linux sent', () => {
  const cases: [string, number, number, number][] = [
    ['TIME_EXCEEDED', ICMP6_TIME_EXCEEDED, ICMP6_TIME_EXCEEDED_HOP_LIMIT, 0],
    ['DST_UNREACH_NO_ROUTE', ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NO_ROUTE, 0],
    ['DST_UNREACH_ADMIN', ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_ADMIN, 0],
    ['DST_UNREACH_PORT', ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_PORT_UNREACH, 0],
    ['PACKET_TOO_BIG', ICMP6_PACKET_TOO_BIG, 0, 1280],
    ['PARAM_PROBLEM_NEXT_HEADER', ICMP6_PARAM_PROBLEM, ICMP6_PARAM_PROBLEM_NEXT_HEADER, 6],
    ['PARAM_PROBLEM_OPTION', ICMP6_PARAM_PROBLEM, ICMP6_PARAM_PROBLEM_OPTION, 42],
  ];
  for (const [name, type, code, param] of cases) {
    const b = fromHex(P.ALL_PACKETS[name]!);
    assert.deepEqual([icmp6Type(b, 40), icmp6Code(b, 40), icmp6Param(b, 40)], [type, code, param], name);
    assert.ok(isIcmpv6Error(icmp6Type(b, 40)), name);
    // The quote starts with the invoking packet's IPv6 header.
    assert.equal(b[48]! >>> 4, 6, name);
  }
});

test('decode: neighbor discovery and MLD types', () => {
  assert.equal(icmp6Type(fromHex(P.ROUTER_SOLICITATION), 40), ND_ROUTER_SOLICIT);
  assert.equal(icmp6Type(fromHex(P.NEIGHBOR_SOLICITATION), 40), ND_NEIGHBOR_SOLICIT);
  assert.equal(icmp6Type(fromHex(P.NEIGHBOR_ADVERTISEMENT), 40), ND_NEIGHBOR_ADVERT);
  const mld = fromHex(P.MLD_REPORT_HBH);
  assert.equal(icmp6Type(mld, 48), MLDV2_LISTENER_REPORT);
  for (const t of [128, 129, 133, 134, 135, 136, 137, 143, 255]) assert.equal(isIcmpv6Error(t), false, String(t));
  for (const t of [0, 1, 2, 3, 4, 127]) assert.equal(isIcmpv6Error(t), true, String(t));
});

test('truncated: every length under 8 is Truncated, every other prefix fails the checksum, nothing throws', () => {
  for (const [name, hex] of ICMP_CAPTURES) {
    if (name === 'SRV6_ECHO_REQUEST') continue;
    const b = fromHex(hex);
    const [l4, len] = icmp(b);
    for (let n = 0; n < len; n++) {
      const short = Buffer.from(b.subarray(0, l4 + n));
      const want = n < 8 ? Icmpv6Error.Truncated : Icmpv6Error.BadChecksum;
      assert.equal(checkIcmpv6(short, 0, l4, n), want, `${name} ${n}`);
      assert.equal(parseIcmpv6(short, 0, l4, n).ok, false);
      // A length that runs past the buffer is Truncated, not a read of undefined.
      assert.equal(checkIcmpv6(short, 0, l4, n + 1), Icmpv6Error.Truncated);
    }
  }
});

test('emitIcmpv6Error reproduces the kernel errors byte for byte (flow label aside) in a 0xFF-filled buffer', () => {
  const cases: [string, string, number, number, number, Buffer][] = [
    ['TIME_EXCEEDED', 'ECHO_REQUEST_HOP_LIMIT_1', ICMP6_TIME_EXCEEDED, ICMP6_TIME_EXCEEDED_HOP_LIMIT, 0, R_A_SIDE],
    ['DST_UNREACH_NO_ROUTE', 'ECHO_REQUEST_NO_ROUTE', ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NO_ROUTE, 0, R_A_SIDE],
    ['DST_UNREACH_ADMIN', 'ECHO_REQUEST_PROHIBITED', ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_ADMIN, 0, R_A_SIDE],
    ['PACKET_TOO_BIG', 'ECHO_REQUEST_1400', ICMP6_PACKET_TOO_BIG, 0, 1280, R_A_SIDE],
    ['DST_UNREACH_PORT', 'UDP_TO_CLOSED_PORT', ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_PORT_UNREACH, 0, B],
    ['PARAM_PROBLEM_NEXT_HEADER', 'UNKNOWN_NEXT_HEADER', ICMP6_PARAM_PROBLEM, ICMP6_PARAM_PROBLEM_NEXT_HEADER, 6, B],
    ['PARAM_PROBLEM_OPTION', 'UDP_DSTOPT_UNKNOWN', ICMP6_PARAM_PROBLEM, ICMP6_PARAM_PROBLEM_OPTION, 42, B],
  ];
  for (const [errName, invName, type, code, param, src] of cases) {
    const want = fromHex(P.ALL_PACKETS[errName]!);
    const inv = fromHex(P.ALL_PACKETS[invName]!);
    // B quotes the packet as it arrived there, after R had decremented its hop limit.
    if (src === B) inv[7] = inv[7]! - 1;
    const out = Buffer.alloc(1400, 0xff);
    // Errors from B reached A through R, so the capture shows hop limit 63.
    const n = emitIcmpv6Error(out, 7, type, code, param, src, 0, inv, IP6_SRC, inv, 0, inv.length, ipv6HopLimit(want, 0));
    assert.equal(n, want.length, errName);
    assert.ok(n <= 1280);
    assert.equal(ipv6FlowLabel(out, 7), 0);
    assert.deepEqual(withFlowLabelOf(out.subarray(7, 7 + n), want), want, errName);
    assert.ok(out.subarray(0, 7).every((x) => x === 0xff), `${errName}: wrote before off`);
    assert.ok(out.subarray(7 + n).every((x) => x === 0xff), `${errName}: wrote past the end`);
    assert.equal(checkIpv6(out, 7, n), 0);
    assert.ok(verifyIcmpv6Checksum(out, 7, 47, n - 40));
  }
});

test('emitIcmpv6Error in place: the invoking packet already sits 48 bytes into the output', () => {
  const inv = fromHex(P.ECHO_REQUEST_HOP_LIMIT_1);
  const want = fromHex(P.TIME_EXCEEDED);
  const buf = Buffer.alloc(48 + inv.length + 16, 0xff);
  inv.copy(buf, 48);
  const n = emitIcmpv6Error(buf, 0, 3, 0, 0, R_A_SIDE, 0, buf, 48 + IP6_SRC, buf, 48, inv.length, 64);
  assert.equal(n, want.length);
  assert.deepEqual(withFlowLabelOf(buf.subarray(0, n), want), want);
});

test('emitIcmpv6Error truncates big invoking packets to a 1280-byte error, and quotes small ones whole', () => {
  const big = Buffer.alloc(9000, 0x42);
  fromHex(P.UDP).copy(big);
  setIpv6PayloadLength(big, 0, 9000 - 40);
  const out = Buffer.alloc(2000, 0xff);
  for (const len of [0, 1, 100, 1231, 1232, 1233, 1500, 9000]) {
    out.fill(0xff);
    const n = emitIcmpv6Error(out, 0, ICMP6_PACKET_TOO_BIG, 0, 1280, R_A_SIDE, 0, big, IP6_SRC, big, 0, len);
    const quote = Math.min(len, ICMP6_ERROR_MAX_QUOTE);
    assert.equal(n, 48 + quote, `len ${len}`);
    assert.equal(ipv6PayloadLength(out, 0), 8 + quote);
    assert.deepEqual(out.subarray(48, n), big.subarray(0, quote));
    assert.equal(out[n], 0xff);
    assert.ok(verifyIcmpv6Checksum(out, 0, 40, n - 40), `len ${len}`);
  }
});

test('emitIcmpv6Error refuses (-1, no throw) when the output is too small or the input out of bounds', () => {
  const inv = fromHex(P.ECHO_REQUEST);
  const small = Buffer.alloc(48 + inv.length - 1);
  assert.equal(emitIcmpv6Error(small, 0, 1, 0, 0, R_A_SIDE, 0, inv, 8, inv, 0, inv.length), -1);
  assert.equal(emitIcmpv6Error(Buffer.alloc(1280), 0, 1, 0, 0, R_A_SIDE, 0, inv, 8, inv, 1, inv.length), -1);
  assert.equal(emitIcmpv6Error(Buffer.alloc(1280), 0, 1, 0, 0, R_A_SIDE, 0, inv, 8, inv, -1, 10), -1);
  assert.equal(emitIcmpv6Error(Buffer.alloc(1280), -1, 1, 0, 0, R_A_SIDE, 0, inv, 8, inv, 0, 10), -1);
});

test('icmpv6ErrorAllowed follows RFC 4443 §2.4(e)', () => {
  const echo = fromHex(P.ECHO_REQUEST);
  assert.ok(icmpv6ErrorAllowed(echo, 0, echo.length, ICMP6_TIME_EXCEEDED, 0));
  const udp = fromHex(P.UDP);
  assert.ok(icmpv6ErrorAllowed(udp, 0, udp.length, ICMP6_DST_UNREACH, 0));
  // (e.1) never about an error message, whatever comes before it.
  for (const name of ['TIME_EXCEEDED', 'PACKET_TOO_BIG', 'DST_UNREACH_PORT', 'PARAM_PROBLEM_OPTION']) {
    const e = fromHex(P.ALL_PACKETS[name]!);
    assert.equal(icmpv6ErrorAllowed(e, 0, e.length, ICMP6_TIME_EXCEEDED, 0), false, name);
  }
  // (e.2) nor about a redirect.
  const redirect = Buffer.from(echo);
  redirect[40] = ND_REDIRECT;
  assert.equal(icmpv6ErrorAllowed(redirect, 0, redirect.length, ICMP6_DST_UNREACH, 0), false);
  // (e.3) a multicast destination: only Packet Too Big and Parameter Problem code 2.
  const mld = fromHex(P.MLD_REPORT_HBH);
  assert.equal(icmpv6ErrorAllowed(mld, 0, mld.length, ICMP6_TIME_EXCEEDED, 0), false);
  assert.equal(icmpv6ErrorAllowed(mld, 0, mld.length, ICMP6_PACKET_TOO_BIG, 0), true);
  assert.equal(icmpv6ErrorAllowed(mld, 0, mld.length, ICMP6_PARAM_PROBLEM, ICMP6_PARAM_PROBLEM_OPTION), true);
  assert.equal(icmpv6ErrorAllowed(mld, 0, mld.length, ICMP6_PARAM_PROBLEM, ICMP6_PARAM_PROBLEM_NEXT_HEADER), false);
  // (e.6) a source that is not one node: unspecified or multicast.
  const unspec = Buffer.from(echo);
  unspec.fill(0, IP6_SRC, IP6_SRC + 16);
  assert.equal(icmpv6ErrorAllowed(unspec, 0, unspec.length, ICMP6_DST_UNREACH, 0), false);
  const mcastSrc = Buffer.from(echo);
  mcastSrc[IP6_SRC] = 0xff;
  assert.equal(icmpv6ErrorAllowed(mcastSrc, 0, mcastSrc.length, ICMP6_DST_UNREACH, 0), false);
  // A later fragment's upper layer is unknown: allowed, as Linux does.
  const frag = fromHex(P.FRAG_MIDDLE);
  assert.ok(icmpv6ErrorAllowed(frag, 0, frag.length, ICMP6_TIME_EXCEEDED, 1));
});

test('emitEchoReply reproduces the kernel replies (flow label aside), into another buffer and in place', () => {
  const cases: [string, string][] = [
    ['ECHO_REQUEST_LINK_LOCAL', 'ECHO_REPLY_LINK_LOCAL'],
    ['ECHO_REQUEST', 'ECHO_REPLY'],
    ['ECHO_REQUEST_TCLASS', 'ECHO_REPLY_TCLASS'], // the traffic class is echoed
  ];
  for (const [reqName, repName] of cases) {
    const req = fromHex(P.ALL_PACKETS[reqName]!);
    const want = fromHex(P.ALL_PACKETS[repName]!);
    const hop = ipv6HopLimit(want, 0); // 63 where R forwarded the reply
    const out = Buffer.alloc(want.length + 20, 0xff);
    const n = emitEchoReply(req, 0, 40, req.length - 40, out, 10, hop);
    assert.equal(n, want.length, repName);
    assert.deepEqual(withFlowLabelOf(out.subarray(10, 10 + n), want), want, repName);
    assert.ok(out.subarray(0, 10).every((x) => x === 0xff) && out.subarray(10 + n).every((x) => x === 0xff));
    assert.deepEqual(req, fromHex(P.ALL_PACKETS[reqName]!), 'request untouched');

    const inPlace = Buffer.from(req);
    assert.equal(emitEchoReply(inPlace, 0, 40, req.length - 40, inPlace, 0, hop), want.length);
    assert.deepEqual(withFlowLabelOf(inPlace, want), want, `${repName} in place`);
    const dflt = Buffer.from(req);
    assert.equal(emitEchoReply(dflt, 0, 40, req.length - 40, undefined, undefined, hop), want.length);
    assert.deepEqual(dflt, inPlace);
  }
});

test('emitEchoReply drops the request extension headers and can use a given source', () => {
  const req = fromHex(P.ECHO_REQUEST_LINK_LOCAL);
  const want = fromHex(P.ECHO_REPLY_LINK_LOCAL);
  const dstopts = Buffer.from([58, 0, 1, 4, 0, 0, 0, 0]);
  const withExt = Buffer.concat([req.subarray(0, 40), dstopts, req.subarray(40)]);
  withExt[6] = 60;
  setIpv6PayloadLength(withExt, 0, req.length - 40 + 8);
  const [l4, len] = icmp(withExt);
  assert.equal(l4, 48);
  const n = emitEchoReply(withExt, 0, l4, len);
  assert.equal(n, want.length);
  assert.deepEqual(withFlowLabelOf(withExt.subarray(0, n), want), want);

  // A ping to a multicast group is answered from a unicast address of ours.
  const ours = Buffer.concat([Buffer.alloc(3), parseIpv6Address('fe80::6e88:46c5:4af7:9268')]);
  for (const inPlace of [true, false]) {
    const r = Buffer.from(req);
    const out = inPlace ? r : Buffer.alloc(200);
    assert.equal(emitEchoReply(r, 0, 40, r.length - 40, out, 0, 64, ours, 3), req.length);
    assert.deepEqual(out.subarray(IP6_SRC, IP6_SRC + 16), ours.subarray(3));
    assert.deepEqual(out.subarray(IP6_DST, IP6_DST + 16), req.subarray(IP6_SRC, IP6_SRC + 16));
    assert.ok(verifyIcmpv6Checksum(out, 0, 40, req.length - 40));
  }
});

test('emitEchoReply refuses what is not an echo request, too short, or does not fit', () => {
  const reply = fromHex(P.ECHO_REPLY);
  assert.equal(emitEchoReply(reply, 0, 40, reply.length - 40), -1);
  const req = fromHex(P.ECHO_REQUEST);
  assert.equal(emitEchoReply(req, 0, 40, 7), -1);
  assert.equal(emitEchoReply(req, 0, 40, req.length - 39), -1);
  assert.equal(emitEchoReply(req, 0, 40, req.length - 40, Buffer.alloc(req.length - 1), 0), -1);
  assert.equal(emitEchoReply(req, 0, 40, req.length - 40, req, 8), -1); // overlapping, not in place
  assert.deepEqual(req, fromHex(P.ECHO_REQUEST));
});

test('property: emitIcmpv6Error output always checks, verifies, fits in 1280 and quotes the prefix', () => {
  const src = parseIpv6Address('fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268');
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 2000 }),
      fc.integer({ min: 0, max: 127 }),
      fc.integer({ min: 0, max: 255 }),
      fc.nat(0xffffffff),
      fc.integer({ min: 0, max: 64 }),
      (inv, type, code, param, off) => {
        const out = Buffer.alloc(1400);
        const invBuf = Buffer.alloc(Math.max(inv.length, 40));
        invBuf.set(inv);
        const n = emitIcmpv6Error(out, off, type, code, param, src, 0, invBuf, IP6_SRC, invBuf, 0, inv.length);
        assert.equal(n, 48 + Math.min(inv.length, 1232));
        assert.equal(checkIpv6(out, off, n), 0);
        assert.ok(verifyIcmpv6Checksum(out, off, off + 40, n - 40));
        assert.deepEqual([icmp6Type(out, off + 40), icmp6Code(out, off + 40), icmp6Param(out, off + 40)], [type, code, param]);
        assert.deepEqual(out.subarray(off + 48, off + n), invBuf.subarray(0, n - 48));
      },
    ),
    { numRuns: 300 },
  );
});
