import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BuiltinBackend, BUILTIN_KEY_FILE } from '../../src/controlplane/identity/builtin.js';
import { checkClaim } from '../../src/controlplane/identity/claim.js';
import { IdentityNotInitializedError, KeyFileError } from '../../src/controlplane/identity/errors.js';
import { parsePublicKey, verifySignature } from '../../src/controlplane/identity/moltid.js';

const root = await mkdtemp(join(tmpdir(), 'moltid-builtin-'));
after(() => rm(root, { recursive: true, force: true }));

describe('identity: built-in Ed25519 backend', () => {
  it('init makes the key (file 0600, directory 0700); a second init and a new instance load it', async () => {
    const stateDir = join(root, 'a', 'state');
    const b = new BuiltinBackend({ stateDir, name: 'agent' });
    assert.deepEqual(await b.init(), { created: true });
    assert.equal((await stat(stateDir)).mode & 0o777, 0o700);
    assert.equal((await stat(join(stateDir, BUILTIN_KEY_FILE))).mode & 0o777, 0o600);
    const info = await b.info();
    assert.equal(info.keyType, 'ed25519');
    assert.equal(info.name, 'agent');
    assert.equal(info.staticMls, false);
    const again = new BuiltinBackend({ stateDir });
    assert.deepEqual(await again.init(), { created: false });
    assert.equal((await again.info()).publicKey, info.publicKey);
    const reloaded = new BuiltinBackend({ stateDir });
    assert.equal((await reloaded.info()).publicKey, info.publicKey);
  });

  it('sign and verify', async () => {
    const b = new BuiltinBackend({ stateDir: join(root, 'b') });
    await b.init();
    const data = Buffer.from('hello');
    const sig = await b.sign(data);
    const pub = (await b.info()).publicKey;
    assert.ok(verifySignature(data, parsePublicKey(pub), sig));
    assert.equal(await b.verify(data, pub, sig), true);
    assert.equal(await b.verify(Buffer.from('hellO'), pub, sig), false);
  });

  it('no key yet: IdentityNotInitializedError naming id init', async () => {
    const b = new BuiltinBackend({ stateDir: join(root, 'none') });
    await assert.rejects(b.info(), (e: unknown) => e instanceof IdentityNotInitializedError && /moltnet id init/.test((e as Error).message));
  });

  it('a key file others can read, or a corrupt one, is refused', async () => {
    const stateDir = join(root, 'c');
    await new BuiltinBackend({ stateDir }).init();
    const file = join(stateDir, BUILTIN_KEY_FILE);
    await chmod(file, 0o644);
    await assert.rejects(new BuiltinBackend({ stateDir }).info(), (e: unknown) => e instanceof KeyFileError && /mode 644/.test((e as Error).message));
    await writeFile(file, 'garbage', { mode: 0o600 });
    await chmod(file, 0o600);
    await assert.rejects(new BuiltinBackend({ stateDir }).info(), /not a private key/);
  });

  it('claim: the built-in backend has no Static MLS or permanent address; the proof passes', async () => {
    const b = new BuiltinBackend({ stateDir: join(root, 'd') });
    await b.init();
    const r = await checkClaim(b);
    assert.equal(r.claimed, false);
    assert.deepEqual(r.checks.map((c) => [c.name, c.ok]), [['staticmls', false], ['permanent', false], ['proof', true]]);
    assert.match(r.checks[0]!.detail, /identity\.backend: minima/);
  });
});
