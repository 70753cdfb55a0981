/**
 * OSPFv3 LSAs (RFC 5340 A.4): the 20-byte header, the bodies of Router-, Network-, Inter-Area-Prefix-,
 * Inter-Area-Router-, AS-External- (and NSSA-), Link- and Intra-Area-Prefix-LSAs, the IPv6 prefix encoding,
 * and the age/sequence rules of RFC 2328 §12.1 and §13.1.
 *
 * parseLsa is the one checked entry for untrusted bytes: header, length, Fletcher checksum (fletcher.ts),
 * then the body by LS type; a type it does not know is kept as UnknownLsa (body bytes) and flooded by its
 * scope (floodingScope in types.ts). Every parsed LSA keeps its bytes (`raw`, a copy) because LSAs are
 * flooded exactly as received. Originating goes through buildLsa, which encodes the body, the length
 * and the checksum. Nothing here throws on bad input.
 */
import { get16, get24, get32, put16, put24, put32 } from '../../../common/bytes.js';
import type { ParseResult } from '../../../dataplane/wire/ipv6.js';
import { setLsaChecksum, verifyLsaChecksum } from './fletcher.js';
import {
  LsType,
  MAX_AGE,
  MAX_AGE_DIFF,
  MAX_SEQUENCE_NUMBER,
  type AsExternalLsa,
  type InterAreaPrefixLsa,
  type InterAreaRouterLsa,
  type IntraAreaPrefixLsa,
  type Ipv6Prefix,
  type LinkLsa,
  type Lsa,
  type LsaBody,
  type LsaHeader,
  type LsaHeaderFields,
  type MetricPrefix,
  type NetworkLsa,
  type RouterLink,
  type RouterLsa,
} from './types.js';

/*
 * RFC 5340 A.4.2, the LSA header:
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |           LS Age              |           LS Type             |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                       Link State ID                           |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                    Advertising Router                         |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                    LS Sequence Number                         |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |        LS Checksum            |             Length            |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
export const LSA_AGE = 0;
export const LSA_TYPE = 2;
export const LSA_LINK_STATE_ID = 4;
export const LSA_ADV_ROUTER = 8;
export const LSA_SEQUENCE = 12;
export const LSA_CHECKSUM = 16;
export const LSA_LENGTH = 18;
export const LSA_HEADER_LEN = 20;
/** The largest LSA the 16-bit Length field can describe. */
export const LSA_MAX_LEN = 0xffff;

// ---------------------------------------------------------------------------------------------------------
// Helpers (callers have checked the bounds; the byte helpers are common/bytes.ts).

function copy16(buf: Uint8Array, at: number): Buffer {
  return Buffer.from(buf.subarray(at, at + 16));
}

// ---------------------------------------------------------------------------------------------------------
// Header view (off = start of the LSA).

export function lsaAge(buf: Uint8Array, off: number): number {
  return get16(buf, off + LSA_AGE);
}
export function lsaType(buf: Uint8Array, off: number): number {
  return get16(buf, off + LSA_TYPE);
}
export function lsaLinkStateId(buf: Uint8Array, off: number): number {
  return get32(buf, off + LSA_LINK_STATE_ID);
}
export function lsaAdvertisingRouter(buf: Uint8Array, off: number): number {
  return get32(buf, off + LSA_ADV_ROUTER);
}
/** Signed 32 bits. */
export function lsaSequence(buf: Uint8Array, off: number): number {
  return get32(buf, off + LSA_SEQUENCE) | 0;
}
export function lsaChecksumField(buf: Uint8Array, off: number): number {
  return get16(buf, off + LSA_CHECKSUM);
}
export function lsaLength(buf: Uint8Array, off: number): number {
  return get16(buf, off + LSA_LENGTH);
}
/** Rewrites the age (outside the checksum), e.g. when flooding a copy with age + InfTransDelay. */
export function setLsaAge(buf: Uint8Array, off: number, age: number): void {
  put16(buf, off + LSA_AGE, age);
}

