/**
 * Duplicate router IDs (issue 7, item 8): detection, the tie-break, and renumbering. Pure like the rest of
 * the instance: every call takes `now`, no clock, no timers; packets only through ctx (renumber).
 *
 * What two routers with one router ID R look like from inside one of them:
 *
 *   Adjacent: the other's packets carry R in the OSPF header, from a link-local address that is not ours
 *     (rxtx.ts drops them — before this, as "own_router_id", silently). Proof at once: our own packets never
 *     come back with another source address. Only a looped link brings our own packets back, from our own
 *     address, and that is no conflict. On an interface with a key the packet must authenticate first: a
 *     forged packet must not make us renumber.
 *   Not adjacent: both originate the same LSAs (Router-LSA 0, Intra-Area-Prefix-LSA 0 under R). The
 *     routers between them keep whichever instance is newer (RFC 2328 §13.1) and flood it, so each of the
 *     two keeps receiving "its own" LSA with contents it did not originate, newer than its copy; each
 *     answers as §13.4 says (a newer instance, past the received sequence number) and the other answers
 *     that: a sequence-number fight that never ends, at the pace of MinLSArrival and RxmtInterval.
 *
 * The normal §13.4 case looks alike at first: after a restart, our LSAs from before the restart come back
 * newer than the fresh ones, with other contents (the old adjacencies). Two things tell them apart:
 *
 *   1. Identity. An Intra-Area-Prefix-LSA under R listing a /128 that we have never advertised cannot be
 *      ours from before a restart: a node's /128 is its mesh address, fixed by its UUID, and so is its
 *      derived router ID. (Only the same configured router ID on a node whose UUID changed would look so:
 *      with a configured ID we never yield, we only report.) Likewise a Link-LSA under R carrying a
 *      link-local address that is not ours.
 *   2. Persistence. Stale instances from before a restart are finite: once we have answered each (there are
 *      one or two per LSA: what the network held when we went down), they stop. Another live router keeps
 *      answering our answers. So a fight is declared only after FIGHT_DECLARE comebacks of one LSA with
 *      foreign contents, each less than FIGHT_GAP_MS after the previous one.
 * Instances at MaxAge are never evidence (a flush says nothing about who holds the ID now).
 *
 * The tie-break, so that exactly one of the two moves and both agree without talking: each side's key is
 * the interface ID (low 64 bits) of its own address, compared as unsigned big-endian bytes; the lower key
 * re-derives its router ID. Hellos give the other's link-local (ours: our link-local); LSAs give the
 * other's /128 (ours: our /128) or a Link-LSA's link-local. In MoltNet both are the last 64 bits of the
 * mesh address (DESIGN.md, Link addressing), so the two paths give the same answer. With several routers
 * on our ID (a pattern that gave many the same one), we yield when any of them has a higher key: pair by
 * pair the lower one moves, every pair agrees, and the highest keeps the ID. A lower key that keeps the ID
 * anyway for OTHER_STAYS_MS (a configured ID, or BIRD/FRR, which do not resolve duplicates) makes us move
 * after all, so a conflict with one resolving side is still resolved.
 *
 * Without a key (a fight over LSAs that carry no /128, e.g. a foreign router's /64s), we do not yield on
 * the fight alone: a fight we cannot attribute might, if short, still be stale instances, and if both sides
 * yielded blindly both would move. Once the fight persists (FIGHT_PERSIST comebacks) the other side is
 * clearly not moving (a router that never re-derives, such as BIRD or FRR with that ID configured), so we
 * yield — once: if a key-less yield did not end it (a new fight within KEYLESS_RETRY_MS), the other is
 * probably a node with our very identity
 * (a cloned UUID derives the same new ID), which no router ID can fix, and we only report. (Two MoltNet
 * nodes without /128s would both move, which ends it too.) Equal keys (both sides have the same interface
 * ID: the same identity) likewise only report.
 *
 * Episodes: evidence opens an episode (or extends the current one); it ends when our router ID changes
 * (resolved) or after EPISODE_QUIET_MS without evidence. The owner is told once when an episode opens, and
 * once more only if later evidence turns "do not yield" into "yield" (a key found, or the fight persisted).
 */
