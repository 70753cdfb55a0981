/**
 * The punt path: packets the forwarder hands to the control plane (OSPF, BFD, ND/ICMPv6 to our
 * link-local), bounded and policed so that a flood of them cannot eat the control plane's thread, and
 * ordered so that BFD, whose 300 ms detection time is the tightest deadline on the node, goes first.
 *
 *   1. classify from the bytes: next header (offset 6), UDP destination port (3784/4784 = BFD)
 *   2. police per link and kind, then per kind for the node (token buckets; over rate ->
 *      drop_punt_overflow + punt_policed_<kind>): a peer flooding its link spends its own link's
 *      budget, so the OSPF and BFD of the other links still get through
 *   3. queue for this step: at most `capacity` packets; when full, a BFD packet takes the place of the
 *      newest non-BFD one, anything else is dropped (drop_punt_overflow)
 *   4. at the end of the step the engine hands the batch up once, BFD first, then the rest in arrival order
 *
 * The queue holds offsets into the engine's slab (the packets stay where they were read until the step
 * ends), so queueing copies nothing; the one copy is the sink's, out of the thread.
 */
import { PORTS } from '../common/ports.js';
import { C } from './counters.js';
import { TokenBucket, TokenBuckets } from './ratelimit.js';
import { IPV6_HEADER_LEN, IP6_NEXT_HEADER, IPPROTO_ICMPV6, IPPROTO_OSPF, IPPROTO_UDP } from './wire/ipv6.js';

export const PUNT_BFD = 0;
export const PUNT_OSPF = 1;
export const PUNT_ICMPV6 = 2;
export const PUNT_OTHER = 3;
export const PUNT_KINDS = ['bfd', 'ospf', 'icmpv6', 'other'] as const;
export type PuntKind = (typeof PUNT_KINDS)[number];

const BFD_SINGLE_HOP = PORTS.bfdSingleHop;
const BFD_MULTIHOP = PORTS.bfdMultihop;

export interface PuntRate {
  /** Packets per second, sustained. */
  rate: number;
  /** Packets allowed at once above the rate. */
  burst: number;
}

export interface PuntOptions {
  /** Most packets handed up per step (default 256). */
  queue?: number;
  /** Policer per kind for the whole node; missing kinds keep their defaults. */
  rates?: Partial<Record<PuntKind, PuntRate>>;
  /** Policer per kind for each link; missing kinds keep their defaults. */
  linkRates?: Partial<Record<PuntKind, PuntRate>>;
}

/**
 * Defaults sized for real use: 1000 BFD sessions at 100 ms are 10k packets/s;
 * OSPF floods an LSDB in bursts of LS Updates (BIRD flushing 10,000 externals sends about 550 of them
 * within a second, and retransmits what was lost only 128 LSAs per 5 s: a burst the policer cuts takes
 * minutes to heal); ICMPv6 to our link-local is pings; ND on VXLAN links is answered inside the link and
 * never punted.
 */
export const DEFAULT_PUNT_RATES: Readonly<Record<PuntKind, PuntRate>> = {
  bfd: { rate: 10_000, burst: 1_000 },
  ospf: { rate: 2_000, burst: 2_000 },
  icmpv6: { rate: 300, burst: 100 },
  other: { rate: 200, burst: 100 },
};
/**
 * One link's share: a few BFD sessions (more for multihop sessions that arrive over it), an OSPF
 * database exchange in bursts, pings.
 */
export const DEFAULT_LINK_PUNT_RATES: Readonly<Record<PuntKind, PuntRate>> = {
  bfd: { rate: 1_000, burst: 200 },
  ospf: { rate: 1_000, burst: 1_500 },
  icmpv6: { rate: 100, burst: 50 },
  other: { rate: 50, burst: 50 },
};
export const DEFAULT_PUNT_QUEUE = 256;

const POLICED = [C.punt_policed_bfd, C.punt_policed_ospf, C.punt_policed_icmpv6, C.punt_policed_other];

/**
 * The kind of the IPv6 packet at buf[off..off+len). Only the fixed header is looked at: a BFD packet
 * behind extension headers is classed as 'other' (still handed up, just not first).
 */
export function puntKind(buf: Uint8Array, off: number, len: number): number {
  const nh = buf[off + IP6_NEXT_HEADER]!;
  if (nh === IPPROTO_UDP) {
    if (len < IPV6_HEADER_LEN + 8) return PUNT_OTHER;
    const p = off + IPV6_HEADER_LEN + 2;
    const port = (buf[p]! << 8) | buf[p + 1]!;
    return port === BFD_SINGLE_HOP || port === BFD_MULTIHOP ? PUNT_BFD : PUNT_OTHER;
  }
  if (nh === IPPROTO_OSPF) return PUNT_OSPF;
  if (nh === IPPROTO_ICMPV6) return PUNT_ICMPV6;
  return PUNT_OTHER;
}