/** Reads the 20-byte header at `off`; the caller has made sure the 20 bytes are there. */
export function readLsaHeader(buf: Uint8Array, off: number): LsaHeader {
  return {
    age: lsaAge(buf, off),
    type: lsaType(buf, off),
    linkStateId: lsaLinkStateId(buf, off),
    advertisingRouter: lsaAdvertisingRouter(buf, off),
    sequence: lsaSequence(buf, off),
    checksum: lsaChecksumField(buf, off),
    length: lsaLength(buf, off),
  };
}

/** The header at [off, off+len), which must hold at least 20 bytes (only the header is read). */
export function parseLsaHeader(buf: Uint8Array, off: number, len: number): ParseResult<LsaHeader> {
  if (off < 0 || len < LSA_HEADER_LEN || off + len > buf.length) return { ok: false, error: lsaErrorMessage(LsaError.Truncated) };
  return { ok: true, repr: readLsaHeader(buf, off) };
}

/** Writes the 20-byte header `h` at `off` as it is (checksum and length included). Returns 20. */
export function emitLsaHeader(h: LsaHeader, buf: Uint8Array, off: number): number {
  put16(buf, off + LSA_AGE, h.age);
  put16(buf, off + LSA_TYPE, h.type);
  put32(buf, off + LSA_LINK_STATE_ID, h.linkStateId);
  put32(buf, off + LSA_ADV_ROUTER, h.advertisingRouter);
  put32(buf, off + LSA_SEQUENCE, h.sequence);
  put16(buf, off + LSA_CHECKSUM, h.checksum);
  put16(buf, off + LSA_LENGTH, h.length);
  return LSA_HEADER_LEN;
}

// ---------------------------------------------------------------------------------------------------------
// Errors.

/** Why parseLsa refused an LSA; negative so callers can count by code. */
export const LsaError = {
  /** Fewer than 20 bytes, or the LSA's Length runs past the bytes we have. */
  Truncated: -1,
  /** The Length field is under 20. */
  BadLength: -2,
  /** The Fletcher checksum does not verify. */
  BadChecksum: -3,
  /** The body does not match its LS type's format. */
  BadBody: -4,
} as const;
export type LsaError = (typeof LsaError)[keyof typeof LsaError];

export function lsaErrorMessage(code: number): string {
  switch (code) {
    case LsaError.Truncated:
      return 'truncated LSA';
    case LsaError.BadLength:
      return 'LSA length field under 20';
    case LsaError.BadChecksum:
      return 'LSA checksum mismatch';
    case LsaError.BadBody:
      return 'malformed LSA body';
    default:
      return code === 0 ? 'valid' : `unknown LSA error ${code}`;
  }
}

/**
 * 0 when [off, off+len) starts with an LSA whose Length (>= 20) fits in `len` and whose checksum is
 * right (unless `verifyChecksum` is false), else an LsaError code. The LSA is the first Length bytes.
 */
export function checkLsa(buf: Uint8Array, off: number, len: number, verifyChecksum = true): number {
  if (off < 0 || len < LSA_HEADER_LEN || off + len > buf.length) return LsaError.Truncated;
  const length = lsaLength(buf, off);
  if (length < LSA_HEADER_LEN) return LsaError.BadLength;
  if (length > len) return LsaError.Truncated;
  if (verifyChecksum && !verifyLsaChecksum(buf, off, length)) return LsaError.BadChecksum;
  return 0;
}

// ---------------------------------------------------------------------------------------------------------
// IPv6 prefixes (RFC 5340 A.4.1).

/*
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  PrefixLength | PrefixOptions |  (16 bits: metric, reserved  |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+   or Referenced LS Type)     +
 *   |                        Address Prefix                         |
 *   |                             ...                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The prefix takes ceil(PrefixLength / 32) 32-bit words; the 16-bit field's meaning depends on the LSA.
 */
