import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as F from '../fixtures/ospf-packets.js';
import {
  DD_FLAGS,
  DD_LSA_HEADERS,
  HELLO_NEIGHBORS,
  HELLO_OPTIONS,
  OSPF_AREA_ID,
  OSPF_CHECKSUM,
  OSPF_HEADER_LEN,
  OSPF_INSTANCE_ID,
  OSPF_PACKET_LENGTH,
  OSPF_ROUTER_ID,
  OSPF_TYPE,
  OspfError,
  checkOspfPacket,
  emitOspfPacket,
  ospfPacketBufferLen,
  ospfPacketLength,
  ospfPacketOptions,
  parseLsu,
  parseOspfPacket,
  setOspfChecksum,
  verifyOspfChecksum,
} from '../../src/controlplane/ospf/wire/packet.js';
import { buildLsa } from '../../src/controlplane/ospf/wire/lsa.js';
import { setLsaChecksum } from '../../src/controlplane/ospf/wire/fletcher.js';
import {
  DdFlag,
  LsType,
  OspfOption,
  PacketType,
  parseDottedQuad,
  type Lsa,
  type OspfPacket,
  type OspfPacketRepr,
} from '../../src/controlplane/ospf/wire/types.js';

const OFF = F.OSPF_OFF;
const rid = (s: string): number => parseDottedQuad(s)!;
const B = rid('10.0.0.1');
const R = rid('10.0.0.2');
const INITIAL = -0x7fffffff;

function parse(b: Buffer): OspfPacket {
  const r = parseOspfPacket(b, 0, OFF, b.length - OFF);
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.repr;
}

function src(b: Buffer): Buffer {
  return b.subarray(8, 24);
}
function dst(b: Buffer): Buffer {
  return b.subarray(24, 40);
}

test('offsets are the RFC 5340 A.3 layout', () => {
  assert.deepEqual(
    [OSPF_TYPE, OSPF_PACKET_LENGTH, OSPF_ROUTER_ID, OSPF_AREA_ID, OSPF_CHECKSUM, OSPF_INSTANCE_ID, OSPF_HEADER_LEN],
    [1, 2, 4, 8, 12, 14, 16],
  );
  assert.deepEqual([HELLO_OPTIONS, HELLO_NEIGHBORS, DD_FLAGS, DD_LSA_HEADERS], [5, 20, 7, 12]);
});

test('every captured packet passes the generic checks, with a right checksum', () => {
  for (const [name, b] of F.PLAIN_PACKETS) {
    assert.equal(checkOspfPacket(b, 0, OFF, b.length - OFF), 0, name);
    assert.ok(verifyOspfChecksum(b, 0, OFF, ospfPacketLength(b, OFF)), name);
    assert.equal(ospfPacketLength(b, OFF), b.length - OFF, name);
  }
});

test('decode: BIRD and FRR Hellos on the ptp link', () => {
  const first = parse(F.BIRD_HELLO_PTP_INIT);
  assert.equal(first.type, PacketType.Hello);
  assert.deepEqual(first.header, { version: 3, type: 1, packetLength: 36, routerId: B, areaId: 0, checksum: 0xe8b3, instanceId: 0 });
  assert.deepEqual(first.body, {
    interfaceId: 2,
    priority: 1,
    options: OspfOption.V6 | OspfOption.E | OspfOption.R | OspfOption.AF,
    helloInterval: 2,
    deadInterval: 8,
    designatedRouter: 0,
    backupDesignatedRouter: 0,
    neighbors: [],
  });
  const bird = parse(F.BIRD_HELLO_PTP);
  assert.equal(bird.type === PacketType.Hello && bird.body.neighbors[0], R);
  const frr = parse(F.FRR_HELLO_PTP);
  assert.equal(frr.header.routerId, R);
  assert.ok(frr.type === PacketType.Hello);
  assert.equal(frr.body.options, OspfOption.V6 | OspfOption.E | OspfOption.R);
  assert.deepEqual(frr.body.neighbors, [B]);
  assert.equal(frr.header.checksum, 0xdba9);
});

