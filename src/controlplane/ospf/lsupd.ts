/**
 * Receiving Link State Updates (RFC 2328 §13, with RFC 5340 §4.5 scopes and unknown types). For each LSA:
 *
 *   1-3. it parsed with a good Fletcher checksum (LSAs that did not are counted and skipped — they never
 *        enter the LSDB); its flooding scope is not the reserved one; unknown types are kept, flooded by
 *        their scope;
 *   4.   MaxAge, not in the LSDB, and no neighbor in Exchange/Loading: acknowledge it and drop it;
 *   5.   no database copy, or the received one is newer: (a) drop it if our copy arrived less than
 *        MinLSArrival ago; (b) flood it (flood.ts); (c) take the old copy off every retransmission list;
 *        (d) install it (SPF is triggered when the contents changed); (e) acknowledge it (delayed, unless
 *        flooded back out of the receiving interface); (f) if it is ours (§13.4), originate a newer
 *        instance or flush it;
 *   6.   it is on the sender's request list: BadLSReq, stop processing the packet;
 *   7.   the same instance: an implied acknowledgment if it is on the sender's retransmission list, else a
 *        direct acknowledgment;
 *   8.   our copy is newer: send ours back (at most once per MinLSArrival), unless it is MaxAge with
 *        MaxSequenceNumber.
 * Every LSA under our router ID (newer, the same or older than our copy) is also shown to duplicate
 * router ID detection (ctx.selfLsaSeen) before MinLSArrival can drop it; an installed newer one, before
 * the §13.4 answer, too (ctx.selfOriginatedReceived -> router-id-conflict.ts).
 */
import { MAX_AGE, MAX_SEQUENCE_NUMBER, MIN_LS_ARRIVAL, lsaKeyString, type LsuDecoded } from './wire/types.js';
import { anyNeighborExchanging, count, type Ctx } from './context.js';
import { Lsdb, entryAge, entryHeader } from './lsdb.js';
import { NbrEvent, NbrState, nbrEvent, stateAtLeast, type Neighbor } from './neighbor.js';
import { compareLsa } from './codec.js';
import { flood, removeFromAllRxmt, removeRxmt } from './flood.js';
import { sendLsas } from './rxtx.js';
import { queueDelayedAck, queueDirectAck } from './lsack.js';
import { requestSatisfied } from './lsreq.js';
import { onlyLosesLinks } from './originate.js';

/** The shortest gap between two instances of one LSA that we install (see (5a)). */
export const LSA_ARRIVAL_MIN_MS = 250;

export function receiveLsu(ctx: Ctx, nbr: Neighbor, body: LsuDecoded, now: number): void {
  if (!stateAtLeast(nbr.state, NbrState.Exchange)) {
    count(ctx, 'drop_lsu_state');
    return;
  }
  if (body.malformed.length > 0) {
    count(ctx, 'drop_lsa_malformed', body.malformed.length);
    ctx.log.debug({ iface: nbr.iface.cfg.name, errors: body.malformed.map((m) => m.error) }, 'malformed LSAs dropped');
  }
  const iface = nbr.iface;
  const linkId = iface.cfg.linkId;
  for (const lsa of body.lsas) {
    const h = lsa.header;
    // (2) Scope.
    if (Lsdb.scopeOf(h.type) === undefined) {
      count(ctx, 'drop_lsa_reserved_scope');
      continue;
    }
    const key = lsaKeyString(h);
    const db = ctx.lsdb.get(h.type, h.linkStateId, h.advertisingRouter, linkId);
    // (4) A MaxAge LSA we do not hold.
    if (h.age >= MAX_AGE && !db && !anyNeighborExchanging(ctx)) {
      queueDirectAck(ctx, nbr, h);
      count(ctx, 'lsa_maxage_unknown');
      continue;
    }
    const dbHdr = db ? entryHeader(db, now) : undefined;
    const cmp = dbHdr ? compareLsa(h, dbHdr) : 1;
    const self = h.advertisingRouter === ctx.routerId;
    if (self) ctx.selfLsaSeen(lsa, linkId, now);
    if (cmp > 0) {
      // (5a) MinLSArrival, shortened (as FRR's `timers lsa min-arrival` allows): routers space their own
      // instances by at least 1 s, but flooding over different paths can bring two of them closer than
      // that, and a dropped one waits a whole RxmtInterval (5 s) for its retransmission.
      if (db && now - db.installedAt < LSA_ARRIVAL_MIN_MS) {
        count(ctx, 'drop_lsa_min_arrival');
        continue;
      }
      // The sender's own request for it is settled.
      const req = nbr.requests.get(key);
      if (req && compareLsa(h, req) >= 0) requestSatisfied(ctx, nbr, key, now);
      // (5c, 5d) Install (the old instance leaves the retransmission lists first), (5b) flood.
      if (db) removeFromAllRxmt(ctx, db, now);
      const res = ctx.lsdb.install(lsa, linkId, now, self);
      if (h.age >= MAX_AGE) res.entry.maxAgeHandled = true;
      ctx.agingChanged(h.age >= MAX_AGE ? now : now + (MAX_AGE - h.age) * 1000);
      const floodedBack = flood(ctx, res.entry, nbr, now);
      count(ctx, 'lsa_installed');
      if (res.changed) {
        // A router that lost a link: the routers around the failure hold back routes until we converge.
        if (db && !self && h.age < MAX_AGE && onlyLosesLinks(lsa.body, db.lsa.body)) ctx.spfTriggerUrgent(now);
        else ctx.spfTrigger(now);
      }
      // (5e) Acknowledge.
      if (!floodedBack) queueDelayedAck(iface, h, now);
      // (5f) Ours.
      if (self) ctx.selfOriginatedReceived(res.entry, linkId, now);
      continue;
    }
    // (6) On the request list but not newer than our copy: the exchange went wrong.
    if (nbr.requests.has(key)) {
      count(ctx, 'bad_ls_request');
      nbrEvent(nbr, NbrEvent.BadLSReq, now, ctx.nbrHooks);
      return;
    }
    if (cmp === 0) {
      // (7) The same instance.
      const item = nbr.rxmt.get(key);
      if (item && item.entry === db) {
        removeRxmt(ctx, nbr, key, now);
        count(ctx, 'ack_implied');
      } else {
        queueDirectAck(ctx, nbr, h);
      }
      count(ctx, 'lsa_duplicate');
      continue;
    }
    // (8) Ours is newer.
    if (!db) continue;
    if (entryAge(db, now) >= MAX_AGE && db.lsa.header.sequence === MAX_SEQUENCE_NUMBER) continue;
    if (db.lastSentAt === undefined || now - db.lastSentAt >= MIN_LS_ARRIVAL * 1000) {
      db.lastSentAt = now;
      count(ctx, 'lsa_older_received');
      sendLsas(ctx, iface, nbr.address, [db], now);
    }
  }
}