import { formatIpv6 } from '../../common/address.js';
import { FloodingScope, LsType, MAX_AGE, PacketType, formatRouterId, type Lsa, type MetricPrefix } from './wire/types.js';
import { count, type Ctx } from './context.js';
import { IfState } from './interface.js';
import type { LsdbEntry } from './lsdb.js';
import { NbrEvent, nbrEvent } from './neighbor.js';
import { sendFarewellHello } from './hello.js';
import { flushLinkLsas, isWhatWeOriginate } from './originate.js';

/** Comebacks of one of our LSAs with foreign contents that declare a fight. */
export const FIGHT_DECLARE = 4;
/** Comebacks after which a fight without a tie-break key makes us yield. */
export const FIGHT_PERSIST = 8;
/** A comeback more than this after the previous one starts the count again (ms). */
export const FIGHT_GAP_MS = 60_000;
/** An episode with no evidence for this long is over (ms). */
export const EPISODE_QUIET_MS = 120_000;
/**
 * A router with the lower key that still uses our ID this long after we first saw it (ms) is not going to
 * move (its ID is configured, or it does not resolve duplicates: BIRD, FRR): we move instead.
 */
export const OTHER_STAYS_MS = 120_000;
/**
 * A key-less fight in an episode that began within this long after we moved on one (ms) is not yielded
 * again: the move did not end it, so the other side is moving too or is us (see the file comment).
 */
export const KEYLESS_RETRY_MS = 10 * 60_000;
/** Past episodes kept for `show`. */
const PAST_KEPT = 8;

/** What the instance tells its owner (onRouterIdConflict). */
export interface RouterIdConflictEvent {
  /** The router ID in conflict (ours when the evidence came). */
  routerId: number;
  source: 'hello' | 'lsa';
  /** The link the evidence arrived on. */
  linkId?: number;
  /** The other router's address: the source of its packets (hello) or its /128 or link-local (lsa). */
  peerAddress?: Buffer;
  /** The other router's tie-break key (8 bytes), when known. */
  otherKey?: Buffer;
  /** We are the side that should re-derive its router ID (never with a configured ID). */
  weYield: boolean;
  detail: string;
}

/** One episode, for `show ospf status`. */
export interface RouterIdConflictInfo {
  routerId: string;
  source: 'hello' | 'lsa';
  linkId?: number;
  peerAddress?: string;
  /** 16 hex digits. */
  otherKey?: string;
  ourKey: string;
  weYield: boolean;
  detail: string;
  /** ms. */
  since: number;
  /** ms: the latest evidence. */
  lastSeen: number;
  /** Pieces of evidence seen. */
  evidence: number;
  /** Every router found on our ID in this episode, by key (`peerAddress`/`otherKey` above: the deciding one). */
  others: { peerAddress?: string; key: string; source: 'hello' | 'lsa' }[];
  /** active: evidence within EPISODE_QUIET_MS; quiet: none since; resolved: our router ID changed. */
  state: 'active' | 'quiet' | 'resolved';
  /** The router ID we moved to, when resolved. */
  newRouterId?: string;
}

/** One piece of evidence, as the instance found it. */
export interface Evidence {
  source: 'hello' | 'lsa';
  linkId: number;
  /** Our key for this kind of evidence (8 bytes). */
  ourKey: Buffer;
  peerAddress?: Buffer;
  /** 8 bytes. */
  otherKey?: Buffer;
  /** What was seen, for the detail line. */
  what: string;
  /** The fight reached FIGHT_PERSIST. */
  persistent?: boolean;
}

/** One other router found using our router ID, identified by its key. */
interface Party {
  source: 'hello' | 'lsa';
  linkId: number;
  peerAddress: Buffer | undefined;
  otherKey: Buffer;
  /** Our key against this kind of evidence. */
  ourKey: Buffer;
  what: string;
  /** ms: its first and latest evidence. */
  since: number;
  lastSeen: number;
}

interface Episode {
  routerId: number;
  /** By key (hex), in the order found. */
  parties: Map<string, Party>;
  /** Evidence that came without a key (a fight), kept for the detail line. */
  keyless: { source: 'hello' | 'lsa'; linkId: number; ourKey: Buffer; what: string } | undefined;
  persistent: boolean;
  weYield: boolean;
  /** The party the decision is about, if any. */
  about: Party | undefined;
  detail: string;
  since: number;
  lastSeen: number;
  evidence: number;
  resolvedTo: number | undefined;
  resolvedAt: number | undefined;
}

