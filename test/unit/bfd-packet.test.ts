import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as F from '../fixtures/bfd-packets.js';
import { ALL_BFD, bytesOf } from '../fixtures/bfd-packets.js';
import {
  BFD_AUTH_DIGEST,
  BFD_AUTH_KEY_ID,
  BFD_AUTH_LEN,
  BFD_AUTH_PASSWORD,
  BFD_AUTH_SEQ,
  BFD_AUTH_TYPE,
  BFD_DESIRED_MIN_TX,
  BFD_DETECT_MULT,
  BFD_FLAG_AUTH,
  BFD_FLAG_FINAL,
  BFD_FLAG_MULTIPOINT,
  BFD_FLAG_POLL,
  BFD_HEADER_LEN,
  BFD_LENGTH,
  BFD_MY_DISCR,
  BFD_REQUIRED_MIN_ECHO_RX,
  BFD_REQUIRED_MIN_RX,
  BFD_STATE_FLAGS,
  BFD_VERS_DIAG,
  BFD_YOUR_DISCR,
  BfdAuthType,
  BfdDiag,
  BfdPacketError,
  BfdState,
  bfdAuthDigest,
  bfdAuthSequence,
  bfdControlLen,
  bfdDesiredMinTx,
  bfdDetectMult,
  bfdDiag,
  bfdDiagName,
  bfdFlags,
  bfdLength,
  bfdMyDiscriminator,
  bfdPacketErrorMessage,
  bfdRequiredMinEchoRx,
  bfdRequiredMinRx,
  bfdState,
  bfdVersion,
  bfdYourDiscriminator,
  checkBfdControl,
  emitBfdControl,
  parseBfdControl,
  signBfdControl,
  verifyBfdAuth,
  type BfdControlRepr,
} from '../../src/controlplane/bfd/packet.js';

const ALL = Object.entries(ALL_BFD);
const utf8 = (s: string) => Buffer.from(s, 'utf8');

function parsed(c: F.BfdCapture): BfdControlRepr {
  const b = bytesOf(c);
  const r = parseBfdControl(b, 0, b.length);
  if (!r.ok) throw new Error(`${c.hex}: ${r.error}`);
  return r.repr;
}

test('offsets are the RFC 5880 §4.1-4.4 layout', () => {
  assert.deepEqual(
    [BFD_VERS_DIAG, BFD_STATE_FLAGS, BFD_DETECT_MULT, BFD_LENGTH, BFD_MY_DISCR, BFD_YOUR_DISCR, BFD_DESIRED_MIN_TX],
    [0, 1, 2, 3, 4, 8, 12],
  );
  assert.deepEqual([BFD_REQUIRED_MIN_RX, BFD_REQUIRED_MIN_ECHO_RX, BFD_HEADER_LEN], [16, 20, 24]);
  assert.deepEqual([BFD_AUTH_TYPE, BFD_AUTH_LEN, BFD_AUTH_KEY_ID, BFD_AUTH_PASSWORD, BFD_AUTH_SEQ, BFD_AUTH_DIGEST], [24, 25, 26, 27, 28, 32]);
});

test('decode: FRR Up with Poll (view accessors)', () => {
  const b = bytesOf(F.FRR_UP_POLL);
  assert.equal(checkBfdControl(b, 0, b.length), 0);
  assert.equal(bfdVersion(b, 0), 1);
  assert.equal(bfdDiag(b, 0), BfdDiag.None);
  assert.equal(bfdState(b, 0), BfdState.Up);
  assert.equal(bfdFlags(b, 0), BFD_FLAG_POLL);
  assert.equal(bfdDetectMult(b, 0), 3);
  assert.equal(bfdLength(b, 0), 24);
  assert.equal(bfdMyDiscriminator(b, 0), 0x6d0eaad2);
  assert.equal(bfdYourDiscriminator(b, 0), 0xdb13cdb6);
  assert.equal(bfdDesiredMinTx(b, 0), 300_000);
  assert.equal(bfdRequiredMinRx(b, 0), 300_000);
  assert.equal(bfdRequiredMinEchoRx(b, 0), 50_000);
});

