import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as F from '../fixtures/ospf-packets.js';
import { fletcherChecksum, lsaChecksum, setLsaChecksum, verifyLsaChecksum } from '../../src/controlplane/ospf/wire/fletcher.js';
import {
  LSA_ADV_ROUTER,
  LSA_CHECKSUM,
  LSA_HEADER_LEN,
  LSA_LENGTH,
  LSA_LINK_STATE_ID,
  LSA_SEQUENCE,
  LSA_TYPE,
  LsaError,
  addAge,
  buildLsa,
  checkLsa,
  compareLsaInstances,
  effectiveAge,
  emitLsa,
  emitLsaBody,
  emitLsaHeader,
  isMaxAge,
  isNewerInstance,
  lsaBodyLength,
  nextSequenceNumber,
  parseLsa,
  parseLsaBody,
  parseLsaHeader,
  prefixWireLength,
  setLsaAge,
  type LsaInstance,
} from '../../src/controlplane/ospf/wire/lsa.js';
import {
  AsExternalFlag,
  FloodingScope,
  INITIAL_SEQUENCE_NUMBER,
  LsType,
  MAX_AGE,
  MAX_SEQUENCE_NUMBER,
  OspfOption,
  PrefixOption,
  RouterLsaFlag,
  floodingScope,
  formatDottedQuad,
  isKnownLsType,
  lsTypeScope,
  lsaKeyString,
  parseDottedQuad,
  type Lsa,
  type LsaBody,
} from '../../src/controlplane/ospf/wire/types.js';
import { parseIpv6Address } from '../../src/dataplane/wire/ipv6.js';

const rid = (s: string): number => parseDottedQuad(s)!;
const B = rid('10.0.0.1');
const R = rid('10.0.0.2');
const ip = (s: string): Buffer => parseIpv6Address(s);

function parse(b: Buffer): Lsa {
  const r = parseLsa(b, 0, b.length);
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.repr;
}

test('offsets are the RFC 5340 A.4.2 header', () => {
  assert.deepEqual([LSA_TYPE, LSA_LINK_STATE_ID, LSA_ADV_ROUTER, LSA_SEQUENCE, LSA_CHECKSUM, LSA_LENGTH, LSA_HEADER_LEN], [2, 4, 8, 12, 16, 18, 20]);
});

test('dotted quads, LSA keys', () => {
  assert.equal(formatDottedQuad(B), '10.0.0.1');
  assert.equal(formatDottedQuad(0xffffffff), '255.255.255.255');
  assert.equal(formatDottedQuad(-1), '255.255.255.255');
  assert.equal(parseDottedQuad('0.0.0.0'), 0);
  assert.equal(parseDottedQuad('255.255.255.255'), 0xffffffff);
  for (const bad of ['1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', 'a.b.c.d', '', '1..2.3', ' 1.2.3.4']) assert.equal(parseDottedQuad(bad), undefined, bad);
  assert.equal(lsaKeyString({ type: 0x2001, linkStateId: 0, advertisingRouter: B }), '2001/0.0.0.0/10.0.0.1');
  assert.equal(lsaKeyString({ type: 8, linkStateId: 3, advertisingRouter: R }), '0008/0.0.0.3/10.0.0.2');
});

test('flooding scope from the U, S2 and S1 bits (RFC 5340 A.4.2.1)', () => {
  assert.equal(floodingScope(LsType.Link), FloodingScope.LinkLocal);
  assert.equal(floodingScope(LsType.Router), FloodingScope.Area);
  assert.equal(floodingScope(LsType.IntraAreaPrefix), FloodingScope.Area);
  assert.equal(floodingScope(LsType.AsExternal), FloodingScope.As);
  // Unknown function codes: by S bits with U = 1, link-local with U = 0.
  assert.equal(floodingScope(0xa00c), FloodingScope.Area);
  assert.equal(floodingScope(0xc00c), FloodingScope.As);
  assert.equal(floodingScope(0x800c), FloodingScope.LinkLocal);
  assert.equal(floodingScope(0x400c), FloodingScope.LinkLocal);
  assert.equal(floodingScope(0x200c), FloodingScope.LinkLocal);
  assert.equal(floodingScope(0xe00c), FloodingScope.Reserved);
  assert.equal(lsTypeScope(0x400c), FloodingScope.As);
  assert.ok(isKnownLsType(0x2009) && !isKnownLsType(0x0009) && !isKnownLsType(0x2006));
});

