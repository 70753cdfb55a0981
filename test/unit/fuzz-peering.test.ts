/**
 * Fuzzing the peering protocol's decoders (src/controlplane/peering/messages.ts, handshake.ts,
 * registry.ts): protobuf Envelopes, Bindings and RegistryInfos, the 6802 framing, and what the handshake
 * and the registry do with what decodes. The rules:
 *
 *   - a body decodes to exactly one message or throws PeeringProtocolError with a message, nothing else;
 *   - any message encodes, frames, splits anyhow across TCP reads and decodes back to itself, and the
 *     re-encoding is the same bytes (proto3 as protobufjs writes it is canonical); a decoded random body
 *     re-encodes to bytes that decode to the same message;
 *   - a handshake fed mutated real Hellos and HelloReplies never throws and gets no further than Failed
 *     unless the bytes it verifies are the real ones; the registry accepts a mutated record only when its
 *     signed bytes are unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import {
  FRAME_HEADER,
  FrameDecoder,
  MAX_FRAME,
  PeeringProtocolError,
  decodeBinding,
  decodeEnvelope,
  decodeRegistryInfo,
  encodeBinding,
  encodeFrame,
  encodeRegistryInfo,
  type BindingFields,
  type Envelope,
  type RegistryInfoFields,
  type RegistryRecord,
} from '../../src/controlplane/peering/messages.js';
import { Handshake, ReplayCache, signBinding, verifySignedBinding, type LocalIdentity } from '../../src/controlplane/peering/handshake.js';
import { MeshRegistry, REGISTRY_TAG } from '../../src/controlplane/peering/registry.js';
import { TrustPolicy } from '../../src/controlplane/peering/trust.js';
import { meshAddressBytes } from '../../src/common/address.js';
import { decodesOrThrows, fuzz, mutate, mutations, resolvesOrRejects } from '../helpers/fuzz.js';

const PROTO = [PeeringProtocolError];
const KINDS = ['hello', 'reply', 'proof', 'result', 'keepalive', 'peersRequest', 'peersReply', 'observed', 'candidates', 'registry'];

const bytes = (max = 48) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const str = fc.string({ unit: 'grapheme', maxLength: 24 });
const u32 = fc.nat(0xffffffff);
const signed = fc.record({ binding: bytes(), signature: bytes() });

const envelopeArb: fc.Arbitrary<Envelope> = fc.oneof(
  fc.record({ hello: fc.record({ version: u32, capabilities: fc.array(str, { maxLength: 4 }), binding: signed, challenge: bytes(40) }) }),
  fc.record({ reply: fc.record({ version: u32, capabilities: fc.array(str, { maxLength: 4 }), binding: signed, challenge: bytes(40), response: bytes(80) }) }),
  fc.record({ proof: fc.record({ response: bytes(80) }) }),
  fc.record({
    result: fc.record(
      {
        accepted: fc.boolean(),
        reason: str,
        link: fc.record({ kind: str, vni: fc.integer({ min: 1, max: 0xffffffff }), greKey: fc.integer({ min: 1, max: 0xffffffff }) }, { requiredKeys: ['kind'] }),
      },
      { requiredKeys: ['accepted', 'reason'] },
    ),
  }),
  fc.record({ keepalive: fc.record({ sentMs: fc.maxSafeNat() }) }),
  fc.record({ peersRequest: fc.record({ max: u32 }) }),
  fc.record({ peersReply: fc.record({ peers: fc.array(signed, { maxLength: 3 }) }) }),
  fc.record({ observed: fc.record({ endpoint: str }) }),
  fc.record({ candidates: fc.record({ endpoints: fc.array(str, { maxLength: 4 }) }) }),
  fc.record({ registry: fc.record({ records: fc.array(fc.record({ binding: signed, info: bytes(), infoSignature: bytes() }), { maxLength: 3 }) }) }),
) as fc.Arbitrary<Envelope>;

/** The shape decodeEnvelope promises. */
function checkEnvelope(e: Envelope): void {
  const keys = Object.keys(e);
  assert.equal(keys.length, 1);
  assert.ok(KINDS.includes(keys[0]!), keys[0]);
  const isBytes = (b: unknown) => assert.ok(b instanceof Uint8Array, 'bytes');
  const isSigned = (s: { binding: unknown; signature: unknown }) => {
    isBytes(s.binding);
    isBytes(s.signature);
  };
  const isUint = (n: unknown) => assert.ok(typeof n === 'number' && Number.isInteger(n) && n >= 0, `not a number: ${String(n)}`);
  const strings = (a: unknown) => assert.ok(Array.isArray(a) && a.every((s) => typeof s === 'string'));
  if ('hello' in e) {
    isUint(e.hello.version);
    strings(e.hello.capabilities);
    isSigned(e.hello.binding);
    isBytes(e.hello.challenge);
  } else if ('reply' in e) {
    isUint(e.reply.version);
    strings(e.reply.capabilities);
    isSigned(e.reply.binding);
    isBytes(e.reply.challenge);
    isBytes(e.reply.response);
  } else if ('proof' in e) isBytes(e.proof.response);
  else if ('result' in e) {
    assert.equal(typeof e.result.accepted, 'boolean');
    assert.equal(typeof e.result.reason, 'string');
    if (e.result.link) assert.equal(typeof e.result.link.kind, 'string');
  } else if ('keepalive' in e) isUint(e.keepalive.sentMs);
  else if ('peersRequest' in e) isUint(e.peersRequest.max);
  else if ('peersReply' in e) e.peersReply.peers.forEach(isSigned);
  else if ('observed' in e) assert.equal(typeof e.observed.endpoint, 'string');
  else if ('candidates' in e) strings(e.candidates.endpoints);
  else if ('registry' in e) {
    for (const r of e.registry.records) {
      isSigned(r.binding);
      isBytes(r.info);
      isBytes(r.infoSignature);
    }
  }
}