test('decode: the FRR/BIRD handshake, Poll/Final, AdminDown and detection expiry', () => {
  const pick = (c: F.BfdCapture) => {
    const r = parsed(c);
    return [r.state, r.diag, r.poll, r.final, r.myDiscriminator, r.yourDiscriminator, r.desiredMinTxUs, r.requiredMinRxUs];
  };
  const frr = 0x6d0eaad2;
  const bird = 0xdb13cdb6;
  const { AdminDown, Down, Init, Up } = BfdState;
  assert.deepEqual(pick(F.FRR_DOWN), [Down, 0, false, false, frr, 0, 1_000_000, 1_000_000]);
  assert.deepEqual(pick(F.BIRD_DOWN), [Down, 0, false, false, bird, 0, 1_000_000, 300_000]);
  assert.deepEqual(pick(F.FRR_INIT), [Init, 0, false, false, frr, bird, 1_000_000, 1_000_000]);
  assert.deepEqual(pick(F.BIRD_UP_POLL), [Up, 0, true, false, bird, frr, 300_000, 300_000]);
  assert.deepEqual(pick(F.BIRD_UP_FINAL), [Up, 0, false, true, bird, frr, 300_000, 300_000]);
  assert.deepEqual(pick(F.FRR_POLL_200), [Up, 0, true, false, frr, bird, 200_000, 200_000]);
  assert.deepEqual(pick(F.BIRD_POLL_150), [Up, 0, true, false, bird, frr, 150_000, 150_000]);
  assert.deepEqual(pick(F.FRR_FINAL_200), [Up, 0, false, true, frr, bird, 200_000, 200_000]);
  assert.deepEqual(pick(F.FRR_ADMIN_DOWN), [AdminDown, 0, false, false, frr, bird, 200_000, 200_000]);
  assert.deepEqual(pick(F.BIRD_DOWN_DIAG3_POLL), [Down, BfdDiag.NeighborSignaledSessionDown, true, false, bird, frr, 1_000_000, 150_000]);
  assert.deepEqual(pick(F.FRR_ADMIN_DOWN_FINAL), [AdminDown, 0, false, true, frr, bird, 200_000, 200_000]);
  assert.deepEqual(pick(F.BIRD_DOWN_DIAG3), [Down, 3, false, false, bird, 0, 1_000_000, 150_000]);
  assert.deepEqual(pick(F.FRR_DOWN_EXPIRED), [Down, BfdDiag.ControlDetectionTimeExpired, false, false, frr, 0, 200_000, 200_000]);
  assert.equal(bfdDiagName(3), 'Neighbor Signaled Session Down');
  assert.equal(bfdDiagName(20), 'reserved diagnostic 20');
  assert.equal(parsed(F.BIRD_UP).requiredMinEchoRxUs, 0);
  assert.equal(parsed(F.BIRD_MH_INIT).state, Init);
});

test('decode: the authentication sections BIRD sent', () => {
  const sha = parsed(F.SHA1_A_UP).auth;
  assert.ok(sha && sha.type === BfdAuthType.KeyedSha1);
  assert.equal(sha.keyId, F.SHA1_KEY_ID);
  assert.equal(sha.sequence, 0x01b7455c);
  assert.equal(Buffer.from(sha.digest).toString('hex'), '1a8b6fa8e0fa95416841b0846a62795a5fb92790');
  const msha = parsed(F.MSHA1_B_UP_POLL).auth;
  assert.ok(msha && msha.type === BfdAuthType.MeticulousKeyedSha1);
  assert.deepEqual([msha.keyId, msha.sequence, msha.digest.length], [F.MSHA1_KEY_ID, 0x314ec534, 20]);
  const simple = parsed(F.SIMPLE_A_UP).auth;
  assert.ok(simple && simple.type === BfdAuthType.SimplePassword);
  assert.deepEqual([simple.keyId, Buffer.from(simple.password).toString()], [F.SIMPLE_KEY_ID, F.SIMPLE_PASSWORD]);
  const md5 = parsed(F.MD5_B_UP).auth;
  assert.ok(md5 && md5.type === BfdAuthType.KeyedMd5);
  assert.deepEqual([md5.keyId, md5.sequence, md5.digest.length], [F.MD5_KEY_ID, 0x314ec558, 16]);
  const b = bytesOf(F.SHA1_B_UP);
  assert.equal(bfdFlags(b, 0) & BFD_FLAG_AUTH, BFD_FLAG_AUTH);
  assert.equal(bfdLength(b, 0), 52);
  assert.equal(bfdAuthSequence(b, 0), 0xa2d12efb);
});

test('every capture passes the checks and re-encodes byte for byte into a 0xFF-filled buffer', () => {
  for (const [name, c] of ALL) {
    const b = bytesOf(c);
    assert.equal(checkBfdControl(b, 0, b.length), 0, name);
    const repr = parsed(c);
    assert.equal(bfdControlLen(repr), b.length, name);
    const out = Buffer.alloc(b.length + 8, 0xff);
    assert.equal(emitBfdControl(repr, out, 4), b.length, name);
    assert.deepEqual(out.subarray(4, 4 + b.length), b, name);
    assert.ok(out.subarray(0, 4).every((x) => x === 0xff) && out.subarray(4 + b.length).every((x) => x === 0xff), name);
  }
});

