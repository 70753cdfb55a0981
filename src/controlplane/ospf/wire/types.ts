/**
 * OSPFv3 (RFC 5340) plain representations: the types every OSPF module uses (wire codecs, neighbor FSM,
 * flooding, LSDB, SPF). Nothing here touches bytes; the codecs are packet.ts (common header and the five
 * packet bodies), lsa.ts (LSA header, bodies, Fletcher checksum in fletcher.ts) and auth-trailer.ts
 * (RFC 7166).
 *
 * Conventions:
 *   - Router IDs, area IDs, link state IDs and interface IDs are unsigned 32-bit numbers (0 .. 2^32-1);
 *     `formatDottedQuad` / `parseDottedQuad` convert to and from "a.b.c.d".
 *   - LS sequence numbers are signed 32-bit numbers (RFC 2328 §12.1.6): InitialSequenceNumber is
 *     0x80000001 read as signed, i.e. -0x7fffffff.
 *   - Options are the 24-bit Options field (RFC 5340 A.2), flags are the wire bits (constants below).
 *   - IPv6 addresses and prefixes are 16-byte Buffers (prefix bytes past the length are zero).
 *   - Parsing never throws: it returns ParseResult ({ ok: true, repr } | { ok: false, error }).
 */
import { parseDottedQuad, type ParseResult } from '../../../dataplane/wire/ipv6.js';

export type { ParseResult };

/** A router ID (RFC 5340 A.3.1): unsigned 32 bits, written as a dotted quad. */
export type RouterId = number;
/** An area ID: unsigned 32 bits; the backbone is 0 ("0.0.0.0"). */
export type AreaId = number;

export const BACKBONE_AREA: AreaId = 0;