test('decode: Hellos on the broadcast link carry DR and BDR', () => {
  const bird = parse(F.BIRD_HELLO_BCAST_DR);
  assert.ok(bird.type === PacketType.Hello);
  assert.deepEqual(
    [bird.body.interfaceId, bird.body.priority, bird.body.designatedRouter, bird.body.backupDesignatedRouter],
    [3, 10, B, R],
  );
  const frr = parse(F.FRR_HELLO_BCAST_BDR);
  assert.ok(frr.type === PacketType.Hello);
  assert.deepEqual([frr.body.priority, frr.body.designatedRouter, frr.body.backupDesignatedRouter, frr.body.neighbors], [1, B, R, [B]]);
});

test('decode: Database Description exchange (FRR master, BIRD slave)', () => {
  const init = parse(F.FRR_DD_INIT);
  assert.ok(init.type === PacketType.DatabaseDescription);
  assert.deepEqual(init.body, { options: 0x13, interfaceMtu: 1500, flags: DdFlag.I | DdFlag.M | DdFlag.MS, ddSequence: 0x98a, lsaHeaders: [] });
  const slave = parse(F.BIRD_DD_SLAVE);
  assert.ok(slave.type === PacketType.DatabaseDescription);
  assert.equal(slave.body.flags, 0);
  assert.equal(slave.body.ddSequence, 0x98a);
  assert.deepEqual(
    slave.body.lsaHeaders.map((h) => [h.type, h.linkStateId, h.advertisingRouter, h.length]),
    [
      [LsType.AsExternal, 1, B, 40],
      [LsType.Router, 0, B, 24],
      [LsType.IntraAreaPrefix, 0, B, 52],
      [LsType.AsExternal, 2, B, 36],
      [LsType.Link, 2, B, 44],
    ],
  );
  assert.deepEqual(slave.body.lsaHeaders[0], { age: 2, type: 0x4005, linkStateId: 1, advertisingRouter: B, sequence: INITIAL, checksum: 0x83ee, length: 40 });
  const master = parse(F.FRR_DD_MASTER);
  assert.ok(master.type === PacketType.DatabaseDescription);
  assert.deepEqual([master.body.flags, master.body.ddSequence, master.body.lsaHeaders.length], [DdFlag.MS, 0x98b, 6]);
  assert.equal(master.body.lsaHeaders[3]!.sequence, -0x7ffffffe); // 0x80000002
  const empty = parse(F.BIRD_DD_SLAVE_EMPTY);
  assert.ok(empty.type === PacketType.DatabaseDescription);
  assert.deepEqual([empty.body.flags, empty.body.ddSequence, empty.body.lsaHeaders], [0, 0x98b, []]);
  const bcast = parse(F.BIRD_DD_INIT_UNICAST);
  assert.ok(bcast.type === PacketType.DatabaseDescription);
  assert.equal(bcast.body.flags, 7);
  assert.equal(bcast.body.options, 0x113);
});

test('decode: LS Requests', () => {
  const frr = parse(F.FRR_LSR);
  assert.ok(frr.type === PacketType.LinkStateRequest);
  assert.deepEqual(frr.body.requests, [
    { lsType: 0x0008, linkStateId: 2, advertisingRouter: B },
    { lsType: 0x2001, linkStateId: 0, advertisingRouter: B },
    { lsType: 0x2009, linkStateId: 0, advertisingRouter: B },
    { lsType: 0x4005, linkStateId: 1, advertisingRouter: B },
    { lsType: 0x4005, linkStateId: 2, advertisingRouter: B },
  ]);
  const bird = parse(F.BIRD_LSR);
  assert.ok(bird.type === PacketType.LinkStateRequest);
  assert.equal(bird.body.requests.length, 6);
  assert.deepEqual(bird.body.requests[2], { lsType: 0x2003, linkStateId: 1, advertisingRouter: R });
  const one = parse(F.FRR_LSR_UNICAST);
  assert.ok(one.type === PacketType.LinkStateRequest);
  assert.deepEqual(one.body.requests, [{ lsType: 8, linkStateId: 3, advertisingRouter: B }]);
});