test('a packet at an offset inside a larger buffer (UDP payload in place)', () => {
  const b = bytesOf(F.FRR_UP);
  const big = Buffer.concat([Buffer.alloc(48, 0xee), b, Buffer.alloc(5, 0xee)]);
  assert.equal(checkBfdControl(big, 48, b.length), 0);
  assert.equal(checkBfdControl(big, 48, b.length + 5), 0, 'bytes after Length are ignored');
  const r = parseBfdControl(big, 48, b.length + 5);
  assert.ok(r.ok);
  assert.deepEqual(r.repr, parsed(F.FRR_UP));
  assert.equal(checkBfdControl(big, 48, big.length), BfdPacketError.Truncated, 'region past the buffer');
  assert.equal(checkBfdControl(big, -1, 24), BfdPacketError.Truncated);
});

test('every truncation is an error code, never a throw', () => {
  for (const [name, c] of ALL) {
    const b = bytesOf(c);
    for (let len = 0; len < b.length; len++) {
      const cut = Buffer.from(b.subarray(0, len));
      const code = checkBfdControl(cut, 0, len);
      assert.equal(code, len < 24 ? BfdPacketError.Truncated : BfdPacketError.LengthExceedsPayload, `${name} cut at ${len}`);
      const r = parseBfdControl(cut, 0, len);
      assert.ok(!r.ok && r.code === code, name);
      // Also a full buffer with a short UDP payload length.
      assert.equal(checkBfdControl(b, 0, len), code, name);
    }
  }
});

/** A copy of `c` with `edit` applied. */
function mutate(c: F.BfdCapture, edit: (b: Buffer) => void): Buffer {
  const b = bytesOf(c);
  edit(b);
  return b;
}

test('each bad field gets its own code', () => {
  const cases: [string, Buffer, number][] = [
    ['version 0', mutate(F.FRR_UP, (b) => (b[0] = 0x00)), BfdPacketError.BadVersion],
    ['version 2', mutate(F.FRR_UP, (b) => (b[0] = 0x40)), BfdPacketError.BadVersion],
    ['version 7', mutate(F.FRR_UP, (b) => (b[0] = 0xe0)), BfdPacketError.BadVersion],
    ['Length 23', mutate(F.FRR_UP, (b) => (b[3] = 23)), BfdPacketError.ShortLength],
    ['Length 0', mutate(F.FRR_UP, (b) => (b[3] = 0)), BfdPacketError.ShortLength],
    ['Length 25 with A', mutate(F.SHA1_A_UP, (b) => (b[3] = 25)), BfdPacketError.ShortLength],
    ['Length 24 with A', mutate(F.FRR_UP, (b) => (b[1] |= BFD_FLAG_AUTH)), BfdPacketError.ShortLength],
    ['Length past the payload', mutate(F.FRR_UP, (b) => (b[3] = 25)), BfdPacketError.LengthExceedsPayload],
    ['Detect Mult 0', mutate(F.BIRD_UP, (b) => (b[2] = 0)), BfdPacketError.ZeroDetectMult],
    ['Multipoint', mutate(F.BIRD_UP, (b) => (b[1] |= BFD_FLAG_MULTIPOINT)), BfdPacketError.Multipoint],
    ['My Discriminator 0', mutate(F.BIRD_UP, (b) => b.writeUInt32BE(0, 4)), BfdPacketError.ZeroMyDiscriminator],
    ['Your Discriminator 0 in Up', mutate(F.BIRD_UP, (b) => b.writeUInt32BE(0, 8)), BfdPacketError.ZeroYourDiscriminator],
    ['Your Discriminator 0 in Init', mutate(F.FRR_INIT, (b) => b.writeUInt32BE(0, 8)), BfdPacketError.ZeroYourDiscriminator],
    ['Auth Type 0', mutate(F.SHA1_A_UP, (b) => (b[24] = 0)), BfdPacketError.BadAuthType],
    ['Auth Type 6', mutate(F.SHA1_A_UP, (b) => (b[24] = 6)), BfdPacketError.BadAuthType],
    ['Auth Type 255', mutate(F.SHA1_A_UP, (b) => (b[24] = 255)), BfdPacketError.BadAuthType],
    ['SHA1 with Auth Len 24', mutate(F.SHA1_A_UP, (b) => (b[25] = 24)), BfdPacketError.BadAuthLength],
    ['MD5 type with SHA1 Auth Len', mutate(F.SHA1_A_UP, (b) => (b[24] = 2)), BfdPacketError.BadAuthLength],
    ['SHA1 type with MD5 Auth Len', mutate(F.MD5_A_UP, (b) => (b[24] = 4)), BfdPacketError.BadAuthLength],
    ['password Auth Len 3 (empty)', mutate(F.SIMPLE_A_UP, (b) => (b[25] = 3)), BfdPacketError.BadAuthLength],
    ['password Auth Len 20 (17 bytes)', mutate(F.SIMPLE_A_UP, (b) => (b[25] = 20)), BfdPacketError.BadAuthLength],
    ['auth section past Length', mutate(F.SIMPLE_A_UP, (b) => (b[25] = 10)), BfdPacketError.BadAuthLength],
  ];
  for (const [what, b, want] of cases) {
    assert.equal(checkBfdControl(b, 0, b.length), want, what);
    const r = parseBfdControl(b, 0, b.length);
    assert.ok(!r.ok, what);
    assert.equal(r.code, want, what);
    assert.equal(r.error, bfdPacketErrorMessage(want), what);
  }
  const codes = Object.values(BfdPacketError);
  assert.equal(new Set(codes).size, codes.length, 'codes are distinct');
  assert.ok(codes.every((c) => c < 0));
  assert.equal(bfdPacketErrorMessage(0), 'valid');
});

