/**
 * OSPFv3 packets (RFC 5340 A.3): the common header with its IPv6 pseudo-header checksum, and the five
 * bodies (Hello, Database Description, LS Request, LS Update, LS Acknowledgment).
 *
 * Receive path, BIRD-style: `checkOspfPacket` does every generic check once (bounds, version, type, length,
 * checksum); on an interface with authentication the checksum is skipped (RFC 7166 §4.2: senders set it
 * to 0) and auth-trailer.ts's verifyAuthTrailer runs instead; then `parseOspfPacket` dispatches by type.
 * Bad input gives a negative code or { ok: false, error }, never an exception. Inside an LS Update each
 * LSA is parsed on its own (lsa.ts), and those that fail are listed in `malformed` while the rest are
 * kept, so the caller can drop and count just those.
 *
 * Send path: `emitOspfPacket` writes header + body and the checksum over the pseudo-header of the given
 * source and destination (or 0 for a packet that gets an authentication trailer, which auth-trailer.ts
 * appends after the Packet Length bytes).
 */
import { get16, get24, get32, put16, put24, put32 } from '../../../common/bytes.js';
import { finishChecksum, pseudoHeaderSum, sumBytes, upperLayerChecksum } from '../../../dataplane/wire/checksum.js';
import { IPPROTO_OSPF, IPV6_HEADER_LEN, type ParseResult } from '../../../dataplane/wire/ipv6.js';
import { LSA_HEADER_LEN, emitLsaHeader, lsaLength, parseLsa, readLsaHeader } from './lsa.js';
import {
  OSPF_VERSION,
  PacketType,
  isPacketType,
  type DdRepr,
  type HelloRepr,
  type LsAckRepr,
  type LsaHeader,
  type LsrEntry,
  type LsrRepr,
  type LsuDecoded,
  type LsuRepr,
  type Lsa,
  type MalformedLsa,
  type OspfHeader,
  type OspfPacket,
  type OspfPacketRepr,
} from './types.js';

/*
 * RFC 5340 A.3.1, the common header:
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |   Version #   |     Type      |         Packet Length         |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                         Router ID                             |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                          Area ID                              |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |          Checksum             |  Instance ID  |      0        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Packet Length counts the header and the body, not an LLS block or authentication trailer after it.
 * The checksum is the IPv6 upper-layer checksum (pseudo-header with Next Header 89) over those bytes.
 */
export const OSPF_VERSION_OFF = 0;
export const OSPF_TYPE = 1;
export const OSPF_PACKET_LENGTH = 2;
export const OSPF_ROUTER_ID = 4;
export const OSPF_AREA_ID = 8;
export const OSPF_CHECKSUM = 12;
export const OSPF_INSTANCE_ID = 14;
export const OSPF_HEADER_LEN = 16;

/*
 * A.3.2, Hello body (offsets from the end of the common header):
 *   |                        Interface ID                           |
 *   | Rtr Priority  |             Options                           |
 *   |        HelloInterval          |       RouterDeadInterval      |
 *   |                   Designated Router ID                        |
 *   |                Backup Designated Router ID                    |
 *   |                         Neighbor ID ...                       |
 */
export const HELLO_INTERFACE_ID = 0;
export const HELLO_PRIORITY = 4;
export const HELLO_OPTIONS = 5;
export const HELLO_INTERVAL = 8;
export const HELLO_DEAD_INTERVAL = 10;
export const HELLO_DR = 12;
export const HELLO_BDR = 16;
export const HELLO_NEIGHBORS = 20;

/*
 * A.3.3, Database Description body:
 *   |       0       |               Options                         |
 *   |        Interface MTU          |      0        |0|0|0|0|0|I|M|MS
 *   |                    DD sequence number                         |
 *   |                      An LSA Header ...                        |
 */
export const DD_OPTIONS = 1;
export const DD_MTU = 4;
export const DD_FLAGS = 7;
export const DD_SEQUENCE = 8;
export const DD_LSA_HEADERS = 12;

/*
 * A.3.4, Link State Request body, one entry per LSA:
 *   |              0                |        LS Type                |
 *   |                         Link State ID                         |
 *   |                       Advertising Router                      |
 */
