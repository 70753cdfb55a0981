/**
 * Moltbook posts to discovery candidates, and our own announcement post (spec §4.1, §7.1). Pure: no
 * I/O, no clock, and nothing a post contains makes it throw. A post is either a candidate or ignored
 * with a one-line reason.
 *
 * Where a candidate comes from:
 *  - the author: Moltbook authenticates who wrote a post, so the author's id (the agent UUID) is the
 *    identity, and the only address a post may announce is the one derived from it;
 *  - the §4.1 metadata object when there is one (ipv6, endpoint, protocols, capabilities, public_key,
 *    and our moltid_binding); without it, the content as §7.1 writes it (an address of the mesh prefix,
 *    valid or the spec's 9-group legacy form, and an "Endpoint: host:port" line);
 *  - a signed binding (moltid_binding) when there is one: it must verify, name the author's uuid and the
 *    announced address; its endpoint and WireGuard key then win over the post's unsigned ones, and a
 *    post whose unsigned values contradict them is ignored (someone edited one and not the other).
 *
 * Endpoints: "host:port", "[v6]:port", a bare IPv6 address, IPv4, or a DNS name; the port defaults to
 * 4789 (VXLAN). A zone index, an unspecified address (0.0.0.0, ::) or anything unparsable leaves the
 * candidate without an endpoint (endpointError says why): it cannot be dialled, but it is still a
 * member of the mesh that may dial us, and peering checks it then.
 */
import { formatIpv6, isUuid, normalizeUuid, parseMeshAddress, uuidToMeshAddress } from '../../common/address.js';
import { InvalidInputError } from '../../common/errors.js';
import { PORTS } from '../../common/ports.js';
import { formatHostPort, parseHostPort, type HostPort } from '../../config/schema.js';
import { verifySignedBinding } from '../peering/handshake.js';
import { MAX_FRAME, type BindingFields, type SignedBinding } from '../peering/messages.js';

