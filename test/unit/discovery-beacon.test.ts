import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import fc from 'fast-check';
import {
  BEACON_BINDING,
  BEACON_BINDING_LEN,
  BEACON_FLAGS,
  BEACON_MAGIC,
  BEACON_MAX_LEN,
  BEACON_MIN_LEN,
  BEACON_RESERVED,
  BEACON_VERSION,
  BeaconError,
  decodeBeacon,
  encodeBeacon,
} from '../../src/controlplane/discovery/beacon.js';
import { signBinding, verifySignedBinding } from '../../src/controlplane/peering/handshake.js';
import { meshAddressBytes } from '../../src/common/address.js';
import { BEACON_FIELDS, BEACON_SEED_HEX, beaconBytes } from '../fixtures/beacon-packets.js';

const seededKey = () =>
  createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(BEACON_SEED_HEX, 'hex')]), format: 'der', type: 'pkcs8' });

/** decodeBeacon's outcome: the binding, or the BeaconError's message (anything else fails the test). */
function outcome(b: Uint8Array): { ok: true } | { error: string } {
  try {
    decodeBeacon(b);
    return { ok: true };
  } catch (err) {
    assert.ok(err instanceof BeaconError, `threw ${(err as Error)?.constructor?.name}: ${String(err)}`);
    return { error: err.message };
  }
}

const withHeader = (f: (b: Buffer) => void): Buffer => {
  const b = beaconBytes();
  f(b);
  return b;
};

test('the captured beacon decodes, its binding verifies and names the node that sent it', () => {
  const sb = decodeBeacon(beaconBytes());
  assert.equal(sb.binding.length, 141);
  assert.equal(sb.signature.length, 64);
  const v = verifySignedBinding(sb);
  assert.ok(typeof v !== 'string', String(v));
  assert.equal(v.moltid, BEACON_FIELDS.moltid);
  assert.equal(v.binding.uuid, BEACON_FIELDS.uuid);
  assert.equal(v.binding.endpoint, BEACON_FIELDS.endpoint);
  assert.deepEqual(v.binding.linkKinds, BEACON_FIELDS.linkKinds);
  assert.equal(v.binding.timestampMs, BEACON_FIELDS.timestampMs);
  assert.deepEqual(Buffer.from(v.binding.meshAddress), meshAddressBytes(BEACON_FIELDS.address));
});

test('the header sits at the documented offsets', () => {
  const b = beaconBytes();
  assert.equal(b.subarray(BEACON_MAGIC, BEACON_MAGIC + 4).toString('latin1'), 'MNB1');
  assert.equal(b[BEACON_VERSION], 1);
  assert.equal(b[BEACON_FLAGS], 0);
  assert.equal(b.readUInt16BE(BEACON_RESERVED), 0);
  assert.equal(b.readUInt16BE(BEACON_BINDING_LEN), 141);
  assert.equal(b.readUInt16BE(BEACON_BINDING + 141), 64);
  assert.equal(b.length, BEACON_BINDING + 141 + 2 + 64);
});

test('signing the same fields with the same key gives the captured bytes exactly, and decode/encode round-trips them', async () => {
  const priv = seededKey();
  const der = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  assert.equal(`MOLTID:0x${der.toString('hex')}`, BEACON_FIELDS.moltid);
  const sb = await signBinding(
    { uuid: BEACON_FIELDS.uuid, meshAddress: meshAddressBytes(BEACON_FIELDS.uuid), moltidKey: der, endpoint: BEACON_FIELDS.endpoint, linkKinds: [...BEACON_FIELDS.linkKinds], timestampMs: BEACON_FIELDS.timestampMs },
    (d) => cryptoSign(null, d, priv),
  );
  assert.deepEqual(encodeBeacon(sb), beaconBytes());
  assert.deepEqual(encodeBeacon(decodeBeacon(beaconBytes())), beaconBytes());
});

test('the decoded binding and signature are copies: changing the datagram afterwards changes nothing', () => {
  const b = beaconBytes();
  const sb = decodeBeacon(b);
  b.fill(0);
  assert.equal(typeof verifySignedBinding(sb), 'object');
});

test('every malformed beacon is a BeaconError that says what is wrong', () => {
  const good = beaconBytes();
  const cases: [string, Buffer, RegExp][] = [
    ['empty', Buffer.alloc(0), /0 bytes is shorter than the 12-byte minimum/],
    ['one byte short of the minimum', good.subarray(0, BEACON_MIN_LEN - 1), /11 bytes is shorter/],
    ['bad magic', withHeader((b) => (b[2] = 0x43)), /bad magic/],
    ['lowercase magic', withHeader((b) => b.write('mnb1', 0, 'latin1')), /bad magic/],
    ['version 0', withHeader((b) => (b[BEACON_VERSION] = 0)), /version 0 is not 1/],
    ['version 2', withHeader((b) => (b[BEACON_VERSION] = 2)), /version 2 is not 1/],
    ['binding length past the end', withHeader((b) => b.writeUInt16BE(300, BEACON_BINDING_LEN)), /binding length 300 runs past the 217-byte beacon/],
    ['binding length that leaves no room for the signature length', withHeader((b) => b.writeUInt16BE(206, BEACON_BINDING_LEN)), /binding length 206 runs past/],
    ['signature length past the end', withHeader((b) => b.writeUInt16BE(65, BEACON_BINDING + 141)), /signature length 65 runs past/],
    ['a binding length that is short by one', withHeader((b) => b.writeUInt16BE(140, BEACON_BINDING_LEN)), /runs past|bytes after the signature/],
    ['truncated signature', good.subarray(0, good.length - 1), /signature length 64 runs past the 216-byte beacon/],
    ['trailing garbage', Buffer.concat([good, Buffer.from([0])]), /1 bytes after the signature/],
    ['empty binding', Buffer.from('4d4e42310100000000000001ff', 'hex'), /empty binding/],
    ['empty signature', Buffer.from('4d4e42310100000000010a0000', 'hex'), /empty signature/],
    ['over 1200 bytes', Buffer.concat([good.subarray(0, 8), Buffer.alloc(BEACON_MAX_LEN - 7)]), /1201 bytes is over the 1200-byte limit/],
  ];
  for (const [what, bytes, re] of cases) {
    const r = outcome(bytes);
    assert.ok('error' in r, `${what}: decoded`);
    assert.match(r.error, re, what);
  }
});

