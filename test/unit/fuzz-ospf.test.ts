/**
 * Fuzzing the OSPFv3 decoders (src/controlplane/ospf/wire/, codec.ts, auth.ts) on random bytes and on the
 * captured BIRD/FRR packets of test/fixtures/ospf-packets.ts, flipped, truncated, extended and with their
 * length and count fields moved (then, half the time, with the LSA and packet checksums made right again
 * so the body parsers are reached). The rules:
 *
 *   - nothing throws: a packet decodes or comes back { ok: false, error } with a message;
 *   - what decodes re-encodes to the same bytes where the format is canonical (reserved bits zero, no
 *     bytes past the LSAs of an LS Update), and otherwise to bytes that decode to the same repr;
 *   - an LSA's body takes exactly its Length; buildLsa of a decoded LSA decodes to the same LSA;
 *   - an authentication trailer verifies only when no byte it covers changed;
 *   - an OspfInstance with a Full neighbor, fed mutated packets from that neighbor, counts drops and
 *     never reaches its internal-error catch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as F from '../fixtures/ospf-packets.js';
import { fuzz, mutatedFrom, mutations, mutate } from '../helpers/fuzz.js';
import { SimNet } from '../helpers/ospf-net.js';
import {
  OSPF_HEADER_LEN,
  computeOspfChecksum,
  emitOspfPacket,
  ospfPacketBufferLen,
  parseOspfPacket,
} from '../../src/controlplane/ospf/wire/packet.js';
import { LSA_HEADER_LEN, buildLsa, lsaBodyLength, parseLsa } from '../../src/controlplane/ospf/wire/lsa.js';
import { setLsaChecksum } from '../../src/controlplane/ospf/wire/fletcher.js';
import { authTrailerOffset, parseAuthTrailer, verifyAuthTrailer, type AuthKey } from '../../src/controlplane/ospf/wire/auth-trailer.js';
import { decodePacket, verifyAuth } from '../../src/controlplane/ospf/codec.js';
import { LsType, PacketType, type Lsa, type OspfPacket } from '../../src/controlplane/ospf/wire/types.js';
import type { ParseResult } from '../../src/dataplane/wire/ipv6.js';

const OFF = F.OSPF_OFF;

interface Base {
  name: string;
  /** The OSPF packet (IPv6 payload). */
  bytes: Buffer;
  src: Buffer;
  dst: Buffer;
  /** 16-bit offsets worth moving: Packet Length, # LSAs, LSA Lengths, prefix counts. */
  fields: number[];
}

/** The 16-bit fields of an OSPF packet a mutation should aim at. */
function fieldsOf(p: Buffer): number[] {
  const fields = [2];
  const type = p[1];
  const len = Math.min(p.readUInt16BE(2), p.length);
  const lsaFields = (at: number) => {
    fields.push(at + 18);
    const t = p.readUInt16BE(at + 2);
    if (t === LsType.Link) fields.push(at + 20 + 22);
    if (t === LsType.IntraAreaPrefix) fields.push(at + 20);
  };
  if (type === PacketType.LinkStateUpdate) {
    fields.push(16, 18);
    for (let at = 20; at + 20 <= len; ) {
      lsaFields(at);
      const l = p.readUInt16BE(at + 18);
      if (l < 20) break;
      at += l;
    }
  } else if (type === PacketType.DatabaseDescription || type === PacketType.LinkStateAck) {
    for (let at = type === PacketType.DatabaseDescription ? 28 : 16; at + 20 <= len; at += 20) fields.push(at + 18);
  }
  return fields;
}

function base(name: string, whole: Buffer): Base {
  const bytes = Buffer.from(whole.subarray(OFF));
  return { name, bytes, src: Buffer.from(whole.subarray(8, 24)), dst: Buffer.from(whole.subarray(24, 40)), fields: fieldsOf(bytes) };
}

const PLAIN = F.PLAIN_PACKETS.map(([n, b]) => base(n, b));
const AUTHED = [...F.AUTH_PACKETS.map(([n, b]) => base(n, b)), ...F.INTEROP_PACKETS.map(([n, b]) => base(n, b))];
const ALL = [...PLAIN, ...AUTHED];

/** Makes the checksums right again: each LSA of an LS Update that fits, then the packet's. */
function fixChecksums(p: Buffer, src: Buffer, dst: Buffer): Buffer {
  if (p.length < OSPF_HEADER_LEN) return p;
  const length = p.readUInt16BE(2);
  if (p[1] === PacketType.LinkStateUpdate) {
    const end = Math.min(length, p.length);
    for (let at = 20; at + 20 <= end; ) {
      const l = p.readUInt16BE(at + 18);
      if (l < 20 || at + l > end) break;
      setLsaChecksum(p, at, l);
      at += l;
    }
  }
  if (length >= OSPF_HEADER_LEN && length <= p.length) {
    p.writeUInt16BE(0, 12);
    p.writeUInt16BE(computeOspfChecksum(p, 0, length, src, dst), 12);
  }
  return p;
}