/** What the engine hands up at the end of a step: `count` packets in the slab, BFD first. */
export interface PuntBatch {
  count: number;
  /** How many of the first packets are BFD. */
  bfd: number;
  slab: Buffer;
  linkIds: Int32Array;
  offsets: Int32Array;
  lengths: Int32Array;
}

/**
 * One step's punt queue. Entries live in one set of arrays used from both ends: BFD from the front
 * (in arrival order), the rest from the back (newest lowest), so that a BFD packet can displace the
 * newest other one without a scan, and the final order is a copy of two runs.
 */
export class PuntQueue {
  readonly capacity: number;
  private readonly links: Int32Array;
  private readonly offs: Int32Array;
  private readonly lens: Int32Array;
  private nBfd = 0;
  private nOther = 0;
  private readonly buckets: TokenBucket[];
  /** Per kind, a bucket per link id. */
  private readonly linkBuckets: TokenBuckets[];
  readonly batch: PuntBatch;

  constructor(
    private readonly node: Float64Array,
    opts: PuntOptions = {},
  ) {
    const cap = opts.queue ?? DEFAULT_PUNT_QUEUE;
    if (!Number.isInteger(cap) || cap < 1) throw new RangeError(`punt queue must be a positive integer, got ${String(cap)}`);
    this.capacity = cap;
    this.links = new Int32Array(cap);
    this.offs = new Int32Array(cap);
    this.lens = new Int32Array(cap);
    this.buckets = PUNT_KINDS.map((k) => {
      const r = opts.rates?.[k] ?? DEFAULT_PUNT_RATES[k];
      if (!(r.rate > 0) || !(r.burst >= 1)) throw new RangeError(`punt rate for ${k} needs rate > 0 and burst >= 1`);
      return new TokenBucket(r.rate, r.burst);
    });
    this.linkBuckets = PUNT_KINDS.map((k) => {
      const r = opts.linkRates?.[k] ?? DEFAULT_LINK_PUNT_RATES[k];
      if (!(r.rate > 0) || !(r.burst >= 1)) throw new RangeError(`per-link punt rate for ${k} needs rate > 0 and burst >= 1`);
      return new TokenBuckets(r.rate, r.burst);
    });
    this.batch = {
      count: 0,
      bfd: 0,
      slab: Buffer.alloc(0),
      linkIds: new Int32Array(cap),
      offsets: new Int32Array(cap),
      lengths: new Int32Array(cap),
    };
  }

  get length(): number {
    return this.nBfd + this.nOther;
  }

  /** Offer the packet at slab[off..off+len) from link `linkId`; drops are counted here. */
  offer(linkId: number, slab: Uint8Array, off: number, len: number, now: number): void {
    const kind = puntKind(slab, off, len);
    if (!this.linkBuckets[kind]!.take(linkId, now) || !this.buckets[kind]!.take(now)) {
      this.node[C.drop_punt_overflow]!++;
      this.node[POLICED[kind]!]!++;
      return;
    }
    let j: number;
    if (this.nBfd + this.nOther === this.capacity) {
      // Full: BFD displaces the newest non-BFD packet; everything else waits for a later step's room.
      this.node[C.drop_punt_overflow]!++;
      if (kind !== PUNT_BFD || this.nOther === 0) return;
      this.nOther--;
    }
    if (kind === PUNT_BFD) j = this.nBfd++;
    else j = this.capacity - ++this.nOther;
    this.links[j] = linkId;
    this.offs[j] = off;
    this.lens[j] = len;
  }

  /** A link id was (re)assigned: its buckets start full. */
  resetLink(linkId: number): void {
    for (const b of this.linkBuckets) b.reset(linkId);
  }

  /** Lay the queue out BFD first into `batch` and empty it; returns the batch (count 0 if nothing). */
  take(slab: Buffer): PuntBatch {
    const b = this.batch;
    const nb = this.nBfd;
    const no = this.nOther;
    b.slab = slab;
    b.bfd = nb;
    b.count = nb + no;
    for (let i = 0; i < nb; i++) {
      b.linkIds[i] = this.links[i]!;
      b.offsets[i] = this.offs[i]!;
      b.lengths[i] = this.lens[i]!;
    }
    for (let k = 0; k < no; k++) {
      const j = this.capacity - 1 - k; // oldest other first
      b.linkIds[nb + k] = this.links[j]!;
      b.offsets[nb + k] = this.offs[j]!;
      b.lengths[nb + k] = this.lens[j]!;
    }
    this.nBfd = 0;
    this.nOther = 0;
    return b;
  }
}