test('decode: LS Updates from BIRD and FRR, every LSA parsed, bytes kept', () => {
  const bird = parse(F.BIRD_LSU);
  assert.ok(bird.type === PacketType.LinkStateUpdate);
  assert.deepEqual(bird.body.malformed, []);
  assert.deepEqual(
    bird.body.lsas.map((l) => [l.body.kind, l.header.type, l.header.age]),
    [
      ['link', 0x0008, 2],
      ['router', 0x2001, 3],
      ['intra-area-prefix', 0x2009, 3],
      ['as-external', 0x4005, 3],
      ['as-external', 0x4005, 2],
    ],
  );
  assert.deepEqual(bird.body.lsas[3]!.raw, F.LSA_BIRD_EXTERNAL_E2_TAG);
  const frr = parse(F.FRR_LSU);
  assert.ok(frr.type === PacketType.LinkStateUpdate);
  assert.deepEqual(
    frr.body.lsas.map((l) => l.body.kind),
    ['link', 'router', 'inter-area-prefix', 'intra-area-prefix', 'as-external', 'as-external'],
  );
  assert.deepEqual(frr.body.malformed, []);
  const maxAge = parse(F.BIRD_LSU_MAXAGE);
  assert.ok(maxAge.type === PacketType.LinkStateUpdate);
  assert.deepEqual(maxAge.body.lsas.map((l) => l.header.age), [3600, 3600]);
  const fw = parse(F.BIRD_LSU_FWADDR);
  assert.ok(fw.type === PacketType.LinkStateUpdate);
  assert.equal(fw.body.lsas.length, 7);
  assert.deepEqual(
    fw.body.lsas.map((l) => l.header.advertisingRouter),
    [B, B, rid('10.0.0.3'), B, rid('10.0.0.3'), B, B],
  );
});

test('decode: LS Acks, multicast and unicast', () => {
  const bird = parse(F.BIRD_LSACK);
  assert.ok(bird.type === PacketType.LinkStateAck);
  assert.equal(bird.body.lsaHeaders.length, 6);
  assert.deepEqual(bird.body.lsaHeaders[2], { age: 2, type: 0x2003, linkStateId: 1, advertisingRouter: R, sequence: INITIAL, checksum: 0x9571, length: 36 });
  const uni = parse(F.FRR_LSACK_UNICAST);
  assert.ok(uni.type === PacketType.LinkStateAck);
  assert.equal(dst(F.FRR_LSACK_UNICAST)[0], 0xfe);
  assert.deepEqual(uni.body.lsaHeaders.map((h) => [h.type, h.linkStateId, h.advertisingRouter]), [
    [0x2002, 3, B],
    [0x2009, 3, B],
  ]);
  const maxAge = parse(F.BIRD_LSACK_MAXAGE);
  assert.ok(maxAge.type === PacketType.LinkStateAck);
  assert.equal(maxAge.body.lsaHeaders[0]!.age, 3600);
});

test('encode: every captured packet re-emitted into a 0xFF-filled buffer is byte for byte the same', () => {
  for (const [name, b] of F.PLAIN_PACKETS) {
    const p = parse(b);
    const len = ospfPacketBufferLen(p);
    assert.equal(len, b.length - OFF, name);
    const out = Buffer.alloc(len + 8, 0xff);
    assert.equal(emitOspfPacket(p, out, 4, src(b), dst(b)), len, name);
    assert.deepEqual(out.subarray(4, 4 + len), b.subarray(OFF), name);
    assert.ok(out.subarray(0, 4).every((x) => x === 0xff) && out.subarray(4 + len).every((x) => x === 0xff), `${name}: wrote outside`);
  }
});

