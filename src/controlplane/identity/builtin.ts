/**
 * The built-in MoltID backend: an Ed25519 key (node:crypto) in `stateDir/moltid-ed25519.pem`
 * (PKCS#8 PEM, file 0600, directory 0700). init() makes it once; later runs load it. A key file that
 * others can read, or that is not an Ed25519 private key, is refused rather than used.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IdentityInfo, MoltIdBackend } from './backend.js';
import { IdentityNotInitializedError, KeyFileError } from './errors.js';
import { parsePublicKey, publicKeyHex, verifySignature } from './moltid.js';

export const BUILTIN_KEY_FILE = 'moltid-ed25519.pem';

export interface BuiltinOptions {
  stateDir: string;
  name?: string | undefined;
}

export class BuiltinBackend implements MoltIdBackend {
  readonly kind = 'builtin' as const;
  readonly keyPath: string;
  private key: KeyObject | undefined;

  constructor(private readonly opts: BuiltinOptions) {
    this.keyPath = join(opts.stateDir, BUILTIN_KEY_FILE);
  }

  async init(): Promise<{ created: boolean }> {
    await mkdir(this.opts.stateDir, { recursive: true, mode: 0o700 });
    await chmod(this.opts.stateDir, 0o700);
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' });
    try {
      await writeFile(this.keyPath, pem, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new KeyFileError(`${this.keyPath}: cannot write the key: ${(err as Error).message}`);
      await this.load();
      return { created: false };
    }
    this.key = privateKey;
    return { created: true };
  }

  private async load(): Promise<KeyObject> {
    if (this.key) return this.key;
    let st;
    try {
      st = await stat(this.keyPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new IdentityNotInitializedError(`no MoltID key at ${this.keyPath}; run: moltnet id init --config <file>`);
      }
      throw new KeyFileError(`${this.keyPath}: ${(err as Error).message}`);
    }
    if ((st.mode & 0o077) !== 0) {
      throw new KeyFileError(`${this.keyPath}: mode ${(st.mode & 0o777).toString(8)} lets others read the key; chmod 600 it`);
    }
    let key: KeyObject;
    try {
      key = createPrivateKey(await readFile(this.keyPath, 'utf8'));
    } catch (err) {
      throw new KeyFileError(`${this.keyPath}: not a private key (${(err as Error).message})`);
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new KeyFileError(`${this.keyPath}: a ${key.asymmetricKeyType} key, expected ed25519`);
    this.key = key;
    return key;
  }

  async info(): Promise<IdentityInfo> {
    const key = await this.load();
    return {
      publicKey: publicKeyHex(createPublicKey(key)),
      keyType: 'ed25519',
      name: this.opts.name ?? null,
      staticMls: false,
      mls: null,
      p2pIdentity: null,
    };
  }

  async sign(data: Uint8Array): Promise<Buffer> {
    return cryptoSign(null, data, await this.load());
  }

  async verify(data: Uint8Array, publicKey: string, signature: Uint8Array): Promise<boolean> {
    return verifySignature(data, parsePublicKey(publicKey), signature);
  }
}