export const MOLTNET_VERSION = '1.0';
export const ANNOUNCE_SUBMOLT = 'general';
export const DEFAULT_ENDPOINT_PORT = PORTS.vxlan;
/** Only this much of a post's title and content is searched: an announcement is a few lines. */
const MAX_SCAN_CHARS = 64 * 1024;
/** A metadata object sent as a JSON string is parsed only up to this size. */
const MAX_METADATA_CHARS = 64 * 1024;
const MAX_ADDRESSES = 32;
const MAX_LIST_ITEMS = 32;
const MAX_TOKEN_CHARS = 64;
const MAX_NAME_CHARS = 64;
const WIREGUARD_KEY_BYTES = 32;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const TOKEN = /^[\x21-\x7e]+$/;
const ADDRESS_IN_TEXT = /(?<![0-9a-f:])fd00:6d6f:6c74:[0-9a-f:]{1,40}/gi;
const ENDPOINT_LINE = /^[ \t>*_-]*endpoint[ \t*_]*:[ \t*_]*`?([^`\s*]{1,300})`?[ \t*_]*$/im;

/**
 * A post as the Moltbook API documents it. Nothing here is checked until parsePost: any field may be
 * missing or of another type.
 */
export interface MoltbookPost {
  id?: string | number;
  title?: string;
  content?: string;
  author?: { id?: string; name?: string } | null;
  /** The §4.1 object; some clients send it as a JSON string. */
  metadata?: Record<string, unknown> | string | null;
  /** ISO 8601. */
  created_at?: string;
  [field: string]: unknown;
}

export interface Candidate {
  /** The author's agent UUID, lowercase 8-4-4-4-12. */
  uuid: string;
  /** The mesh address derived from it, RFC 5952 text. */
  address: string;
  /** The author's Moltbook name (control characters removed), else the metadata's name, else "". */
  name: string;
  endpoint?: HostPort;
  /** Why the post's endpoint was not usable, when it named one. */
  endpointError?: string;
  protocols: string[];
  capabilities: string[];
  /** The WireGuard public key, base64 of 32 bytes. */
  wireguardKey?: string;
  /** Present when the post carried a binding that verified. */
  binding?: { fields: BindingFields; moltid: string };
  signed: boolean;
  postId: string;
  /** The post's created_at as epoch ms, when it has one. */
  seenAt?: number;
}

export interface ParseOptions {
  /** Posts without a moltid_binding: candidates ('accept', the default) or ignored. */
  unsigned?: 'accept' | 'ignore';
}

export interface ParseResult {
  candidate?: Candidate;
  ignored?: string;
}

/** One post: a candidate, or the reason it is ignored. Never throws. */
export function parsePost(post: unknown, opts: ParseOptions = {}): ParseResult {
  try {
    return parse(post, opts.unsigned ?? 'accept');
  } catch (err) {
    // parse() checks everything it touches; this only keeps a missed case from ending discovery.
    return { ignored: `unparsable post: ${err instanceof Error ? err.message : String(err)}`.slice(0, 300) };
  }
}

/**
 * All posts: one candidate per uuid (the newest post by created_at wins; posts without a date lose to
 * dated ones, and among equals the first in the list wins, as the API lists newest first), and the
 * reasons the others were ignored. A post ignored for its own faults does not hide an older good one.
 */
export function parsePosts(posts: unknown, opts: ParseOptions = {}): { candidates: Candidate[]; ignored: { postId: string; reason: string }[] } {
  const ignored: { postId: string; reason: string }[] = [];
  const best = new Map<string, Candidate>();
  const list = Array.isArray(posts) ? posts : [];
  for (const post of list) {
    const r = parsePost(post, opts);
    if (!r.candidate) {
      ignored.push({ postId: postIdOf(post), reason: r.ignored ?? 'not a post' });
      continue;
    }
    const c = r.candidate;
    const held = best.get(c.uuid);
    if (!held) {
      best.set(c.uuid, c);
    } else if ((c.seenAt ?? -Infinity) > (held.seenAt ?? -Infinity)) {
      best.set(c.uuid, c);
      ignored.push({ postId: held.postId, reason: `superseded by the newer post ${c.postId || '(no id)'} of ${c.uuid}` });
    } else {
      ignored.push({ postId: c.postId, reason: `superseded by the newer post ${held.postId || '(no id)'} of ${c.uuid}` });
    }
  }
  return { candidates: [...best.values()], ignored };
}

function parse(post: unknown, unsigned: 'accept' | 'ignore'): ParseResult {
  if (!isRecord(post)) return { ignored: 'not an object' };
  const author = post['author'];
  if (!isRecord(author)) return { ignored: 'no author' };
  const authorId = author['id'];
  if (typeof authorId !== 'string' || !isUuid(authorId.trim())) {
    return { ignored: typeof authorId === 'string' ? `author id ${quote(authorId)} is not a UUID` : 'the author has no id' };
  }
  const uuid = normalizeUuid(authorId);
  const address = uuidToMeshAddress(uuid);
  const meta = metadataOf(post['metadata']);
  const text = `${str(post['title']).slice(0, MAX_SCAN_CHARS)}\n${str(post['content']).slice(0, MAX_SCAN_CHARS)}`;

  // The announced address: the metadata's claim when it makes one, else the addresses in the text.
  const hasBinding = meta !== undefined && meta['moltid_binding'] !== undefined && meta['moltid_binding'] !== null;
  if (meta && meta['ipv6'] !== undefined) {
    const claim = meta['ipv6'];
    if (typeof claim !== 'string') return { ignored: 'metadata ipv6 is not a string' };
    const why = claimMismatch(claim, uuid, address);
    if (why) return { ignored: `metadata ipv6 ${why}` };
  } else {
    const found = [...text.matchAll(ADDRESS_IN_TEXT)].slice(0, MAX_ADDRESSES).map((m) => m[0].replace(/(?<!:):$/, ''));
    if (found.length === 0 && !hasBinding) return { ignored: 'no MoltNet address in the post' };
    if (found.length > 0 && !found.some((a) => claimMismatch(a, uuid, address) === undefined)) {
      return { ignored: `the post's address ${claimMismatch(found[0]!, uuid, address)}` };
    }
  }

  let binding: { fields: BindingFields; moltid: string } | undefined;
  if (hasBinding) {
    const sb = signedBindingOf(meta!['moltid_binding']);
    if (typeof sb === 'string') return { ignored: `moltid_binding ${sb}` };
    const v = verifySignedBinding(sb);
    if (typeof v === 'string') return { ignored: `moltid_binding: ${v}` };
    if (normalizeUuid(v.binding.uuid) !== uuid) return { ignored: `moltid_binding is for ${normalizeUuid(v.binding.uuid)}, not the author ${uuid}` };
    if (formatIpv6(v.binding.meshAddress) !== address) return { ignored: `moltid_binding address is not the announced ${address}` };
    binding = { fields: v.binding, moltid: v.moltid };
  } else if (unsigned === 'ignore') {
    return { ignored: 'unsigned (no moltid_binding), and unsigned posts are ignored' };
  }

  // The endpoint and the WireGuard key: the binding's when signed (the post's must then agree).
  const postEp = endpointOf(meta && meta['endpoint'] !== undefined ? meta['endpoint'] : ENDPOINT_LINE.exec(text)?.[1]);
  const bindingEp = binding && binding.fields.endpoint !== '' ? endpointOf(binding.fields.endpoint) : undefined;
  if (postEp && 'hp' in postEp && bindingEp && 'hp' in bindingEp && formatHostPort(postEp.hp) !== formatHostPort(bindingEp.hp)) {
    return { ignored: `endpoint ${formatHostPort(postEp.hp)} differs from the signed binding's ${formatHostPort(bindingEp.hp)}` };
  }
  const ep = bindingEp && 'hp' in bindingEp ? bindingEp : (postEp ?? bindingEp);

  const postKey = meta ? wireguardKeyOf(meta['public_key']) : undefined;
  const bindingKey = binding?.fields.wireguardKey?.length === WIREGUARD_KEY_BYTES ? Buffer.from(binding.fields.wireguardKey).toString('base64') : undefined;
  if (postKey && bindingKey && postKey !== bindingKey) return { ignored: 'public_key differs from the signed binding\'s WireGuard key' };
  const wireguardKey = bindingKey ?? postKey;

  const seenAt = typeof post['created_at'] === 'string' ? Date.parse(post['created_at']) : Number.NaN;
  const candidate: Candidate = {
    uuid,
    address,
    name: nameOf(author['name']) || nameOf(meta?.['name']),
    ...(ep && 'hp' in ep ? { endpoint: ep.hp } : {}),
    ...(ep && 'error' in ep ? { endpointError: ep.error } : {}),
    protocols: tokens(meta?.['protocols']),
    capabilities: tokens(meta?.['capabilities']),
    ...(wireguardKey ? { wireguardKey } : {}),
    ...(binding ? { binding } : {}),
    signed: binding !== undefined,
    postId: postIdOf(post),
    ...(Number.isFinite(seenAt) ? { seenAt } : {}),
  };
  return { candidate };
}

