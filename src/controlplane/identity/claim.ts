/**
 * The seed's CLAIMED check: a MoltID is claimed only when
 *   1. Static MLS is enabled,
 *   2. its permanent MAX# address is registered on the MLS node (addpermanent), and
 *   3. the agent completes a sign/verify proof of control (a fresh 32-byte challenge).
 * Every condition is checked and reported, so the operator sees all that fail at once.
 */
import { randomBytes } from 'node:crypto';
import type { MoltIdBackend } from './backend.js';
import { MinimaBackend } from './minima.js';
import { formatMoltId, formatPermanentAddress, parsePublicKey, toHex, verifySignature } from './moltid.js';

export interface ClaimCheck {
  name: 'staticmls' | 'permanent' | 'proof';
  ok: boolean;
  detail: string;
}

export interface ClaimResult {
  claimed: boolean;
  moltid: string;
  permanent: string | null;
  checks: ClaimCheck[];
}

export async function checkClaim(backend: MoltIdBackend): Promise<ClaimResult> {
  const info = await backend.info();
  const checks: ClaimCheck[] = [];
  const permanent = info.staticMls && info.mls !== null ? formatPermanentAddress(info.publicKey, info.mls) : null;
  if (backend.kind !== 'minima') {
    checks.push({ name: 'staticmls', ok: false, detail: 'the builtin backend has no Static MLS (set identity.backend: minima)' });
    checks.push({ name: 'permanent', ok: false, detail: 'the builtin backend has no permanent MAX# address' });
  } else {
    checks.push(
      info.staticMls
        ? { name: 'staticmls', ok: true, detail: `Static MLS is ${info.mls ?? '(host unknown)'}` }
        : { name: 'staticmls', ok: false, detail: 'Static MLS is not enabled (moltnet id setup-mls)' },
    );
    if (permanent === null) {
      checks.push({ name: 'permanent', ok: false, detail: 'no permanent address without Static MLS' });
    } else {
      const ok = await (backend as MinimaBackend).permanentRegistered(permanent);
      checks.push({ name: 'permanent', ok, detail: ok ? 'registered on the MLS' : 'not registered on the MLS (moltnet id register-permanent)' });
    }
  }
  const challenge = randomBytes(32);
  const signature = await backend.sign(challenge);
  const ok = verifySignature(challenge, parsePublicKey(info.publicKey), signature);
  checks.push({ name: 'proof', ok, detail: ok ? `signed challenge ${toHex(challenge)} verifies` : 'the signature of a fresh challenge does not verify with the MoltID key' });
  return { claimed: checks.every((c) => c.ok), moltid: formatMoltId(info.publicKey), permanent, checks };
}
