import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import * as F from '../fixtures/ospf-packets.js';
import {
  AT_DATA,
  AUTH_TRAILER_HEADER_LEN,
  authTrailerLength,
  authTrailerOffset,
  emitAuthTrailer,
  parseAuthTrailer,
  verifyAuthTrailer,
  type AuthAlgorithm,
  type AuthKey,
} from '../../src/controlplane/ospf/wire/auth-trailer.js';
import {
  OSPF_CHECKSUM,
  OspfError,
  checkOspfPacket,
  emitOspfPacket,
  ospfPacketBufferLen,
  ospfPacketLength,
  parseOspfPacket,
} from '../../src/controlplane/ospf/wire/packet.js';
import { OspfOption, PacketType, type OspfPacket } from '../../src/controlplane/ospf/wire/types.js';

const OFF = F.OSPF_OFF;
const KEY: AuthKey = { id: F.AUTH_KEY_ID, secret: F.AUTH_KEY };
const FRR_KEY: AuthKey = { ...KEY, protocolIdLittleEndian: true };
const BIRD_PACKETS = F.AUTH_PACKETS.filter(([n]) => n.startsWith('BIRD'));

const src = (b: Buffer): Buffer => b.subarray(8, 24);
const dst = (b: Buffer): Buffer => b.subarray(24, 40);

function parse(b: Buffer): OspfPacket {
  const r = parseOspfPacket(b, 0, OFF, b.length - OFF, false);
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.repr;
}

test('authenticated captures: checksum 0, AT option, Packet Length excludes the 48-byte trailer', () => {
  for (const [name, b] of F.AUTH_PACKETS) {
    const len = b.length - OFF;
    assert.equal(b.readUInt16BE(OFF + OSPF_CHECKSUM), 0, name);
    assert.equal(ospfPacketLength(b, OFF) + 48, len, name);
    assert.equal(checkOspfPacket(b, 0, OFF, len, false), 0, name);
    assert.equal(checkOspfPacket(b, 0, OFF, len, true), OspfError.BadChecksum, name);
    const p = parse(b);
    if (p.type === PacketType.Hello || p.type === PacketType.DatabaseDescription) assert.ok(p.body.options & OspfOption.AT, name);
    assert.equal(authTrailerOffset(b, OFF, len), b.length - 48, name);
  }
  const hello = parse(F.BIRD_AUTH_HELLO);
  assert.ok(hello.type === PacketType.Hello);
  assert.equal(hello.body.options, 0x513);
});

test('BIRD 2.0.12: every packet type verifies (RFC 7166 digest), sequence numbers exposed', () => {
  const seen: [string, number, bigint][] = [];
  for (const [name, b] of BIRD_PACKETS) {
    const r = verifyAuthTrailer(b, OFF, b.length - OFF, src(b), KEY);
    assert.ok(r.ok, `${name}: ${r.ok ? '' : r.error}`);
    assert.deepEqual([r.repr.authType, r.repr.authLength, r.repr.saId, r.repr.digest.length], [1, 48, 1, 32], name);
    seen.push([name, b[OFF + 1]!, r.repr.sequence]);
  }
  assert.deepEqual(seen, [
    ['BIRD_AUTH_HELLO', 1, 1n],
    ['BIRD2_AUTH_HELLO', 1, 2n],
    ['BIRD_AUTH_DD_INIT', 2, 3n],
    ['BIRD_AUTH_DD', 2, 4n],
    ['BIRD2_AUTH_LSR', 3, 5n],
    ['BIRD_AUTH_LSU', 4, 7n],
    ['BIRD_AUTH_LSACK', 5, 10n],
  ]);
  // The LS Update inside still parses.
  const lsu = parse(F.BIRD_AUTH_LSU);
  assert.ok(lsu.type === PacketType.LinkStateUpdate);
  assert.deepEqual([lsu.body.lsas.length, lsu.body.malformed.length], [5, 0]);
});

test('FRR 8.4.4: its digest verifies only with the protocol ID little-endian (why BIRD rejects it)', () => {
  const b = F.FRR_AUTH_HELLO;
  const rfc = verifyAuthTrailer(b, OFF, b.length - OFF, src(b), KEY);
  assert.deepEqual(rfc, { ok: false, error: 'authentication digest mismatch' });
  const frr = verifyAuthTrailer(b, OFF, b.length - OFF, src(b), FRR_KEY);
  assert.ok(frr.ok);
  assert.equal(frr.repr.sequence, 0x0000000500000001n);
  assert.equal(frr.repr.sequence >> 32n, 5n);
  // And BIRD's packets do not verify with the FRR variant.
  const bird = F.BIRD_AUTH_HELLO;
  assert.equal(verifyAuthTrailer(bird, OFF, bird.length - OFF, src(bird), FRR_KEY).ok, false);
});

test('the digest is RFC 7166 §4.5, computed independently here: HMAC(K||00 01, packet || trailer header || src || Apad)', () => {
  for (const [name, b] of BIRD_PACKETS) {
    const t = b.length - 48;
    const apad = Buffer.concat([src(b), Buffer.from('878fe1f3'.repeat(4), 'hex')]);
    const mac = createHmac('sha256', Buffer.concat([F.AUTH_KEY, Buffer.from([0, 1])]))
      .update(b.subarray(OFF, t + 16))
      .update(apad)
      .digest();
    assert.deepEqual(mac, b.subarray(t + 16), name);
  }
});

