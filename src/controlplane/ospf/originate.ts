/**
 * This router's own LSAs (RFC 2328 §12.4, RFC 5340 §4.4):
 *
 *   Router-LSA (area scope, Link State IDs 0, 1, ...): one point-to-point link per Full neighbor with the
 *     interface's cost, our Interface ID, the neighbor's Interface ID (from its Hello) and its Router ID;
 *     split over several LSAs past ROUTER_LINKS_PER_LSA links.
 *   Link-LSA (link scope, Link State ID = our Interface ID) on every interface that is up: priority,
 *     options, our link-local address, no prefixes.
 *   Intra-Area-Prefix-LSA (area scope, Link State ID 0) referencing the Router-LSA: the configured
 *     prefixes (the node's mesh /128, metric 0).
 *
 * originateAll() compares what we want with what the LSDB holds and originates what differs — never two
 * instances of one LSA within its hold (the later one waits; `pendingDue` says until when) — and
 * flushes (premature aging, §14.1) our LSAs that are no longer wanted. Refresh after LSRefreshTime and
 * the reaction to a newer instance of our own LSA from the network (§13.4) are here too.
 */
import {
  FloodingScope,
  INITIAL_SEQUENCE_NUMBER,
  LS_REFRESH_TIME,
  LsType,
  MAX_AGE,
  MAX_SEQUENCE_NUMBER,
  MIN_LS_ARRIVAL,
  MIN_LS_INTERVAL,
  RouterLinkType,
  PacketType,
  lsaKeyString,
  type Lsa,
  type LsaBody,
  type MetricPrefix,
  type RouterLink,
} from './wire/types.js';
import { ROUTER_PRIORITY } from './config.js';
import { count, type Ctx } from './context.js';
import { IfState, type Iface } from './interface.js';
import { Lsdb, entryAge, type LsdbEntry } from './lsdb.js';
import { NbrState } from './neighbor.js';
import { buildLsa, lsaWithAge } from './codec.js';
import { flood, removeFromAllRxmt } from './flood.js';
import { ALL_SPF, ourOptions, sendPacket } from './rxtx.js';

export const ROUTER_LINKS_PER_LSA = 64;

export interface DesiredLsa {
  type: number;
  linkStateId: number;
  /** For link-scope LSAs. */
  linkId: number | undefined;
  body: LsaBody;
}

/**
 * The hold between two instances of one LSA, an exponential backoff as LSA throttling in FRR and Cisco
 * IOS does (RFC 2328's fixed MinLSInterval of 5 s is its ceiling). A change after a quiet spell goes out
 * LSA_HOLD_MIN_MS after the last one; each change that comes inside the hold doubles the next hold, up
 * to MinLSInterval, so a flapping link is damped; LSA_HOLD_RESET_MS of quiet brings it back down. With a fixed 5 s, the routers around a failure that came
 * within 5 s of another change kept advertising the dead link for the rest of it, and traffic looped or
 * was lost that long although BFD had seen the failure in 300 ms. HOLD_MIN_MS stays above the peers'
 * MinLSArrival (1 s), which would drop an instance that came sooner.
 */
export const LSA_HOLD_MIN_MS = MIN_LS_ARRIVAL * 1000 + 100;
export const LSA_HOLD_MAX_MS = MIN_LS_INTERVAL * 1000;
/** Quiet this long after the hold ends, and the next change starts from the shortest hold again. */
export const LSA_HOLD_RESET_MS = 2 * LSA_HOLD_MAX_MS;

export interface OriginationState {
  /** ms of the last origination, by scopedKey. */
  lastAt: Map<string, number>;
  /** ms: the hold after that origination, by scopedKey. */
  holdMs: Map<string, number>;
  /** The LSAs that changed inside their hold and wait for it to end. */
  held: Set<string>;
  /** When a withdrawal last skipped the backed-off hold, by scopedKey. */
  fastAt: Map<string, number>;
  /** ms: the earliest origination held back, or undefined. */
  pendingDue: number | undefined;
}

export function newOriginationState(): OriginationState {
  return { lastAt: new Map(), holdMs: new Map(), held: new Set(), fastAt: new Map(), pendingDue: undefined };
}