export const PREFIX_LENGTH = 0;
export const PREFIX_OPTIONS = 1;
export const PREFIX_FIELD16 = 2;
export const PREFIX_ADDRESS = 4;

/** Bytes of an encoded prefix of `length` bits: 4 + 4 * ceil(length / 32). */
export function prefixWireLength(length: number): number {
  return PREFIX_ADDRESS + 4 * Math.ceil(length / 32);
}

/** A parsed prefix, its 16-bit field, and where the next item starts. */
interface PrefixRead {
  prefix: Ipv6Prefix;
  field16: number;
  next: number;
}

/**
 * Reads the prefix at `at` that must end by `end`; undefined when it does not fit or its length is over
 * 128. Bits past the prefix length are cleared in the result (the raw LSA keeps them as sent).
 */
function readPrefix(buf: Uint8Array, at: number, end: number): PrefixRead | undefined {
  if (at + PREFIX_ADDRESS > end) return undefined;
  const length = buf[at + PREFIX_LENGTH]!;
  if (length > 128) return undefined;
  const next = at + prefixWireLength(length);
  if (next > end) return undefined;
  const prefix = Buffer.alloc(16);
  const whole = length >>> 3;
  for (let i = 0; i < whole; i++) prefix[i] = buf[at + PREFIX_ADDRESS + i]!;
  if (length & 7) prefix[whole] = buf[at + PREFIX_ADDRESS + whole]! & (0xff << (8 - (length & 7)));
  return {
    prefix: { length, options: buf[at + PREFIX_OPTIONS]!, prefix },
    field16: get16(buf, at + PREFIX_FIELD16),
    next,
  };
}

