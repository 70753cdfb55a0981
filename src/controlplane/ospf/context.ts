/**
 * The state every protocol concern (hello.ts, dbdesc.ts, lsreq.ts, lsupd.ts, flood.ts, lsack.ts,
 * originate.ts) works on: one area's interfaces, neighbors, LSDB, the output queued during the current
 * call, and the hooks back into the instance. Built and owned by OspfInstance (instance.ts).
 */
import type { Logger } from '../../common/log.js';
import type { Lsa, LsaHeader } from './wire/types.js';
import type { OspfIo } from './config.js';
import type { Iface } from './interface.js';
import type { Lsdb, LsdbEntry } from './lsdb.js';
import type { Neighbor, NeighborHooks } from './neighbor.js';

/** Packets queued during one call, sent together when the call ends (flushOutput in flood.ts / lsack.ts). */
export interface Output {
  /** LSAs to flood out of an interface (to AllSPFRouters), by linkId. */
  floods: Map<number, LsdbEntry[]>;
  /** Direct acknowledgments to send to a neighbor. */
  directAcks: Map<Neighbor, LsaHeader[]>;
}

export interface Ctx {
  /**
   * Our router ID. Not readonly: OspfInstance.changeRouterId sets it in place (duplicate router ID
   * resolution), so read it where it is used and never keep a copy.
   */
  routerId: number;
  readonly areaId: number;
  readonly linkLocal: Buffer;
  readonly io: OspfIo;
  readonly log: Logger;
  readonly lsdb: Lsdb;
  /** By linkId. */
  readonly ifaces: Map<number, Iface>;
  readonly counters: Record<string, number>;
  readonly out: Output;
  readonly nbrHooks: NeighborHooks;
  /** The LSDB changed in a way SPF must see. */
  spfTrigger(now: number): void;
  /** As spfTrigger, for bad news (another router's Router-LSA lost links): SPF without the throttle's delay. */
  spfTriggerUrgent(now: number): void;
  /** Our own LSAs may need re-origination (adjacency or interface change): done once at the end of the call. */
  originateSoon(): void;
  /**
   * An LSA under our router ID arrived on `linkId`, whatever its age relative to ours (lsupd.ts): evidence
   * of a duplicate router ID if it names an address that is not ours (router-id-conflict.ts).
   */
  selfLsaSeen(lsa: Lsa, linkId: number, now: number): void;
  /** RFC 2328 §13.4: a self-originated LSA newer than ours arrived on `linkId` (and was installed). */
  selfOriginatedReceived(entry: LsdbEntry, linkId: number, now: number): void;
  /**
   * A packet carrying our router ID from a source address that is not ours (rxtx.ts), after the area,
   * instance and authentication checks: another router uses our router ID.
   */
  routerIdClash(linkId: number, src: Buffer, packetType: number, now: number): void;
  /** An LSDB entry reached MaxAge or became removable: the next tick looks at it. */
  agingChanged(at: number): void;
}

export function count(ctx: Ctx, name: string, n = 1): void {
  ctx.counters[name] = (ctx.counters[name] ?? 0) + n;
}

/** Is any neighbor, on any interface, in Exchange or Loading? (RFC 2328 §13 step 4, §14). */
export function anyNeighborExchanging(ctx: Ctx): boolean {
  for (const iface of ctx.ifaces.values()) {
    for (const n of iface.neighbors.values()) {
      if (n.state === 'Exchange' || n.state === 'Loading') return true;
    }
  }
  return false;
}