/** Why an address text is not the author's mesh address, or undefined when it is. */
function claimMismatch(text: string, uuid: string, address: string): string | undefined {
  const t = text.trim();
  if (!t.includes(':')) return `${quote(t)} is not an IPv6 address`;
  let claimed: string;
  try {
    claimed = parseMeshAddress(t);
  } catch (err) {
    return err instanceof InvalidInputError ? `${quote(t)} is not a MoltNet address` : String(err);
  }
  if (claimed !== address) return `${claimed} does not derive from the author ${uuid} (expected ${address})`;
  // The legacy form carries 16 more UUID bits in its 9th group: they are a claim too.
  const groups = t.replace(/^\[|\]$|\/128$/g, '').split(':');
  if (groups.length === 9 && parseInt(groups[8]!, 16) !== parseInt(uuid.replace(/-/g, '').slice(20, 24), 16)) {
    return `${quote(t)} does not derive from the author ${uuid} (its 9th group differs)`;
  }
  return undefined;
}

/** The metadata object, also when sent as a JSON string; anything else is none. */
function metadataOf(v: unknown): Record<string, unknown> | undefined {
  if (isRecord(v)) return v;
  if (typeof v !== 'string' || v.length > MAX_METADATA_CHARS) return undefined;
  try {
    const o: unknown = JSON.parse(v);
    return isRecord(o) ? o : undefined;
  } catch {
    return undefined;
  }
}

