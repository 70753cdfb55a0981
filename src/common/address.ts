/**
 * The MoltNet mesh address (DESIGN.md "The address", spec §2).
 *
 *   fd00:6d6f:6c74 : UUID hex digits 1-20
 *   └─── /48 ────┘   └──── 80 bits ─────┘
 *
 *   daa46e88-46c5-4af7-9268-1482c54c1922  ->  fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268
 *
 * The spec writes 9 groups (144 bits), which is not an IPv6 address. That 9-group string is the
 * "legacy form": every parser accepts it and drops the 9th group. Output is always RFC 5952 text.
 *
 * It depends on nothing but the error classes and the IPv6 text module beside it.
 */
import { InvalidInputError } from './errors.js';
import { formatIpv6 as formatIpv6At, parseDottedQuad, parseIpv6Address } from './ipv6-text.js';

export const MESH_PREFIX = 'fd00:6d6f:6c74::';
export const MESH_PREFIX_LEN = 48;
/** The first 6 bytes of every mesh address. */
export const MESH_PREFIX_BYTES: Readonly<Uint8Array> = Uint8Array.of(0xfd, 0x00, 0x6d, 0x6f, 0x6c, 0x74);

const UUID_CANONICAL = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UUID_BARE = /^[0-9a-f]{32}$/i;
const HEX_GROUP = /^[0-9a-f]{1,4}$/i;

// ---------------------------------------------------------------------------------------------
// UUIDs

/** True for a UUID as 8-4-4-4-12 hex digits or 32 bare hex digits, any case. */
export function isUuid(input: string): boolean {
  return UUID_CANONICAL.test(input) || UUID_BARE.test(input);
}