/** Writes `p` with its 16-bit field at `at`; bits past the length are written as zero. Returns the bytes. */
function writePrefix(p: Ipv6Prefix, field16: number, buf: Uint8Array, at: number): number {
  const n = prefixWireLength(p.length);
  buf[at + PREFIX_LENGTH] = p.length;
  buf[at + PREFIX_OPTIONS] = p.options;
  put16(buf, at + PREFIX_FIELD16, field16);
  const whole = p.length >>> 3;
  for (let i = 0; i < n - PREFIX_ADDRESS; i++) {
    let b = 0;
    if (i < whole) b = p.prefix[i] ?? 0;
    else if (i === whole && p.length & 7) b = (p.prefix[i] ?? 0) & (0xff << (8 - (p.length & 7)));
    buf[at + PREFIX_ADDRESS + i] = b;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------------------
// Bodies. Offsets are from the start of the body (LSA offset + 20).

/*
 * Router-LSA (A.4.3):
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  0  |Nt|x|V|E|B|            Options                            |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Type      |       0       |          Metric               |   \
 *   |                      Interface ID                             |    | one per link,
 *   |                   Neighbor Interface ID                       |    | 16 bytes
 *   |                    Neighbor Router ID                         |   /
 */
export const ROUTER_FLAGS = 0;
export const ROUTER_OPTIONS = 1;
export const ROUTER_LINKS = 4;
export const ROUTER_LINK_LEN = 16;

/*
 * Network-LSA (A.4.4):
 *   |       0       |              Options                          |
 *   |                        Attached Router                        |  (one or more)
 */
export const NETWORK_OPTIONS = 1;
export const NETWORK_ROUTERS = 4;

/*
 * Inter-Area-Prefix-LSA (A.4.5):
 *   |       0       |                  Metric                       |
 *   |  PrefixLength | PrefixOptions |              0                |
 *   |                        Address Prefix ...                     |
 *
 * Inter-Area-Router-LSA (A.4.6):
 *   |       0       |                 Options                       |
 *   |       0       |                 Metric                        |
 *   |                 Destination Router ID                         |
 */
export const IAP_METRIC = 1;
export const IAP_PREFIX = 4;
export const IAR_OPTIONS = 1;
export const IAR_METRIC = 5;
export const IAR_DESTINATION = 8;
export const IAR_LEN = 12;

/*
 * AS-External-LSA (A.4.7), NSSA-LSA (A.4.8) alike:
 *   |         |E|F|T|                Metric                         |
 *   |  PrefixLength | PrefixOptions |     Referenced LS Type        |
 *   |                        Address Prefix ...                     |
 *   |                Forwarding Address (16, if F)                  |
 *   |              External Route Tag (4, if T)                     |
 *   |               Referenced Link State ID (4, if Ref LS Type != 0)|
 */
export const ASE_FLAGS = 0;
export const ASE_METRIC = 1;
export const ASE_PREFIX = 4;
const ASE_F = 0x02;
const ASE_T = 0x01;

/*
 * Link-LSA (A.4.9):
 *   | Rtr Priority  |                Options                        |
 *   |             Link-local Interface Address (16)                 |
 *   |                         # prefixes                            |
 *   |  PrefixLength | PrefixOptions |             0                 |  \ one per prefix
 *   |                Address Prefix ...                             |  /
 */
export const LINK_PRIORITY = 0;
export const LINK_OPTIONS = 1;
export const LINK_ADDRESS = 4;
export const LINK_NUM_PREFIXES = 20;
export const LINK_PREFIXES = 24;

/*
 * Intra-Area-Prefix-LSA (A.4.10):
 *   |         # Prefixes            |     Referenced LS Type        |
 *   |                  Referenced Link State ID                     |
 *   |               Referenced Advertising Router                   |
 *   |  PrefixLength | PrefixOptions |          Metric               |  \ one per prefix
 *   |                       Address Prefix ...                      |  /
 */
export const IAPFX_NUM_PREFIXES = 0;
export const IAPFX_REF_TYPE = 2;
export const IAPFX_REF_LSID = 4;
export const IAPFX_REF_ADV_ROUTER = 8;
export const IAPFX_PREFIXES = 12;

type BodyResult = { ok: true; body: LsaBody } | { ok: false; error: string };

function bad(why: string): BodyResult {
  return { ok: false, error: `${lsaErrorMessage(LsaError.BadBody)}: ${why}` };
}

function parseRouter(buf: Uint8Array, off: number, len: number): BodyResult {
  if (len < ROUTER_LINKS || (len - ROUTER_LINKS) % ROUTER_LINK_LEN !== 0) return bad('Router-LSA length is not 4 + 16n');
  const links: RouterLink[] = [];
  for (let at = off + ROUTER_LINKS; at < off + len; at += ROUTER_LINK_LEN) {
    links.push({
      type: buf[at]!,
      metric: get16(buf, at + 2),
      interfaceId: get32(buf, at + 4),
      neighborInterfaceId: get32(buf, at + 8),
      neighborRouterId: get32(buf, at + 12),
    });
  }
  const body: RouterLsa = { kind: 'router', flags: buf[off + ROUTER_FLAGS]!, options: get24(buf, off + ROUTER_OPTIONS), links };
  return { ok: true, body };
}

function parseNetwork(buf: Uint8Array, off: number, len: number): BodyResult {
  if (len < NETWORK_ROUTERS || (len - NETWORK_ROUTERS) % 4 !== 0) return bad('Network-LSA length is not 4 + 4n');
  const attachedRouters: number[] = [];
  for (let at = off + NETWORK_ROUTERS; at < off + len; at += 4) attachedRouters.push(get32(buf, at));
  const body: NetworkLsa = { kind: 'network', options: get24(buf, off + NETWORK_OPTIONS), attachedRouters };
  return { ok: true, body };
}

function parseInterAreaPrefix(buf: Uint8Array, off: number, len: number): BodyResult {
  if (len < IAP_PREFIX) return bad('Inter-Area-Prefix-LSA too short');
  const p = readPrefix(buf, off + IAP_PREFIX, off + len);
  if (p === undefined) return bad('Inter-Area-Prefix-LSA prefix does not fit');
  if (p.next !== off + len) return bad('bytes after the Inter-Area-Prefix-LSA prefix');
  const body: InterAreaPrefixLsa = { kind: 'inter-area-prefix', metric: get24(buf, off + IAP_METRIC), prefix: p.prefix };
  return { ok: true, body };
}

function parseInterAreaRouter(buf: Uint8Array, off: number, len: number): BodyResult {
  if (len !== IAR_LEN) return bad('Inter-Area-Router-LSA body is not 12 bytes');
  const body: InterAreaRouterLsa = {
    kind: 'inter-area-router',
    options: get24(buf, off + IAR_OPTIONS),
    metric: get24(buf, off + IAR_METRIC),
    destinationRouterId: get32(buf, off + IAR_DESTINATION),
  };
  return { ok: true, body };
}

function parseAsExternal(kind: 'as-external' | 'nssa', buf: Uint8Array, off: number, len: number): BodyResult {
  if (len < ASE_PREFIX) return bad('AS-External-LSA too short');
  const end = off + len;
  const p = readPrefix(buf, off + ASE_PREFIX, end);
  if (p === undefined) return bad('AS-External-LSA prefix does not fit');
  const flags = buf[off + ASE_FLAGS]!;
  const body: AsExternalLsa = { kind, flags, metric: get24(buf, off + ASE_METRIC), prefix: p.prefix, referencedLsType: p.field16 };
  let at = p.next;
  if (flags & ASE_F) {
    if (at + 16 > end) return bad('AS-External-LSA forwarding address does not fit');
    body.forwardingAddress = copy16(buf, at);
    at += 16;
  }
  if (flags & ASE_T) {
    if (at + 4 > end) return bad('AS-External-LSA route tag does not fit');
    body.externalRouteTag = get32(buf, at);
    at += 4;
  }
  if (p.field16 !== 0) {
    if (at + 4 > end) return bad('AS-External-LSA referenced link state ID does not fit');
    body.referencedLinkStateId = get32(buf, at);
    at += 4;
  }
  if (at !== end) return bad('bytes after the AS-External-LSA fields');
  return { ok: true, body };
}

function parseLink(buf: Uint8Array, off: number, len: number): BodyResult {
  if (len < LINK_PREFIXES) return bad('Link-LSA too short');
  const count = get32(buf, off + LINK_NUM_PREFIXES);
  const end = off + len;
  const prefixes: Ipv6Prefix[] = [];
  let at = off + LINK_PREFIXES;
  for (let i = 0; i < count; i++) {
    const p = readPrefix(buf, at, end);
    if (p === undefined) return bad(`Link-LSA prefix ${i} of ${count} does not fit`);
    prefixes.push(p.prefix);
    at = p.next;
  }
  if (at !== end) return bad('bytes after the Link-LSA prefixes');
  const body: LinkLsa = {
    kind: 'link',
    priority: buf[off + LINK_PRIORITY]!,
    options: get24(buf, off + LINK_OPTIONS),
    linkLocalAddress: copy16(buf, off + LINK_ADDRESS),
    prefixes,
  };
  return { ok: true, body };
}

function parseIntraAreaPrefix(buf: Uint8Array, off: number, len: number): BodyResult {
  if (len < IAPFX_PREFIXES) return bad('Intra-Area-Prefix-LSA too short');
  const count = get16(buf, off + IAPFX_NUM_PREFIXES);
  const end = off + len;
  const prefixes: MetricPrefix[] = [];
  let at = off + IAPFX_PREFIXES;
  for (let i = 0; i < count; i++) {
    const p = readPrefix(buf, at, end);
    if (p === undefined) return bad(`Intra-Area-Prefix-LSA prefix ${i} of ${count} does not fit`);
    prefixes.push({ ...p.prefix, metric: p.field16 });
    at = p.next;
  }
  if (at !== end) return bad('bytes after the Intra-Area-Prefix-LSA prefixes');
  const body: IntraAreaPrefixLsa = {
    kind: 'intra-area-prefix',
    referencedLsType: get16(buf, off + IAPFX_REF_TYPE),
    referencedLinkStateId: get32(buf, off + IAPFX_REF_LSID),
    referencedAdvertisingRouter: get32(buf, off + IAPFX_REF_ADV_ROUTER),
    prefixes,
  };
  return { ok: true, body };
}

/** Parses the body of an LSA of type `type` at [off, off+len); unknown types are kept as bytes (a copy). */
export function parseLsaBody(type: number, buf: Uint8Array, off: number, len: number): ParseResult<LsaBody> {
  if (off < 0 || len < 0 || off + len > buf.length) return { ok: false, error: lsaErrorMessage(LsaError.Truncated) };
  let r: BodyResult;
  switch (type) {
    case LsType.Router:
      r = parseRouter(buf, off, len);
      break;
    case LsType.Network:
      r = parseNetwork(buf, off, len);
      break;
    case LsType.InterAreaPrefix:
      r = parseInterAreaPrefix(buf, off, len);
      break;
    case LsType.InterAreaRouter:
      r = parseInterAreaRouter(buf, off, len);
      break;
    case LsType.AsExternal:
      r = parseAsExternal('as-external', buf, off, len);
      break;
    case LsType.Nssa:
      r = parseAsExternal('nssa', buf, off, len);
      break;
    case LsType.Link:
      r = parseLink(buf, off, len);
      break;
    case LsType.IntraAreaPrefix:
      r = parseIntraAreaPrefix(buf, off, len);
      break;
    default:
      r = { ok: true, body: { kind: 'unknown', body: Buffer.from(buf.subarray(off, off + len)) } };
  }
  return r.ok ? { ok: true, repr: r.body } : r;
}

/**
 * The checked parse of the LSA at the start of [off, off+len): length, checksum (unless `verifyChecksum`
 * is false), body. The result owns its bytes (`raw` and every Buffer in the body are copies), so the
 * packet buffer can be reused.
 */
export function parseLsa(buf: Uint8Array, off: number, len: number, verifyChecksum = true): ParseResult<Lsa> {
  const code = checkLsa(buf, off, len, verifyChecksum);
  if (code !== 0) return { ok: false, error: lsaErrorMessage(code) };
  const header = readLsaHeader(buf, off);
  const body = parseLsaBody(header.type, buf, off + LSA_HEADER_LEN, header.length - LSA_HEADER_LEN);
  if (!body.ok) return body;
  return { ok: true, repr: { header, body: body.repr, raw: Buffer.from(buf.subarray(off, off + header.length)) } };
}

// ---------------------------------------------------------------------------------------------------------
// Emit.

/** Bytes the body takes on the wire. */
export function lsaBodyLength(body: LsaBody): number {
  switch (body.kind) {
    case 'router':
      return ROUTER_LINKS + ROUTER_LINK_LEN * body.links.length;
    case 'network':
      return NETWORK_ROUTERS + 4 * body.attachedRouters.length;
    case 'inter-area-prefix':
      return IAP_PREFIX + prefixWireLength(body.prefix.length);
    case 'inter-area-router':
      return IAR_LEN;
    case 'as-external':
    case 'nssa':
      return (
        ASE_PREFIX +
        prefixWireLength(body.prefix.length) +
        (body.forwardingAddress !== undefined ? 16 : 0) +
        (body.externalRouteTag !== undefined ? 4 : 0) +
        (body.referencedLsType !== 0 ? 4 : 0)
      );
    case 'link':
      return LINK_PREFIXES + body.prefixes.reduce((n, p) => n + prefixWireLength(p.length), 0);
    case 'intra-area-prefix':
      return IAPFX_PREFIXES + body.prefixes.reduce((n, p) => n + prefixWireLength(p.length), 0);
    case 'unknown':
      return body.body.length;
  }
}

/**
 * Writes `body` at `off` (lsaBodyLength(body) bytes must be there). Reserved bits are written as zero;
 * for AS-External/NSSA the F and T flags follow forwardingAddress/externalRouteTag, and the Referenced
 * Link State ID is written when referencedLsType is not 0 (as 0 if it is missing). Returns the bytes.
 */
export function emitLsaBody(body: LsaBody, buf: Uint8Array, off: number): number {
  switch (body.kind) {
    case 'router': {
      buf[off + ROUTER_FLAGS] = body.flags;
      put24(buf, off + ROUTER_OPTIONS, body.options);
      let at = off + ROUTER_LINKS;
      for (const l of body.links) {
        buf[at] = l.type;
        buf[at + 1] = 0;
        put16(buf, at + 2, l.metric);
        put32(buf, at + 4, l.interfaceId);
        put32(buf, at + 8, l.neighborInterfaceId);
        put32(buf, at + 12, l.neighborRouterId);
        at += ROUTER_LINK_LEN;
      }
      return at - off;
    }
    case 'network': {
      buf[off] = 0;
      put24(buf, off + NETWORK_OPTIONS, body.options);
      let at = off + NETWORK_ROUTERS;
      for (const r of body.attachedRouters) {
        put32(buf, at, r);
        at += 4;
      }
      return at - off;
    }
    case 'inter-area-prefix':
      buf[off] = 0;
      put24(buf, off + IAP_METRIC, body.metric);
      return IAP_PREFIX + writePrefix(body.prefix, 0, buf, off + IAP_PREFIX);
    case 'inter-area-router':
      buf[off] = 0;
      put24(buf, off + IAR_OPTIONS, body.options);
      buf[off + 4] = 0;
      put24(buf, off + IAR_METRIC, body.metric);
      put32(buf, off + IAR_DESTINATION, body.destinationRouterId);
      return IAR_LEN;
    case 'as-external':
    case 'nssa': {
      let flags = body.flags & ~(ASE_F | ASE_T) & 0xff;
      if (body.forwardingAddress !== undefined) flags |= ASE_F;
      if (body.externalRouteTag !== undefined) flags |= ASE_T;
      buf[off + ASE_FLAGS] = flags;
      put24(buf, off + ASE_METRIC, body.metric);
      let at = off + ASE_PREFIX + writePrefix(body.prefix, body.referencedLsType, buf, off + ASE_PREFIX);
      if (body.forwardingAddress !== undefined) {
        for (let i = 0; i < 16; i++) buf[at + i] = body.forwardingAddress[i] ?? 0;
        at += 16;
      }
      if (body.externalRouteTag !== undefined) {
        put32(buf, at, body.externalRouteTag);
        at += 4;
      }
      if (body.referencedLsType !== 0) {
        put32(buf, at, body.referencedLinkStateId ?? 0);
        at += 4;
      }
      return at - off;
    }
    case 'link': {
      buf[off + LINK_PRIORITY] = body.priority;
      put24(buf, off + LINK_OPTIONS, body.options);
      for (let i = 0; i < 16; i++) buf[off + LINK_ADDRESS + i] = body.linkLocalAddress[i] ?? 0;
      put32(buf, off + LINK_NUM_PREFIXES, body.prefixes.length);
      let at = off + LINK_PREFIXES;
      for (const p of body.prefixes) at += writePrefix(p, 0, buf, at);
      return at - off;
    }
    case 'intra-area-prefix': {
      put16(buf, off + IAPFX_NUM_PREFIXES, body.prefixes.length);
      put16(buf, off + IAPFX_REF_TYPE, body.referencedLsType);
      put32(buf, off + IAPFX_REF_LSID, body.referencedLinkStateId);
      put32(buf, off + IAPFX_REF_ADV_ROUTER, body.referencedAdvertisingRouter);
      let at = off + IAPFX_PREFIXES;
      for (const p of body.prefixes) at += writePrefix(p, p.metric, buf, at);
      return at - off;
    }
    case 'unknown':
      buf.set(body.body, off);
      return body.body.length;
  }
}

/**
 * Builds an LSA to originate: header fields + body -> bytes with Length and Fletcher checksum filled
 * in. Returns undefined when the LSA would exceed 65535 bytes. The result's header matches `raw`.
 */
export function buildLsa(fields: LsaHeaderFields, body: LsaBody): Lsa | undefined {
  const length = LSA_HEADER_LEN + lsaBodyLength(body);
  if (length > LSA_MAX_LEN) return undefined;
  const raw = Buffer.alloc(length);
  const header: LsaHeader = { ...fields, sequence: fields.sequence | 0, checksum: 0, length };
  emitLsaHeader(header, raw, 0);
  emitLsaBody(body, raw, LSA_HEADER_LEN);
  header.checksum = setLsaChecksum(raw, 0, length);
  return { header, body, raw };
}

/** Copies the LSA's bytes, as received, to `off`. Returns the bytes written. */
export function emitLsa(lsa: Lsa, buf: Uint8Array, off: number): number {
  buf.set(lsa.raw, off);
  return lsa.raw.length;
}

// ---------------------------------------------------------------------------------------------------------
// Age and sequence (RFC 2328 §12.1.1, §12.1.6, §13.1).

/** The age with the DoNotAge bit dropped, capped at MaxAge. */
export function effectiveAge(age: number): number {
  return Math.min(age & 0x7fff, MAX_AGE);
}

/** True when the LSA is at MaxAge (being flushed). */
export function isMaxAge(age: number): boolean {
  return effectiveAge(age) >= MAX_AGE;
}

/** The age after `seconds` more in the LSDB or on a link (InfTransDelay), capped at MaxAge. */
export function addAge(age: number, seconds: number): number {
  return Math.min(effectiveAge(age) + Math.max(0, seconds), MAX_AGE);
}

/**
 * The sequence number for the next instance after `sequence` (signed 32 bits), or undefined at
 * MaxSequenceNumber: then the LSA must first be flushed (premature aging) and originated again with
 * InitialSequenceNumber (RFC 2328 §12.1.6).
 */
export function nextSequenceNumber(sequence: number): number | undefined {
  const s = sequence | 0;
  if (s >= MAX_SEQUENCE_NUMBER) return undefined;
  return s + 1;
}

/** What the newer-instance comparison looks at. */
export type LsaInstance = Pick<LsaHeader, 'age' | 'sequence' | 'checksum'>;

/**
 * Which of two instances of the same LSA is newer (RFC 2328 §13.1): > 0 when `a` is, < 0 when `b` is, 0
 * when they are the same instance. In order: the greater sequence number (signed); the greater checksum
 * (unsigned 16 bits); the one at MaxAge; when the ages differ by more than MaxAgeDiff, the younger. Ages
 * are the current ones (as stored in the LSDB, aged), compared through effectiveAge.
 */
export function compareLsaInstances(a: LsaInstance, b: LsaInstance): number {
  const sa = a.sequence | 0;
  const sb = b.sequence | 0;
  if (sa !== sb) return sa > sb ? 1 : -1;
  const ca = a.checksum & 0xffff;
  const cb = b.checksum & 0xffff;
  if (ca !== cb) return ca > cb ? 1 : -1;
  const aa = effectiveAge(a.age);
  const ab = effectiveAge(b.age);
  const ma = aa === MAX_AGE;
  const mb = ab === MAX_AGE;
  if (ma !== mb) return ma ? 1 : -1;
  if (Math.abs(aa - ab) > MAX_AGE_DIFF) return aa < ab ? 1 : -1;
  return 0;
}

/** True when `a` is a newer instance than `b`. */
export function isNewerInstance(a: LsaInstance, b: LsaInstance): boolean {
  return compareLsaInstances(a, b) > 0;
}
