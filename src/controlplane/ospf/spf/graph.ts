/**
 * The input and output of the SPF computation (RFC 2328 §16.1 as changed by RFC 5340 §4.8): plain data,
 * nothing of the LSDB, the wire codecs or the FIB. One area (0.0.0.0), no virtual links.
 *
 * The adapter that builds an SpfInput from the LSDB (written by the LSDB's owner) maps LSAs as follows.
 * It passes only LSAs that are usable: not MaxAge, checksum good, and for AS-external-LSAs not LSInfinity.
 *
 *   Router-LSAs (0x2001)     -> routers: one RouterVertex per advertising router. A router may originate
 *                               several Router-LSAs (different Link State IDs): concatenate their links.
 *                               Router ID = the LSA header's Advertising Router.
 *   Network-LSAs (0x2002)    -> networks: one NetworkVertex per transit link, keyed by
 *                               networkKey(Advertising Router = DR's Router ID, Link State ID = DR's
 *                               Interface ID on the link).
 *   Intra-Area-Prefix-LSAs   -> intraPrefixes: every prefix of the LSA, attached to the vertex named by its
 *   (0x2009)                    Referenced LS Type / Referenced Link State ID / Referenced Advertising
 *                               Router: 0x2001 -> {kind:'router', routerId: Referenced Advertising Router};
 *                               0x2002 -> {kind:'network', key: networkKey(Ref. Adv. Router, Ref. LS ID)}.
 *                               Drop prefixes with the NU-bit set (RFC 5340 §4.8.3). Keep LA-bit /128s.
 *   AS-External-LSAs         -> externals: the one prefix of each LSA, E-bit -> metricType 2 else 1,
 *   (0x4005)                    asbr = Advertising Router, the Forwarding Address if the F-bit is set.
 *   Link-LSAs (0x0008)       -> not used here: the daemon turns a next hop (interfaceId, neighborRouterId,
 *                               neighborInterfaceId) into the neighbor's link-local address with the
 *                               Link-LSA that neighbor originated on that link (Link State ID =
 *                               neighborInterfaceId).
 *
 * Router IDs and interface IDs are unsigned 32-bit integers (0 .. 2^32-1), as JavaScript numbers.
 * Router ID 0 is not a valid OSPF Router ID; the output uses it to mean "no neighbor" (see NextHop).
 */

/** One link of a Router-LSA (RFC 5340 §A.4.3). Virtual links (type 4) are left out: single area. */
export interface RouterLink {
  /**
   * 'p2p' = type 1 (point-to-point connection to another router);
   * 'transit' = type 2 (connection to a transit network: a broadcast/NBMA link with a DR).
   */
  type: 'p2p' | 'transit';
  /** The link's Metric: the cost of sending a packet out of this interface (1..65535; 0 is taken as 1). */
  metric: number;
  /** The originating router's Interface ID for this link. */
  interfaceId: number;
  /**
   * p2p: the neighbor's Interface ID (from its Hellos);
   * transit: the DR's Interface ID on the link (the Network-LSA's Link State ID).
   */
  neighborInterfaceId: number;
  /** p2p: the neighbor's Router ID; transit: the DR's Router ID (the Network-LSA's Advertising Router). */
  neighborRouterId: number;
}

/** A router vertex: the union of the links of all Router-LSAs one router originates (RFC 5340 §A.4.3). */
export interface RouterVertex {
  routerId: number;
  /** Router-LSA bits: B (area border router) and E (AS boundary router: its AS-external-LSAs are used). */
  flags: { border: boolean; external: boolean };
  /**
   * Router-LSA Options bits (RFC 5340 §A.2). Absent = both set, the normal case.
   * v6 clear: the router is left out of the computation entirely.
   * r clear (not an active router, e.g. a multi-homed host): the router is reached and its own prefixes
   * are routed, but no path transits it.
   */
  options?: { v6: boolean; r: boolean };
  links: RouterLink[];
}