const PACKET_NAMES: Record<number, string> = {
  [PacketType.Hello]: 'a Hello',
  [PacketType.DatabaseDescription]: 'a Database Description',
  [PacketType.LinkStateRequest]: 'an LS Request',
  [PacketType.LinkStateUpdate]: 'an LS Update',
  [PacketType.LinkStateAck]: 'an LS Acknowledgment',
};

const LS_TYPE_NAMES: Record<number, string> = {
  [LsType.Router]: 'Router-LSA',
  [LsType.Link]: 'Link-LSA',
  [LsType.IntraAreaPrefix]: 'Intra-Area-Prefix-LSA',
};

/** The interface ID of an address: its low 64 bits. */
export function interfaceIdOf(addr: Buffer): Buffer {
  return Buffer.from(addr.subarray(8, 16));
}

function keyText(k: Buffer): string {
  return k.toString('hex');
}

/** Our tie-break key against LSA evidence: the interface ID of our /128 (else of our link-local). */
function ourLsaKey(ctx: Ctx, prefixes: MetricPrefix[]): Buffer {
  const host = prefixes.find((p) => p.length === 128);
  return interfaceIdOf(host ? host.prefix : ctx.linkLocal);
}

export class RouterIdConflicts {
  private current: Episode | undefined;
  private readonly past: Episode[] = [];
  private readonly pending: RouterIdConflictEvent[] = [];
  /** By LSA key: comebacks with foreign contents. */
  private readonly fights = new Map<string, { count: number; lastAt: number }>();
  /** ms: when we last moved on a key-less fight (an episode starting soon after does not move again). */
  private keylessYieldAt: number | undefined;
  /** Every /128 we have advertised in this run (hex): never a foreign address in our own LSAs. */
  private readonly ourHosts = new Set<string>();

  constructor(private readonly configured: boolean) {}

  // ---------------------------------------------------------------------------------------------------------
  // Evidence: the instance's hooks (ctx.routerIdClash, ctx.selfLsaSeen, ctx.selfOriginatedReceived) call these.

  /** Our prefixes changed (or are first known): their /128s are ours for the rest of the run. */
  noteHosts(prefixes: MetricPrefix[]): void {
    for (const p of prefixes) if (p.length === 128) this.ourHosts.add(p.prefix.toString('hex'));
  }

  /** A packet with our router ID from an address that is not ours (rxtx.ts). */
  packetClash(ctx: Ctx, linkId: number, src: Buffer, packetType: number, now: number): void {
    const name = ctx.ifaces.get(linkId)?.cfg.name ?? String(linkId);
    this.evidence(
      ctx,
      {
        source: 'hello',
        linkId,
        ourKey: interfaceIdOf(ctx.linkLocal),
        peerAddress: src,
        otherKey: interfaceIdOf(src),
        what: `${PACKET_NAMES[packetType] ?? 'a packet'} from ${formatIpv6(src)} on ${name}`,
      },
      now,
    );
  }

  /** An LSA under our router ID, of any age relative to ours: does it name an address that is not ours? */
  lsaSeen(ctx: Ctx, prefixes: MetricPrefix[], lsa: Lsa, linkId: number, now: number): void {
    if (lsa.header.age >= MAX_AGE) return;
    const body = lsa.body;
    const lsid = formatRouterId(lsa.header.linkStateId);
    if (body.kind === 'intra-area-prefix') {
      const foreign = body.prefixes.find((p) => p.length === 128 && !this.ourHosts.has(p.prefix.toString('hex')));
      if (!foreign) return;
      this.evidence(
        ctx,
        {
          source: 'lsa',
          linkId,
          ourKey: ourLsaKey(ctx, prefixes),
          peerAddress: foreign.prefix,
          otherKey: interfaceIdOf(foreign.prefix),
          what: `an Intra-Area-Prefix-LSA ${lsid} under our ID listing ${formatIpv6(foreign.prefix)}/128, which we do not advertise`,
        },
        now,
      );
    } else if (body.kind === 'link' && !body.linkLocalAddress.equals(ctx.linkLocal)) {
      this.evidence(
        ctx,
        {
          source: 'lsa',
          linkId,
          ourKey: interfaceIdOf(ctx.linkLocal),
          peerAddress: body.linkLocalAddress,
          otherKey: interfaceIdOf(body.linkLocalAddress),
          what: `a Link-LSA ${lsid} under our ID with link-local ${formatIpv6(body.linkLocalAddress)}`,
        },
        now,
      );
    }
  }