function signedBindingOf(v: unknown): SignedBinding | string {
  if (!isRecord(v)) return 'is not an object {binding, signature}';
  const binding = base64Of(v['binding'], MAX_FRAME);
  const signature = base64Of(v['signature'], MAX_FRAME);
  if (!binding) return 'binding is not base64 (of at most 16 KiB)';
  if (!signature) return 'signature is not base64 (of at most 16 KiB)';
  return { binding, signature };
}

function base64Of(v: unknown, maxBytes: number): Buffer | undefined {
  if (typeof v !== 'string' || v.length === 0 || v.length > Math.ceil(maxBytes / 3) * 4 || v.length % 4 !== 0 || !BASE64.test(v)) return undefined;
  return Buffer.from(v, 'base64');
}

/** A WireGuard key is 32 bytes; anything else (the spec's own example is a placeholder) is none. */
function wireguardKeyOf(v: unknown): string | undefined {
  const b = base64Of(v, WIREGUARD_KEY_BYTES);
  return b && b.length === WIREGUARD_KEY_BYTES ? b.toString('base64') : undefined;
}

function endpointOf(v: unknown): { hp: HostPort } | { error: string } | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') return { error: 'the endpoint is not a string' };
  let hp: HostPort;
  try {
    hp = parseHostPort(v.slice(0, 300), DEFAULT_ENDPOINT_PORT);
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
  if (hp.host.includes('%')) return { error: `bad endpoint ${quote(v)}: a zone index means nothing to another host` };
  if (hp.host === '::' || hp.host === '0.0.0.0') return { error: `bad endpoint ${quote(v)}: the unspecified address cannot be dialled` };
  return { hp };
}

function tokens(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  const out = new Set<string>();
  for (const t of v.slice(0, MAX_LIST_ITEMS)) if (typeof t === 'string' && t.length <= MAX_TOKEN_CHARS && TOKEN.test(t)) out.add(t);
  return [...out];
}

function nameOf(v: unknown): string {
  if (typeof v !== 'string') return '';
  return [...v.replace(/[\p{Cc}\p{Cf}]/gu, '').trim()].slice(0, MAX_NAME_CHARS).join('');
}

