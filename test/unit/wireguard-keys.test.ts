import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { execa } from 'execa';
import { WireGuardKeyError } from '../../src/transport/wireguard/errors.js';
import {
  WIREGUARD_KEY_FILE,
  generateWireGuardKey,
  keyFromBase64,
  keyFromHex,
  keyToBase64,
  keyToHex,
  loadOrCreateWireGuardKey,
  publicKeyOf,
} from '../../src/transport/wireguard/keys.js';

const root = await mkdtemp(join(tmpdir(), 'moltnet-wgkeys-'));
after(() => rm(root, { recursive: true, force: true }));

const hasWg = (await execa('wg', ['--version'], { reject: false })).exitCode === 0;

async function wg(args: string[], input?: string): Promise<string> {
  return (await execa('wg', args, input === undefined ? {} : { input })).stdout.trim();
}

describe('WireGuard keys', () => {
  it('a generated pair: 32 bytes each, and publicKeyOf gives the same public key', () => {
    const k = generateWireGuardKey();
    assert.equal(k.privateKey.length, 32);
    assert.equal(k.publicKey.length, 32);
    assert.deepEqual(publicKeyOf(k.privateKey), k.publicKey);
  });

  it('the public key is what `wg pubkey` prints for the same private key', { skip: !hasWg && 'wg not installed' }, async () => {
    for (let i = 0; i < 5; i++) {
      const k = generateWireGuardKey();
      assert.equal(await wg(['pubkey'], keyToBase64(k.privateKey)), keyToBase64(publicKeyOf(k.privateKey)));
    }
    // And the other way: a key from `wg genkey` (clamped) reads back and gives wg's public key.
    const genkey = await wg(['genkey']);
    assert.equal(keyToBase64(publicKeyOf(keyFromBase64(genkey))), await wg(['pubkey'], genkey));
  });

  it('hex is lowercase, base64 is the 44-character wg spelling; both round-trip', () => {
    const key = Buffer.alloc(32, 0xab);
    assert.equal(keyToHex(key), 'ab'.repeat(32));
    assert.deepEqual(keyFromHex('AB'.repeat(32)), key);
    assert.equal(keyToBase64(key).length, 44);
    assert.deepEqual(keyFromBase64(keyToBase64(key)), key);
  });

  it('wrong lengths and bad spellings are WireGuardKeyError', () => {
    assert.throws(() => keyToHex(Buffer.alloc(31)), WireGuardKeyError);
    assert.throws(() => publicKeyOf(Buffer.alloc(33)), WireGuardKeyError);
    assert.throws(() => keyFromHex('ab'.repeat(31)), WireGuardKeyError);
    assert.throws(() => keyFromBase64(Buffer.alloc(31).toString('base64')), WireGuardKeyError);
    // 44 characters whose last digit carries bits past the 32nd byte.
    assert.throws(() => keyFromBase64(`${'A'.repeat(42)}B=`), WireGuardKeyError);
    assert.throws(() => keyFromBase64(`${'A'.repeat(43)}=\n`), WireGuardKeyError);
  });

  it('loadOrCreate: made once (file 0600 with one base64 line, directory 0700), then loaded', async () => {
    const stateDir = join(root, 'a', 'state');
    const made = await loadOrCreateWireGuardKey(stateDir);
    assert.equal(made.created, true);
    const file = join(stateDir, WIREGUARD_KEY_FILE);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(stateDir)).mode & 0o777, 0o700);
    assert.equal(await readFile(file, 'utf8'), `${keyToBase64(made.privateKey)}\n`);
    const again = await loadOrCreateWireGuardKey(stateDir);
    assert.equal(again.created, false);
    assert.deepEqual(again.privateKey, made.privateKey);
    assert.deepEqual(again.publicKey, made.publicKey);
  });

  it('loadOrCreate reads a key written by `wg genkey`', { skip: !hasWg && 'wg not installed' }, async () => {
    const stateDir = join(root, 'genkey');
    const genkey = await wg(['genkey']);
    await loadOrCreateWireGuardKey(stateDir);
    await writeFile(join(stateDir, WIREGUARD_KEY_FILE), `${genkey}\n`, { mode: 0o600 });
    const k = await loadOrCreateWireGuardKey(stateDir);
    assert.equal(keyToBase64(k.publicKey), await wg(['pubkey'], genkey));
  });

  it('a corrupt key file is refused and left as it was; so is one others can read', async () => {
    const stateDir = join(root, 'corrupt');
    await loadOrCreateWireGuardKey(stateDir);
    const file = join(stateDir, WIREGUARD_KEY_FILE);
    await writeFile(file, 'not a key\n');
    await assert.rejects(loadOrCreateWireGuardKey(stateDir), (e: unknown) => e instanceof WireGuardKeyError && /not a WireGuard private key/.test((e as Error).message));
    assert.equal(await readFile(file, 'utf8'), 'not a key\n');
    await writeFile(file, `${keyToBase64(generateWireGuardKey().privateKey)}\n`);
    await chmod(file, 0o644);
    await assert.rejects(loadOrCreateWireGuardKey(stateDir), (e: unknown) => e instanceof WireGuardKeyError && /mode 644/.test((e as Error).message));
  });
});