  /**
   * RFC 2328 §13.4: a newer instance of one of our LSAs was installed (before we answer it). Contents we
   * would not originate, coming back again and again: a fight.
   */
  lsaComeback(ctx: Ctx, prefixes: MetricPrefix[], entry: LsdbEntry, linkId: number, now: number): void {
    const lsa = entry.lsa;
    if (lsa.header.age >= MAX_AGE) return;
    if (isWhatWeOriginate(ctx, prefixes, lsa, entry.linkId)) return;
    count(ctx, 'lsa_self_foreign');
    const n = this.comeback(entry.linkId === undefined ? entry.key : `${entry.linkId}|${entry.key}`, now);
    if (n < FIGHT_DECLARE) return;
    const type = LS_TYPE_NAMES[lsa.header.type] ?? `LS type 0x${lsa.header.type.toString(16)}`;
    this.evidence(
      ctx,
      {
        source: 'lsa',
        linkId,
        ourKey: ourLsaKey(ctx, prefixes),
        what:
          `our ${type} ${formatRouterId(lsa.header.linkStateId)} came back ${n} times with contents we did not ` +
          'originate, each newer than our answer (a sequence number fight, RFC 2328 §13.4)',
        persistent: n >= FIGHT_PERSIST,
      },
      now,
    );
  }

  private evidence(ctx: Ctx, ev: Evidence, now: number): void {
    count(ctx, 'router_id_conflict_evidence');
    this.report(ctx.routerId, ev, now);
  }

