/**
 * The OSPF instance's public contracts: interface configuration, the packet sink, the route shape the daemon
 * programs into the FIB, and the defaults. Plain types only; the instance is instance.ts.
 */
import type { Logger } from '../../common/log.js';

export interface OspfInterfaceConfig {
  /** The daemon's link id (the handle io.send and receive() use). */
  linkId: number;
  /** A name for logs and `show` output. */
  name: string;
  /** Our OSPFv3 Interface ID on this link (RFC 5340 §2.11): unique among our interfaces, not 0. */
  interfaceId: number;
  /** The link's metric in our Router-LSA (1..65535). */
  cost: number;
  /** Seconds. */
  helloInterval: number;
  /** Seconds. */
  deadInterval: number;
  /** Seconds (default 5). */
  retransmitInterval?: number;
  /** Seconds added to the age of LSAs we send (default 1). */
  transmitDelay?: number;
  /** RFC 5340 Instance ID (default 0). */
  instanceId?: number;
  /** The link MTU: sizes DD/LSU/LSAck packets and is checked against the neighbor's DD (RFC 2328 §10.6). */
  mtu: number;
  /** Skip the DD MTU check (FRR `ipv6 ospf6 mtu-ignore`, BIRD `rx buffer`-style leniency). */
  mtuIgnore?: boolean;
  /**
   * RFC 7166 authentication trailer, HMAC-SHA-256, SA ID = keyId. `protocolIdLittleEndian`: digest the
   * way FRR 8.4 ospf6d does (see wire/auth-trailer.ts), only to authenticate with it.
   */
  auth?: { keyId: number; key: Buffer; protocolIdLittleEndian?: boolean };
}

export interface OspfIo {
  /**
   * Send one OSPF packet (bytes from the OSPF header on, checksum and any auth trailer already filled in for
   * src = our link-local) to dst (ff02::5 or a neighbor's link-local) on a link.
   */
  send(linkId: number, dst: Buffer, packet: Buffer): void;
}

export interface OspfNextHop {
  linkId: number;
  /** The neighbor's link-local address. */
  address: Buffer;
}

export interface OspfRoute {
  /** 16 bytes, bits past `length` zero. */
  prefix: Buffer;
  length: number;
  cost: number;
  type: 'intra' | 'external1' | 'external2';
  nexthops: OspfNextHop[];
  /** A prefix this router advertises itself: no next hops. */
  local?: boolean;
}

export interface SpfThrottleConfig {
  /** ms from the first change to the first run. */
  delay: number;
  /** ms hold after a run; doubles while changes keep coming. */
  initialHold: number;
  /** ms, the most the hold grows to. */
  maxHold: number;
}

export interface OspfInstanceOptions {
  routerId: number;
  /**
   * The router ID was configured by the operator (not derived): a duplicate is still detected and
   * reported (onRouterIdConflict, weYield false) but never yielded. Default false.
   */
  routerIdConfigured?: boolean;
  /** Default 0 (the backbone, 0.0.0.0). */
  areaId?: number;
  /** Our link-local address on every link (16 bytes). */
  linkLocal: Buffer;
  /** Advertised in our Intra-Area-Prefix-LSA, e.g. our mesh /128 (metric default 0). */
  prefixes: { prefix: Buffer; length: number; metric?: number }[];
  io: OspfIo;
  log?: Logger;
  spfThrottle?: SpfThrottleConfig;
  /** ms, the creation time. */
  now: number;
  /**
   * Called after each SPF run with how long it took, by this monotonic clock (ms). Optional and outside
   * the protocol: the instance stays deterministic without it (tests leave it out).
   */
  spfTimer?: { now(): number; ran(ms: number): void };
}

export interface NeighborStateEvent {
  linkId: number;
  routerId: number;
  address: Buffer;
  from: string;
  to: string;
}

export const DEFAULT_RETRANSMIT_INTERVAL = 5;
export const DEFAULT_TRANSMIT_DELAY = 1;
/** Delayed acknowledgments go out this long after the first one is queued (below RxmtInterval, RFC 2328 §13.5). */
export const DELAYED_ACK_MS = 1000;
export const DEFAULT_SPF_THROTTLE: SpfThrottleConfig = { delay: 50, initialHold: 200, maxHold: 5000 };
/** Router priority we put in Hellos and Link-LSAs (meaningless on point-to-point links). */
export const ROUTER_PRIORITY = 1;