test('Your Discriminator 0 is fine in Down and AdminDown (BIRD and FRR send it)', () => {
  for (const c of [F.BIRD_DOWN, F.FRR_DOWN, F.BIRD_DOWN_DIAG3, F.FRR_DOWN_EXPIRED, F.SHA1_A_DOWN, F.SIMPLE_A_DOWN_EXPIRED]) {
    assert.equal(bfdYourDiscriminator(bytesOf(c), 0), 0);
    assert.equal(checkBfdControl(bytesOf(c), 0, c.hex.length / 2), 0);
  }
  const adminDown = mutate(F.FRR_ADMIN_DOWN, (b) => b.writeUInt32BE(0, 8));
  assert.equal(checkBfdControl(adminDown, 0, 24), 0);
});

test('digests and passwords of the BIRD captures verify, and a flipped bit or a wrong key does not', () => {
  const groups: [F.BfdCapture[], string][] = [
    [[F.SHA1_A_DOWN, F.SHA1_B_DOWN, F.SHA1_A_INIT, F.SHA1_B_UP_POLL, F.SHA1_A_UP_FINAL, F.SHA1_A_UP_POLL, F.SHA1_B_UP_FINAL, F.SHA1_A_UP, F.SHA1_B_UP], F.SHA1_SECRET],
    [[F.MSHA1_A_DOWN, F.MSHA1_B_DOWN, F.MSHA1_A_INIT, F.MSHA1_B_UP_POLL, F.MSHA1_A_UP, F.MSHA1_B_UP], F.MSHA1_SECRET],
    [[F.MD5_A_UP, F.MD5_B_UP], F.MD5_SECRET],
    [[F.SIMPLE_A_UP, F.SIMPLE_B_UP, F.SIMPLE_A_DOWN_EXPIRED], F.SIMPLE_PASSWORD],
  ];
  for (const [caps, secret] of groups) {
    for (const c of caps) {
      const b = bytesOf(c);
      assert.ok(verifyBfdAuth(b, 0, utf8(secret)), c.hex);
      assert.ok(!verifyBfdAuth(b, 0, utf8(secret + 'x')), c.hex);
      assert.ok(!verifyBfdAuth(b, 0, utf8('moltnet')), c.hex);
      // A password protects only itself; a digest covers every byte.
      const flips = secret === F.SIMPLE_PASSWORD ? [27, b.length - 1] : [1, 7, 13, 30, b.length - 1];
      for (const at of flips) {
        const bad = Buffer.from(b);
        bad[at]! ^= 0x01;
        assert.ok(!verifyBfdAuth(bad, 0, utf8(secret)), `${c.hex} bit flipped at ${at}`);
      }
    }
  }
  assert.ok(!verifyBfdAuth(bytesOf(F.SIMPLE_A_UP), 0, utf8('moltp')), 'a prefix of the password');
});

