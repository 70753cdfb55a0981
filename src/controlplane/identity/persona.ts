/**
 * Personas (seed "Personas"): handles or roles of one MoltID, not new identities. A persona is a
 * signed object; the signature covers the canonical JSON of every field but `signature` (keys sorted,
 * no whitespace), made by the MoltID root key, so anyone can verify it offline.
 */
import { z } from 'zod';
import { InvalidPersonaError } from './errors.js';
import { dataBytes, formatMoltId, parseHex, parseMoltId, toHex, verifySignature } from './moltid.js';

export const PERSONA_TYPE = 'moltid-persona';

const personaSchema = z
  .object({
    type: z.literal(PERSONA_TYPE),
    moltid: z.string(),
    handle: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a handle is 1-64 of letters, digits, "_", ".", "-"'),
    created_at: z.string().refine((s) => /^\d{4}-\d\d-\d\dT/.test(s) && !Number.isNaN(Date.parse(s)), 'an ISO 8601 time'),
    tags: z.array(z.string().regex(/^[^\s]{1,64}$/, 'a tag is 1-64 characters, no spaces')).max(32),
    policy: z.object({ linked_to_root: z.boolean() }).strict(),
    signature: z.string(),
  })
  .strict();

export type Persona = z.infer<typeof personaSchema>;
export type UnsignedPersona = Omit<Persona, 'signature'>;

/** JSON with object keys sorted at every level and no whitespace. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new InvalidPersonaError('canonical JSON has no NaN or Infinity');
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  throw new InvalidPersonaError(`canonical JSON cannot hold a ${typeof v}`);
}

/** The bytes a persona's signature covers. */
export function personaSigningBytes(p: UnsignedPersona): Buffer {
  const { type, moltid, handle, created_at, tags, policy } = p;
  return dataBytes(canonicalJson({ type, moltid, handle, created_at, tags, policy }));
}

export interface PersonaFields {
  handle: string;
  tags?: string[];
  linkedToRoot?: boolean;
  createdAt?: Date;
}

/** Builds and signs a persona with `sign` (the backend's root key). */
export async function createPersona(
  publicKey: string,
  fields: PersonaFields,
  sign: (data: Uint8Array) => Promise<Uint8Array>,
): Promise<Persona> {
  const unsigned: UnsignedPersona = {
    type: PERSONA_TYPE,
    moltid: formatMoltId(publicKey),
    handle: fields.handle,
    created_at: (fields.createdAt ?? new Date()).toISOString(),
    tags: fields.tags ?? [],
    policy: { linked_to_root: fields.linkedToRoot ?? true },
  };
  parsePersona({ ...unsigned, signature: '0x00' });
  return { ...unsigned, signature: toHex(await sign(personaSigningBytes(unsigned))) };
}

/** Checks a persona's shape; throws InvalidPersonaError naming the field. */
export function parsePersona(v: unknown): Persona {
  const r = personaSchema.safeParse(v);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new InvalidPersonaError(`bad persona: ${i.path.join('.') || '(top)'}: ${i.message}`);
  }
  parseMoltId(r.data.moltid);
  parseHex(r.data.signature, 'persona signature');
  return r.data;
}

/** True when the persona is well formed and signed by the MoltID it names. */
export function verifyPersona(v: unknown): boolean {
  const p = parsePersona(v);
  return verifySignature(personaSigningBytes(p), parseMoltId(p.moltid), parseHex(p.signature, 'persona signature'));
}
