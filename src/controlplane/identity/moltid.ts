/**
 * MoltID strings and offline signatures (seed moltid-v0.md).
 *
 *   MOLTID:<public key>            the root identity; the key is 0x + hex of its DER SubjectPublicKeyInfo
 *   MAX#<public key>#<mls>         the Minima backend's permanent address (mls: a Minima p2pidentity)
 *
 * Maxima's keys are RSA and it signs SHA256withRSA (PKCS#1 v1.5); the built-in backend's key is Ed25519.
 * Both verify here with node:crypto, without a Minima node. Hex is written as Minima writes it:
 * `0x` + uppercase digits; input may be any case.
 */
import { createPublicKey, verify as cryptoVerify, constants, type KeyObject } from 'node:crypto';
import { InvalidHexError, InvalidMoltIdError, InvalidPermanentAddressError, InvalidPublicKeyError } from './errors.js';

export const MOLTID_PREFIX = 'MOLTID:';
export const PERMANENT_PREFIX = 'MAX#';
export type KeyType = 'rsa' | 'ed25519';

/** Longest hex we take from a user or a peer (an RSA-8192 SPKI is about 1,100 bytes). */
const MAX_HEX_BYTES = 64 * 1024;

/** `0x` + uppercase hex. */
export function toHex(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes).toString('hex').toUpperCase()}`;
}

/** `0x` + an even number of hex digits -> bytes. `what` names the field in the error. */
export function parseHex(text: string, what = 'value'): Buffer {
  const s = text.trim();
  if (!/^0x/i.test(s)) throw new InvalidHexError(`${what} must be 0x followed by hex digits, got ${quote(s)}`);
  const digits = s.slice(2);
  if (digits.length === 0) throw new InvalidHexError(`${what} has no hex digits after 0x`);
  if (!/^[0-9a-f]*$/i.test(digits)) throw new InvalidHexError(`${what} has a character that is not a hex digit: ${quote(s)}`);
  if (digits.length % 2 !== 0) throw new InvalidHexError(`${what} has an odd number of hex digits (${digits.length})`);
  if (digits.length / 2 > MAX_HEX_BYTES) throw new InvalidHexError(`${what} is longer than ${MAX_HEX_BYTES} bytes`);
  return Buffer.from(digits, 'hex');
}

/** Data to sign or verify: `0x...` is bytes, anything else its UTF-8. */
export function dataBytes(text: string): Buffer {
  return /^0x/i.test(text) ? parseHex(text, 'data') : Buffer.from(text, 'utf8');
}

export interface PublicKey {
  /** `0x` + uppercase hex of the DER SubjectPublicKeyInfo. */
  hex: string;
  type: KeyType;
  key: KeyObject;
}

/** A `0x` DER SubjectPublicKeyInfo of an RSA or Ed25519 key. */
export function parsePublicKey(text: string): PublicKey {
  const der = parseHex(text, 'public key');
  let key: KeyObject;
  try {
    key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch {
    throw new InvalidPublicKeyError(`public key is not a DER SubjectPublicKeyInfo (${der.length} bytes)`);
  }
  const type = key.asymmetricKeyType;
  if (type !== 'rsa' && type !== 'ed25519') {
    throw new InvalidPublicKeyError(`public key type ${type ?? 'unknown'} is not supported (RSA as Maxima, or Ed25519)`);
  }
  return { hex: toHex(der), type, key };
}

/** The hex SPKI of a key object. */
export function publicKeyHex(key: KeyObject): string {
  return toHex(key.export({ format: 'der', type: 'spki' }));
}

export function formatMoltId(publicKey: string): string {
  return `${MOLTID_PREFIX}${publicKey}`;
}

/** `MOLTID:0x...` -> its key. Any case of the prefix's hex; the key must parse. */
export function parseMoltId(text: string): PublicKey {
  const s = text.trim();
  if (!s.startsWith(MOLTID_PREFIX)) throw new InvalidMoltIdError(`not a MoltID (MOLTID:0x<public key>): ${quote(s)}`);
  try {
    return parsePublicKey(s.slice(MOLTID_PREFIX.length));
  } catch (err) {
    throw new InvalidMoltIdError(`bad MoltID: ${(err as Error).message}`);
  }
}

export interface PermanentAddress {
  publicKey: PublicKey;
  /** The Static MLS host's p2pidentity, e.g. Mx...@203.0.113.5:9001. */
  mls: string;
}

const MLS_TEXT = /^[^\s#]{1,1024}$/;

export function formatPermanentAddress(publicKey: string, mls: string): string {
  return `${PERMANENT_PREFIX}${publicKey}#${mls}`;
}

/** `MAX#0x<key>#<mls>`. */
export function parsePermanentAddress(text: string): PermanentAddress {
  const s = text.trim();
  if (!s.startsWith(PERMANENT_PREFIX)) throw new InvalidPermanentAddressError(`not a permanent address (MAX#<public key>#<mls>): ${quote(s)}`);
  const parts = s.slice(PERMANENT_PREFIX.length).split('#');
  if (parts.length !== 2) throw new InvalidPermanentAddressError(`a permanent address has two parts after MAX#, separated by "#"; got ${parts.length}`);
  const [keyText, mls] = parts as [string, string];
  let publicKey: PublicKey;
  try {
    publicKey = parsePublicKey(keyText);
  } catch (err) {
    throw new InvalidPermanentAddressError(`bad permanent address: ${(err as Error).message}`);
  }
  if (!MLS_TEXT.test(mls)) throw new InvalidPermanentAddressError(`bad permanent address: the MLS part ${quote(mls)} is empty or has spaces`);
  return { publicKey, mls };
}

/**
 * Offline verification. RSA: SHA256withRSA, PKCS#1 v1.5 (as Maxima's maxsign); Ed25519: pure Ed25519.
 * False for any signature that does not verify, including one of the wrong length.
 */
export function verifySignature(data: Uint8Array, publicKey: PublicKey, signature: Uint8Array): boolean {
  try {
    if (publicKey.type === 'rsa') {
      return cryptoVerify('sha256', data, { key: publicKey.key, padding: constants.RSA_PKCS1_PADDING }, signature);
    }
    return cryptoVerify(null, data, publicKey.key, signature);
  } catch {
    return false;
  }
}

function quote(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s);
}