test('Fletcher: every captured LSA verifies and recomputes to its stored checksum', () => {
  for (const [name, b] of F.LSAS) {
    assert.ok(verifyLsaChecksum(b, 0, b.length), name);
    assert.equal(lsaChecksum(b, 0, b.length), b.readUInt16BE(16), name);
  }
  // The age is not covered: the flushed copy has the same checksum as the live one.
  const live = Buffer.from(F.LSA_BIRD_EXTERNAL_E1);
  assert.deepEqual(live.subarray(2), F.LSA_BIRD_EXTERNAL_MAXAGE.subarray(2));
  setLsaAge(live, 0, 1234);
  assert.ok(verifyLsaChecksum(live, 0, live.length));
  // Any single-bit change from byte 2 on is caught.
  const b = F.LSA_FRR_ROUTER_TRANSIT;
  for (let i = 2; i < b.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const x = Buffer.from(b);
      x[i]! ^= 1 << bit;
      assert.equal(verifyLsaChecksum(x, 0, x.length), false, `byte ${i} bit ${bit}`);
    }
  }
  // A zero checksum field never verifies; a short LSA neither.
  const z = Buffer.from(b);
  z.writeUInt16BE(0, 16);
  assert.equal(verifyLsaChecksum(z, 0, z.length), false);
  assert.equal(verifyLsaChecksum(b, 0, 17), false);
  assert.equal(verifyLsaChecksum(b, 1, b.length), false);
  // setLsaChecksum on a zeroed field gives back the original.
  assert.equal(setLsaChecksum(z, 0, z.length), b.readUInt16BE(16));
  assert.deepEqual(z, b);
});

test('Fletcher: ISO 8473 arithmetic on a hand-checked vector', () => {
  // Bytes 01 02 | checksum at 2..3 | 03 04: c0/c1 worked by hand; the stored checksum zeroes both sums.
  const data = Buffer.from([1, 2, 0, 0, 3, 4]);
  const sum = fletcherChecksum(data, 0, data.length, 2);
  data.writeUInt16BE(sum, 2);
  let c0 = 0;
  let c1 = 0;
  for (const x of data) {
    c0 = (c0 + x) % 255;
    c1 = (c1 + c0) % 255;
  }
  assert.deepEqual([c0, c1], [0, 0]);
  assert.notEqual(sum >>> 8, 0);
  // A long run (more than one 4096-byte chunk) still zeroes both sums.
  const long = Buffer.alloc(10000);
  for (let i = 0; i < long.length; i++) long[i] = (i * 7 + 3) & 0xff;
  long.writeUInt16BE(0, 100);
  long.writeUInt16BE(fletcherChecksum(long, 0, long.length, 100), 100);
  c0 = 0;
  c1 = 0;
  for (const x of long) {
    c0 = (c0 + x) % 255;
    c1 = (c1 + c0) % 255;
  }
  assert.deepEqual([c0, c1], [0, 0]);
});

test('decode: Router-LSAs from BIRD and FRR', () => {
  const first = parse(F.LSA_BIRD_ROUTER_PTP);
  assert.deepEqual(first.header, { age: 3, type: 0x2001, linkStateId: 0, advertisingRouter: B, sequence: INITIAL_SEQUENCE_NUMBER, checksum: 0xd84b, length: 24 });
  assert.deepEqual(first.body, { kind: 'router', flags: RouterLsaFlag.E, options: 0x113, links: [] });
  const frr = parse(F.LSA_FRR_ROUTER_TRANSIT);
  assert.equal(frr.header.sequence, -0x7ffffffd); // 0x80000003
  assert.deepEqual(frr.body, {
    kind: 'router',
    flags: RouterLsaFlag.B | RouterLsaFlag.E,
    options: OspfOption.V6 | OspfOption.E | OspfOption.R,
    links: [
      { type: 1, metric: 10, interfaceId: 2, neighborInterfaceId: 2, neighborRouterId: B },
      { type: 2, metric: 10, interfaceId: 3, neighborInterfaceId: 3, neighborRouterId: B },
    ],
  });
  const bird = parse(F.LSA_BIRD_ROUTER_TRANSIT);
  assert.ok(bird.body.kind === 'router');
  assert.deepEqual(bird.body.links, [
    { type: 1, metric: 10, interfaceId: 2, neighborInterfaceId: 2, neighborRouterId: R },
    { type: 2, metric: 20, interfaceId: 3, neighborInterfaceId: 3, neighborRouterId: B },
  ]);
});

