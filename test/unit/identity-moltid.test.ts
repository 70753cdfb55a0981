import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InvalidInputError } from '../../src/common/errors.js';
import {
  InvalidHexError,
  InvalidMoltIdError,
  InvalidPermanentAddressError,
  InvalidPublicKeyError,
} from '../../src/controlplane/identity/errors.js';
import {
  dataBytes,
  formatMoltId,
  formatPermanentAddress,
  parseHex,
  parseMoltId,
  parsePermanentAddress,
  parsePublicKey,
  publicKeyHex,
  toHex,
  verifySignature,
} from '../../src/controlplane/identity/moltid.js';

const dir = mkdtempSync(join(tmpdir(), 'moltid-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** An RSA key and a signature made as Maxima makes them (SHA256withRSA, PKCS#1 v1.5), by openssl. */
function opensslRsaSignature(data: Buffer, bits = 1024): { publicKey: string; signature: Buffer } {
  const key = join(dir, `rsa${bits}.pem`);
  execFileSync('openssl', ['genrsa', '-out', key, String(bits)], { stdio: 'ignore' });
  const pub = join(dir, `rsa${bits}.der`);
  execFileSync('openssl', ['rsa', '-in', key, '-pubout', '-outform', 'DER', '-out', pub], { stdio: 'ignore' });
  const dataFile = join(dir, 'data.bin');
  writeFileSync(dataFile, data);
  const sigFile = join(dir, 'sig.bin');
  execFileSync('openssl', ['dgst', '-sha256', '-sign', key, '-out', sigFile, dataFile], { stdio: 'ignore' });
  return { publicKey: toHex(readFileSync(pub)), signature: readFileSync(sigFile) };
}

function flip(b: Buffer, i = 0): Buffer {
  const c = Buffer.from(b);
  c[i % c.length]! ^= 0x01;
  return c;
}

describe('identity: offline signatures', () => {
  const challenge = Buffer.from('6a'.repeat(32), 'hex');

  it('RSA: a signature made by openssl as Maxima signs verifies offline', () => {
    const { publicKey, signature } = opensslRsaSignature(challenge);
    const key = parsePublicKey(publicKey);
    assert.equal(key.type, 'rsa');
    assert.equal(key.hex, publicKey);
    assert.ok(verifySignature(challenge, key, signature));
  });

  it('RSA: tampered data, signature or key fails', () => {
    const { publicKey, signature } = opensslRsaSignature(challenge);
    const key = parsePublicKey(publicKey);
    assert.equal(verifySignature(flip(challenge, 5), key, signature), false);
    assert.equal(verifySignature(challenge, key, flip(signature, 10)), false);
    assert.equal(verifySignature(challenge, key, signature.subarray(1)), false);
    const other = opensslRsaSignature(challenge);
    assert.equal(verifySignature(challenge, parsePublicKey(other.publicKey), signature), false);
  });

  it('Ed25519: sign and verify; tampered data, signature or key fails', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const key = parsePublicKey(publicKeyHex(publicKey));
    assert.equal(key.type, 'ed25519');
    const sig = sign(null, challenge, privateKey);
    assert.ok(verifySignature(challenge, key, sig));
    assert.equal(verifySignature(flip(challenge), key, sig), false);
    assert.equal(verifySignature(challenge, key, flip(sig, 3)), false);
    const other = generateKeyPairSync('ed25519').publicKey;
    assert.equal(verifySignature(challenge, parsePublicKey(publicKeyHex(other)), sig), false);
  });

  it('an RSA signature does not verify under an Ed25519 key of the same data', () => {
    const { signature } = opensslRsaSignature(challenge);
    const ed = parsePublicKey(publicKeyHex(generateKeyPairSync('ed25519').publicKey));
    assert.equal(verifySignature(challenge, ed, signature), false);
  });
});

describe('identity: strings', () => {
  const ed = publicKeyHex(generateKeyPairSync('ed25519').publicKey);
  const mls = 'MxG18HGG6FJ038614Y8CW46US6G20810K0070CD00Z83282G60G1C9RS1AMUNYYTP@203.0.113.5:9001';

  it('hex: 0x + uppercase; parse takes any case', () => {
    assert.equal(toHex(Buffer.from([0xab, 0x01])), '0xAB01');
    assert.deepEqual(parseHex('0xab01'), Buffer.from([0xab, 0x01]));
    assert.deepEqual(parseHex('0XAB01'), Buffer.from([0xab, 0x01]));
  });

  it('data: 0x... is bytes, else UTF-8', () => {
    assert.deepEqual(dataBytes('0xFFEE'), Buffer.from([0xff, 0xee]));
    assert.deepEqual(dataBytes('héllo'), Buffer.from('héllo', 'utf8'));
    assert.throws(() => dataBytes('0xZZ'), InvalidHexError);
  });

  it('bad hex: named errors with exit code 2', () => {
    for (const bad of ['ab01', '0x', '0xabc', '0xg0', '']) {
      assert.throws(() => parseHex(bad, 'signature'), (e: unknown) => e instanceof InvalidHexError && e instanceof InvalidInputError && e.exitCode === 2 && /signature/.test(e.message));
    }
  });

  it('MOLTID: round trip, any case of hex, canonical uppercase', () => {
    const id = formatMoltId(ed);
    assert.match(id, /^MOLTID:0x302A300506032B6570032100[0-9A-F]{64}$/);
    assert.equal(parseMoltId(id).hex, ed);
    assert.equal(parseMoltId(`MOLTID:${ed.toLowerCase()}`).hex, ed);
    assert.equal(parseMoltId(`  ${id}\n`).type, 'ed25519');
  });

  it('MOLTID: bad input', () => {
    assert.throws(() => parseMoltId(ed), InvalidMoltIdError);
    assert.throws(() => parseMoltId('MOLTID:'), /bad MoltID: public key must be 0x/);
    assert.throws(() => parseMoltId('MOLTID:0x302a0000'), /not a DER SubjectPublicKeyInfo/);
    assert.throws(() => parseMoltId('moltid:' + ed), InvalidMoltIdError);
  });

  it('public keys of other types are refused', () => {
    const ec = publicKeyHex(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
    assert.throws(() => parsePublicKey(ec), (e: unknown) => e instanceof InvalidPublicKeyError && /ec is not supported/.test((e as Error).message));
  });

  it('MAX# permanent address: round trip and bad input', () => {
    const addr = formatPermanentAddress(ed, mls);
    assert.equal(addr, `MAX#${ed}#${mls}`);
    const p = parsePermanentAddress(addr);
    assert.equal(p.publicKey.hex, ed);
    assert.equal(p.mls, mls);
    assert.throws(() => parsePermanentAddress(`${ed}#${mls}`), InvalidPermanentAddressError);
    assert.throws(() => parsePermanentAddress(`MAX#${ed}`), /two parts after MAX#/);
    assert.throws(() => parsePermanentAddress(`MAX#${ed}#a#b`), /two parts after MAX#/);
    assert.throws(() => parsePermanentAddress(`MAX#${ed}#`), /MLS part/);
    assert.throws(() => parsePermanentAddress(`MAX#0x1234#${mls}`), /bad permanent address: public key is not a DER/);
  });
});
