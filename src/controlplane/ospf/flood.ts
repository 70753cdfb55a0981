/**
 * Flooding (RFC 2328 §13.3 with RFC 5340 §4.5.2 scopes) and the retransmission lists (§13.6).
 *
 * flood() puts a new instance on the retransmission list of every neighbor that should get it and queues
 * it for the interface; flushFloods() sends the queued LSAs at the end of the current call, packed into as
 * few Link State Updates as the MTU allows (to AllSPFRouters: every link is point-to-point).
 * Retransmissions go to the neighbor's address every RxmtInterval until acknowledged.
 */
import { FloodingScope, MAX_AGE } from './wire/types.js';
import { count, type Ctx } from './context.js';
import { IfState, rxmtMs, type Iface } from './interface.js';
import { entryAge, entryHeader, type LsdbEntry } from './lsdb.js';
import { NbrState, stateAtLeast, type Neighbor } from './neighbor.js';
import { compareLsa } from './codec.js';
import { ALL_SPF, sendLsas } from './rxtx.js';
import { requestSatisfied } from './lsreq.js';

/** The interfaces an entry is flooded on: its own link for link scope, else every interface that is up. */
export function floodInterfaces(ctx: Ctx, e: LsdbEntry): Iface[] {
  const out: Iface[] = [];
  if (e.scope === FloodingScope.LinkLocal) {
    const i = e.linkId === undefined ? undefined : ctx.ifaces.get(e.linkId);
    if (i && i.state !== IfState.Down) out.push(i);
    return out;
  }
  for (const i of ctx.ifaces.values()) if (i.state !== IfState.Down) out.push(i);
  return out;
}

/**
 * RFC 2328 §13.3: flood a newly installed instance. `from` is the neighbor it came from (undefined for our
 * own LSAs and MaxAge reflooding). Returns true when it was flooded back out of the receiving interface.
 */
export function flood(ctx: Ctx, e: LsdbEntry, from: Neighbor | undefined, now: number): boolean {
  let floodedBack = false;
  const hdr = entryHeader(e, now);
  for (const iface of floodInterfaces(ctx, e)) {
    let added = false;
    for (const nbr of iface.neighbors.values()) {
      // (1a) Neighbors below Exchange take no part in flooding.
      if (!stateAtLeast(nbr.state, NbrState.Exchange)) continue;
      // (1b) Exchange/Loading: an outstanding request for this LSA is settled by it (or by an older one not).
      if (nbr.state === NbrState.Exchange || nbr.state === NbrState.Loading) {
        const req = nbr.requests.get(e.key);
        if (req) {
          const c = compareLsa(hdr, req);
          if (c < 0) continue;
          requestSatisfied(ctx, nbr, e.key, now);
          if (c === 0) continue;
        }
      }
      // (1c) Not back to the neighbor it came from.
      if (nbr === from) continue;
      // (1d) On its retransmission list.
      addRxmt(nbr, e, now);
      added = true;
    }
    if (!added) continue;
    if (from && iface === from.iface) floodedBack = true;
    queueFlood(ctx, iface, e);
  }
  return floodedBack;
}

export function queueFlood(ctx: Ctx, iface: Iface, e: LsdbEntry): void {
  let q = ctx.out.floods.get(iface.cfg.linkId);
  if (!q) {
    q = [];
    ctx.out.floods.set(iface.cfg.linkId, q);
  }
  if (!q.includes(e)) q.push(e);
}

/**
 * The retransmission list is a Map kept in order of sentAt (an entry is deleted and set again whenever its
 * sentAt changes), so the earliest is its first entry: rxmtDue is O(1) and retransmit stops at the first
 * entry not due, with 10,000 LSAs waiting for a neighbor's acknowledgment.
 */
export function addRxmt(nbr: Neighbor, e: LsdbEntry, now: number): void {
  const old = nbr.rxmt.get(e.key);
  if (old) {
    old.entry.rxmtRefs--;
    nbr.rxmt.delete(e.key);
  }
  nbr.rxmt.set(e.key, { entry: e, sentAt: now });
  e.rxmtRefs++;
}

/** Remove a key from a neighbor's retransmission list; returns the entry that was there. */
export function removeRxmt(ctx: Ctx, nbr: Neighbor, key: string, now: number): LsdbEntry | undefined {
  const item = nbr.rxmt.get(key);
  if (!item) return undefined;
  nbr.rxmt.delete(key);
  item.entry.rxmtRefs--;
  if (item.entry.rxmtRefs === 0 && entryAge(item.entry, now) >= MAX_AGE) ctx.agingChanged(now);
  return item.entry;
}

/** §13 step 5b: the old instance leaves every retransmission list. */
export function removeFromAllRxmt(ctx: Ctx, e: LsdbEntry, now: number): void {
  if (e.rxmtRefs === 0) return;
  for (const iface of ctx.ifaces.values()) {
    for (const nbr of iface.neighbors.values()) {
      if (nbr.rxmt.get(e.key)?.entry === e) removeRxmt(ctx, nbr, e.key, now);
    }
  }
}

export function clearRxmt(ctx: Ctx, nbr: Neighbor, now: number): void {
  for (const key of [...nbr.rxmt.keys()]) removeRxmt(ctx, nbr, key, now);
}


/** Send what flood() queued during this call. */
export function flushFloods(ctx: Ctx, now: number): void {
  if (ctx.out.floods.size === 0) return;
  const floods = [...ctx.out.floods];
  ctx.out.floods.clear();
  for (const [linkId, queued] of floods) {
    const iface = ctx.ifaces.get(linkId);
    if (!iface || iface.state === IfState.Down) continue;
    // An instance superseded during this call (e.g. our LSA re-originated past a received copy, §13.4)
    // is not sent: the newer one is queued too, and the older would only trip MinLSArrival downstream.
    const entries = queued.filter((e) => ctx.lsdb.isCurrent(e));
    if (entries.length === 0) continue;
    count(ctx, 'lsa_flooded', entries.length);
    sendLsas(ctx, iface, ALL_SPF, entries, now);
  }
}

/** The earliest retransmission due for a neighbor, or undefined. */
export function rxmtDue(nbr: Neighbor): number | undefined {
  const first = nbr.rxmt.values().next();
  return first.done ? undefined : first.value.sentAt + rxmtMs(nbr.iface);
}

/** Retransmit every LSA that has waited RxmtInterval for its acknowledgment (unicast to the neighbor). */
export function retransmit(ctx: Ctx, nbr: Neighbor, now: number): void {
  const interval = rxmtMs(nbr.iface);
  const due: LsdbEntry[] = [];
  for (const item of nbr.rxmt.values()) {
    if (item.sentAt + interval > now) break; // in sentAt order: the rest are not due either
    due.push(item.entry);
  }
  if (due.length === 0) return;
  // Sent again now: to the end of the list, keeping it in sentAt order.
  for (const e of due) {
    const item = nbr.rxmt.get(e.key)!;
    nbr.rxmt.delete(e.key);
    item.sentAt = now;
    nbr.rxmt.set(e.key, item);
  }
  count(ctx, 'lsa_retransmitted', due.length);
  sendLsas(ctx, nbr.iface, nbr.address, due, now);
}