function postIdOf(post: unknown): string {
  if (!isRecord(post)) return '';
  const id = post['id'];
  if (typeof id === 'string') return id.slice(0, 128);
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  return '';
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function quote(s: string): string {
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 57)}...` : s);
}

// ---------------------------------------------------------------------------------------------
// Our announcement

export interface Announcement {
  /** Our mesh address (any spelling parseMeshAddress takes; written RFC 5952). */
  address: string;
  /** Where peers reach us: "host:port" text or a HostPort; the port defaults to 4789. */
  endpoint: string | HostPort;
  /** Informational (metadata `name`): peers take the name Moltbook gives the author. */
  name?: string;
  protocols: string[];
  capabilities: string[];
  /** The WireGuard public key: base64 of 32 bytes, or the bytes. */
  wireguardKey?: string | Uint8Array;
  signedBinding?: SignedBinding;
}

export interface AnnouncementMetadata {
  moltnet_version: string;
  ipv6: string;
  endpoint: string;
  protocols: string[];
  capabilities: string[];
  public_key?: string;
  name?: string;
  moltid_binding?: { binding: string; signature: string };
  [field: string]: unknown;
}

export interface AnnouncementPost {
  submolt: string;
  title: string;
  content: string;
  metadata: AnnouncementMetadata;
}

/**
 * The §7.1 announcement (title and content as the spec writes them, so spec-following readers find the
 * address and endpoint) with the §4.1 metadata object and our moltid_binding. Throws InvalidInputError
 * when the inputs disagree with themselves (a binding for another address, endpoint or WireGuard key):
 * peers would ignore such a post, so it is better never published.
 */
export function announcementPost(a: Announcement): AnnouncementPost {
  const address = parseMeshAddress(a.address);
  const hp = typeof a.endpoint === 'string' ? parseHostPort(a.endpoint, DEFAULT_ENDPOINT_PORT) : a.endpoint;
  const endpoint = formatHostPort(hp);
  let publicKey: string | undefined;
  if (a.wireguardKey !== undefined) {
    const bytes = typeof a.wireguardKey === 'string' ? base64Of(a.wireguardKey, WIREGUARD_KEY_BYTES) : Buffer.from(a.wireguardKey);
    if (!bytes || bytes.length !== WIREGUARD_KEY_BYTES) throw new InvalidInputError('the WireGuard key must be 32 bytes (base64)');
    publicKey = bytes.toString('base64');
  }
  // A key only the binding names is announced too, so spec readers without our binding can use it.
  if (a.signedBinding) {
    const bound = checkOwnBinding(a.signedBinding, address, endpoint, publicKey);
    publicKey ??= bound;
  }
  const metadata: AnnouncementMetadata = {
    moltnet_version: MOLTNET_VERSION,
    ipv6: address,
    endpoint,
    protocols: [...a.protocols],
    capabilities: [...a.capabilities],
    ...(publicKey ? { public_key: publicKey } : {}),
    ...(a.name ? { name: a.name } : {}),
    ...(a.signedBinding
      ? { moltid_binding: { binding: Buffer.from(a.signedBinding.binding).toString('base64'), signature: Buffer.from(a.signedBinding.signature).toString('base64') } }
      : {}),
  };
  return {
    submolt: ANNOUNCE_SUBMOLT,
    title: `🌐 MoltNet: ${address} Online`,
    content: `Joining MoltNet! #moltnet\n\nIPv6: \`${address}\`\nEndpoint: \`${endpoint}\``,
    metadata,
  };
}

/** The binding's WireGuard key (base64) when it has one; throws when the binding disagrees with the post. */
function checkOwnBinding(sb: SignedBinding, address: string, endpoint: string, publicKey: string | undefined): string | undefined {
  const v = verifySignedBinding(sb);
  if (typeof v === 'string') throw new InvalidInputError(`the signed binding does not hold: ${v}`);
  const b = v.binding;
  if (formatIpv6(b.meshAddress) !== address) throw new InvalidInputError(`the signed binding is for ${formatIpv6(b.meshAddress)}, not ${address}`);
  if (b.endpoint !== '') {
    const bound = endpointOf(b.endpoint);
    if (!bound || !('hp' in bound) || formatHostPort(bound.hp) !== endpoint) {
      throw new InvalidInputError(`the signed binding's endpoint ${quote(b.endpoint)} is not the announced ${endpoint}`);
    }
  }
  const boundKey = b.wireguardKey?.length === WIREGUARD_KEY_BYTES ? Buffer.from(b.wireguardKey).toString('base64') : undefined;
  if (boundKey && publicKey && boundKey !== publicKey) throw new InvalidInputError('the signed binding\'s WireGuard key is not the announced one');
  return boundKey;
}