/** The received bytes as the emitter would write them: checksum 0 and reserved fields zero. */
function canonical(p: Buffer, pkt: OspfPacket): Buffer {
  const c = Buffer.from(p.subarray(0, pkt.header.packetLength));
  c.writeUInt16BE(0, 12);
  c[15] = 0;
  if (pkt.type === PacketType.DatabaseDescription) {
    c[16] = 0;
    c[22] = 0;
    c[23]! &= 0x07;
  }
  if (pkt.type === PacketType.LinkStateRequest) for (let at = 16; at < c.length; at += 12) c.writeUInt16BE(0, at);
  return c;
}

function emit(pkt: OspfPacket, src: Buffer, dst: Buffer, checksum: boolean): Buffer {
  const out = Buffer.alloc(ospfPacketBufferLen(pkt), 0xff);
  assert.equal(emitOspfPacket(pkt, out, 0, src, dst, { checksum }), out.length);
  return out;
}

/** The rule for one decode of the OSPF packet `p`. */
function checkPacket(p: Buffer, r: ParseResult<OspfPacket>, src: Buffer, dst: Buffer): void {
  if (!r.ok) {
    assert.equal(typeof r.error, 'string');
    assert.ok(r.error.length > 0);
    return;
  }
  const pkt = r.repr;
  assert.ok(pkt.header.packetLength >= OSPF_HEADER_LEN && pkt.header.packetLength <= p.length);
  assert.equal(pkt.type, pkt.header.type);
  const out = emit(pkt, src, dst, false);
  if (pkt.type === PacketType.LinkStateUpdate) {
    const b = pkt.body;
    for (const l of b.lsas) checkLsa(l.raw, { ok: true, repr: l }, false);
    for (const m of b.malformed) assert.ok(typeof m.error === 'string' && m.error.length > 0 && Number.isInteger(m.index) && m.offset >= OSPF_HEADER_LEN);
    const used = b.lsas.reduce((n, l) => n + l.raw.length, OSPF_HEADER_LEN + 4);
    if (b.malformed.length === 0 && used === pkt.header.packetLength) {
      assert.deepEqual(out, canonical(p, pkt));
    } else {
      // Not canonical (LSAs dropped or bytes after them): the re-encoding carries exactly the good LSAs.
      const again = parseOspfPacket(out, -1, 0, out.length, false);
      assert.ok(again.ok && again.repr.type === PacketType.LinkStateUpdate);
      assert.deepEqual(again.repr.body.lsas, b.lsas);
      assert.deepEqual(again.repr.body.malformed, []);
    }
  } else {
    assert.equal(out.length, pkt.header.packetLength);
    assert.deepEqual(out, canonical(p, pkt));
  }
}

/** The rule for one parseLsa of `b` (the whole of `b` offered). */
function checkLsa(b: Buffer, r: ParseResult<Lsa>, verified: boolean): void {
  if (!r.ok) {
    assert.ok(typeof r.error === 'string' && r.error.length > 0);
    return;
  }
  const { header, body, raw } = r.repr;
  assert.ok(header.length >= LSA_HEADER_LEN && header.length <= b.length);
  assert.equal(raw.length, header.length);
  assert.deepEqual(raw, b.subarray(0, header.length));
  assert.equal(lsaBodyLength(body), header.length - LSA_HEADER_LEN, 'the body takes exactly the LSA Length');
  const { checksum: _c, length: _l, ...fields } = header;
  const rebuilt = buildLsa(fields, body);
  assert.ok(rebuilt);
  assert.equal(rebuilt.raw.length, header.length);
  const again = parseLsa(rebuilt.raw, 0, rebuilt.raw.length, true);
  assert.ok(again.ok, 'buildLsa of a decoded LSA decodes');
  assert.deepEqual(again.repr.body, body);
  assert.deepEqual({ ...again.repr.header, checksum: 0 }, { ...header, checksum: 0 });
  if (verified && rebuilt.raw.equals(raw)) assert.equal(rebuilt.header.checksum, header.checksum);
}

test('the captured packets decode and re-encode to the same bytes, checksum included', () => {
  for (const b of PLAIN) {
    const r = parseOspfPacket(b.bytes, -1, 0, b.bytes.length, false);
    assert.ok(r.ok, b.name);
    assert.deepEqual(emit(r.repr, b.src, b.dst, true), b.bytes.subarray(0, r.repr.header.packetLength), b.name);
    checkPacket(b.bytes, r, b.src, b.dst);
  }
  for (const [name, l] of F.LSAS) {
    const r = parseLsa(l, 0, l.length);
    assert.ok(r.ok, name);
    const { checksum: _c, length: _l, ...fields } = r.repr.header;
    assert.deepEqual(buildLsa(fields, r.repr.body)!.raw, l, name);
  }
});

