import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { Handshake, ReplayCache, type HandshakeOptions, type LocalIdentity } from '../../src/controlplane/peering/handshake.js';
import { TrustPolicy } from '../../src/controlplane/peering/trust.js';
import { FrameDecoder, MAX_FRAME, PeeringProtocolError, decodeBinding, encodeFrame, type Envelope } from '../../src/controlplane/peering/messages.js';
import { meshAddressBytes } from '../../src/common/address.js';

const U1 = 'daa46e88-46c5-4af7-9268-1482c54c1922';
const U2 = '88833763-60b7-47db-8703-349c6b2c70ff';
const T0 = 1_796_000_000_000; // wall clock of the test

function identity(uuid: string, kind: 'ed25519' | 'rsa' = 'ed25519', over: Partial<{ address: string; uuid: string }> = {}): LocalIdentity & { moltid: string; priv: KeyObject } {
  const { publicKey, privateKey } = kind === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return {
    moltid: `MOLTID:0x${der.toString('hex')}`,
    priv: privateKey,
    binding: (wall) => ({
      uuid: over.uuid ?? uuid,
      meshAddress: meshAddressBytes(over.address ?? uuid),
      moltidKey: der,
      endpoint: '[fd00:1::1]:4789',
      linkKinds: ['vxlan', 'gre'],
      timestampMs: wall,
    }),
    sign: (data: Buffer) => cryptoSign(kind === 'ed25519' ? null : 'sha256', data, privateKey),
  };
}

let seq = 0;
const random = (n: number) => Buffer.alloc(n, ++seq);

function pair(a: LocalIdentity, b: LocalIdentity, opt: { policyB?: TrustPolicy; policyA?: TrustPolicy; expect?: string } = {}) {
  const common = { random, now: 0, wallNow: T0 } satisfies Partial<HandshakeOptions>;
  const init = new Handshake({ ...common, role: 'initiator', local: a, policy: opt.policyA ?? new TrustPolicy(), replay: new ReplayCache(), ...(opt.expect ? { expectUuid: opt.expect } : {}) });
  const resp = new Handshake({ ...common, role: 'responder', local: b, policy: opt.policyB ?? new TrustPolicy(), replay: new ReplayCache() });
  return { init, resp };
}

/** Run the exchange over real frames; returns the initiator's and responder's states. */
async function run(init: Handshake, resp: Handshake, tamper?: (env: Envelope, i: number) => Envelope) {
  const di = new FrameDecoder();
  const dr = new FrameDecoder();
  let toResp = (await init.start()).send;
  let i = 0;
  for (let round = 0; round < 4 && toResp.length > 0; round++) {
    const back: Envelope[] = [];
    for (const e of toResp) for (const m of dr.push(encodeFrame(tamper ? tamper(e, i++) : e))) back.push(...(await resp.receive(m, 1, T0)).send);
    toResp = [];
    for (const e of back) for (const m of di.push(encodeFrame(tamper ? tamper(e, i++) : e))) toResp.push(...(await init.receive(m, 2, T0)).send);
  }
  return { i: init.state, r: resp.state };
}