export const LSR_LS_TYPE = 2;
export const LSR_LINK_STATE_ID = 4;
export const LSR_ADV_ROUTER = 8;
export const LSR_ENTRY_LEN = 12;

/*
 * A.3.5, Link State Update body:
 *   |                            # LSAs                             |
 *   |                            LSAs ...                           |
 *
 * A.3.6, Link State Acknowledgment body: LSA headers, 20 bytes each.
 */
export const LSU_NUM_LSAS = 0;
export const LSU_LSAS = 4;

/** Smallest body of each packet type. */
export function minBodyLength(type: PacketType): number {
  switch (type) {
    case PacketType.Hello:
      return HELLO_NEIGHBORS;
    case PacketType.DatabaseDescription:
      return DD_LSA_HEADERS;
    case PacketType.LinkStateRequest:
      return 0;
    case PacketType.LinkStateUpdate:
      return LSU_LSAS;
    case PacketType.LinkStateAck:
      return 0;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Header view (off = start of the OSPF header; the caller has run checkOspfPacket).

export function ospfVersion(buf: Uint8Array, off: number): number {
  return buf[off + OSPF_VERSION_OFF]!;
}
export function ospfType(buf: Uint8Array, off: number): number {
  return buf[off + OSPF_TYPE]!;
}
export function ospfPacketLength(buf: Uint8Array, off: number): number {
  return get16(buf, off + OSPF_PACKET_LENGTH);
}
export function ospfRouterId(buf: Uint8Array, off: number): number {
  return get32(buf, off + OSPF_ROUTER_ID);
}
export function ospfAreaId(buf: Uint8Array, off: number): number {
  return get32(buf, off + OSPF_AREA_ID);
}
export function ospfChecksum(buf: Uint8Array, off: number): number {
  return get16(buf, off + OSPF_CHECKSUM);
}
export function ospfInstanceId(buf: Uint8Array, off: number): number {
  return buf[off + OSPF_INSTANCE_ID]!;
}
/** The 24-bit Options of a Hello or DD packet at `off` (undefined for other types). */
export function ospfPacketOptions(buf: Uint8Array, off: number): number | undefined {
  switch (ospfType(buf, off)) {
    case PacketType.Hello:
      return get24(buf, off + OSPF_HEADER_LEN + HELLO_OPTIONS);
    case PacketType.DatabaseDescription:
      return get24(buf, off + OSPF_HEADER_LEN + DD_OPTIONS);
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------
// The generic checks.

/** Why checkOspfPacket / parseOspfPacket refused a packet; 0 means valid. */
export const OspfError = {
  /** Fewer than 16 bytes, or the region runs past the end of the buffer. */
  Truncated: -1,
  /** Version is not 3. */
  BadVersion: -2,
  /** Packet Length is under the header plus its type's smallest body, or more than the bytes we have. */
  BadLength: -3,
  /** Type is not 1..5. */
  UnknownType: -4,
  /** The checksum does not verify. */
  BadChecksum: -5,
  /** Checksum verification was asked for but there is no IPv6 header before the packet. */
  NoIpv6Header: -6,
  /** The body does not match its type's format. */
  BadBody: -7,
} as const;
export type OspfError = (typeof OspfError)[keyof typeof OspfError];

export function ospfErrorMessage(code: number): string {
  switch (code) {
    case OspfError.Truncated:
      return 'truncated OSPF header';
    case OspfError.BadVersion:
      return 'OSPF version is not 3';
    case OspfError.BadLength:
      return 'OSPF packet length is too short for its type or exceeds the packet';
    case OspfError.UnknownType:
      return 'unknown OSPF packet type';
    case OspfError.BadChecksum:
      return 'OSPF checksum mismatch';
    case OspfError.NoIpv6Header:
      return 'no IPv6 header before the OSPF packet';
    case OspfError.BadBody:
      return 'malformed OSPF packet body';
    default:
      return code === 0 ? 'valid' : `unknown OSPF error ${code}`;
  }
}

/**
 * True when the checksum of the OSPF packet of `packetLength` bytes at `off` is right, the pseudo-header
 * coming from the IPv6 header at `ipOff` (no Routing header: OSPF never uses one).
 */
export function verifyOspfChecksum(buf: Uint8Array, ipOff: number, off: number, packetLength: number): boolean {
  return upperLayerChecksum(buf, ipOff, off, packetLength, IPPROTO_OSPF) === 0;
}

/**
 * The generic checks, once per received packet, on [off, off+len) (len: the IPv6 payload from the OSPF
 * header on, so an LLS block or authentication trailer after Packet Length is allowed): bounds, version,
 * type, Packet Length, and, when `verifyChecksum`, the checksum with the pseudo-header of the IPv6 header
 * at `ipOff`. On interfaces with RFC 7166 authentication pass verifyChecksum = false (the checksum is 0
 * and must be ignored, RFC 7166 §4.2) and verify the trailer. Returns 0 or an OspfError code.
 */
export function checkOspfPacket(buf: Uint8Array, ipOff: number, off: number, len: number, verifyChecksum = true): number {
  if (off < 0 || len < OSPF_HEADER_LEN || off + len > buf.length) return OspfError.Truncated;
  if (ospfVersion(buf, off) !== OSPF_VERSION) return OspfError.BadVersion;
  const type = ospfType(buf, off);
  if (!isPacketType(type)) return OspfError.UnknownType;
  const length = ospfPacketLength(buf, off);
  if (length < OSPF_HEADER_LEN + minBodyLength(type) || length > len) return OspfError.BadLength;
  if (verifyChecksum) {
    if (ipOff < 0 || ipOff + IPV6_HEADER_LEN > off) return OspfError.NoIpv6Header;
    if (!verifyOspfChecksum(buf, ipOff, off, length)) return OspfError.BadChecksum;
  }
  return 0;
}

/** Reads the common header; the caller has run checkOspfPacket (or checked 16 bytes and the type). */
export function readOspfHeader(buf: Uint8Array, off: number): OspfHeader {
  return {
    version: ospfVersion(buf, off),
    type: ospfType(buf, off) as PacketType,
    packetLength: ospfPacketLength(buf, off),
    routerId: ospfRouterId(buf, off),
    areaId: ospfAreaId(buf, off),
    checksum: ospfChecksum(buf, off),
    instanceId: ospfInstanceId(buf, off),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Bodies: parse. `off` is the start of the body, `len` its length (Packet Length - 16).

type BodyResult<T> = { ok: true; repr: T } | { ok: false; error: string };

function badBody<T>(why: string): BodyResult<T> {
  return { ok: false, error: `${ospfErrorMessage(OspfError.BadBody)}: ${why}` };
}

function inBounds(buf: Uint8Array, off: number, len: number): boolean {
  return off >= 0 && len >= 0 && off + len <= buf.length;
}

export function parseHello(buf: Uint8Array, off: number, len: number): ParseResult<HelloRepr> {
  if (!inBounds(buf, off, len) || len < HELLO_NEIGHBORS) return badBody('Hello shorter than 20 bytes');
  if ((len - HELLO_NEIGHBORS) % 4 !== 0) return badBody('Hello neighbor list is not a multiple of 4 bytes');
  const neighbors: number[] = [];
  for (let at = off + HELLO_NEIGHBORS; at < off + len; at += 4) neighbors.push(get32(buf, at));
  return {
    ok: true,
    repr: {
      interfaceId: get32(buf, off + HELLO_INTERFACE_ID),
      priority: buf[off + HELLO_PRIORITY]!,
      options: get24(buf, off + HELLO_OPTIONS),
      helloInterval: get16(buf, off + HELLO_INTERVAL),
      deadInterval: get16(buf, off + HELLO_DEAD_INTERVAL),
      designatedRouter: get32(buf, off + HELLO_DR),
      backupDesignatedRouter: get32(buf, off + HELLO_BDR),
      neighbors,
    },
  };
}

function readHeaders(buf: Uint8Array, off: number, end: number): LsaHeader[] {
  const headers: LsaHeader[] = [];
  for (let at = off; at < end; at += LSA_HEADER_LEN) headers.push(readLsaHeader(buf, at));
  return headers;
}

export function parseDd(buf: Uint8Array, off: number, len: number): ParseResult<DdRepr> {
  if (!inBounds(buf, off, len) || len < DD_LSA_HEADERS) return badBody('Database Description shorter than 12 bytes');
  if ((len - DD_LSA_HEADERS) % LSA_HEADER_LEN !== 0) return badBody('Database Description LSA headers are not a multiple of 20 bytes');
  return {
    ok: true,
    repr: {
      options: get24(buf, off + DD_OPTIONS),
      interfaceMtu: get16(buf, off + DD_MTU),
      flags: buf[off + DD_FLAGS]! & 0x07,
      ddSequence: get32(buf, off + DD_SEQUENCE),
      lsaHeaders: readHeaders(buf, off + DD_LSA_HEADERS, off + len),
    },
  };
}

export function parseLsr(buf: Uint8Array, off: number, len: number): ParseResult<LsrRepr> {
  if (!inBounds(buf, off, len) || len % LSR_ENTRY_LEN !== 0) return badBody('LS Request is not a multiple of 12 bytes');
  const requests: LsrEntry[] = [];
  for (let at = off; at < off + len; at += LSR_ENTRY_LEN) {
    requests.push({
      lsType: get16(buf, at + LSR_LS_TYPE),
      linkStateId: get32(buf, at + LSR_LINK_STATE_ID),
      advertisingRouter: get32(buf, at + LSR_ADV_ROUTER),
    });
  }
  return { ok: true, repr: { requests } };
}

/**
 * The LSAs of an LS Update body. An LSA whose length is sane but whose checksum or body is bad is listed
 * in `malformed` and skipped; one whose header is cut off or whose Length is under 20 or runs past the
 * body ends the walk (nothing after it can be located), as do missing LSAs when # LSAs is larger than
 * what follows (one `malformed` entry for the first missing one). Bytes after # LSAs LSAs are ignored.
 * Offsets in `malformed` are from the start of the OSPF packet.
 */
export function parseLsu(buf: Uint8Array, off: number, len: number, verifyLsaChecksums = true): ParseResult<LsuDecoded> {
  if (!inBounds(buf, off, len) || len < LSU_LSAS) return badBody('LS Update shorter than 4 bytes');
  const count = get32(buf, off + LSU_NUM_LSAS);
  const end = off + len;
  const lsas: Lsa[] = [];
  const malformed: MalformedLsa[] = [];
  const rel = (at: number): number => at - off + OSPF_HEADER_LEN;
  let at = off + LSU_LSAS;
  for (let index = 0; index < count; index++) {
    if (at + LSA_HEADER_LEN > end) {
      malformed.push({ index, offset: rel(at), error: `LS Update ends before LSA ${index} of ${count}` });
      break;
    }
    const header = readLsaHeader(buf, at);
    const length = lsaLength(buf, at);
    if (length < LSA_HEADER_LEN || at + length > end) {
      malformed.push({ index, offset: rel(at), header, error: length < LSA_HEADER_LEN ? 'LSA length field under 20' : 'LSA runs past the end of the LS Update' });
      break;
    }
    const r = parseLsa(buf, at, length, verifyLsaChecksums);
    if (r.ok) lsas.push(r.repr);
    else malformed.push({ index, offset: rel(at), header, error: r.error });
    at += length;
  }
  return { ok: true, repr: { lsas, malformed } };
}

export function parseLsAck(buf: Uint8Array, off: number, len: number): ParseResult<LsAckRepr> {
  if (!inBounds(buf, off, len) || len % LSA_HEADER_LEN !== 0) return badBody('LS Acknowledgment is not a multiple of 20 bytes');
  return { ok: true, repr: { lsaHeaders: readHeaders(buf, off, off + len) } };
}

/**
 * The checked parse of a received packet: checkOspfPacket (see there for `verifyChecksum`), then the body
 * by type. `ipOff` is the IPv6 header's offset (only used for the checksum). The result owns its data.
 */
export function parseOspfPacket(
  buf: Uint8Array,
  ipOff: number,
  off: number,
  len: number,
  verifyChecksum = true,
): ParseResult<OspfPacket> {
  const code = checkOspfPacket(buf, ipOff, off, len, verifyChecksum);
  if (code !== 0) return { ok: false, error: ospfErrorMessage(code) };
  const header = readOspfHeader(buf, off);
  const bodyOff = off + OSPF_HEADER_LEN;
  const bodyLen = header.packetLength - OSPF_HEADER_LEN;
  switch (header.type) {
    case PacketType.Hello: {
      const r = parseHello(buf, bodyOff, bodyLen);
      return r.ok ? { ok: true, repr: { type: header.type, header, body: r.repr } } : r;
    }
    case PacketType.DatabaseDescription: {
      const r = parseDd(buf, bodyOff, bodyLen);
      return r.ok ? { ok: true, repr: { type: header.type, header, body: r.repr } } : r;
    }
    case PacketType.LinkStateRequest: {
      const r = parseLsr(buf, bodyOff, bodyLen);
      return r.ok ? { ok: true, repr: { type: header.type, header, body: r.repr } } : r;
    }
    case PacketType.LinkStateUpdate: {
      const r = parseLsu(buf, bodyOff, bodyLen);
      return r.ok ? { ok: true, repr: { type: header.type, header, body: r.repr } } : r;
    }
    case PacketType.LinkStateAck: {
      const r = parseLsAck(buf, bodyOff, bodyLen);
      return r.ok ? { ok: true, repr: { type: header.type, header, body: r.repr } } : r;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Emit.

/** Bytes of the body of `repr`. */
export function ospfBodyLength(repr: OspfPacketRepr): number {
  switch (repr.type) {
    case PacketType.Hello:
      return HELLO_NEIGHBORS + 4 * repr.body.neighbors.length;
    case PacketType.DatabaseDescription:
      return DD_LSA_HEADERS + LSA_HEADER_LEN * repr.body.lsaHeaders.length;
    case PacketType.LinkStateRequest:
      return LSR_ENTRY_LEN * repr.body.requests.length;
    case PacketType.LinkStateUpdate:
      return repr.body.lsas.reduce((n, l) => n + l.raw.length, LSU_LSAS);
    case PacketType.LinkStateAck:
      return LSA_HEADER_LEN * repr.body.lsaHeaders.length;
  }
}

/** Packet Length of `repr`: 16 + its body. */
export function ospfPacketBufferLen(repr: OspfPacketRepr): number {
  return OSPF_HEADER_LEN + ospfBodyLength(repr);
}

function emitHelloBody(b: HelloRepr, buf: Uint8Array, off: number): void {
  put32(buf, off + HELLO_INTERFACE_ID, b.interfaceId);
  buf[off + HELLO_PRIORITY] = b.priority;
  put24(buf, off + HELLO_OPTIONS, b.options);
  put16(buf, off + HELLO_INTERVAL, b.helloInterval);
  put16(buf, off + HELLO_DEAD_INTERVAL, b.deadInterval);
  put32(buf, off + HELLO_DR, b.designatedRouter);
  put32(buf, off + HELLO_BDR, b.backupDesignatedRouter);
  let at = off + HELLO_NEIGHBORS;
  for (const n of b.neighbors) {
    put32(buf, at, n);
    at += 4;
  }
}

function emitHeaders(headers: readonly LsaHeader[], buf: Uint8Array, off: number): void {
  let at = off;
  for (const h of headers) at += emitLsaHeader(h, buf, at);
}

function emitDdBody(b: DdRepr, buf: Uint8Array, off: number): void {
  buf[off] = 0;
  put24(buf, off + DD_OPTIONS, b.options);
  put16(buf, off + DD_MTU, b.interfaceMtu);
  buf[off + 6] = 0;
  buf[off + DD_FLAGS] = b.flags & 0x07;
  put32(buf, off + DD_SEQUENCE, b.ddSequence);
  emitHeaders(b.lsaHeaders, buf, off + DD_LSA_HEADERS);
}

function emitLsrBody(b: LsrRepr, buf: Uint8Array, off: number): void {
  let at = off;
  for (const r of b.requests) {
    put16(buf, at, 0);
    put16(buf, at + LSR_LS_TYPE, r.lsType);
    put32(buf, at + LSR_LINK_STATE_ID, r.linkStateId);
    put32(buf, at + LSR_ADV_ROUTER, r.advertisingRouter);
    at += LSR_ENTRY_LEN;
  }
}

function emitLsuBody(b: LsuRepr, buf: Uint8Array, off: number): void {
  put32(buf, off + LSU_NUM_LSAS, b.lsas.length);
  let at = off + LSU_LSAS;
  for (const l of b.lsas) {
    buf.set(l.raw, at);
    at += l.raw.length;
  }
}

/** Writes the body of `repr` at `off` (ospfBodyLength bytes). LSAs of an LS Update are copied from `raw`. */
export function emitOspfBody(repr: OspfPacketRepr, buf: Uint8Array, off: number): number {
  switch (repr.type) {
    case PacketType.Hello:
      emitHelloBody(repr.body, buf, off);
      break;
    case PacketType.DatabaseDescription:
      emitDdBody(repr.body, buf, off);
      break;
    case PacketType.LinkStateRequest:
      emitLsrBody(repr.body, buf, off);
      break;
    case PacketType.LinkStateUpdate:
      emitLsuBody(repr.body, buf, off);
      break;
    case PacketType.LinkStateAck:
      emitHeaders(repr.body.lsaHeaders, buf, off);
      break;
  }
  return ospfBodyLength(repr);
}

/** The checksum of the `length`-byte packet at `off` (its checksum field taken as is: zero it first). */
export function computeOspfChecksum(buf: Uint8Array, off: number, length: number, src: Uint8Array, dst: Uint8Array): number {
  const sum = pseudoHeaderSum(src, 0, dst, 0, length, IPPROTO_OSPF);
  return finishChecksum(sumBytes(buf, off, length, sum));
}

/** Zeroes, computes and writes the checksum of the packet at `off` (Packet Length from its header). */
export function setOspfChecksum(buf: Uint8Array, off: number, src: Uint8Array, dst: Uint8Array): number {
  const length = ospfPacketLength(buf, off);
  put16(buf, off + OSPF_CHECKSUM, 0);
  const checksum = computeOspfChecksum(buf, off, length, src, dst);
  put16(buf, off + OSPF_CHECKSUM, checksum);
  return checksum;
}

export interface EmitOptions {
  /**
   * Compute the checksum (the default). False writes 0, as RFC 7166 §4.2 asks of a packet that carries an
   * authentication trailer; then append the trailer with auth-trailer.ts's emitAuthTrailer.
   */
  checksum?: boolean;
}

/**
 * Writes the packet `repr` at `off` (ospfPacketBufferLen(repr) bytes must be there): version 3, Packet
 * Length, the header fields, the body, and the checksum over the pseudo-header of `src` -> `dst` (16-byte
 * IPv6 addresses: the link-local source and ff02::5/ff02::6 or the neighbor). Returns Packet Length.
 */
export function emitOspfPacket(
  repr: OspfPacketRepr,
  buf: Uint8Array,
  off: number,
  src: Uint8Array,
  dst: Uint8Array,
  opts: EmitOptions = {},
): number {
  const length = ospfPacketBufferLen(repr);
  buf[off + OSPF_VERSION_OFF] = OSPF_VERSION;
  buf[off + OSPF_TYPE] = repr.type;
  put16(buf, off + OSPF_PACKET_LENGTH, length);
  put32(buf, off + OSPF_ROUTER_ID, repr.header.routerId);
  put32(buf, off + OSPF_AREA_ID, repr.header.areaId);
  put16(buf, off + OSPF_CHECKSUM, 0);
  buf[off + OSPF_INSTANCE_ID] = repr.header.instanceId;
  buf[off + OSPF_INSTANCE_ID + 1] = 0;
  emitOspfBody(repr, buf, off + OSPF_HEADER_LEN);
  if (opts.checksum !== false) put16(buf, off + OSPF_CHECKSUM, computeOspfChecksum(buf, off, length, src, dst));
  return length;
}