test('encode: a packet built from plain reprs, then parsed back', () => {
  const lsa = buildLsa(
    { age: 1, type: LsType.Router, linkStateId: 0, advertisingRouter: B, sequence: INITIAL },
    { kind: 'router', flags: 0, options: 0x13, links: [{ type: 1, metric: 10, interfaceId: 7, neighborInterfaceId: 9, neighborRouterId: R }] },
  )!;
  const header = { routerId: B, areaId: 0, instanceId: 0 };
  const packets: OspfPacketRepr[] = [
    {
      type: PacketType.Hello,
      header,
      body: { interfaceId: 7, priority: 1, options: 0x13, helloInterval: 10, deadInterval: 40, designatedRouter: 0, backupDesignatedRouter: 0, neighbors: [R, 0xffffffff] },
    },
    { type: PacketType.DatabaseDescription, header, body: { options: 0x13, interfaceMtu: 1380, flags: 7, ddSequence: 0xfffffffe, lsaHeaders: [lsa.header] } },
    { type: PacketType.LinkStateRequest, header, body: { requests: [{ lsType: 0x2001, linkStateId: 0, advertisingRouter: R }] } },
    { type: PacketType.LinkStateUpdate, header, body: { lsas: [lsa, lsa] } },
    { type: PacketType.LinkStateAck, header: { ...header, instanceId: 5, areaId: 0x01020304 }, body: { lsaHeaders: [lsa.header] } },
  ];
  const s = F.BIRD_HELLO_PTP.subarray(8, 24);
  const d = F.BIRD_HELLO_PTP.subarray(24, 40);
  for (const p of packets) {
    const ip = Buffer.alloc(40 + ospfPacketBufferLen(p), 0xff);
    ip.set(s, 8);
    ip.set(d, 24);
    const n = emitOspfPacket(p, ip, 40, s, d);
    const r = parseOspfPacket(ip, 0, 40, n);
    assert.ok(r.ok, r.ok ? '' : r.error);
    assert.equal(r.repr.type, p.type);
    assert.deepEqual({ routerId: r.repr.header.routerId, areaId: r.repr.header.areaId, instanceId: r.repr.header.instanceId }, p.header);
    if (r.repr.type === PacketType.LinkStateUpdate) {
      assert.deepEqual(r.repr.body.lsas.map((l: Lsa) => l.raw), [lsa.raw, lsa.raw]);
      assert.deepEqual(r.repr.body.lsas[0]!.body, lsa.body);
    } else {
      assert.deepEqual(r.repr.body, p.body);
    }
  }
});

test('encode: checksum: false writes 0, setOspfChecksum fixes it', () => {
  const b = F.FRR_LSR;
  const p = parse(b);
  const out = Buffer.alloc(b.length);
  b.copy(out, 0, 0, OFF);
  emitOspfPacket(p, out, OFF, src(b), dst(b), { checksum: false });
  assert.equal(out.readUInt16BE(OFF + OSPF_CHECKSUM), 0);
  assert.equal(checkOspfPacket(out, 0, OFF, out.length - OFF), OspfError.BadChecksum);
  assert.equal(checkOspfPacket(out, 0, OFF, out.length - OFF, false), 0);
  setOspfChecksum(out, OFF, src(b), dst(b));
  assert.deepEqual(out, b);
});

test('every truncation of every packet is an error, never an exception', () => {
  for (const [name, b] of [...F.PLAIN_PACKETS, ...F.AUTH_PACKETS]) {
    const verify = !name.includes('AUTH');
    for (let n = 0; n < b.length - OFF; n++) {
      const cut = Buffer.from(b.subarray(0, OFF + n));
      const r = parseOspfPacket(cut, 0, OFF, n, verify);
      if (verify || n < ospfPacketLength(b, OFF)) assert.equal(r.ok, false, `${name} cut to ${n}`);
      assert.ok(checkOspfPacket(cut, 0, OFF, n, verify) < 0 || !verify, `${name} cut to ${n}`);
    }
    // A Packet Length that claims more than the bytes there.
    assert.equal(checkOspfPacket(b, 0, OFF, ospfPacketLength(b, OFF) - 1, false), OspfError.BadLength, name);
  }
});