test('property: random bytes never throw; what decodes re-encodes', () => {
  const src = PLAIN[0]!.src;
  const dst = PLAIN[0]!.dst;
  const packet = fc.tuple(fc.constantFrom(1, 2, 3, 4, 5), fc.uint8Array({ maxLength: 160 })).map(([type, rest]) => {
    // Mostly version 3, a known type and a Packet Length that fits, so the body parsers get the bytes.
    const p = Buffer.alloc(OSPF_HEADER_LEN + rest.length);
    p.set(rest, OSPF_HEADER_LEN);
    p[0] = 3;
    p[1] = type;
    p.writeUInt16BE(p.length, 2);
    return p;
  });
  fc.assert(
    fc.property(fc.oneof(packet, fc.uint8Array({ maxLength: 120 }).map((a) => Buffer.from(a))), fc.boolean(), (p, fix) => {
      if (fix) fixChecksums(p, src, dst);
      checkPacket(p, parseOspfPacket(p, -1, 0, p.length, false), src, dst);
      const whole = Buffer.concat([Buffer.alloc(8), src, dst, p]);
      checkPacket(p, parseOspfPacket(whole, 0, OFF, p.length, true), src, dst);
      const d = decodePacket(p, src, dst, { checksum: true });
      checkPacket(p, d, src, dst);
    }),
    fuzz(4),
  );
});

test('property: mutated captured packets never throw; what decodes re-encodes', () => {
  fc.assert(
    fc.property(mutatedFrom(ALL), fc.boolean(), ({ base: b, bytes }, fix) => {
      if (fix) fixChecksums(bytes, b.src, b.dst);
      checkPacket(bytes, parseOspfPacket(bytes, -1, 0, bytes.length, false), b.src, b.dst);
      const d = decodePacket(bytes, b.src, b.dst, { checksum: true });
      checkPacket(bytes, d, b.src, b.dst);
      if (fix && bytes.length >= OSPF_HEADER_LEN && bytes.readUInt16BE(2) <= bytes.length && bytes[0] === 3) {
        // The checksum was made right: a refusal is about the packet, not the checksum.
        if (!d.ok) assert.notEqual(d.error, 'OSPF checksum mismatch');
      }
    }),
    fuzz(6),
  );
});

const LSA_BASES = F.LSAS.map(([name, bytes]) => ({ name, bytes, fields: [18, ...(bytes.readUInt16BE(2) === LsType.Link ? [42] : []), ...(bytes.readUInt16BE(2) === LsType.IntraAreaPrefix ? [20] : [])] }));

test('property: LSAs (random and mutated captured ones) decode or are refused; decoded ones rebuild', () => {
  const lsaTypes = [0x2001, 0x2002, 0x2003, 0x2004, 0x4005, 0x2007, 0x0008, 0x2009, 0x1234];
  const random = fc.tuple(fc.constantFrom(...lsaTypes), fc.uint8Array({ maxLength: 120 })).map(([type, rest]) => {
    const b = Buffer.alloc(LSA_HEADER_LEN + rest.length);
    b.set(rest, LSA_HEADER_LEN);
    b.writeUInt16BE(type, 2);
    b.writeUInt16BE(b.length, 18);
    return b;
  });
  fc.assert(
    fc.property(
      fc.oneof(random, mutatedFrom(LSA_BASES).map((m) => m.bytes), fc.uint8Array({ maxLength: 60 }).map((a) => Buffer.from(a))),
      fc.boolean(),
      (b, fix) => {
        if (fix && b.length >= LSA_HEADER_LEN) {
          const l = b.readUInt16BE(18);
          if (l >= LSA_HEADER_LEN && l <= b.length) setLsaChecksum(b, 0, l);
        }
        checkLsa(b, parseLsa(b, 0, b.length, true), true);
        checkLsa(b, parseLsa(b, 0, b.length, false), false);
      },
    ),
    fuzz(8),
  );
});

interface AuthBase extends Base {
  key: AuthKey;
  /** Where the verified trailer ends: every byte before it is covered by the digest. */
  end: number;
}

const AUTH_BASES: AuthBase[] = AUTHED.flatMap((b) => {
  for (const le of [false, true]) {
    const key: AuthKey = { id: F.AUTH_KEY_ID, secret: F.AUTH_KEY, algorithm: 'sha256', ...(le ? { protocolIdLittleEndian: true } : {}) };
    const r = verifyAuthTrailer(b.bytes, 0, b.bytes.length, b.src, key);
    if (r.ok) return [{ ...b, key, end: authTrailerOffset(b.bytes, 0, b.bytes.length) + r.repr.authLength }];
  }
  return [];
});

