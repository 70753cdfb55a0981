/**
 * The node's WireGuard key: X25519 (node:crypto), 32 raw bytes each way. The private key lives in
 * `stateDir/wireguard.key` as base64, the format `wg genkey` writes (file 0600, directory 0700). A file
 * that is there but not a key is refused, never replaced: replacing it would silently change the
 * node's public key under every peer that pinned it.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WireGuardKeyError } from './errors.js';

export const WIREGUARD_KEY_FILE = 'wireguard.key';
export const WIREGUARD_KEY_LEN = 32;

export interface WireGuardKeyPair {
  privateKey: Buffer;
  publicKey: Buffer;
}

/** PKCS#8 DER of an X25519 private key, minus the key: node:crypto's JWK import also wants `x`. */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

export function generateWireGuardKey(): WireGuardKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  return {
    privateKey: Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url'),
    publicKey: Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url'),
  };
}

export function publicKeyOf(privateKey: Uint8Array): Buffer {
  checkLength(privateKey, 'private key');
  const key = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, privateKey]), format: 'der', type: 'pkcs8' });
  return Buffer.from(createPublicKey(key).export({ format: 'jwk' }).x!, 'base64url');
}

/** Lowercase hex: the UAPI's spelling of keys. */
export function keyToHex(key: Uint8Array): string {
  checkLength(key, 'key');
  return Buffer.from(key).toString('hex');
}

export function keyFromHex(text: string): Buffer {
  if (!/^[0-9a-f]{64}$/i.test(text)) throw new WireGuardKeyError(`not a WireGuard key in hex (64 hex digits): ${JSON.stringify(text.slice(0, 80))}`);
  return Buffer.from(text, 'hex');
}

/** Base64: the spelling of `wg genkey`, `wg pubkey` and wg-quick configs. */
export function keyToBase64(key: Uint8Array): string {
  checkLength(key, 'key');
  return Buffer.from(key).toString('base64');
}

export function keyFromBase64(text: string): Buffer {
  // 32 bytes are exactly 43 base64 digits and one '='; Buffer.from would skip anything else silently.
  if (!/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(text)) {
    throw new WireGuardKeyError(`not a WireGuard key in base64 (44 characters, as wg genkey prints): ${JSON.stringify(text.slice(0, 80))}`);
  }
  return Buffer.from(text, 'base64');
}

/** The node's key pair from `stateDir/wireguard.key`, made there on first use. */
export async function loadOrCreateWireGuardKey(stateDir: string): Promise<WireGuardKeyPair & { created: boolean }> {
  const path = join(stateDir, WIREGUARD_KEY_FILE);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await chmod(stateDir, 0o700);
  const fresh = generateWireGuardKey();
  try {
    // 'wx': two starts racing on a new state directory agree on one key.
    await writeFile(path, `${keyToBase64(fresh.privateKey)}\n`, { mode: 0o600, flag: 'wx' });
    return { ...fresh, created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new WireGuardKeyError(`${path}: cannot write the key: ${(err as Error).message}`);
  }
  let text: string;
  let mode: number;
  try {
    mode = (await stat(path)).mode & 0o777;
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new WireGuardKeyError(`${path}: ${(err as Error).message}`);
  }
  if ((mode & 0o077) !== 0) throw new WireGuardKeyError(`${path}: mode ${mode.toString(8)} lets others read the key; chmod 600 it`);
  let privateKey: Buffer;
  try {
    privateKey = keyFromBase64(text.trim());
  } catch {
    throw new WireGuardKeyError(`${path}: not a WireGuard private key (one line of base64, as wg genkey prints); move it away to make a new one`);
  }
  return { privateKey, publicKey: publicKeyOf(privateKey), created: false };
}

function checkLength(key: Uint8Array, what: string): void {
  if (key.length !== WIREGUARD_KEY_LEN) throw new WireGuardKeyError(`a WireGuard ${what} is ${WIREGUARD_KEY_LEN} bytes, got ${key.length}`);
}