test('decode: Network-LSA and the Intra-Area-Prefix-LSA that references it (BIRD as DR)', () => {
  const net = parse(F.LSA_BIRD_NETWORK);
  assert.deepEqual([net.header.type, net.header.linkStateId], [LsType.Network, 3]);
  assert.deepEqual(net.body, { kind: 'network', options: 0x13, attachedRouters: [B, R] });
  const pfx = parse(F.LSA_BIRD_INTRA_NETWORK);
  assert.deepEqual(pfx.body, {
    kind: 'intra-area-prefix',
    referencedLsType: LsType.Network,
    referencedLinkStateId: 3,
    referencedAdvertisingRouter: B,
    prefixes: [{ length: 64, options: 0, prefix: ip('2001:db8:12::'), metric: 0 }],
  });
});

test('decode: Intra-Area-Prefix-LSAs referencing Router-LSAs (the /128 of each router)', () => {
  const bird = parse(F.LSA_BIRD_INTRA_ROUTER);
  assert.deepEqual(bird.body, {
    kind: 'intra-area-prefix',
    referencedLsType: LsType.Router,
    referencedLinkStateId: 0,
    referencedAdvertisingRouter: B,
    prefixes: [{ length: 128, options: PrefixOption.LA, prefix: ip('fd00:6d6f:6c74:b::1'), metric: 10 }],
  });
  const frr = parse(F.LSA_FRR_INTRA_ROUTER);
  assert.ok(frr.body.kind === 'intra-area-prefix');
  assert.deepEqual(frr.body.prefixes, [
    { length: 64, options: 0, prefix: ip('2001:db8:12::'), metric: 10 },
    { length: 128, options: 0, prefix: ip('fd00:6d6f:6c74:f::1'), metric: 10 },
  ]);
  assert.equal(frr.header.sequence, -0x7ffffffe);
});

test('decode: Link-LSAs with and without prefixes', () => {
  assert.deepEqual(parse(F.LSA_BIRD_LINK).body, { kind: 'link', priority: 1, options: 0x113, linkLocalAddress: ip('fe80::ff:fe00:b01'), prefixes: [] });
  assert.deepEqual(parse(F.LSA_FRR_LINK).body, { kind: 'link', priority: 1, options: 0x13, linkLocalAddress: ip('fe80::ff:fe00:f01'), prefixes: [] });
  assert.deepEqual(parse(F.LSA_BIRD_LINK_PREFIX).body, {
    kind: 'link',
    priority: 10,
    options: 0x113,
    linkLocalAddress: ip('fe80::ff:fe00:b02'),
    prefixes: [{ length: 64, options: 0, prefix: ip('2001:db8:12::') }],
  });
  const frr = parse(F.LSA_FRR_LINK_PREFIX);
  assert.equal(floodingScope(frr.header.type), FloodingScope.LinkLocal);
  assert.ok(frr.body.kind === 'link');
  assert.deepEqual(frr.body.prefixes, [{ length: 64, options: 0, prefix: ip('2001:db8:12::') }]);
});

test('decode: Inter-Area-Prefix-LSA from FRR as ABR', () => {
  assert.deepEqual(parse(F.LSA_FRR_INTER_AREA_PREFIX).body, {
    kind: 'inter-area-prefix',
    metric: 10,
    prefix: { length: 64, options: 0, prefix: ip('2001:db8:f1::') },
  });
});