test('generic checks: version, length, type, checksum, bounds', () => {
  const b = Buffer.from(F.BIRD_HELLO_PTP);
  const len = b.length - OFF;
  const tweak = (at: number, v: number, fn: (x: Buffer) => void): void => {
    const x = Buffer.from(b);
    x[OFF + at] = v;
    fn(x);
  };
  tweak(0, 2, (x) => assert.equal(checkOspfPacket(x, 0, OFF, len), OspfError.BadVersion));
  tweak(OSPF_TYPE, 0, (x) => assert.equal(checkOspfPacket(x, 0, OFF, len), OspfError.UnknownType));
  tweak(OSPF_TYPE, 6, (x) => assert.equal(checkOspfPacket(x, 0, OFF, len), OspfError.UnknownType));
  tweak(OSPF_TYPE, 0xff, (x) => {
    const r = parseOspfPacket(x, 0, OFF, len);
    assert.deepEqual(r, { ok: false, error: 'unknown OSPF packet type' });
  });
  // Packet Length: over the bytes, under the header, under the Hello minimum.
  for (const pl of [len + 4, 0, 15, 16, 35]) {
    const x = Buffer.from(b);
    x.writeUInt16BE(pl, OFF + OSPF_PACKET_LENGTH);
    assert.equal(checkOspfPacket(x, 0, OFF, len), OspfError.BadLength, `length ${pl}`);
  }
  // A flipped bit anywhere in the packet or in the addresses breaks the checksum.
  for (const at of [OFF + 4, OFF + 12, OFF + 20, b.length - 1, 8, 39]) {
    const x = Buffer.from(b);
    x[at]! ^= 0x01;
    assert.equal(checkOspfPacket(x, 0, OFF, len), OspfError.BadChecksum, `bit at ${at}`);
  }
  assert.equal(checkOspfPacket(b, 0, OFF, len + 1), OspfError.Truncated);
  assert.equal(checkOspfPacket(b, 0, -1, len), OspfError.Truncated);
  assert.equal(checkOspfPacket(b.subarray(OFF), -1, 0, len), OspfError.NoIpv6Header);
  assert.equal(checkOspfPacket(b.subarray(OFF), -1, 0, len, false), 0);
  // Bytes after Packet Length (an LLS block or trailer) are allowed.
  const longer = Buffer.concat([b, Buffer.alloc(8, 0xee)]);
  longer.writeUInt16BE(len + 8, 4);
  assert.equal(checkOspfPacket(longer, 0, OFF, len + 8), 0);
});

test('bodies that do not match their type are errors', () => {
  const bad = (b: Buffer, newLength: number): void => {
    const x = Buffer.concat([b, Buffer.alloc(16)]);
    x.writeUInt16BE(newLength, OFF + OSPF_PACKET_LENGTH);
    const r = parseOspfPacket(x, 0, OFF, x.length - OFF, false);
    assert.equal(r.ok, false, `length ${newLength}`);
    assert.match(r.ok ? '' : r.error, /malformed OSPF packet body/);
  };
  bad(F.BIRD_HELLO_PTP, 42); // neighbor list not a multiple of 4
  bad(F.BIRD_DD_SLAVE, 128 + 8); // LSA headers not a multiple of 20
  bad(F.FRR_LSR, 76 + 4); // not a multiple of 12
  bad(F.FRR_LSACK, 116 + 4); // not a multiple of 20
});