test('a tampered byte anywhere (packet, trailer, digest, source address) fails', () => {
  const b = F.BIRD_AUTH_DD;
  const len = b.length - OFF;
  for (let i = OFF; i < b.length; i++) {
    const x = Buffer.from(b);
    x[i]! ^= 0x01;
    const r = verifyAuthTrailer(x, OFF, len, src(x), KEY);
    assert.equal(r.ok, false, `byte ${i - OFF}`);
  }
  const s = Buffer.from(src(b));
  s[15]! ^= 0x01;
  assert.deepEqual(verifyAuthTrailer(b, OFF, len, s, KEY), { ok: false, error: 'authentication digest mismatch' });
  // Wrong secret, wrong SA ID, other algorithm.
  assert.equal(verifyAuthTrailer(b, OFF, len, src(b), { id: 1, secret: Buffer.from('moltnet-kez') }).ok, false);
  assert.deepEqual(verifyAuthTrailer(b, OFF, len, src(b), { id: 2, secret: F.AUTH_KEY }), { ok: false, error: 'no key for SA ID 1' });
  assert.deepEqual(verifyAuthTrailer(b, OFF, len, src(b), { ...KEY, algorithm: 'sha1' }), {
    ok: false,
    error: "authentication trailer length does not match the key's algorithm",
  });
  // A key list picks by SA ID.
  assert.ok(verifyAuthTrailer(b, OFF, len, src(b), [{ id: 7, secret: Buffer.from('x') }, KEY]).ok);
});

test('every truncation of an authenticated packet fails, never throws', () => {
  for (const [name, b] of F.AUTH_PACKETS) {
    for (let n = 0; n < b.length - OFF; n++) {
      const cut = Buffer.from(b.subarray(0, OFF + n));
      assert.equal(verifyAuthTrailer(cut, OFF, n, src(b), name.startsWith('FRR') ? FRR_KEY : KEY).ok, false, `${name} cut to ${n}`);
      parseAuthTrailer(cut, OFF, n);
    }
  }
  // No trailer at all; a trailer of another type; a length over the payload.
  const plain = F.BIRD_HELLO_PTP;
  assert.deepEqual(parseAuthTrailer(plain, OFF, plain.length - OFF), { ok: false, error: 'no authentication trailer' });
  const other = Buffer.from(F.BIRD_AUTH_HELLO);
  other.writeUInt16BE(2, other.length - 48);
  assert.match(String((parseAuthTrailer(other, OFF, other.length - OFF) as { error?: string }).error), /type 2/);
  const long = Buffer.from(F.BIRD_AUTH_HELLO);
  long.writeUInt16BE(64, long.length - 46);
  assert.match(String((parseAuthTrailer(long, OFF, long.length - OFF) as { error?: string }).error), /length/);
});

test('emit: re-encoding each captured packet with the same key, source and sequence gives the captured bytes', () => {
  for (const [name, b] of F.AUTH_PACKETS) {
    const key = name.startsWith('FRR') ? FRR_KEY : KEY;
    const parsed = parseAuthTrailer(b, OFF, b.length - OFF);
    assert.ok(parsed.ok);
    const p = parse(b);
    const plen = ospfPacketBufferLen(p);
    const out = Buffer.alloc(plen + authTrailerLength(key) + 4, 0xff);
    emitOspfPacket(p, out, 0, src(b), dst(b), { checksum: false });
    const n = emitAuthTrailer(out, 0, out.length, src(b), key, parsed.repr.sequence);
    assert.equal(n, b.length - OFF, name);
    assert.deepEqual(out.subarray(0, n), b.subarray(OFF), name);
    assert.ok(out.subarray(n).every((x) => x === 0xff), `${name}: wrote past the trailer`);
  }
});

test('emit: no room, short source address -> -1', () => {
  const p = parse(F.BIRD_AUTH_HELLO);
  const plen = ospfPacketBufferLen(p);
  const out = Buffer.alloc(plen + 47);
  emitOspfPacket(p, out, 0, src(F.BIRD_AUTH_HELLO), dst(F.BIRD_AUTH_HELLO), { checksum: false });
  assert.equal(emitAuthTrailer(out, 0, out.length, src(F.BIRD_AUTH_HELLO), KEY, 1n), -1);
  assert.equal(emitAuthTrailer(Buffer.alloc(plen + 48), 0, plen + 48, Buffer.alloc(4), KEY, 1n), -1);
});

