import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { InvalidPersonaError } from '../../src/controlplane/identity/errors.js';
import { publicKeyHex } from '../../src/controlplane/identity/moltid.js';
import { canonicalJson, createPersona, parsePersona, verifyPersona } from '../../src/controlplane/identity/persona.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const pub = publicKeyHex(publicKey);
const signer = async (d: Uint8Array) => sign(null, d, privateKey);
const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });

describe('identity: personas', () => {
  it('canonical JSON sorts keys at every level, no whitespace', () => {
    assert.equal(canonicalJson({ b: 1, a: [{ d: true, c: null }, 'x'] }), '{"a":[{"c":null,"d":true},"x"],"b":1}');
    assert.equal(canonicalJson({ a: undefined, b: 'é' }), '{"b":"é"}');
    assert.throws(() => canonicalJson({ a: Infinity }), InvalidPersonaError);
  });

  it('create and verify (Ed25519)', async () => {
    const p = await createPersona(pub, { handle: 'trader-bot', tags: ['defi', 'research'], linkedToRoot: true, createdAt: new Date('2026-01-02T03:04:05Z') }, signer);
    assert.equal(p.moltid, `MOLTID:${pub}`);
    assert.equal(p.created_at, '2026-01-02T03:04:05.000Z');
    assert.deepEqual(p.policy, { linked_to_root: true });
    assert.ok(verifyPersona(p));
    // Key order does not matter: verification re-encodes canonically.
    const reordered = JSON.parse(JSON.stringify({ signature: p.signature, tags: p.tags, policy: p.policy, handle: p.handle, created_at: p.created_at, moltid: p.moltid, type: p.type }));
    assert.ok(verifyPersona(reordered));
  });

  it('create and verify (RSA, SHA256withRSA as Maxima)', async () => {
    const rpub = publicKeyHex(rsa.publicKey);
    const p = await createPersona(rpub, { handle: 'r' }, async (d) => sign('sha256', d, rsa.privateKey));
    assert.ok(verifyPersona(p));
  });

  it('tampered fields, signature or key fail', async () => {
    const p = await createPersona(pub, { handle: 'alice', tags: ['a'] }, signer);
    assert.equal(verifyPersona({ ...p, handle: 'mallory' }), false);
    assert.equal(verifyPersona({ ...p, tags: ['a', 'b'] }), false);
    assert.equal(verifyPersona({ ...p, policy: { linked_to_root: false } }), false);
    const sig = Buffer.from(p.signature.slice(2), 'hex');
    sig[0]! ^= 1;
    assert.equal(verifyPersona({ ...p, signature: `0x${sig.toString('hex')}` }), false);
    const other = publicKeyHex(generateKeyPairSync('ed25519').publicKey);
    assert.equal(verifyPersona({ ...p, moltid: `MOLTID:${other}` }), false);
  });

  it('malformed personas are InvalidPersonaError naming the field', async () => {
    const p = await createPersona(pub, { handle: 'alice' }, signer);
    assert.throws(() => parsePersona({ ...p, handle: 'no spaces' }), /bad persona: handle/);
    assert.throws(() => parsePersona({ ...p, extra: 1 }), InvalidPersonaError);
    assert.throws(() => parsePersona({ ...p, created_at: 'yesterday' }), /created_at/);
    assert.throws(() => parsePersona({ ...p, policy: {} }), /policy\.linked_to_root/);
    assert.throws(() => parsePersona({ ...p, moltid: 'x' }), /not a MoltID/);
    assert.throws(() => parsePersona('str'), InvalidPersonaError);
    await assert.rejects(createPersona(pub, { handle: '' }, signer), InvalidPersonaError);
  });
});