/** A transit network vertex, from the Network-LSA its DR originates (RFC 5340 §A.4.4). */
export interface NetworkVertex {
  /** networkKey(drRouterId, drInterfaceId): the same string as this vertex's key in SpfInput.networks. */
  key: string;
  /** The DR's Router ID: the Network-LSA's Advertising Router. */
  drRouterId: number;
  /** The DR's Interface ID on the link: the Network-LSA's Link State ID. */
  drInterfaceId: number;
  /** The Network-LSA's Attached Router list (includes the DR itself). */
  attachedRouters: number[];
}

/** Where an intra-area prefix hangs in the tree: the vertex its Intra-Area-Prefix-LSA references. */
export type PrefixAttachment = { kind: 'router'; routerId: number } | { kind: 'network'; key: string };

/** One prefix of an Intra-Area-Prefix-LSA (RFC 5340 §A.4.10). */
export interface IntraPrefix {
  /** 16 bytes; bits past `length` are ignored (taken as zero). */
  prefix: Uint8Array;
  /** PrefixLength, 0..128. */
  length: number;
  /** The prefix's Metric, added to the distance of the vertex it is attached to. */
  metric: number;
  attachedTo: PrefixAttachment;
}

/** An AS-External-LSA (RFC 5340 §A.4.7). */
export interface ExternalPrefix {
  /** 16 bytes; bits past `length` are ignored. */
  prefix: Uint8Array;
  length: number;
  /** The LSA's Metric (24 bits). 0xFFFFFF (LSInfinity) and above: the LSA is not used. */
  metric: number;
  /** 2 if the E-bit is set, else 1. */
  metricType: 1 | 2;
  /** The Router ID of the advertising router (the ASBR). Its Router-LSA must have the E bit. */
  asbr: number;
  /** The Forwarding Address (16 bytes), if the F-bit is set. All zeros = absent. */
  forwardingAddress?: Uint8Array;
}

export interface SpfInput {
  /** Our own Router ID: the root of the tree. */
  root: number;
  routers: Map<number, RouterVertex>;
  /** Keyed by networkKey(drRouterId, drInterfaceId). */
  networks: Map<string, NetworkVertex>;
  intraPrefixes: IntraPrefix[];
  externals: ExternalPrefix[];
}

/** The key of a transit network vertex: `${drRouterId}:${drInterfaceId}`, both unsigned decimal. */
export function networkKey(drRouterId: number, drInterfaceId: number): string {
  return `${drRouterId >>> 0}:${drInterfaceId >>> 0}`;
}

/**
 * One next hop: leave by our interface `interfaceId` towards the neighbor `neighborRouterId`, whose
 * interface on that link is `neighborInterfaceId` (its Link-LSA there gives its link-local address).
 * neighborRouterId = 0 (and neighborInterfaceId = 0): the destination is on the link itself (a prefix of
 * a transit network we are attached to), no router in between.
 */
export interface NextHop {
  readonly interfaceId: number;
  readonly neighborRouterId: number;
  readonly neighborInterfaceId: number;
}

export type RouteType = 'intra' | 'external1' | 'external2';

export interface SpfRoute {
  /** 16 bytes, bits past `length` zero. */
  prefix: Buffer;
  length: number;
  /**
   * intra: distance of the vertex + prefix metric (0 when local).
   * external1: distance to the ASBR (or forwarding address) + external metric.
   * external2: distance to the ASBR (or forwarding address) only; the external metric is externalCost.
   */
  cost: number;
  type: RouteType;
  /** Externals: the AS-External-LSA's metric (the type 2 metric that ranks E2 routes first). */
  externalCost?: number;
  /** A prefix our own router advertises: cost 0, no next hops (connected). */
  local: boolean;
  /** Equal-cost next hops, sorted by interfaceId, neighborRouterId, neighborInterfaceId. */
  nexthops: NextHop[];
}

export interface SpfResult {
  /** Distance from the root to every reachable router (the root itself: 0). */
  distances: Map<number, number>;
  /** Sorted by prefix bytes, then length. One route per prefix/length. */
  routes: SpfRoute[];
}