/** Buffers as plain byte arrays, so decoded and generated messages compare by content. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return [...v];
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

function body(env: Envelope): Buffer {
  return encodeFrame(env).subarray(FRAME_HEADER);
}

test('property: any message frames, splits across reads, decodes to itself and re-encodes to the same bytes', () => {
  fc.assert(
    fc.property(fc.array(envelopeArb, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(400), { maxLength: 6 }), (envs, cuts) => {
      const stream = Buffer.concat(envs.map(encodeFrame));
      const at = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
      const d = new FrameDecoder();
      const got: Envelope[] = [];
      let from = 0;
      for (const c of [...at, stream.length]) {
        got.push(...d.push(stream.subarray(from, c)));
        from = c;
      }
      assert.equal(d.buffered, 0);
      assert.deepEqual(plain(got), plain(envs));
      for (const e of got) {
        checkEnvelope(e);
        assert.deepEqual(encodeFrame(e), encodeFrame(envs[got.indexOf(e)]!));
      }
    }),
    fuzz(2),
  );
});

function checkBody(b: Uint8Array): void {
  const r = decodesOrThrows(() => decodeEnvelope(b), PROTO, 'decodeEnvelope');
  if (!r.ok) return;
  checkEnvelope(r.value);
  const again = decodeEnvelope(body(r.value));
  assert.deepEqual(plain(again), plain(r.value), 're-encoding decodes to the same message');
}

test('property: random and mutated bodies decode to one message or throw PeeringProtocolError', () => {
  fc.assert(fc.property(bytes(120), checkBody), fuzz(5));
  fc.assert(
    fc.property(envelopeArb, mutations(4), (env, edits) => checkBody(mutate(body(env), edits))),
    fuzz(5),
  );
});

test('property: a mutated byte stream gives messages or PeeringProtocolError; at most one partial frame is held', () => {
  fc.assert(
    fc.property(fc.array(envelopeArb, { minLength: 1, maxLength: 3 }), mutations(4), fc.nat(200), (envs, edits, cut) => {
      const stream = Buffer.concat(envs.map(encodeFrame));
      const fields = [0, 2];
      let at = 0;
      for (const e of envs) {
        at += encodeFrame(e).length;
        fields.push(at, at + 2);
      }
      const m = mutate(stream, edits, fields);
      const d = new FrameDecoder();
      const c = cut % (m.length + 1);
      for (const part of [m.subarray(0, c), m.subarray(c)]) {
        const r = decodesOrThrows(() => d.push(part), PROTO, 'FrameDecoder.push');
        if (!r.ok) return;
        r.value.forEach(checkEnvelope);
        assert.ok(d.buffered < FRAME_HEADER + MAX_FRAME, `holds ${d.buffered} bytes`);
      }
    }),
    fuzz(4),
  );
  // A header that announces more than MAX_FRAME is refused before the body arrives.
  const big = Buffer.alloc(4);
  big.writeUInt32BE(MAX_FRAME + 1);
  assert.throws(() => new FrameDecoder().push(big), PeeringProtocolError);
});

const bindingArb: fc.Arbitrary<BindingFields> = fc.record(
  {
    uuid: str,
    meshAddress: bytes(20),
    moltidKey: bytes(60),
    endpoint: str,
    linkKinds: fc.array(str, { maxLength: 3 }),
    wireguardKey: fc.uint8Array({ minLength: 1, maxLength: 32 }).map((a) => Buffer.from(a)),
    wireguardPort: fc.integer({ min: 1, max: 0xffffffff }),
    timestampMs: fc.maxSafeNat(),
  },
  { requiredKeys: ['uuid', 'meshAddress', 'moltidKey', 'endpoint', 'linkKinds', 'timestampMs'] },
);
const infoArb: fc.Arbitrary<RegistryInfoFields> = fc.record({
  name: str,
  capabilities: fc.array(str, { maxLength: 3 }),
  services: fc.array(str, { maxLength: 3 }),
  version: str,
  timestampMs: fc.maxSafeNat(),
});

test('property: Bindings and RegistryInfos round-trip; random and mutated ones decode or throw PeeringProtocolError', () => {
  fc.assert(
    fc.property(bindingArb, infoArb, mutations(3), (b, i, edits) => {
      const eb = encodeBinding(b);
      assert.deepEqual(plain(decodeBinding(eb)), plain(b));
      assert.deepEqual(encodeBinding(decodeBinding(eb)), eb);
      const ei = encodeRegistryInfo(i);
      assert.deepEqual(plain(decodeRegistryInfo(ei)), plain(i));
      assert.deepEqual(encodeRegistryInfo(decodeRegistryInfo(ei)), ei);
      for (const x of [mutate(eb, edits), mutate(ei, edits)]) {
        const rb = decodesOrThrows(() => decodeBinding(x), PROTO, 'decodeBinding');
        if (rb.ok) {
          assert.equal(typeof rb.value.uuid, 'string');
          assert.ok(rb.value.meshAddress instanceof Uint8Array && rb.value.moltidKey instanceof Uint8Array);
          assert.ok(Number.isInteger(rb.value.timestampMs) && rb.value.timestampMs >= 0);
        }
        const ri = decodesOrThrows(() => decodeRegistryInfo(x), PROTO, 'decodeRegistryInfo');
        if (ri.ok) assert.ok(typeof ri.value.name === 'string' && Array.isArray(ri.value.services) && Number.isInteger(ri.value.timestampMs));
      }
    }),
    fuzz(3),
  );
});

// ---------------------------------------------------------------------------------------------------------
// Handshake and registry on mutated real messages (real Ed25519 keys).

const U1 = 'daa46e88-46c5-4af7-9268-1482c54c1922';
const U2 = '88833763-60b7-47db-8703-349c6b2c70ff';
const T0 = 1_796_000_000_000;

function identity(uuid: string) {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const der = publicKey.export({ format: 'der', type: 'spki' });
  const local: LocalIdentity = {
    binding: (wall) => ({ uuid, meshAddress: meshAddressBytes(uuid), moltidKey: der, endpoint: '[fd00:1::1]:4789', linkKinds: ['vxlan', 'gre'], timestampMs: wall }),
    sign: (data: Buffer) => cryptoSign(null, data, privateKey),
  };
  return { local, sign: (d: Uint8Array) => cryptoSign(null, d, privateKey), der };
}

const A = identity(U1);
const B = identity(U2);
const random = (n: number) => Buffer.alloc(n, 7);
const handshake = (role: 'initiator' | 'responder', who: typeof A) =>
  new Handshake({ role, local: who.local, policy: new TrustPolicy(), replay: new ReplayCache(), random, now: 0, wallNow: T0 });

/** Feed a mutated frame to a handshake: no throw, and only the real bytes get it past Failed. */
async function feed(h: Handshake, frame: Buffer, real: Buffer): Promise<void> {
  const r = decodesOrThrows(() => new FrameDecoder().push(frame), PROTO, 'FrameDecoder.push');
  if (!r.ok) return;
  for (const env of r.value) {
    const step = await resolvesOrRejects(() => h.receive(env, 1, T0), [], 'Handshake.receive');
    assert.ok(step.ok);
    for (const s of step.value.send) encodeFrame(s);
    if (h.state !== 'Failed') {
      const sb = 'hello' in env ? env.hello.binding : 'reply' in env ? env.reply.binding : undefined;
      assert.ok(sb, `${h.state} after a ${Object.keys(env)[0]}`);
      assert.ok(body(env).length > 0 && real.includes(Buffer.from(sb.binding)) && real.includes(Buffer.from(sb.signature)), `${h.state} on changed bytes`);
    } else {
      assert.ok(typeof h.reason === 'string' && h.reason.length > 0);
    }
  }
}