test('flags and reserved bits are ignored, so later senders may use them', () => {
  const b = withHeader((x) => {
    x[BEACON_FLAGS] = 0xff;
    x.writeUInt16BE(0xbeef, BEACON_RESERVED);
  });
  assert.equal(typeof verifySignedBinding(decodeBeacon(b)), 'object');
});

test('encodeBeacon refuses what decodeBeacon would: over 1200 bytes, or an empty binding or signature', () => {
  const at = (binding: number, signature: number) => () => encodeBeacon({ binding: Buffer.alloc(binding, 1), signature: Buffer.alloc(signature, 2) });
  assert.equal(at(BEACON_MAX_LEN - BEACON_MIN_LEN - 64, 64)().length, BEACON_MAX_LEN);
  assert.throws(at(BEACON_MAX_LEN - BEACON_MIN_LEN - 63, 64), (e: Error) => e instanceof BeaconError && /1201 bytes is over the 1200-byte limit/.test(e.message));
  // An RSA-4096 MoltID with a WireGuard key and a long IPv6 endpoint: a 724-byte binding, a 512-byte signature.
  assert.throws(at(724, 512), (e: Error) => e instanceof BeaconError && /1248 bytes/.test(e.message));
  assert.throws(at(0, 64), (e: Error) => e instanceof BeaconError && /needs a binding and a signature/.test(e.message));
  assert.throws(at(10, 0), BeaconError);
});

test('an RSA-2048 MoltID\'s beacon fits, with room to spare', async () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const der = publicKey.export({ format: 'der', type: 'spki' });
  const uuid = BEACON_FIELDS.uuid;
  const sb = await signBinding(
    { uuid, meshAddress: meshAddressBytes(uuid), moltidKey: der, endpoint: '[2001:db8:1234:5678:9abc:def0:1234:5678]:4789', linkKinds: ['vxlan', 'gre', 'wireguard'], wireguardKey: Buffer.alloc(32, 1), wireguardPort: 51820, timestampMs: BEACON_FIELDS.timestampMs },
    (d) => cryptoSign('sha256', d, privateKey),
  );
  const b = encodeBeacon(sb);
  assert.ok(b.length < 800, `${b.length} bytes`);
  assert.equal(typeof verifySignedBinding(decodeBeacon(b)), 'object');
});

test('fuzz: any binding and signature that fit round-trip byte for byte', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 900 }), fc.uint8Array({ minLength: 1, maxLength: 288 }), (binding, signature) => {
      const sb = decodeBeacon(encodeBeacon({ binding, signature }));
      assert.deepEqual(new Uint8Array(sb.binding), binding);
      assert.deepEqual(new Uint8Array(sb.signature), signature);
    }),
    { numRuns: 500 },
  );
});

test('fuzz: arbitrary bytes never throw anything but BeaconError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 1300 }), (bytes) => {
      outcome(bytes);
    }),
    { numRuns: 2000 },
  );
});

test('fuzz: arbitrary bytes behind a valid header never throw anything but BeaconError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 400 }), fc.integer({ min: 0, max: 0xffff }), (tail, bindingLen) => {
      const b = Buffer.concat([Buffer.from('4d4e423101000000', 'hex'), Buffer.from([bindingLen >> 8, bindingLen & 0xff]), tail]);
      outcome(b);
    }),
    { numRuns: 2000 },
  );
});

test('fuzz: the captured beacon with bytes changed, cut or added decodes or is a BeaconError, and never verifies if its binding or signature changed', () => {
  const good = beaconBytes();
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      fc.nat(good.length),
      fc.uint8Array({ maxLength: 8 }),
      (flips, cut, extra) => {
        const b = Buffer.concat([good.subarray(0, cut), extra]);
        for (const [at, v] of flips) if (at < b.length) b[at] = v;
        let sb;
        try {
          sb = decodeBeacon(b);
        } catch (err) {
          assert.ok(err instanceof BeaconError);
          return;
        }
        const same = Buffer.from(sb.binding).equals(good.subarray(BEACON_BINDING, BEACON_BINDING + 141)) && Buffer.from(sb.signature).equals(good.subarray(BEACON_BINDING + 143));
        assert.equal(typeof verifySignedBinding(sb) !== 'string', same);
      },
    ),
    { numRuns: 1000 },
  );
});
