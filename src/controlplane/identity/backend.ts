/** The contract every MoltID backend implements (built-in Ed25519, Minima/Maxima). */
import type { IdentityBackendKind } from '../../config/schema.js';
import type { KeyType } from './moltid.js';

export interface IdentityInfo {
  /** `0x` + hex of the DER SubjectPublicKeyInfo. */
  publicKey: string;
  keyType: KeyType;
  name: string | null;
  /** Static MLS enabled (Minima only; always false built in). */
  staticMls: boolean;
  /** The MLS host's p2pidentity, when known. */
  mls: string | null;
  /** This node's own p2pidentity (Minima only). */
  p2pIdentity: string | null;
}

export interface MoltIdBackend {
  readonly kind: IdentityBackendKind;
  /** Make the identity if there is none (built in) or check that it is reachable (Minima). */
  init(): Promise<{ created: boolean }>;
  info(): Promise<IdentityInfo>;
  /** Signs raw bytes with the root key. */
  sign(data: Uint8Array): Promise<Buffer>;
  /** Checks a signature by any key (offline built in; maxverify on Minima). */
  verify(data: Uint8Array, publicKey: string, signature: Uint8Array): Promise<boolean>;
}