test('decode: AS-External-LSAs (E1/E2, tag, forwarding address, MaxAge)', () => {
  const noPrefix = (length: number, p: string): { length: number; options: number; prefix: Buffer } => ({ length, options: 0, prefix: ip(p) });
  assert.deepEqual(parse(F.LSA_BIRD_EXTERNAL_E2_TAG).body, {
    kind: 'as-external',
    flags: AsExternalFlag.E | AsExternalFlag.T,
    metric: 100,
    prefix: noPrefix(48, '2001:db8:b00::'),
    referencedLsType: 0,
    externalRouteTag: 7,
  });
  assert.deepEqual(parse(F.LSA_BIRD_EXTERNAL_E1).body, {
    kind: 'as-external',
    flags: 0,
    metric: 30,
    prefix: noPrefix(48, '2001:db8:b01::'),
    referencedLsType: 0,
  });
  assert.deepEqual(parse(F.LSA_BIRD_EXTERNAL_FWADDR).body, {
    kind: 'as-external',
    flags: AsExternalFlag.F,
    metric: 30,
    prefix: noPrefix(48, '2001:db8:b01::'),
    referencedLsType: 0,
    forwardingAddress: ip('2001:db8:12::2'),
  });
  assert.deepEqual(parse(F.LSA_FRR_EXTERNAL_E1_TAG).body, {
    kind: 'as-external',
    flags: AsExternalFlag.T,
    metric: 25,
    prefix: noPrefix(48, '2001:db8:f00::'),
    referencedLsType: 0,
    externalRouteTag: 9,
  });
  const e2 = parse(F.LSA_FRR_EXTERNAL_E2);
  assert.ok(e2.body.kind === 'as-external');
  assert.deepEqual([e2.body.flags, e2.body.metric], [AsExternalFlag.E, 20]);
  assert.equal(floodingScope(e2.header.type), FloodingScope.As);
  const flushed = parse(F.LSA_BIRD_EXTERNAL_MAXAGE);
  assert.equal(flushed.header.age, MAX_AGE);
  assert.ok(isMaxAge(flushed.header.age));
});

test('encode: every captured LSA, header and body emitted into 0xFF-filled buffers, is byte for byte the same', () => {
  for (const [name, b] of F.LSAS) {
    const lsa = parse(b);
    assert.equal(LSA_HEADER_LEN + lsaBodyLength(lsa.body), b.length, name);
    const out = Buffer.alloc(b.length + 4, 0xff);
    emitLsaHeader(lsa.header, out, 2);
    assert.equal(emitLsaBody(lsa.body, out, 2 + LSA_HEADER_LEN), b.length - LSA_HEADER_LEN, name);
    assert.deepEqual(out.subarray(2, 2 + b.length), b, name);
    assert.deepEqual([out[0], out[1], out[b.length + 2], out[b.length + 3]], [0xff, 0xff, 0xff, 0xff], name);
    // buildLsa recomputes length and checksum to the same bytes; emitLsa copies raw.
    const built = buildLsa(lsa.header, lsa.body)!;
    assert.deepEqual(built.raw, b, name);
    assert.deepEqual(built.header, lsa.header, name);
    const copy = Buffer.alloc(b.length, 0xff);
    assert.equal(emitLsa(lsa, copy, 0), b.length);
    assert.deepEqual(copy, b);
  }
});

test('raw bytes are a copy: the packet buffer can be reused', () => {
  const b = Buffer.from(F.LSA_BIRD_LINK_PREFIX);
  const lsa = parse(b);
  b.fill(0);
  assert.deepEqual(lsa.raw, F.LSA_BIRD_LINK_PREFIX);
  assert.ok(lsa.body.kind === 'link');
  assert.deepEqual(lsa.body.linkLocalAddress, ip('fe80::ff:fe00:b02'));
});