test('property: authentication trailers: never throw, and verify only when no covered byte changed', () => {
  // FRR_AUTH_HELLO verifies with no key (BIRD could not either): the others are the bases.
  assert.ok(AUTH_BASES.length >= AUTHED.length - 1, AUTH_BASES.map((b) => b.name).join(' '));
  fc.assert(
    fc.property(mutatedFrom(AUTH_BASES), ({ base: b, bytes }) => {
      assert.ok(authTrailerOffset(bytes, 0, bytes.length) >= -1);
      const t = parseAuthTrailer(bytes, 0, bytes.length);
      if (!t.ok) assert.ok(t.error.length > 0);
      const v = verifyAuthTrailer(bytes, 0, bytes.length, b.src, b.key);
      const c = verifyAuth(bytes, b.src, { keyId: b.key.id, key: Buffer.from(b.key.secret), protocolIdLittleEndian: b.key.protocolIdLittleEndian ?? false });
      assert.equal(c.ok, v.ok);
      if (v.ok) {
        assert.ok(bytes.length >= b.end && bytes.subarray(0, b.end).equals(b.bytes.subarray(0, b.end)), 'a changed packet verified');
        assert.equal(c.sequence, v.repr.sequence);
      } else {
        assert.ok(v.error.length > 0 && typeof c.error === 'string');
      }
      checkPacket(bytes, decodePacket(bytes, b.src, b.dst, { checksum: false }), b.src, b.dst);
    }),
    fuzz(3),
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 140 }), (a) => {
      const bytes = Buffer.from(a);
      if (bytes.length >= 4) bytes.writeUInt16BE(Math.min(bytes.readUInt16BE(2) & 0xff, bytes.length), 2);
      parseAuthTrailer(bytes, 0, bytes.length);
      assert.equal(verifyAuth(bytes, AUTHED[0]!.src, { keyId: 1, key: F.AUTH_KEY }).ok, false);
    }),
    fuzz(3),
  );
});

// ---------------------------------------------------------------------------------------------------------
// The whole receive path: a Full adjacency, then mutated packets from the neighbor.

interface Rig {
  net: SimNet;
  /** What router 2 sent to router 1, as bases (with their destinations). */
  bases: Base[];
}

function newRig(): Rig {
  const net = new SimNet({ helloInterval: 1, deadInterval: 4, record: true });
  net.addRouter(1);
  net.addRouter(2);
  net.addRouter(3);
  net.connect(1, 2);
  net.connect(2, 3);
  net.advance(15_000);
  const r1 = net.routers.get(1)!;
  const r2 = net.routers.get(2)!;
  assert.ok(r1.inst.neighbors().some((n) => n.state === 'Full'), 'the rig converges');
  const linkTo1 = [...r2.ports.entries()].find(([, l]) => l.a.router === 1 || l.b.router === 1)![0];
  const seen = new Set<number>();
  const bases: Base[] = [];
  for (const s of r2.sent) {
    if (s.linkId !== linkTo1 || seen.has(s.packet[1]! * 1000 + Math.min(s.packet.length, 999))) continue;
    seen.add(s.packet[1]! * 1000 + Math.min(s.packet.length, 999));
    bases.push({ name: `sent ${s.packet[1]}`, bytes: s.packet, src: r2.linkLocal, dst: s.dst, fields: fieldsOf(s.packet) });
  }
  // The captured packets too, as if router 2 sent them.
  for (const b of PLAIN) {
    const bytes = Buffer.from(b.bytes);
    bytes.writeUInt32BE(2, 4);
    bases.push({ ...b, bytes: fixChecksums(bytes, r2.linkLocal, b.dst), src: r2.linkLocal });
  }
  assert.ok(new Set(bases.map((b) => b.bytes[1])).size === 5, 'every packet type');
  return { net, bases };
}

test('property: an OSPF instance with a Full neighbor takes mutated packets from it without an internal error', () => {
  let rig = newRig();
  let fed = 0;
  fc.assert(
    fc.property(fc.nat(1_000_000), mutations(4), fc.boolean(), (pick, edits, fix) => {
      const r1 = rig.net.routers.get(1)!;
      if (fed++ % 50 === 0 || !r1.inst.neighbors().some((n) => n.state === 'Full')) {
        rig = newRig();
      }
      const b = rig.bases[pick % rig.bases.length]!;
      const bytes = mutate(b.bytes, edits, b.fields);
      if (fix) fixChecksums(bytes, b.src, b.dst);
      const me = rig.net.routers.get(1)!;
      const linkId = [...me.ports.keys()][0]!;
      me.inst.receive(linkId, b.src, b.dst, 1, bytes, rig.net.now);
      rig.net.advance(200);
      const counters = me.inst.counters();
      assert.equal(counters['error_internal'] ?? 0, 0, `internal error on ${bytes.toString('hex')}`);
    }),
    fuzz(1),
  );
});