test('property: handshakes take mutated real Hellos and HelloReplies without throwing', async () => {
  const init = handshake('initiator', A);
  const hello = (await init.start()).send[0]!;
  const reply = (await handshake('responder', B).receive(hello, 1, T0)).send[0]!;
  assert.ok('reply' in reply);
  const helloFrame = encodeFrame(hello);
  const replyFrame = encodeFrame(reply);
  const fields = [2, 4, 6, 8];
  await fc.assert(
    fc.asyncProperty(fc.boolean(), mutations(3), async (toResponder, edits) => {
      if (toResponder) {
        await feed(handshake('responder', B), mutate(helloFrame, edits, fields), helloFrame);
      } else {
        const i = handshake('initiator', A);
        await i.start();
        await feed(i, mutate(replyFrame, edits, fields), replyFrame);
      }
    }),
    fuzz(1),
  );
});

test('property: verifySignedBinding and MeshRegistry.accept on mutated records: a verdict, never a throw', async () => {
  const binding = await signBinding(
    { uuid: U1, meshAddress: meshAddressBytes(U1), moltidKey: A.der, endpoint: '[fdff::1]:4789', linkKinds: ['vxlan'], timestampMs: T0 },
    async (d) => A.sign(d),
  );
  const info = encodeRegistryInfo({ name: 'agenticmesh', capabilities: ['vxlan'], services: ['rpc'], version: '0.1.0', timestampMs: T0 });
  const record: RegistryRecord = { binding, info, infoSignature: A.sign(Buffer.concat([REGISTRY_TAG, info])) };
  assert.equal(new MeshRegistry({ maxRecords: 4, maxAgeMs: 300_000, skewMs: 60_000 }).accept(record, T0, new Map()).status, 'new');
  fc.assert(
    fc.property(fc.nat(3), mutations(3), (which, edits) => {
      const parts: Buffer[] = [Buffer.from(binding.binding), Buffer.from(binding.signature), Buffer.from(info), Buffer.from(record.infoSignature)];
      parts[which] = mutate(parts[which]!, edits);
      const rec: RegistryRecord = { binding: { binding: parts[0]!, signature: parts[1]! }, info: parts[2]!, infoSignature: parts[3]! };
      const unchanged = (i: number) => parts[i]!.equals([binding.binding, binding.signature, info, record.infoSignature][i]!);
      const v = verifySignedBinding(rec.binding);
      if (typeof v === 'string') assert.ok(v.length > 0);
      else assert.ok(unchanged(0) && unchanged(1), 'a changed binding verified');
      const verdict = new MeshRegistry({ maxRecords: 4, maxAgeMs: 300_000, skewMs: 60_000 }).accept(rec, T0, new Map());
      if (verdict.status === 'refused') assert.ok(verdict.reason.length > 0);
      else assert.ok([0, 1, 2, 3].every(unchanged), `${verdict.status} for a changed record`);
    }),
    fuzz(1),
  );
});