test('round trip: built LSAs of every kind parse back to the same body', () => {
  const p = (s: string, length: number, options = 0): { length: number; options: number; prefix: Buffer } => ({ length, options, prefix: ip(s) });
  const bodies: [number, LsaBody][] = [
    [LsType.Router, { kind: 'router', flags: RouterLsaFlag.V | RouterLsaFlag.Nt, options: 0x13, links: [{ type: 4, metric: 65535, interfaceId: 0xffffffff, neighborInterfaceId: 1, neighborRouterId: 0xfffffffe }] }],
    [LsType.Network, { kind: 'network', options: 0xffffff, attachedRouters: [] }],
    [LsType.InterAreaPrefix, { kind: 'inter-area-prefix', metric: 0xffffff, prefix: p('::', 0) }],
    [LsType.InterAreaRouter, { kind: 'inter-area-router', options: 0x13, metric: 77, destinationRouterId: R }],
    [LsType.AsExternal, { kind: 'as-external', flags: AsExternalFlag.E | AsExternalFlag.F | AsExternalFlag.T, metric: 1, prefix: p('2001:db8::', 33, PrefixOption.P), referencedLsType: 0x2001, forwardingAddress: ip('2001:db8::1'), externalRouteTag: 0xffffffff, referencedLinkStateId: 42 }],
    [LsType.Nssa, { kind: 'nssa', flags: 0, metric: 5, prefix: p('fd00::', 8), referencedLsType: 0 }],
    [LsType.Link, { kind: 'link', priority: 0, options: 0, linkLocalAddress: ip('fe80::1'), prefixes: [p('2001:db8:1::', 127), p('2001:db8:2::1', 128, PrefixOption.LA), p('::', 0)] }],
    [LsType.IntraAreaPrefix, { kind: 'intra-area-prefix', referencedLsType: LsType.Router, referencedLinkStateId: 0, referencedAdvertisingRouter: B, prefixes: [{ ...p('fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268', 128, PrefixOption.LA), metric: 0 }] }],
    [0xa00c, { kind: 'unknown', body: Buffer.from('0102030405', 'hex') }],
    [0x0001, { kind: 'unknown', body: Buffer.alloc(0) }],
  ];
  for (const [type, body] of bodies) {
    const lsa = buildLsa({ age: 0, type, linkStateId: 0x01020304, advertisingRouter: B, sequence: 0x80000001 }, body)!;
    assert.equal(lsa.header.sequence, INITIAL_SEQUENCE_NUMBER);
    assert.equal(lsa.raw.length, lsa.header.length);
    const back = parse(lsa.raw);
    assert.deepEqual(back.body, body, type.toString(16));
    assert.deepEqual(back.header, lsa.header);
  }
});

test('prefix encoding: ceil(len/32) words, bits past the length dropped', () => {
  assert.deepEqual([0, 1, 32, 33, 64, 96, 127, 128].map(prefixWireLength), [4, 8, 8, 12, 12, 16, 20, 20]);
  // A /33 whose host bits are set on input: encoded and decoded with them cleared.
  const lsa = buildLsa(
    { age: 0, type: LsType.InterAreaPrefix, linkStateId: 1, advertisingRouter: B, sequence: 1 },
    { kind: 'inter-area-prefix', metric: 1, prefix: { length: 33, options: 0, prefix: ip('2001:db8:ffff:ffff::1') } },
  )!;
  assert.equal(lsa.raw.length, 20 + 4 + 12);
  assert.deepEqual(lsa.raw.subarray(28), Buffer.from('20010db880000000', 'hex'));
  const back = parse(lsa.raw);
  assert.ok(back.body.kind === 'inter-area-prefix');
  assert.deepEqual(back.body.prefix.prefix, ip('2001:db8:8000::'));
  // Received with stray bits: the repr is clean, the raw bytes are kept as sent.
  const stray = Buffer.from(lsa.raw);
  stray[stray.length - 1] = 0x7f;
  setLsaChecksum(stray, 0, stray.length);
  const s = parse(stray);
  assert.ok(s.body.kind === 'inter-area-prefix');
  assert.deepEqual(s.body.prefix.prefix, ip('2001:db8:8000::'));
  assert.deepEqual(s.raw, stray);
});

test('every truncation of every LSA is an error, never an exception', () => {
  for (const [name, b] of F.LSAS) {
    for (let n = 0; n < b.length; n++) {
      const r = parseLsa(b.subarray(0, n), 0, n);
      assert.equal(r.ok, false, `${name} cut to ${n}`);
      assert.equal(checkLsa(b, 0, n), LsaError.Truncated, `${name} cut to ${n}`);
    }
    assert.equal(parseLsaHeader(b, 0, 19).ok, false);
    assert.equal(parseLsaHeader(b, 0, 20).ok, true);
    // Bodies cut short with the Length field and checksum made consistent: a body error, not a crash.
    for (let n = LSA_HEADER_LEN; n < b.length; n++) {
      const x = Buffer.from(b.subarray(0, n));
      x.writeUInt16BE(n, LSA_LENGTH);
      setLsaChecksum(x, 0, n);
      const r = parseLsa(x, 0, n);
      const type = b.readUInt16BE(2);
      if (r.ok) {
        // Only bodies that can legitimately be shorter (a Router- or Network-LSA with fewer entries).
        assert.ok(type === LsType.Router || type === LsType.Network, `${name} cut to ${n} parsed`);
      } else {
        assert.match(r.error, /malformed LSA body/, `${name} cut to ${n}`);
      }
    }
  }
});