/** "a.b.c.d" for an unsigned 32-bit number. */
export function formatDottedQuad(id: number): string {
  const v = id >>> 0;
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

/** The unsigned 32-bit number for "a.b.c.d", or undefined (the one parser, in the IPv6/IPv4 view). */
export { parseDottedQuad };

export const formatRouterId = formatDottedQuad;
export const formatAreaId = formatDottedQuad;

// ---------------------------------------------------------------------------------------------------------
// Packets (RFC 5340 A.3).

export const OSPF_VERSION = 3;

/** IPv6 multicast destinations (RFC 5340 A.1). */
export const ALL_SPF_ROUTERS = 'ff02::5';
export const ALL_DR_ROUTERS = 'ff02::6';

/** The Type field of the common header. */
export const PacketType = {
  Hello: 1,
  DatabaseDescription: 2,
  LinkStateRequest: 3,
  LinkStateUpdate: 4,
  LinkStateAck: 5,
} as const;
export type PacketType = (typeof PacketType)[keyof typeof PacketType];

export function isPacketType(n: number): n is PacketType {
  return n >= 1 && n <= 5;
}

/** The 16-byte common header (RFC 5340 A.3.1). */
export interface OspfHeader {
  version: number;
  type: PacketType;
  /** Bytes of the OSPF packet, header included, authentication trailer excluded (RFC 7166 §4). */
  packetLength: number;
  routerId: RouterId;
  areaId: AreaId;
  checksum: number;
  instanceId: number;
}

/**
 * Options (RFC 5340 A.2; AF from RFC 5838, L from RFC 5613, AT from RFC 7166). 24 bits; the high bits are
 * reserved. Used in Hello, DD, Router-, Network-, Link- and Inter-Area-Router-LSAs.
 */
export const OspfOption = {
  V6: 0x000001,
  E: 0x000002,
  /** Deprecated MC bit ("x" in RFC 5340). */
  MC: 0x000004,
  N: 0x000008,
  R: 0x000010,
  DC: 0x000020,
  AF: 0x000100,
  L: 0x000200,
  /** An authentication trailer follows the packet (RFC 7166 §2). */
  AT: 0x000400,
} as const;

/** The Hello body (RFC 5340 A.3.2). */
export interface HelloRepr {
  interfaceId: number;
  priority: number;
  /** 24-bit Options. */
  options: number;
  /** Seconds (16 bits). */
  helloInterval: number;
  /** Seconds (16 bits). */
  deadInterval: number;
  designatedRouter: RouterId;
  backupDesignatedRouter: RouterId;
  /** Router IDs of neighbors heard from on this link within RouterDeadInterval. */
  neighbors: RouterId[];
}

/** DD flag bits (RFC 5340 A.3.3). */
export const DdFlag = {
  /** Master/Slave: set by the master. */
  MS: 0x01,
  /** More: more DD packets follow. */
  M: 0x02,
  /** Init: the first packet of the sequence. */
  I: 0x04,
} as const;

/** The Database Description body (RFC 5340 A.3.3). */
export interface DdRepr {
  /** 24-bit Options. */
  options: number;
  interfaceMtu: number;
  /** DdFlag bits (I, M, MS). */
  flags: number;
  /** Unsigned 32 bits. */
  ddSequence: number;
  lsaHeaders: LsaHeader[];
}

/** One requested LSA (RFC 5340 A.3.4). */
export interface LsrEntry {
  lsType: number;
  linkStateId: number;
  advertisingRouter: RouterId;
}

/** The Link State Request body. */
export interface LsrRepr {
  requests: LsrEntry[];
}

/** The Link State Update body (RFC 5340 A.3.5), as emitted: each LSA's raw bytes are sent as they are. */
export interface LsuRepr {
  lsas: Lsa[];
}

/** An LSA in a received LSU that did not parse: dropped and counted by the caller; the rest are kept. */
export interface MalformedLsa {
  /** Position in the LSU (0-based). */
  index: number;
  /** Offset of the LSA from the start of the OSPF packet. */
  offset: number;
  error: string;
  /** The header, when its 20 bytes were there. */
  header?: LsaHeader;
}

/** A received Link State Update: the LSAs that parsed, and those that did not. */
export interface LsuDecoded extends LsuRepr {
  malformed: MalformedLsa[];
}

/** The Link State Acknowledgment body (RFC 5340 A.3.6). */
export interface LsAckRepr {
  lsaHeaders: LsaHeader[];
}

/** The RFC 7166 authentication trailer, as received (see auth-trailer.ts). */
export interface AuthTrailerRepr {
  /** 1 = HMAC Cryptographic Authentication. */
  authType: number;
  /** Bytes of the trailer: 16 + digest length. */
  authLength: number;
  /** Security Association ID (the configured key ID). */
  saId: number;
  /** The 64-bit Cryptographic Sequence Number. Replay checks (it must not decrease) are the caller's. */
  sequence: bigint;
  digest: Buffer;
}

/** The common-header fields a sender chooses (version, length and checksum are computed on emit). */
export type OspfHeaderFields = Pick<OspfHeader, 'routerId' | 'areaId' | 'instanceId'>;

/** A packet to emit: its type, the header fields and the body. Every OspfPacket is also one. */
export type OspfPacketRepr =
  | { type: typeof PacketType.Hello; header: OspfHeaderFields; body: HelloRepr }
  | { type: typeof PacketType.DatabaseDescription; header: OspfHeaderFields; body: DdRepr }
  | { type: typeof PacketType.LinkStateRequest; header: OspfHeaderFields; body: LsrRepr }
  | { type: typeof PacketType.LinkStateUpdate; header: OspfHeaderFields; body: LsuRepr }
  | { type: typeof PacketType.LinkStateAck; header: OspfHeaderFields; body: LsAckRepr };

/**
 * A whole decoded packet: the common header and its typed body. `auth` is for the receive path to attach
 * the trailer that verifyAuthTrailer (auth-trailer.ts) returned; parseOspfPacket leaves it unset.
 */
export type OspfPacket =
  | { type: typeof PacketType.Hello; header: OspfHeader; body: HelloRepr; auth?: AuthTrailerRepr }
  | { type: typeof PacketType.DatabaseDescription; header: OspfHeader; body: DdRepr; auth?: AuthTrailerRepr }
  | { type: typeof PacketType.LinkStateRequest; header: OspfHeader; body: LsrRepr; auth?: AuthTrailerRepr }
  | { type: typeof PacketType.LinkStateUpdate; header: OspfHeader; body: LsuDecoded; auth?: AuthTrailerRepr }
  | { type: typeof PacketType.LinkStateAck; header: OspfHeader; body: LsAckRepr; auth?: AuthTrailerRepr };

// ---------------------------------------------------------------------------------------------------------
// LSAs (RFC 5340 A.4).

/** Architectural constants (RFC 2328 Appendix B, RFC 5340 §4.1). Seconds unless noted. */
export const MAX_AGE = 3600;
export const MAX_AGE_DIFF = 900;
export const CHECK_AGE = 300;
export const LS_REFRESH_TIME = 1800;
export const MIN_LS_INTERVAL = 5;
export const MIN_LS_ARRIVAL = 1;
export const LS_INFINITY = 0xffffff;
/** 0x80000001 as a signed 32-bit number. */
export const INITIAL_SEQUENCE_NUMBER = -0x7fffffff;
export const MAX_SEQUENCE_NUMBER = 0x7fffffff;

/** LS Type values (RFC 5340 A.4.2.1), U/S2/S1 bits included. */
export const LsType = {
  Router: 0x2001,
  Network: 0x2002,
  InterAreaPrefix: 0x2003,
  InterAreaRouter: 0x2004,
  AsExternal: 0x4005,
  /** Group-membership (deprecated). */
  GroupMembership: 0x2006,
  Nssa: 0x2007,
  Link: 0x0008,
  IntraAreaPrefix: 0x2009,
} as const;
export type KnownLsType = (typeof LsType)[keyof typeof LsType];

/** The U bit: how a router that does not know the type handles it (0 = as link-local scope, 1 = by S bits). */
export const LS_TYPE_U = 0x8000;
export const LS_TYPE_S2 = 0x4000;
export const LS_TYPE_S1 = 0x2000;
/** The 13-bit LSA function code. */
export const LS_TYPE_FUNCTION_MASK = 0x1fff;

/** Flooding scope from S2/S1 (RFC 5340 A.4.2.1). */
export const FloodingScope = {
  LinkLocal: 0,
  Area: 1,
  As: 2,
  Reserved: 3,
} as const;
export type FloodingScope = (typeof FloodingScope)[keyof typeof FloodingScope];

/** The S2/S1 bits of an LS type as a FloodingScope. */
export function lsTypeScope(lsType: number): FloodingScope {
  return ((lsType >>> 13) & 3) as FloodingScope;
}

/** True when the LS type's function code is one this router understands. */
export function isKnownLsType(lsType: number): boolean {
  switch (lsType) {
    case LsType.Router:
    case LsType.Network:
    case LsType.InterAreaPrefix:
    case LsType.InterAreaRouter:
    case LsType.AsExternal:
    case LsType.Nssa:
    case LsType.Link:
    case LsType.IntraAreaPrefix:
      return true;
    default:
      return false;
  }
}

/**
 * The scope an LSA is flooded with (RFC 5340 §4.5.2, A.4.2.1): a known type by its S bits; an unknown
 * type by its S bits when U is set, else as link-local. Reserved (S2=S1=1) is returned as Reserved: the
 * caller treats it as link-local for an unknown type with U=0 only, and should drop it otherwise
 * (RFC 5340 leaves it undefined; BIRD and FRR flood it link-local).
 */
export function floodingScope(lsType: number): FloodingScope {
  if (!isKnownLsType(lsType) && (lsType & LS_TYPE_U) === 0) return FloodingScope.LinkLocal;
  return lsTypeScope(lsType);
}

/** The 20-byte LSA header (RFC 5340 A.4.2). */
export interface LsaHeader {
  /** Seconds, 0..MAX_AGE (the top bit, DoNotAge, is not used in OSPFv3 without demand circuits). */
  age: number;
  /** 16-bit LS type with the U, S2, S1 bits. */
  type: number;
  linkStateId: number;
  advertisingRouter: RouterId;
  /** Signed 32 bits. */
  sequence: number;
  /** The Fletcher checksum (fletcher.ts). */
  checksum: number;
  /** Bytes of the LSA, header included. */
  length: number;
}

/** The header fields an originator chooses (checksum and length are computed by buildLsa in lsa.ts). */
export type LsaHeaderFields = Pick<LsaHeader, 'age' | 'type' | 'linkStateId' | 'advertisingRouter' | 'sequence'>;

/** The identity of an LSA in the LSDB: (type, link state ID, advertising router). */
export interface LsaKey {
  type: number;
  linkStateId: number;
  advertisingRouter: RouterId;
}

/** A string key for maps: "type/lsid/advrtr" with hex type and dotted quads. */
export function lsaKeyString(k: LsaKey): string {
  return `${k.type.toString(16).padStart(4, '0')}/${formatDottedQuad(k.linkStateId)}/${formatDottedQuad(k.advertisingRouter)}`;
}

/** Prefix options (RFC 5340 A.4.1.1). */
export const PrefixOption = {
  NU: 0x01,
  LA: 0x02,
  /** Deprecated MC bit ("x"). */
  MC: 0x04,
  P: 0x08,
  DN: 0x10,
} as const;

/** An IPv6 prefix as carried in LSAs (RFC 5340 A.4.1). */
export interface Ipv6Prefix {
  /** 0..128. */
  length: number;
  /** PrefixOption bits. */
  options: number;
  /** 16 bytes; bytes past the prefix length are zero. */
  prefix: Buffer;
}

/** A prefix of an Intra-Area-Prefix-LSA: with its 16-bit metric. */
export interface MetricPrefix extends Ipv6Prefix {
  metric: number;
}

/** Router-LSA flag bits (RFC 5340 A.4.3; Nt from RFC 3101). */
export const RouterLsaFlag = {
  B: 0x01,
  E: 0x02,
  V: 0x04,
  /** Wildcard multicast receiver (deprecated). */
  W: 0x08,
  Nt: 0x10,
} as const;

export const RouterLinkType = {
  PointToPoint: 1,
  Transit: 2,
  Virtual: 4,
} as const;
export type RouterLinkType = (typeof RouterLinkType)[keyof typeof RouterLinkType];

export interface RouterLink {
  /** 1 point-to-point, 2 transit, 4 virtual (other values are kept as they are). */
  type: number;
  /** 16 bits. */
  metric: number;
  interfaceId: number;
  neighborInterfaceId: number;
  neighborRouterId: RouterId;
}

/** Router-LSA body (LS type 0x2001). */
export interface RouterLsa {
  kind: 'router';
  /** RouterLsaFlag bits (V/E/B/Nt). */
  flags: number;
  /** 24-bit Options. */
  options: number;
  links: RouterLink[];
}

/** Network-LSA body (0x2002). */
export interface NetworkLsa {
  kind: 'network';
  options: number;
  attachedRouters: RouterId[];
}

/** Inter-Area-Prefix-LSA body (0x2003). */
export interface InterAreaPrefixLsa {
  kind: 'inter-area-prefix';
  /** 24 bits. */
  metric: number;
  prefix: Ipv6Prefix;
}

/** Inter-Area-Router-LSA body (0x2004). */
export interface InterAreaRouterLsa {
  kind: 'inter-area-router';
  options: number;
  /** 24 bits. */
  metric: number;
  destinationRouterId: RouterId;
}

/** AS-External-LSA flag bits (RFC 5340 A.4.7). */
export const AsExternalFlag = {
  /** A Type 1 external metric when clear, Type 2 when set. */
  E: 0x04,
  /** A Forwarding Address is present. */
  F: 0x02,
  /** An External Route Tag is present. */
  T: 0x01,
} as const;

/**
 * AS-External-LSA body (0x4005); NSSA-LSAs (0x2007) have the same format (kind 'nssa'). On emit, the F and
 * T flags are set from the presence of forwardingAddress and externalRouteTag, and the Referenced LS Type
 * decides whether referencedLinkStateId is written.
 */
export interface AsExternalLsa {
  kind: 'as-external' | 'nssa';
  /** AsExternalFlag bits (E/F/T). */
  flags: number;
  /** 24 bits. */
  metric: number;
  /** The prefix (its 16-bit "Referenced LS Type" is below, not a metric). */
  prefix: Ipv6Prefix;
  /** 0 when no LSA is referenced. */
  referencedLsType: number;
  /** 16 bytes, when F is set. */
  forwardingAddress?: Buffer;
  /** 32 bits, when T is set. */
  externalRouteTag?: number;
  /** When referencedLsType is not 0. */
  referencedLinkStateId?: number;
}

/** Link-LSA body (0x0008). */
export interface LinkLsa {
  kind: 'link';
  /** Router priority on the link. */
  priority: number;
  options: number;
  /** 16 bytes. */
  linkLocalAddress: Buffer;
  /** The prefixes on the link (the 16-bit field after the prefix options is reserved, not a metric). */
  prefixes: Ipv6Prefix[];
}

/** Intra-Area-Prefix-LSA body (0x2009). */
export interface IntraAreaPrefixLsa {
  kind: 'intra-area-prefix';
  referencedLsType: number;
  referencedLinkStateId: number;
  referencedAdvertisingRouter: RouterId;
  prefixes: MetricPrefix[];
}

/** An LSA of a type this router does not decode: the body is kept as bytes and flooded by its scope. */
export interface UnknownLsa {
  kind: 'unknown';
  body: Buffer;
}

export type LsaBody =
  | RouterLsa
  | NetworkLsa
  | InterAreaPrefixLsa
  | InterAreaRouterLsa
  | AsExternalLsa
  | LinkLsa
  | IntraAreaPrefixLsa
  | UnknownLsa;

/**
 * A parsed LSA: its header, its typed body, and its bytes exactly as received (header.length bytes,
 * header included). LSAs are flooded as received, byte for byte: when sending, copy `raw` and only
 * update the age (bytes 0-1, outside the checksum).
 */
export interface Lsa {
  header: LsaHeader;
  body: LsaBody;
  raw: Buffer;
}