  /**
   * One of our LSAs came back newer than our copy with contents we do not originate: count it. Returns the
   * count in the current run (FIGHT_DECLARE and FIGHT_PERSIST are the thresholds acted on).
   */
  private comeback(lsaKey: string, now: number): number {
    const f = this.fights.get(lsaKey);
    if (!f || now - f.lastAt > FIGHT_GAP_MS) {
      this.fights.set(lsaKey, { count: 1, lastAt: now });
      return 1;
    }
    f.count++;
    f.lastAt = now;
    return f.count;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Episodes

  /**
   * Record evidence under our current router ID. An event is queued when an episode opens, and when later
   * evidence turns "do not yield" into "yield". With several routers on our ID (a pattern that gave many
   * the same one) we yield when any of them has a higher key: pair by pair the lower one moves, and every
   * pair agrees.
   */
  report(routerId: number, ev: Evidence, now: number): void {
    let ep = this.live(now);
    if (ep && ep.routerId !== routerId) ep = undefined;
    const opened = !ep;
    if (!ep) {
      if (this.current) this.retire(this.current);
      ep = {
        routerId,
        parties: new Map(),
        keyless: undefined,
        persistent: false,
        weYield: false,
        about: undefined,
        detail: '',
        since: now,
        lastSeen: now,
        evidence: 0,
        resolvedTo: undefined,
        resolvedAt: undefined,
      };
      this.current = ep;
    }
    ep.lastSeen = now;
    ep.evidence++;
    if (ev.otherKey) {
      const k = keyText(ev.otherKey);
      const known = ep.parties.get(k);
      if (known) known.lastSeen = now;
      else {
        ep.parties.set(k, {
          source: ev.source,
          linkId: ev.linkId,
          peerAddress: ev.peerAddress,
          otherKey: ev.otherKey,
          ourKey: ev.ourKey,
          what: ev.what,
          since: now,
          lastSeen: now,
        });
      }
    } else {
      // The latest (its count of comebacks is the current one).
      ep.keyless = { source: ev.source, linkId: ev.linkId, ourKey: ev.ourKey, what: ev.what };
    }
    if (ev.persistent) ep.persistent = true;
    const wasYield = ep.weYield;
    this.decide(ep);
    if (opened || (ep.weYield && !wasYield)) this.emit(ep);
  }

  /** Our router ID changed: the episode (if any) is over, and fights under the old ID with it. */
  resolved(newRouterId: number, now: number): void {
    const ep = this.current;
    this.fights.clear();
    if (!ep) return;
    if (ep.weYield && !ep.about) this.keylessYieldAt = now;
    ep.resolvedTo = newRouterId;
    ep.resolvedAt = now;
    this.retire(ep);
  }

  /** Events queued since the last drain (the instance hands them to subscribers after each call). */
  drain(): RouterIdConflictEvent[] {
    return this.pending.splice(0, this.pending.length);
  }

  /** The current episode first, then past ones, newest first. */
  list(now: number): RouterIdConflictInfo[] {
    const out: RouterIdConflictInfo[] = [];
    if (this.current) out.push(info(this.current, now));
    for (let i = this.past.length - 1; i >= 0; i--) out.push(info(this.past[i]!, now));
    return out;
  }

  private live(now: number): Episode | undefined {
    const ep = this.current;
    if (ep && now - ep.lastSeen > EPISODE_QUIET_MS) {
      this.retire(ep);
      return undefined;
    }
    return ep;
  }

  private retire(ep: Episode): void {
    if (this.current === ep) this.current = undefined;
    this.past.push(ep);
    if (this.past.length > PAST_KEPT) this.past.shift();
  }

  private decide(ep: Episode): void {
    const id = formatRouterId(ep.routerId);
    const seen = (p: { source: 'hello' | 'lsa'; linkId: number; peerAddress?: Buffer | undefined; what: string }): string => {
      const who = p.peerAddress ? `the router at ${formatIpv6(p.peerAddress)}` : 'another router';
      const where = p.source === 'hello' ? `a neighbor on link ${p.linkId}` : 'flooding';
      return `router ID ${id} is also used by ${who} (seen through ${where}: ${p.what})`;
    };
    const parties = [...ep.parties.values()];
    const higher = parties.find((p) => Buffer.compare(p.ourKey, p.otherKey) < 0);
    const same = parties.find((p) => Buffer.compare(p.ourKey, p.otherKey) === 0);
    // A lower key that should have moved long ago and is still there.
    const stays = parties.find((p) => Buffer.compare(p.ourKey, p.otherKey) > 0 && p.lastSeen - p.since >= OTHER_STAYS_MS);
    const first = parties[0];
    ep.about = higher ?? same ?? stays ?? first;
    if (this.configured) {
      ep.weYield = false;
      const p = ep.about ?? ep.keyless!;
      ep.detail = `${seen(p)}; ours is configured (ospf.routerId), so we keep it: change the router ID on one of the two`;
      return;
    }
    if (higher) {
      ep.weYield = true;
      ep.detail =
        `${seen(higher)}; our interface ID ${keyText(higher.ourKey)} is lower than its ${keyText(higher.otherKey)}: ` +
        'we re-derive our router ID';
      return;
    }
    if (same) {
      ep.weYield = false;
      ep.detail =
        `${seen(same)}; both have interface ID ${keyText(same.ourKey)} (the same identity, a cloned UUID?): ` +
        'no router ID can separate them, not yielding';
      return;
    }
    if (stays) {
      ep.weYield = true;
      ep.detail =
        `${seen(stays)}; its interface ID ${keyText(stays.otherKey)} is lower than ours, but it has kept the ID for ` +
        `${Math.round((stays.lastSeen - stays.since) / 1000)} s (configured, or a router that does not resolve duplicates): ` +
        'we re-derive ours';
      return;
    }
    if (first) {
      ep.weYield = false;
      ep.detail =
        `${seen(first)}; our interface ID ${keyText(first.ourKey)} is higher than its ${keyText(first.otherKey)}: ` +
        'it re-derives, we keep ours';
      return;
    }
    const k = ep.keyless!;
    const movedJustBefore = this.keylessYieldAt !== undefined && ep.since - this.keylessYieldAt < KEYLESS_RETRY_MS;
    if (ep.persistent && !movedJustBefore) {
      ep.weYield = true;
      ep.detail = `${seen(k)}; no tie-break key, and the fight persisted (${FIGHT_PERSIST} comebacks): we re-derive our router ID`;
      return;
    }
    ep.weYield = false;
    ep.detail = ep.persistent
      ? `${seen(k)}; no tie-break key, and it persists after we already moved once (the same identity elsewhere?): not yielding again`
      : `${seen(k)}; no tie-break key yet: not yielding unless the fight persists`;
  }

  private emit(ep: Episode): void {
    const p = ep.about;
    const e: RouterIdConflictEvent = {
      routerId: ep.routerId,
      source: p?.source ?? ep.keyless!.source,
      linkId: p?.linkId ?? ep.keyless!.linkId,
      weYield: ep.weYield,
      detail: ep.detail,
    };
    if (p?.peerAddress) e.peerAddress = Buffer.from(p.peerAddress);
    if (p) e.otherKey = Buffer.from(p.otherKey);
    this.pending.push(e);
  }
}

function info(ep: Episode, now: number): RouterIdConflictInfo {
  const p = ep.about;
  const i: RouterIdConflictInfo = {
    routerId: formatRouterId(ep.routerId),
    source: p?.source ?? ep.keyless!.source,
    linkId: p?.linkId ?? ep.keyless!.linkId,
    ourKey: keyText(p?.ourKey ?? ep.keyless!.ourKey),
    weYield: ep.weYield,
    detail: ep.detail,
    since: ep.since,
    lastSeen: ep.lastSeen,
    evidence: ep.evidence,
    others: [...ep.parties.values()].map((x) => ({
      ...(x.peerAddress ? { peerAddress: formatIpv6(x.peerAddress) } : {}),
      key: keyText(x.otherKey),
      source: x.source,
    })),
    state: ep.resolvedTo !== undefined ? 'resolved' : now - ep.lastSeen > EPISODE_QUIET_MS ? 'quiet' : 'active',
  };
  if (p?.peerAddress) i.peerAddress = formatIpv6(p.peerAddress);
  if (p) i.otherKey = keyText(p.otherKey);
  if (ep.resolvedTo !== undefined) i.newRouterId = formatRouterId(ep.resolvedTo);
  return i;
}

/**
 * Take a new router ID in place (OspfInstance.changeRouterId); returns the old one.
 *   1. Under the old ID, once more on every interface with neighbors: our Link-LSAs at MaxAge (link scope:
 *      on our own links only we can have originated them, so this flush cannot hit the other router) and a
 *      Hello that lists nobody, so every neighbor takes 1-Way and drops us from its Router-LSA now rather
 *      than after RouterDeadInterval (and a MoltNet neighbor drops us at once when our new ID's Hello comes
 *      from the same address: hello.ts).
 *   2. Every neighbor is dropped (KillNbr, lists cleared): adjacencies re-form under the new ID from the
 *      next Hello, due at once (the next tick).
 *   3. LSAs of the old ID: link-scope ones leave our LSDB (flushed in 1); area- and AS-scope ones stay as
 *      anyone else's would — no longer ours, never refreshed or re-originated, and NOT flushed: the other
 *      router keeps that ID legitimately, and its instances replace ours by ordinary flooding (ours, if
 *      newer, reach it once and it answers them past, §13.4).
 *      LSAs already under the new ID become ours (see below).
 *   4. ctx.routerId changes; the caller originates under it.
 */
export function renumber(ctx: Ctx, newId: number, now: number): number {
  const oldId = ctx.routerId;
  for (const iface of ctx.ifaces.values()) {
    if (iface.state === IfState.Down || iface.neighbors.size === 0) continue;
    flushLinkLsas(ctx, iface, now);
    sendFarewellHello(ctx, iface);
  }
  for (const iface of ctx.ifaces.values()) {
    for (const nbr of [...iface.neighbors.values()]) nbrEvent(nbr, NbrEvent.KillNbr, now, ctx.nbrHooks);
    iface.neighbors.clear();
    iface.delayedAcks = [];
    iface.delayedAckDue = undefined;
    iface.helloDue = now;
  }
  ctx.out.floods.clear();
  ctx.out.directAcks.clear();
  for (const e of [...ctx.lsdb.entries()]) {
    if (e.self) {
      if (e.scope === FloodingScope.LinkLocal) ctx.lsdb.remove(e);
      else e.self = false;
    } else if (e.lsa.header.advertisingRouter === newId) {
      // Already under the new ID (ours from before a restart, learned while we had the old one): ours now,
      // re-originated past or flushed by the origination that follows, as §13.4 would have it.
      e.self = true;
    }
  }
  ctx.routerId = newId;
  ctx.agingChanged(now);
  count(ctx, 'router_id_changes');
  return oldId;
}