/** The UUID in lowercase 8-4-4-4-12 form. Throws InvalidInputError for anything else. */
export function normalizeUuid(input: string): string {
  const s = input.trim();
  if (!isUuid(s)) throw new InvalidInputError(`not a UUID: ${quote(input)}${uuidHint(s)}`);
  const hex = s.replace(/-/g, '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The mesh address of a UUID, in canonical RFC 5952 text. */
export function uuidToMeshAddress(uuid: string): string {
  return formatIpv6(uuidBytes(normalizeUuid(uuid)));
}

function uuidBytes(canonicalUuid: string): Buffer {
  const hex = canonicalUuid.replace(/-/g, '');
  const out = Buffer.alloc(16);
  out.set(MESH_PREFIX_BYTES, 0);
  Buffer.from(hex.slice(0, 20), 'hex').copy(out, 6);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Mesh addresses

/**
 * Accepts a UUID (8-4-4-4-12 or 32 hex digits), a mesh address in any valid IPv6 spelling
 * (optionally in brackets or with /128), or the spec's 9-group legacy form.
 * Returns the canonical mesh address. Throws InvalidInputError with a one-line reason.
 */
export function parseMeshAddress(input: string): string {
  return formatIpv6(meshAddressBytes(input));
}

/** The 16 bytes of the mesh address named by a UUID or an address (same inputs as parseMeshAddress). */
export function meshAddressBytes(addrOrUuid: string): Buffer {
  if (typeof addrOrUuid !== 'string') {
    throw new InvalidInputError(`not a UUID or MoltNet address: ${String(addrOrUuid)}`);
  }
  const s = addrOrUuid.trim();
  if (isUuid(s)) return uuidBytes(normalizeUuid(s));
  if (!s.includes(':')) {
    throw new InvalidInputError(`not a UUID or MoltNet address: ${quote(addrOrUuid)}${uuidHint(s)}`);
  }
  let text = s;
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  const slash = text.indexOf('/');
  if (slash >= 0) {
    const len = text.slice(slash + 1);
    if (len !== '128') {
      throw new InvalidInputError(
        `not a UUID or MoltNet address: ${quote(addrOrUuid)} (a /${len} prefix, not a single address)`,
      );
    }
    text = text.slice(0, slash);
  }
  const bytes = parseIpv6(text) ?? parseLegacy(text, addrOrUuid);
  if (!bytes) {
    throw new InvalidInputError(`not a UUID or MoltNet address: ${quote(addrOrUuid)} (not a valid IPv6 address)`);
  }
  if (!hasMeshPrefix(bytes)) {
    throw new InvalidInputError(
      `${quote(addrOrUuid)} is outside the MoltNet prefix ${MESH_PREFIX}/${MESH_PREFIX_LEN}`,
    );
  }
  return bytes;
}

/** The spec's 9-group form (fd00:6d6f:6c74 + 6 UUID groups): the first 8 groups, or null if not that shape. */
function parseLegacy(text: string, original: string): Buffer | null {
  const groups = text.split(':');
  if (groups.length !== 9 || !groups.every((g) => HEX_GROUP.test(g))) return null;
  const out = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) out.writeUInt16BE(parseInt(groups[i]!, 16), i * 2);
  if (!hasMeshPrefix(out)) {
    throw new InvalidInputError(
      `${quote(original)} is outside the MoltNet prefix ${MESH_PREFIX}/${MESH_PREFIX_LEN}`,
    );
  }
  return out;
}

/**
 * True when the input is an IPv6 address (valid text, not a UUID, not the legacy form) or
 * 16 bytes inside fd00:6d6f:6c74::/48.
 */
export function isMeshAddress(addr: string | Uint8Array): boolean {
  if (typeof addr === 'string') {
    const bytes = parseIpv6(addr);
    return bytes !== null && hasMeshPrefix(bytes);
  }
  return addr.length === 16 && hasMeshPrefix(addr);
}

function hasMeshPrefix(bytes: Uint8Array): boolean {
  for (let i = 0; i < MESH_PREFIX_BYTES.length; i++) if (bytes[i] !== MESH_PREFIX_BYTES[i]) return false;
  return true;
}

/** The node's link-local address on every mesh link: fe80:: + the last 64 bits of its mesh address. */
export function linkLocalFor(meshAddr: string): string {
  const bytes = meshAddressBytes(meshAddr);
  const out = Buffer.alloc(16);
  out[0] = 0xfe;
  out[1] = 0x80;
  bytes.copy(out, 8, 8, 16);
  return formatIpv6(out);
}

/**
 * The UUID digits a mesh address carries (the first 20 hex digits, as 8-4-4-4):
 * fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268 -> "daa46e88-46c5-4af7-9268".
 */
export function uuidPrefixOf(addrOrUuid: string): string {
  const hex = meshAddressBytes(addrOrUuid).subarray(6, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}`;
}

// ---------------------------------------------------------------------------------------------
// IPv6 text (RFC 4291 §2.2 input, RFC 5952 output)

/** IPv6 text (no brackets, no zone, no prefix length) as 16 bytes, or null if invalid. */
export function parseIpv6(text: string): Buffer | null {
  if (typeof text !== 'string') return null;
  try {
    return parseIpv6Address(text);
  } catch {
    return null;
  }
}

/** Dotted-quad IPv4 (no leading zeros beyond a single 0) as 4 bytes, or null. */
export function parseIpv4(text: string): number[] | null {
  const v = parseDottedQuad(text);
  return v === undefined ? null : [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

/** RFC 5952 canonical text of a 16-byte address. */
export function formatIpv6(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new InvalidInputError(`an IPv6 address is 16 bytes, got ${bytes.length}`);
  return formatIpv6At(bytes, 0);
}

// ---------------------------------------------------------------------------------------------

function quote(s: unknown): string {
  const text = String(s);
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
}

/** A reason for input that looks like a UUID attempt (hex and hyphens only). */
function uuidHint(s: string): string {
  if (!/^[0-9a-f-]+$/i.test(s) || s.length === 0) return '';
  const digits = s.replace(/-/g, '').length;
  if (digits !== 32) return ` (a UUID has 32 hex digits, got ${digits})`;
  return ' (a UUID is 8-4-4-4-12 hex digits, or 32 without hyphens)';
}