test('round trip: every algorithm, long keys (hashed), 64-bit sequence, an LLS block before the trailer', () => {
  const s = src(F.BIRD_HELLO_PTP);
  const d = dst(F.BIRD_HELLO_PTP);
  const hello = parse(F.BIRD_HELLO_PTP);
  assert.ok(hello.type === PacketType.Hello);
  const algorithms: AuthAlgorithm[] = ['sha1', 'sha256', 'sha384', 'sha512'];
  for (const algorithm of algorithms) {
    for (const secret of [Buffer.from('k'), Buffer.alloc(200, 0x61)]) {
      const key: AuthKey = { id: 0xbeef, secret, algorithm };
      const withAt = { ...hello, body: { ...hello.body, options: hello.body.options | OspfOption.AT } };
      const plen = ospfPacketBufferLen(withAt);
      const buf = Buffer.alloc(plen + authTrailerLength(key));
      emitOspfPacket(withAt, buf, 0, s, d, { checksum: false });
      const seq = 0xfedcba9876543210n;
      assert.equal(emitAuthTrailer(buf, 0, buf.length, s, key, seq), buf.length);
      const r = verifyAuthTrailer(buf, 0, buf.length, s, key);
      assert.ok(r.ok, `${algorithm} ${secret.length}`);
      assert.deepEqual([r.repr.sequence, r.repr.saId, r.repr.authLength], [seq, 0xbeef, authTrailerLength(key)]);
      buf[plen - 1]! ^= 0x80;
      assert.equal(verifyAuthTrailer(buf, 0, buf.length, s, key).ok, false);
    }
  }
  // RFC 7166 §4.5: K || protocol ID longer than L is hashed to L first (200 + 2 bytes for SHA-256).
  const longKey: AuthKey = { id: 1, secret: Buffer.alloc(200, 0x61) };
  const withAt = { ...hello, body: { ...hello.body, options: hello.body.options | OspfOption.AT } };
  const plen = ospfPacketBufferLen(withAt);
  const buf = Buffer.alloc(plen + 48);
  emitOspfPacket(withAt, buf, 0, s, d, { checksum: false });
  emitAuthTrailer(buf, 0, buf.length, s, longKey, 1n);
  const ko = createHash('sha256').update(Buffer.concat([longKey.secret, Buffer.from([0, 1])])).digest();
  const apad = Buffer.concat([s, Buffer.from('878fe1f3'.repeat(4), 'hex')]);
  assert.deepEqual(createHmac('sha256', ko).update(buf.subarray(0, plen + 16)).update(apad).digest(), buf.subarray(plen + AT_DATA));

  // L bit + an 12-byte LLS block (length 3 words) between the packet and the trailer.
  const lls = { ...hello, body: { ...hello.body, options: hello.body.options | OspfOption.AT | OspfOption.L } };
  const llsLen = ospfPacketBufferLen(lls);
  const lbuf = Buffer.alloc(llsLen + 12 + 48);
  emitOspfPacket(lls, lbuf, 0, s, d, { checksum: false });
  lbuf.writeUInt16BE(3, llsLen + 2);
  assert.equal(authTrailerOffset(lbuf, 0, lbuf.length), llsLen + 12);
  assert.equal(emitAuthTrailer(lbuf, 0, lbuf.length, s, KEY, 9n), lbuf.length);
  assert.ok(verifyAuthTrailer(lbuf, 0, lbuf.length, s, KEY).ok);
  lbuf[llsLen + 8]! ^= 1; // the LLS block is covered by the digest
  assert.equal(verifyAuthTrailer(lbuf, 0, lbuf.length, s, KEY).ok, false);
  // An LLS length of 0 or past the payload: no trailer to find.
  const z = Buffer.from(lbuf);
  z.writeUInt16BE(0, llsLen + 2);
  assert.equal(authTrailerOffset(z, 0, z.length), -1);
  z.writeUInt16BE(1000, llsLen + 2);
  assert.equal(authTrailerOffset(z, 0, z.length), -1);
  assert.equal(AUTH_TRAILER_HEADER_LEN, 16);
});

test('interop: the Hellos this codec sent were accepted by BIRD (RFC order) and FRR 8.4 (LE order); their answers verify', () => {
  for (const [name, b, le] of F.INTEROP_PACKETS) {
    const key: AuthKey = { ...KEY, protocolIdLittleEndian: le };
    const r = verifyAuthTrailer(b, OFF, b.length - OFF, src(b), key);
    assert.ok(r.ok, `${name}: ${r.ok ? '' : r.error}`);
    assert.equal(verifyAuthTrailer(b, OFF, b.length - OFF, src(b), { ...KEY, protocolIdLittleEndian: !le }).ok, false, name);
    const p = parse(b);
    if (name.includes('ACCEPTS')) {
      assert.ok(p.type === PacketType.Hello);
      assert.deepEqual(p.body.neighbors, [0x0a000009], name);
    }
    if (name.startsWith('MOLTNET')) {
      // Re-emitting gives the exact bytes that were sent.
      const parsed = parseAuthTrailer(b, OFF, b.length - OFF);
      assert.ok(parsed.ok);
      assert.equal(parsed.repr.sequence, 3n);
      const out = Buffer.alloc(b.length - OFF, 0xff);
      emitOspfPacket(p, out, 0, src(b), dst(b), { checksum: false });
      emitAuthTrailer(out, 0, out.length, src(b), key, 3n);
      assert.deepEqual(out, b.subarray(OFF), name);
    }
  }
});