test('sign: emit with a zero digest, then sign, gives BIRD\'s bytes', () => {
  for (const [c, secret] of [
    [F.SHA1_B_UP_POLL, F.SHA1_SECRET],
    [F.MSHA1_A_INIT, F.MSHA1_SECRET],
    [F.MD5_A_UP, F.MD5_SECRET],
  ] as const) {
    const repr = parsed(c);
    const auth = repr.auth!;
    assert.ok(auth.type !== BfdAuthType.SimplePassword);
    const zero = { ...repr, auth: { ...auth, digest: new Uint8Array(auth.digest.length) } };
    const out = Buffer.alloc(bfdControlLen(zero), 0xff);
    emitBfdControl(zero, out, 0);
    assert.notDeepEqual(out, bytesOf(c));
    signBfdControl(out, 0, utf8(secret));
    assert.deepEqual(out, bytesOf(c));
    assert.deepEqual(bfdAuthDigest(out, 0, utf8(secret)), Buffer.from(auth.digest));
  }
  assert.throws(() => bfdAuthDigest(bytesOf(F.SIMPLE_A_UP), 0, utf8('x')), RangeError);
});

const reprArb: fc.Arbitrary<BfdControlRepr> = fc
  .record({
    diag: fc.integer({ min: 0, max: 31 }),
    state: fc.constantFrom(BfdState.AdminDown, BfdState.Down, BfdState.Init, BfdState.Up),
    poll: fc.boolean(),
    final: fc.boolean(),
    cpi: fc.boolean(),
    demand: fc.boolean(),
    detectMult: fc.integer({ min: 1, max: 255 }),
    myDiscriminator: fc.integer({ min: 1, max: 0xffffffff }),
    yourDiscriminator: fc.integer({ min: 1, max: 0xffffffff }),
    desiredMinTxUs: fc.integer({ min: 0, max: 0xffffffff }),
    requiredMinRxUs: fc.integer({ min: 0, max: 0xffffffff }),
    requiredMinEchoRxUs: fc.integer({ min: 0, max: 0xffffffff }),
    auth: fc.oneof(
      fc.constant(null),
      fc.record({
        type: fc.constant(BfdAuthType.SimplePassword),
        keyId: fc.integer({ min: 0, max: 255 }),
        password: fc.uint8Array({ minLength: 1, maxLength: 16 }),
      }),
      fc.integer({ min: 2, max: 5 }).chain((type) =>
        fc.record({
          type: fc.constant(type as 2 | 3 | 4 | 5),
          keyId: fc.integer({ min: 0, max: 255 }),
          sequence: fc.integer({ min: 0, max: 0xffffffff }),
          digest: fc.uint8Array({ minLength: type < 4 ? 16 : 20, maxLength: type < 4 ? 16 : 20 }),
        }),
      ),
    ),
  })
  .map((r) => r as BfdControlRepr);

test('round trip: emit then parse gives the repr back (fast-check)', () => {
  fc.assert(
    fc.property(reprArb, (repr) => {
      const len = bfdControlLen(repr);
      const b = Buffer.alloc(len, 0xff);
      assert.equal(emitBfdControl(repr, b, 0), len);
      const r = parseBfdControl(b, 0, len);
      assert.ok(r.ok);
      const norm = (x: BfdControlRepr) => ({
        ...x,
        auth: x.auth === null ? null : 'password' in x.auth ? { ...x.auth, password: Buffer.from(x.auth.password) } : { ...x.auth, digest: Buffer.from(x.auth.digest) },
      });
      assert.deepEqual(norm(r.repr), norm(repr));
    }),
    { numRuns: 500 },
  );
});

test('random bytes never throw (fast-check)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), fc.boolean(), (bytes, fixVersion) => {
      const b = Buffer.from(bytes);
      if (fixVersion && b.length > 3) {
        b[0] = (b[0]! & 0x1f) | 0x20;
        b[3] = b.length;
      }
      const code = checkBfdControl(b, 0, b.length);
      const r = parseBfdControl(b, 0, b.length);
      assert.equal(r.ok, code === 0);
      if (r.ok && r.repr.auth !== null && r.repr.auth.type !== BfdAuthType.SimplePassword) verifyBfdAuth(b, 0, utf8('k'));
      if (r.ok && r.repr.auth?.type === BfdAuthType.SimplePassword) verifyBfdAuth(b, 0, utf8('k'));
    }),
    { numRuns: 2000 },
  );
});

test('flags: a packet never carries Multipoint, Final and Poll are independent bits', () => {
  const repr = { ...parsed(F.FRR_UP), poll: false, final: true };
  const b = Buffer.alloc(24);
  emitBfdControl(repr, b, 0);
  assert.equal(bfdFlags(b, 0), BFD_FLAG_FINAL);
  assert.equal(b[1], 0xd0);
});