test('LSA checks: bad length field, bad checksum, body errors', () => {
  const b = F.LSA_FRR_LINK_PREFIX;
  const short = Buffer.from(b);
  short.writeUInt16BE(19, LSA_LENGTH);
  assert.equal(checkLsa(short, 0, short.length), LsaError.BadLength);
  const long = Buffer.from(b);
  long.writeUInt16BE(b.length + 4, LSA_LENGTH);
  assert.equal(checkLsa(long, 0, long.length), LsaError.Truncated);
  const sum = Buffer.from(b);
  sum[30]! ^= 0x40;
  assert.deepEqual(parseLsa(sum, 0, sum.length), { ok: false, error: 'LSA checksum mismatch' });
  assert.equal(parseLsa(sum, 0, sum.length, false).ok, true);
  // Trailing bytes after an LSA are not part of it.
  const padded = Buffer.concat([b, Buffer.alloc(7, 0xaa)]);
  const r = parseLsa(padded, 0, padded.length);
  assert.ok(r.ok);
  assert.deepEqual(r.repr.raw, b);
  // Structural body errors.
  const body = (type: number, hex: string): string => {
    const x = Buffer.from(hex, 'hex');
    const res = parseLsaBody(type, x, 0, x.length);
    return res.ok ? 'ok' : res.error;
  };
  assert.match(body(LsType.Router, '02000113' + '00'.repeat(15)), /4 \+ 16n/);
  assert.match(body(LsType.Network, '0000001300'), /4 \+ 4n/);
  assert.match(body(LsType.InterAreaRouter, '00'.repeat(11)), /12 bytes/);
  assert.match(body(LsType.InterAreaPrefix, '0000000a810000002001'), /prefix does not fit/); // length 129
  assert.match(body(LsType.AsExternal, '0200001e' + '30000000' + '20010db80b010000' + '00'.repeat(8)), /forwarding address/);
  assert.match(body(LsType.AsExternal, '0100001e' + '30000000' + '20010db80b010000'), /route tag/);
  assert.match(body(LsType.AsExternal, '0000001e' + '30002001' + '20010db80b010000'), /referenced link state ID/);
  assert.match(body(LsType.AsExternal, '0000001e' + '30000000' + '20010db80b010000' + '00000000'), /bytes after/);
  assert.match(body(LsType.Link, '01000013' + '00'.repeat(16) + '00000002' + '40000000' + '20010db800120000'), /prefix 1 of 2/);
  assert.match(body(LsType.Link, '01000013' + '00'.repeat(16) + 'ffffffff'), /prefix 0 of 4294967295/);
  assert.match(body(LsType.IntraAreaPrefix, '0001200100000000' + '0a000001'), /prefix 0 of 1/);
  assert.match(body(LsType.IntraAreaPrefix, '0000200100000000' + '0a000001' + '00000000'), /bytes after/);
  assert.equal(body(0x1234, ''), 'ok');
  assert.equal(parseLsaBody(LsType.Router, Buffer.alloc(4), 2, 4).ok, false);
});