/** A key unique across scopes: link-scope LSAs are per link. */
export function scopedKey(type: number, linkStateId: number, advertisingRouter: number, linkId: number | undefined): string {
  const k = lsaKeyString({ type, linkStateId, advertisingRouter });
  return Lsdb.scopeOf(type) === FloodingScope.LinkLocal ? `${linkId}|${k}` : k;
}

/** Our router links: one per Full neighbor, sorted by interface then neighbor. */
export function ourRouterLinks(ctx: Ctx): RouterLink[] {
  const links: RouterLink[] = [];
  const ifaces = [...ctx.ifaces.values()].filter((i) => i.state !== IfState.Down);
  ifaces.sort((a, b) => a.cfg.interfaceId - b.cfg.interfaceId);
  for (const iface of ifaces) {
    const nbrs = [...iface.neighbors.values()].filter((n) => n.state === NbrState.Full);
    nbrs.sort((a, b) => a.routerId - b.routerId);
    for (const n of nbrs) {
      links.push({
        type: RouterLinkType.PointToPoint,
        metric: iface.cfg.cost,
        interfaceId: iface.cfg.interfaceId,
        neighborInterfaceId: n.interfaceId,
        neighborRouterId: n.routerId,
      });
    }
  }
  return links;
}

export function ourPrefixes(prefixes: { prefix: Buffer; length: number; metric?: number }[]): MetricPrefix[] {
  return prefixes.map((p) => ({ prefix: maskPrefix(p.prefix, p.length), length: p.length, options: 0, metric: p.metric ?? 0 }));
}