test('LS Update: malformed LSAs are reported one by one, the others kept', () => {
  const b = Buffer.from(F.BIRD_LSU);
  const body = OFF + OSPF_HEADER_LEN;
  // Corrupt the checksum-covered body of LSA 1 (the Router-LSA at body + 4 + 44) and the body of LSA 3.
  // (Not ^= 0xff on a zero byte: 0x00 <-> 0xff is the one change a mod-255 Fletcher sum cannot see.)
  b[body + 4 + 44 + 21]! ^= 0x10;
  const lsa3 = body + 4 + 44 + 24 + 52;
  b[lsa3 + 24]! ^= 0x01;
  const r = parseLsu(b, body, b.length - body);
  assert.ok(r.ok);
  assert.deepEqual(r.repr.lsas.map((l) => l.body.kind), ['link', 'intra-area-prefix', 'as-external']);
  assert.deepEqual(
    r.repr.malformed.map((m) => [m.index, m.offset, m.error, m.header?.type]),
    [
      [1, 16 + 4 + 44, 'LSA checksum mismatch', 0x2001],
      [3, 16 + 4 + 44 + 24 + 52, 'LSA checksum mismatch', 0x4005],
    ],
  );
  // A well-checksummed LSA with a broken body (an AS-External-LSA prefix length of 200).
  const ext = buildLsa(
    { age: 1, type: LsType.AsExternal, linkStateId: 9, advertisingRouter: B, sequence: INITIAL },
    { kind: 'as-external', flags: 0, metric: 1, prefix: { length: 48, options: 0, prefix: Buffer.alloc(16) }, referencedLsType: 0 },
  )!;
  const broken = Buffer.from(ext.raw);
  broken[24] = 200;
  setLsaChecksum(broken, 0, broken.length);
  const lsu = Buffer.concat([Buffer.from([0, 0, 0, 2]), broken, ext.raw]);
  const r2 = parseLsu(lsu, 0, lsu.length);
  assert.ok(r2.ok);
  assert.equal(r2.repr.lsas.length, 1);
  assert.equal(r2.repr.malformed.length, 1);
  assert.match(r2.repr.malformed[0]!.error, /malformed LSA body/);
});

test('LS Update: a bad LSA length ends the walk; # LSAs larger than the body is reported once', () => {
  const b = F.FRR_LSU;
  const body = OFF + OSPF_HEADER_LEN;
  const bodyLen = b.length - body;
  // LSA 2's Length set to 4 (under 20): LSAs 0 and 1 kept, the walk stops.
  const x = Buffer.from(b);
  x.writeUInt16BE(4, body + 4 + 44 + 24 + 18);
  const r = parseLsu(x, body, bodyLen);
  assert.ok(r.ok);
  assert.equal(r.repr.lsas.length, 2);
  assert.deepEqual(r.repr.malformed.map((m) => [m.index, m.error]), [[2, 'LSA length field under 20']]);
  // LSA 5's Length runs past the end.
  const y = Buffer.from(b);
  y.writeUInt16BE(200, body + bodyLen - 36 + 18);
  const r2 = parseLsu(y, body, bodyLen);
  assert.ok(r2.ok);
  assert.equal(r2.repr.lsas.length, 5);
  assert.deepEqual(r2.repr.malformed.map((m) => [m.index, m.error]), [[5, 'LSA runs past the end of the LS Update']]);
  // # LSAs = 0xffffffff with six LSAs there.
  const z = Buffer.from(b);
  z.writeUInt32BE(0xffffffff, body);
  const r3 = parseLsu(z, body, bodyLen);
  assert.ok(r3.ok);
  assert.equal(r3.repr.lsas.length, 6);
  assert.deepEqual(r3.repr.malformed.map((m) => [m.index, m.offset]), [[6, b.length - OFF]]);
  // # LSAs = 2: the rest is ignored.
  const w = Buffer.from(b);
  w.writeUInt32BE(2, body);
  const r4 = parseLsu(w, body, bodyLen);
  assert.ok(r4.ok);
  assert.deepEqual([r4.repr.lsas.length, r4.repr.malformed.length], [2, 0]);
});

test('random bytes and random corruptions never throw', () => {
  let seed = 12345;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  for (const [, b] of F.PLAIN_PACKETS) {
    for (let i = 0; i < 200; i++) {
      const x = Buffer.from(b);
      for (let k = 0; k < 1 + (rnd() % 4); k++) x[OFF + (rnd() % (x.length - OFF))] = rnd() & 0xff;
      parseOspfPacket(x, 0, OFF, x.length - OFF, false);
      ospfPacketOptions(x, OFF);
    }
  }
  for (let i = 0; i < 2000; i++) {
    const n = rnd() % 80;
    const x = Buffer.alloc(n);
    for (let k = 0; k < n; k++) x[k] = rnd() & 0xff;
    if (n > 1) x[0] = 3;
    if (n > 2) x[1] = 1 + (rnd() % 5);
    parseOspfPacket(x, -1, 0, n, false);
  }
});