test('newer instance (RFC 2328 §13.1): sequence, then checksum, then MaxAge, then age difference > 900', () => {
  const i = (sequence: number, checksum: number, age: number): LsaInstance => ({ sequence, checksum, age });
  const table: [string, LsaInstance, LsaInstance, number][] = [
    ['higher sequence', i(INITIAL_SEQUENCE_NUMBER + 1, 0x0001, 100), i(INITIAL_SEQUENCE_NUMBER, 0xffff, 0), 1],
    ['signed compare: 0x7fffffff > 0x80000001', i(MAX_SEQUENCE_NUMBER, 1, 0), i(INITIAL_SEQUENCE_NUMBER, 1, 0), 1],
    ['signed compare: 1 > -1', i(1, 1, 0), i(-1, 1, 0), 1],
    ['unsigned wire value normalized', i(0x80000002, 1, 0), i(INITIAL_SEQUENCE_NUMBER, 1, 0), 1],
    ['same sequence, higher checksum', i(5, 0x8000, 0), i(5, 0x7fff, 0), 1],
    ['same sequence and checksum, MaxAge wins', i(5, 9, MAX_AGE), i(5, 9, 0), 1],
    ['both MaxAge: same', i(5, 9, MAX_AGE), i(5, 9, MAX_AGE), 0],
    ['age over MaxAge counts as MaxAge', i(5, 9, 4000), i(5, 9, MAX_AGE), 0],
    ['ages 901 apart: the younger', i(5, 9, 100), i(5, 9, 1001), 1],
    ['ages exactly 900 apart: same', i(5, 9, 100), i(5, 9, 1000), 0],
    ['ages close: same', i(5, 9, 10), i(5, 9, 11), 0],
    ['DoNotAge bit ignored for the age', i(5, 9, 0x8000 | 10), i(5, 9, 10), 0],
  ];
  for (const [what, a, b, want] of table) {
    assert.equal(Math.sign(compareLsaInstances(a, b)), want, what);
    assert.equal(Math.sign(compareLsaInstances(b, a)), want === 0 ? 0 : -want, `${what} (swapped)`);
    assert.equal(isNewerInstance(a, b), want > 0, what);
  }
  // On the captures: FRR's later Router-LSA is newer than its first; a flushed copy is newer than the live one.
  const frrLsu = F.FRR_LSU.subarray(F.OSPF_OFF + 16 + 4 + 44); // FRR's first Router-LSA
  const first = parse(Buffer.from(frrLsu.subarray(0, frrLsu.readUInt16BE(18))));
  assert.ok(isNewerInstance(parse(F.LSA_FRR_ROUTER_TRANSIT).header, first.header));
  assert.ok(isNewerInstance(parse(F.LSA_BIRD_EXTERNAL_MAXAGE).header, parse(F.LSA_BIRD_EXTERNAL_E1).header));
});

test('age and sequence helpers', () => {
  assert.equal(nextSequenceNumber(INITIAL_SEQUENCE_NUMBER), -0x7ffffffe);
  assert.equal(nextSequenceNumber(-1), 0);
  assert.equal(nextSequenceNumber(0x7ffffffe), MAX_SEQUENCE_NUMBER);
  assert.equal(nextSequenceNumber(MAX_SEQUENCE_NUMBER), undefined);
  assert.equal(addAge(3599, 5), MAX_AGE);
  assert.equal(addAge(10, 1), 11);
  assert.equal(addAge(MAX_AGE, 1), MAX_AGE);
  assert.equal(effectiveAge(0x8000 | 3), 3);
  assert.equal(effectiveAge(0x7fff), MAX_AGE);
  assert.ok(isMaxAge(3600) && !isMaxAge(3599));
  const b = Buffer.from(F.LSA_BIRD_EXTERNAL_E1);
  setLsaAge(b, 0, MAX_AGE);
  assert.deepEqual(b, F.LSA_BIRD_EXTERNAL_MAXAGE);
});

test('AS-External emit: F and T follow the optional fields, whatever the flags say', () => {
  const base = { age: 0, type: LsType.AsExternal, linkStateId: 1, advertisingRouter: B, sequence: 1 };
  const prefix = { length: 0, options: 0, prefix: Buffer.alloc(16) };
  const liar = buildLsa(base, { kind: 'as-external', flags: 0xff, metric: 1, prefix, referencedLsType: 0 })!;
  assert.equal(liar.raw[20], 0xff & ~(AsExternalFlag.F | AsExternalFlag.T));
  assert.equal(liar.raw.length, 20 + 4 + 4);
  const tagged = buildLsa(base, { kind: 'as-external', flags: 0, metric: 1, prefix, referencedLsType: 0, externalRouteTag: 5 })!;
  assert.equal(tagged.raw[20], AsExternalFlag.T);
  assert.equal(tagged.raw.readUInt32BE(28), 5);
});

test('buildLsa refuses an LSA over 65535 bytes', () => {
  const links = Array.from({ length: 4096 }, () => ({ type: 1, metric: 1, interfaceId: 1, neighborInterfaceId: 1, neighborRouterId: 1 }));
  assert.equal(buildLsa({ age: 0, type: LsType.Router, linkStateId: 0, advertisingRouter: B, sequence: 1 }, { kind: 'router', flags: 0, options: 0, links }), undefined);
  assert.ok(buildLsa({ age: 0, type: LsType.Router, linkStateId: 0, advertisingRouter: B, sequence: 1 }, { kind: 'router', flags: 0, options: 0, links: links.slice(0, 4000) }));
});