export function maskPrefix(prefix: Buffer, length: number): Buffer {
  const out = Buffer.alloc(16);
  prefix.copy(out, 0, 0, 16);
  for (let bit = length; bit < 128; bit++) out[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return out;
}

/** Everything this router wants in the LSDB now. */
export function desiredLsas(ctx: Ctx, prefixes: MetricPrefix[]): DesiredLsa[] {
  const out: DesiredLsa[] = [];
  const links = ourRouterLinks(ctx);
  const options = ourOptions();
  let lsid = 0;
  do {
    out.push({
      type: LsType.Router,
      linkStateId: lsid,
      linkId: undefined,
      body: { kind: 'router', flags: 0, options, links: links.slice(lsid * ROUTER_LINKS_PER_LSA, (lsid + 1) * ROUTER_LINKS_PER_LSA) },
    });
    lsid++;
  } while (lsid * ROUTER_LINKS_PER_LSA < links.length);
  if (prefixes.length > 0) {
    out.push({
      type: LsType.IntraAreaPrefix,
      linkStateId: 0,
      linkId: undefined,
      body: {
        kind: 'intra-area-prefix',
        referencedLsType: LsType.Router,
        referencedLinkStateId: 0,
        referencedAdvertisingRouter: ctx.routerId,
        prefixes,
      },
    });
  }
  for (const iface of ctx.ifaces.values()) {
    if (iface.state === IfState.Down) continue;
    out.push({
      type: LsType.Link,
      linkStateId: iface.cfg.interfaceId,
      linkId: iface.cfg.linkId,
      body: { kind: 'link', priority: ROUTER_PRIORITY, options, linkLocalAddress: Buffer.from(ctx.linkLocal), prefixes: [] },
    });
  }
  return out;
}

/** Build and install a new instance of one of our LSAs, and flood it. */
function originateOne(ctx: Ctx, st: OriginationState, d: DesiredLsa, sequence: number, now: number): LsdbEntry {
  const lsa = buildLsa({ age: 0, type: d.type, linkStateId: d.linkStateId, advertisingRouter: ctx.routerId, sequence }, d.body);
  const old = ctx.lsdb.get(d.type, d.linkStateId, ctx.routerId, d.linkId);
  if (old) removeFromAllRxmt(ctx, old, now);
  const res = ctx.lsdb.install(lsa, d.linkId, now, true);
  const sk = scopedKey(d.type, d.linkStateId, ctx.routerId, d.linkId);
  const last = st.lastAt.get(sk);
  const hold = st.holdMs.get(sk) ?? LSA_HOLD_MIN_MS;
  // Held back (it changed again inside the hold): the next hold is longer. Quiet for long: back to the shortest.
  const next = st.held.delete(sk) ? Math.min(2 * hold, LSA_HOLD_MAX_MS) : last === undefined || now - last >= hold + LSA_HOLD_RESET_MS ? LSA_HOLD_MIN_MS : hold;
  st.holdMs.set(sk, next);
  st.lastAt.set(sk, now);
  ctx.agingChanged(now + LS_REFRESH_TIME * 1000);
  count(ctx, 'lsa_originated');
  ctx.log.debug({ lsa: res.entry.key, seq: sequence }, 'LSA originated');
  flood(ctx, res.entry, undefined, now);
  if (res.changed) ctx.spfTrigger(now);
  return res.entry;
}

function nextSequence(old: LsdbEntry | undefined): number {
  if (!old) return INITIAL_SEQUENCE_NUMBER;
  // At MaxSequenceNumber the LSA would have to be flushed first (RFC 2328 §12.1.6): at one origination per
  // MinLSInterval that is centuries away; wrap to the initial value instead.
  return old.lsa.header.sequence >= MAX_SEQUENCE_NUMBER ? INITIAL_SEQUENCE_NUMBER : old.lsa.header.sequence + 1;
}

/** Does this LSA carry exactly the body we want for it? */
function sameBody(ctx: Ctx, d: DesiredLsa, lsa: Lsa): boolean {
  const probe = buildLsa(
    { age: 0, type: d.type, linkStateId: d.linkStateId, advertisingRouter: ctx.routerId, sequence: lsa.header.sequence },
    d.body,
  );
  return probe.header.length === lsa.header.length && probe.raw.subarray(20).equals(lsa.raw.subarray(20, lsa.header.length));
}

/** Does the database copy carry exactly this body (and is it live)? */
/** A Router-LSA whose links are some of the old one's, unchanged, and fewer. */
/** A Router-LSA body that only drops links of the old one (bad news: no link added or changed). */
export function onlyLosesLinks(next: LsaBody, old: LsaBody): boolean {
  if (next.kind !== 'router' || old.kind !== 'router' || next.links.length >= old.links.length) return false;
  const key = (l: RouterLink) => `${l.type}/${l.metric}/${l.interfaceId}/${l.neighborInterfaceId}/${l.neighborRouterId}`;
  const had = new Set(old.links.map(key));
  return next.links.every((l) => had.has(key(l)));
}

function sameAsDatabase(ctx: Ctx, d: DesiredLsa, db: LsdbEntry, now: number): boolean {
  if (entryAge(db, now) >= MAX_AGE) return false;
  return sameBody(ctx, d, db.lsa);
}

/**
 * Is this LSA under our router ID one we would originate now, body for body? (Duplicate router ID
 * detection: a newer instance that is not is a comeback with foreign contents.) An LSA we do not want at
 * all is not.
 */
export function isWhatWeOriginate(ctx: Ctx, prefixes: MetricPrefix[], lsa: Lsa, linkId: number | undefined): boolean {
  const h = lsa.header;
  const d = desiredLsas(ctx, prefixes).find(
    (x) => x.type === h.type && x.linkStateId === h.linkStateId && (x.linkId === undefined || x.linkId === linkId),
  );
  return d !== undefined && sameBody(ctx, d, lsa);
}

/** Bring our LSAs in the LSDB in line with what we want now. */
export function originateAll(ctx: Ctx, st: OriginationState, prefixes: MetricPrefix[], now: number): void {
  st.pendingDue = undefined;
  const wanted = new Set<string>();
  for (const d of desiredLsas(ctx, prefixes)) {
    const sk = scopedKey(d.type, d.linkStateId, ctx.routerId, d.linkId);
    wanted.add(sk);
    const db = ctx.lsdb.get(d.type, d.linkStateId, ctx.routerId, d.linkId);
    if (db && sameAsDatabase(ctx, d, db, now)) continue;
    const last = st.lastAt.get(sk);
    // Bad news travels fast: a Router-LSA that only loses links goes out after the shortest hold, or the
    // far routers keep sending into a link that is gone (and our own SPF, which already routes around
    // it, may send the traffic back: a loop). The backoff damps what comes back.
    // Once per MinLSInterval at most, so a neighbor that keeps knocking its adjacency down (forged Hellos)
    // cannot make us originate every second.
    const fast = db !== undefined && onlyLosesLinks(d.body, db.lsa.body) && now - (st.fastAt.get(sk) ?? -Infinity) >= LSA_HOLD_MAX_MS;
    const hold = fast ? LSA_HOLD_MIN_MS : (st.holdMs.get(sk) ?? LSA_HOLD_MIN_MS);
    if (last !== undefined && now - last < hold) {
      st.held.add(sk);
      const due = last + hold;
      st.pendingDue = st.pendingDue === undefined ? due : Math.min(st.pendingDue, due);
      continue;
    }
    if (fast && last !== undefined && now - last < (st.holdMs.get(sk) ?? LSA_HOLD_MIN_MS)) st.fastAt.set(sk, now);
    originateOne(ctx, st, d, nextSequence(db), now);
  }
  // Ours but no longer wanted: flush (premature aging).
  const stale: LsdbEntry[] = [];
  for (const e of ctx.lsdb.entries()) {
    if (e.lsa.header.advertisingRouter !== ctx.routerId) continue;
    if (wanted.has(scopedKey(e.lsa.header.type, e.lsa.header.linkStateId, ctx.routerId, e.linkId))) continue;
    if (entryAge(e, now) < MAX_AGE) stale.push(e);
  }
  for (const e of stale) flushLsa(ctx, e, now);
}

/** Premature aging (RFC 2328 §14.1): install the LSA at MaxAge and flood it; it goes once acknowledged. */
export function flushLsa(ctx: Ctx, e: LsdbEntry, now: number): void {
  removeFromAllRxmt(ctx, e, now);
  const res = ctx.lsdb.install(lsaWithAge(e.lsa, MAX_AGE), e.linkId, now, e.self);
  res.entry.maxAgeHandled = true;
  count(ctx, 'lsa_flushed');
  ctx.log.debug({ lsa: e.key }, 'LSA flushed');
  flood(ctx, res.entry, undefined, now);
  ctx.agingChanged(now);
  ctx.spfTrigger(now);
}

/**
 * An interface is going away: send our link-scope LSAs on it once more at MaxAge (premature aging), so a
 * neighbor that still hears us drops them now rather than at MaxAge. No retransmission: the interface and
 * its link-scope table are removed right after.
 */
export function flushLinkLsas(ctx: Ctx, iface: Iface, now: number): void {
  const lsas: Lsa[] = [];
  for (const e of ctx.lsdb.linkEntries(iface.cfg.linkId)) {
    if (e.lsa.header.advertisingRouter === ctx.routerId && entryAge(e, now) < MAX_AGE) lsas.push(lsaWithAge(e.lsa, MAX_AGE));
  }
  if (lsas.length === 0 || iface.neighbors.size === 0) return;
  count(ctx, 'lsa_flushed', lsas.length);
  sendPacket(ctx, iface, ALL_SPF, { type: PacketType.LinkStateUpdate, body: { lsas } });
}

/** LSRefreshTime: a new instance of a live LSA of ours, same contents. */
export function refreshLsa(ctx: Ctx, st: OriginationState, e: LsdbEntry, now: number): void {
  const h = e.lsa.header;
  count(ctx, 'lsa_refreshed');
  originateOne(ctx, st, { type: h.type, linkStateId: h.linkStateId, linkId: e.linkId, body: e.lsa.body }, nextSequence(e), now);
}

/**
 * RFC 2328 §13.4: an instance of our own LSA, newer than the one we hold, arrived and was installed.
 * If we still want the LSA, originate it again with a sequence number past the received one (now, not
 * after MinLSInterval); if not, flush it.
 */
export function selfOriginatedReceived(ctx: Ctx, st: OriginationState, prefixes: MetricPrefix[], e: LsdbEntry, now: number): void {
  const h = e.lsa.header;
  count(ctx, 'lsa_self_received');
  const d = desiredLsas(ctx, prefixes).find(
    (x) => x.type === h.type && x.linkStateId === h.linkStateId && (x.linkId === undefined || x.linkId === e.linkId),
  );
  if (d) {
    originateOne(ctx, st, d, nextSequence(e), now);
  } else if (entryAge(e, now) < MAX_AGE) {
    flushLsa(ctx, e, now);
  }
}

/** When a live LSA of ours is due for its LSRefreshTime refresh (ms). */
export function refreshAt(e: LsdbEntry): number {
  return e.installedAt + (LS_REFRESH_TIME - e.lsa.header.age) * 1000;
}