test('Ed25519 and RSA nodes complete the handshake both ways and learn each other', async () => {
  for (const [ka, kb] of [['ed25519', 'ed25519'], ['rsa', 'ed25519'], ['ed25519', 'rsa']] as const) {
    const a = identity(U1, ka);
    const b = identity(U2, kb);
    const { init, resp } = pair(a, b, { expect: U2 });
    assert.deepEqual(await run(init, resp), { i: 'Established', r: 'Established' }, `${ka}/${kb}: ${init.reason ?? ''} ${resp.reason ?? ''}`);
    assert.equal(init.peer!.uuid, U2);
    assert.equal(init.peer!.moltid, b.moltid);
    assert.equal(resp.peer!.address, 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268');
    assert.equal(resp.peer!.moltid, a.moltid);
  }
});

test('each side learns the capabilities the other offered (a relay says so), bounded', async () => {
  const common = { random, now: 0, wallNow: T0 } satisfies Partial<HandshakeOptions>;
  const init = new Handshake({ ...common, role: 'initiator', local: identity(U1), policy: new TrustPolicy(), replay: new ReplayCache(), capabilities: ['vxlan', 'x'.repeat(100)] });
  const resp = new Handshake({ ...common, role: 'responder', local: identity(U2), policy: new TrustPolicy(), replay: new ReplayCache(), capabilities: ['vxlan', 'gre', 'relay'] });
  assert.equal((await run(init, resp)).i, 'Established');
  assert.deepEqual(init.peer!.capabilities, ['vxlan', 'gre', 'relay']);
  assert.deepEqual(resp.peer!.capabilities, ['vxlan', 'x'.repeat(32)]);
});

test('endpoint messages: observed and candidates on the wire (protobuf fields 8 and 9) and back', () => {
  const observed = encodeFrame({ observed: { endpoint: '198.51.100.2:45789' } });
  // length 22 | field 8, length 20 | Observed.endpoint (field 1), length 18 | the text
  assert.equal(observed.toString('hex'), `00000016421 40a12${Buffer.from('198.51.100.2:45789').toString('hex')}`.replace(' ', ''));
  const candidates = encodeFrame({ candidates: { endpoints: ['198.51.100.3:46789', '[2001:db8::1]:4789'] } });
  const d = new FrameDecoder();
  assert.deepEqual(d.push(Buffer.concat([observed, candidates])), [
    { observed: { endpoint: '198.51.100.2:45789' } },
    { candidates: { endpoints: ['198.51.100.3:46789', '[2001:db8::1]:4789'] } },
  ]);
  // An empty Candidates (a node that knows no public endpoint yet) is a message, not nothing.
  assert.deepEqual(new FrameDecoder().push(encodeFrame({ candidates: { endpoints: [] } })), [{ candidates: { endpoints: [] } }]);
});

test('the link the responder offers reaches the initiator', async () => {
  const policy = new TrustPolicy();
  const offering = Object.assign(policy, { linkFor: () => ({ kind: 'gre', greKey: 0x1234 }) });
  const { init, resp } = pair(identity(U1), identity(U2), { policyB: offering });
  assert.equal((await run(init, resp)).i, 'Established');
  assert.deepEqual(init.link, { kind: 'gre', greKey: 0x1234 });
});

test('a binding whose address does not derive from its uuid is refused, with the reason sent back', async () => {
  const a = identity(U1, 'ed25519', { address: U2 });
  const { init, resp } = pair(a, identity(U2));
  const hello = (await init.start()).send[0]!;
  const step = await resp.receive(hello, 1, T0);
  assert.equal(step.state, 'Failed');
  assert.match(resp.reason!, /does not derive from uuid/);
  assert.deepEqual(step.send, [{ result: { accepted: false, reason: resp.reason } }]);
  const back = await init.receive(step.send[0]!, 2, T0);
  assert.equal(back.state, 'Failed');
  assert.match(init.reason!, /refused by the peer: binding address does not derive/);
});

test('a stale or future binding is refused before any signature work', async () => {
  for (const skew of [-200_000, 200_000]) {
    const { init, resp } = pair(identity(U1), identity(U2));
    const hello = (await init.start()).send[0]!;
    await resp.receive(hello, 1, T0 - skew);
    assert.match(resp.reason!, /stale binding/);
  }
});

test('a replayed Hello is refused; a tampered binding or proof fails', async () => {
  const a = identity(U1);
  const b = identity(U2);
  const replay = new ReplayCache();
  const mk = () => new Handshake({ role: 'responder', local: b, policy: new TrustPolicy(), replay, random, now: 0, wallNow: T0 });
  const init = new Handshake({ role: 'initiator', local: a, policy: new TrustPolicy(), replay: new ReplayCache(), random, now: 0, wallNow: T0 });
  const hello = (await init.start()).send[0]!;
  assert.equal((await mk().receive(hello, 1, T0)).state, 'AwaitProof');
  const again = mk();
  await again.receive(hello, 1, T0);
  assert.equal(again.reason, 'replayed binding');

  // A flipped bit in the signed binding.
  const { init: i2, resp: r2 } = pair(a, b);
  const states = await run(i2, r2, (e) => {
    if ('hello' in e) {
      const bytes = Buffer.from(e.hello.binding.binding);
      bytes[bytes.length - 1]! ^= 1;
      return { hello: { ...e.hello, binding: { ...e.hello.binding, binding: bytes } } };
    }
    return e;
  });
  assert.equal(states.r, 'Failed');
  assert.match(r2.reason!, /signature does not verify|stale/);

  // The initiator's proof signed with another key.
  const { init: i3, resp: r3 } = pair(a, b);
  const other = identity(U1);
  await run(i3, r3, (e) => ('proof' in e ? { proof: { response: other.sign(Buffer.from('whatever')) as Buffer } } : e));
  assert.equal(r3.state, 'Failed');
  assert.match(r3.reason!, /initiator's proof of control does not verify/);
});

test('a responder that cannot sign for its binding key fails the initiator', async () => {
  const b = identity(U2);
  const impostor = { ...b, sign: identity(U2).sign }; // binding names b's key, signs with another
  const { init, resp } = pair(identity(U1), impostor);
  const s = await run(init, resp);
  assert.equal(s.i, 'Failed');
  assert.match(init.reason!, /binding signature does not verify/);
});

test('pins: a configured MoltID must match; the first key is pinned; another key for the uuid is refused; deny lists', async () => {
  const a = identity(U1);
  const b = identity(U2);
  const configured = new TrustPolicy({ configured: new Map([[U1, identity(U1).moltid]]) });
  let { init, resp } = pair(a, b, { policyB: configured });
  await run(init, resp);
  assert.match(resp.reason!, /another MoltID than the one configured/);

  const tofu = new TrustPolicy();
  ({ init, resp } = pair(a, b, { policyB: tofu }));
  assert.equal((await run(init, resp)).r, 'Established');
  assert.equal(tofu.pin(resp.peer!), true);
  assert.equal(tofu.pin(resp.peer!), false);
  const thief = identity(U1); // same uuid, another key
  ({ init, resp } = pair(thief, b, { policyB: tofu }));
  await run(init, resp);
  assert.equal(resp.state, 'Failed');
  assert.match(resp.reason!, /another MoltID than the one pinned/);
  assert.match(init.reason!, /refused by the peer/);

  const denied = new TrustPolicy({ deny: [a.moltid] });
  ({ init, resp } = pair(a, b, { policyB: denied }));
  await run(init, resp);
  assert.match(resp.reason!, /is denied/);
  const byAddress = new TrustPolicy({ deny: ['fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268'] });
  ({ init, resp } = pair(a, b, { policyB: byAddress }));
  const step = await resp.receive((await init.start()).send[0]!, 1, T0);
  assert.equal(step.state, 'Failed');
  assert.match(resp.reason!, /mesh address .* is denied/);
  const allow = new TrustPolicy({ allow: [identity(U1).moltid] });
  ({ init, resp } = pair(a, b, { policyB: allow }));
  await run(init, resp);
  assert.match(resp.reason!, /not on the allow list/);
});

test('the initiator refuses a responder that is not the peer it dialled', async () => {
  const { init, resp } = pair(identity(U1), identity(U2), { expect: 'f8a9ce03-f512-4311-8792-519109168903' });
  await run(init, resp);
  assert.equal(init.state, 'Failed');
  assert.match(init.reason!, /not the expected f8a9ce03/);
});

test('timeouts on a manual clock; messages out of order fail', async () => {
  const init = new Handshake({ role: 'initiator', local: identity(U1), policy: new TrustPolicy(), replay: new ReplayCache(), random, now: 1000, wallNow: T0, timeoutMs: 5000 });
  await init.start();
  assert.equal(init.nextWake(), 6000);
  assert.equal(init.tick(5999).state, 'AwaitReply');
  assert.equal(init.tick(6000).state, 'Failed');
  assert.equal(init.reason, 'handshake timed out');
  const resp = new Handshake({ role: 'responder', local: identity(U2), policy: new TrustPolicy(), replay: new ReplayCache(), random, now: 0, wallNow: T0 });
  await resp.receive({ proof: { response: Buffer.alloc(64) } }, 1, T0);
  assert.equal(resp.state, 'Failed');
  assert.match(resp.reason!, /unexpected proof in state Start/);
});

test('framing: partial frames wait, oversize frames and garbage are named errors', async () => {
  const a = identity(U1);
  const frame = encodeFrame({ proof: { response: Buffer.alloc(64, 7) } });
  const d = new FrameDecoder();
  assert.deepEqual(d.push(frame.subarray(0, 10)), []);
  const [m] = d.push(frame.subarray(10));
  assert.deepEqual(m, { proof: { response: Buffer.alloc(64, 7) } });
  assert.equal(d.buffered, 0);
  const big = Buffer.alloc(4);
  big.writeUInt32BE(MAX_FRAME + 1);
  assert.throws(() => new FrameDecoder().push(big), PeeringProtocolError);
  const junk = Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from([0xff, 0xff, 0xff])]);
  assert.throws(() => new FrameDecoder().push(junk), PeeringProtocolError);
  const empty = Buffer.from([0, 0, 0, 0]);
  assert.throws(() => new FrameDecoder().push(empty), /carries no hello/);
  assert.throws(() => decodeBinding(Buffer.from([0xff, 0x01])), PeeringProtocolError);
  void a;
});
