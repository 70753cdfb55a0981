/**
 * OSPFv3 (RFC 5340 on RFC 2328) for one area over point-to-point interfaces: the public class.
 *
 * A pure core: it never reads a clock and does no I/O of its own. Every call takes `now` (ms); packets go
 * out through OspfIo.send; tick(now) runs what is due and says when it next wants to run. Any call may
 * create an earlier deadline (a received packet schedules SPF, a delayed ack...): call tick(now) after
 * receive()/addInterface()/... to learn it (tick is cheap and idempotent).
 *
 * Map of the files (like BIRD's proto/ospf):
 *   instance.ts   this class: public API, timers, SPF runs, show output
 *   config.ts     public types and defaults
 *   context.ts    the state the protocol files share (Ctx)
 *   rxtx.ts       generic receive checks (before dispatch) and packet transmission
 *   codec.ts      adapters onto wire/ (packet and LSA codecs, RFC 7166 trailer, §13.1 comparison)
 *   interface.ts  interface FSM (Down, Point-to-point)
 *   neighbor.ts   neighbor FSM table and the one state-change function
 *   hello.ts      Hellos
 *   dbdesc.ts     Database Description exchange (master/slave, MTU check, retransmission)
 *   lsreq.ts      LS Request list and retransmission; answering requests
 *   lsupd.ts      receiving LS Updates (RFC 2328 §13)
 *   flood.ts      flooding, retransmission lists
 *   lsack.ts      direct and delayed acknowledgments
 *   lsdb.ts       the LSDB by scope, ages from install time
 *   originate.ts  our Router-, Link- and Intra-Area-Prefix-LSAs, refresh, flushing, §13.4
 *   spf-input.ts  LSDB -> SpfInput (spf/ computes)
 *   routes.ts     SPF result -> routes with link-local next hops; address conflicts
 *   router-id.ts  the default router ID: SHA-256 of the UUID (and a generation)
 *   router-id-conflict.ts  duplicate router ID detection, the tie-break, renumbering (changeRouterId)
 */
import type { Logger } from '../../common/log.js';
import { silentLogger } from '../../common/log.js';
import { formatIpv6 } from '../../common/address.js';
import { InvalidInputError } from '../../common/errors.js';
import {
  FloodingScope,
  LsType,
  MAX_AGE,
  PacketType,
  formatAreaId,
  formatRouterId,
  type MetricPrefix,
} from './wire/types.js';
import { SpfThrottle } from './spf/throttle.js';
import { loopFreeRoutes, lostLocalAdjacency, type SpfSnapshot } from './spf/microloop.js';
import { computeSpf } from './spf/spf.js';
import {
  DEFAULT_SPF_THROTTLE,
  type NeighborStateEvent,
  type OspfInstanceOptions,
  type OspfInterfaceConfig,
  type OspfRoute,
} from './config.js';
import { anyNeighborExchanging, count, type Ctx } from './context.js';
import { IfEvent, IfState, ifaceConfig, ifaceEvent, newIface, type Iface, type IfaceHooks } from './interface.js';
import { Lsdb, entryAge, maxAgeAt, type LsdbEntry } from './lsdb.js';
import { NbrEvent, NbrState, nbrEvent, type Neighbor, type NeighborHooks } from './neighbor.js';
import { checkReceived } from './rxtx.js';
import { receiveHello, sendHello } from './hello.js';
import { ddStart, ddStartExchange, ddTimer, receiveDd } from './dbdesc.js';
import { lsrTimer, receiveLsr, sendNextLsr } from './lsreq.js';
import { receiveLsu } from './lsupd.js';
import { clearRxmt, flood, flushFloods, retransmit, rxmtDue } from './flood.js';
import { delayedAckTimer, flushDirectAcks, receiveLsAck } from './lsack.js';
import {
  desiredLsas,
  flushLinkLsas,
  newOriginationState,
  originateAll,
  ourPrefixes,
  ourRouterLinks,
  refreshAt,
  refreshLsa,
  selfOriginatedReceived,
  type OriginationState,
} from './originate.js';
import { buildSpfInput } from './spf-input.js';
import { detectConflicts, sameRoutes, toOspfRoutes, type AddressConflict } from './routes.js';
import {
  RouterIdConflicts,
  renumber,
  type RouterIdConflictEvent,
  type RouterIdConflictInfo,
} from './router-id-conflict.js';

export type { OspfInterfaceConfig, OspfIo, OspfRoute, OspfInstanceOptions, NeighborStateEvent } from './config.js';
export type { AddressConflict } from './routes.js';
export type { RouterIdConflictEvent, RouterIdConflictInfo } from './router-id-conflict.js';

export interface NeighborInfo {
  linkId: number;
  interface: string;
  routerId: string;
  state: string;
  address: string;
  /** Seconds until the inactivity timer fires. */
  deadIn: number;
  priority: number;
  interfaceId: number;
  /** Seconds in the current state. */
  uptime: number;
  retransmitQueue: number;
  requestQueue: number;
}

export interface DatabaseEntryInfo {
  scope: string;
  type: string;
  linkStateId: string;
  advertisingRouter: string;
  sequence: string;
  age: number;
  checksum: string;
  length: number;
}

export interface InterfaceInfo {
  linkId: number;
  name: string;
  state: string;
  interfaceId: number;
  cost: number;
  helloInterval: number;
  deadInterval: number;
  retransmitInterval: number;
  mtu: number;
  auth: boolean;
  neighbors: number;
  adjacencies: number;
}

const LS_TYPE_NAMES: Record<number, string> = {
  [LsType.Router]: 'Router',
  [LsType.Network]: 'Network',
  [LsType.InterAreaPrefix]: 'InterAreaPrefix',
  [LsType.InterAreaRouter]: 'InterAreaRouter',
  [LsType.AsExternal]: 'AsExternal',
  [LsType.Nssa]: 'NSSA',
  [LsType.Link]: 'Link',
  [LsType.IntraAreaPrefix]: 'IntraAreaPrefix',
};

/** How far ahead tick() looks when nothing at all is scheduled. */
const IDLE_WAKEUP_MS = 60_000;
/**
 * After a local failure, routes that could microloop wait for the other routers' SPF: their throttle's
 * delay (the same as ours), plus this for our LSA's flooding, their SPF run and the FIB update in their
 * forwarding thread.
 */
export const MICROLOOP_MARGIN_MS = 200;

function checkRouterId(id: number): void {
  if (!Number.isInteger(id) || id <= 0 || id > 0xffffffff) {
    throw new InvalidInputError(`OSPF router ID must be a non-zero unsigned 32-bit number, got ${id}`);
  }
}

/**
 * How long a flushed LSA stays in the LSDB after it could go (RFC 2328 §14 removes it at once; FRR keeps
 * it 60 s). A neighbor that missed the flush (its adjacency was down meanwhile) still holds the old
 * instance; when the adjacency comes back, our MaxAge copy wins the database exchange and the neighbor is
 * sent the flush. Removed at once, the old instance would be taken back from that neighbor as new, and
 * routed, until its originator flushed it again.
 */
export const MAXAGE_KEEP_MS = 60_000;

export class OspfInstance {
  private readonly spfTimer: OspfInstanceOptions['spfTimer'];
  readonly areaId: number;
  private readonly ctx: Ctx;
  private readonly log: Logger;
  private readonly throttle: SpfThrottle;
  private prefixes: MetricPrefix[];
  private readonly origin: OriginationState = newOriginationState();
  private originateDirty = false;
  private agingDue = Number.POSITIVE_INFINITY;
  private lastNow: number;
  private currentRoutes: OspfRoute[] = [];
  /** The last SPF's input and result, unfiltered: the baseline a local failure is judged against. */
  private lastSpf: SpfSnapshot | undefined;
  /** While set, routes that could microloop after a local failure are held back (spf/microloop.ts). */
  private microloopHold: { baseline: SpfSnapshot; until: number } | undefined;
  private readonly knownConflicts = new Map<string, AddressConflict>();
  private readonly routeSubscribers: ((routes: OspfRoute[]) => void)[] = [];
  private readonly neighborSubscribers: ((e: NeighborStateEvent) => void)[] = [];
  private readonly conflictSubscribers: ((e: RouterIdConflictEvent) => void)[] = [];
  private readonly ridConflicts: RouterIdConflicts;
  private inCall = 0;

  constructor(opts: OspfInstanceOptions) {
    checkRouterId(opts.routerId);
    this.spfTimer = opts.spfTimer;
    if (opts.linkLocal.length !== 16) throw new InvalidInputError('OSPF link-local address must be 16 bytes');
    const routerId = opts.routerId >>> 0;
    this.ridConflicts = new RouterIdConflicts(opts.routerIdConfigured ?? false);
    this.areaId = (opts.areaId ?? 0) >>> 0;
    this.log = opts.log ?? silentLogger();
    this.lastNow = opts.now;
    this.prefixes = ourPrefixes(opts.prefixes);
    this.ridConflicts.noteHosts(this.prefixes);
    const t = opts.spfThrottle ?? DEFAULT_SPF_THROTTLE;
    this.throttle = new SpfThrottle({ delay: t.delay, initialHold: t.initialHold, maxHold: t.maxHold });
    const nbrHooks: NeighborHooks = {
      adjacencyWanted: () => true,
      restartInactivity: (nbr, now) => {
        nbr.inactivityDue = now + nbr.iface.cfg.deadInterval * 1000;
      },
      clearLists: (nbr, now) => this.clearLists(nbr, now),
      stopTimers: (nbr) => {
        nbr.inactivityDue = Number.POSITIVE_INFINITY;
        nbr.ddRxmtDue = undefined;
        nbr.ddHoldUntil = undefined;
        nbr.lsrRxmtDue = undefined;
      },
      sendHello: (nbr, now) => sendHello(this.ctx, nbr.iface, now),
      enterState: (nbr, from, event, now) => this.neighborEntered(nbr, from, event, now),
      log: (msg, fields) => this.log.debug({ ...fields, routerId: formatRouterId(fields['routerId'] as number) }, msg),
    };
    this.ctx = {
      routerId,
      areaId: this.areaId,
      linkLocal: Buffer.from(opts.linkLocal),
      io: opts.io,
      log: this.log,
      lsdb: new Lsdb(),
      ifaces: new Map(),
      counters: {},
      out: { floods: new Map(), directAcks: new Map() },
      nbrHooks,
      spfTrigger: (now) => this.throttle.trigger(now),
      spfTriggerUrgent: (now) => this.throttle.urgent(now),
      originateSoon: () => {
        this.originateDirty = true;
      },
      selfLsaSeen: (lsa, linkId, now) => this.ridConflicts.lsaSeen(this.ctx, this.prefixes, lsa, linkId, now),
      selfOriginatedReceived: (entry, linkId, now) => {
        this.ridConflicts.lsaComeback(this.ctx, this.prefixes, entry, linkId, now);
        selfOriginatedReceived(this.ctx, this.origin, this.prefixes, entry, now);
      },
      routerIdClash: (linkId, src, packetType, now) => this.ridConflicts.packetClash(this.ctx, linkId, src, packetType, now),
      agingChanged: (at) => {
        if (at < this.agingDue) this.agingDue = at;
      },
    };
    // Our Router-LSA (no links yet) and Intra-Area-Prefix-LSA exist from the start.
    this.call(opts.now, () => {
      this.originateDirty = true;
    });
  }

  /** Our router ID now (it changes only through changeRouterId). */
  get routerId(): number {
    return this.ctx.routerId;
  }

  // -------------------------------------------------------------------------------------------------------
  // Interfaces

  addInterface(cfg: OspfInterfaceConfig, now: number): void {
    if (this.ctx.ifaces.has(cfg.linkId)) throw new InvalidInputError(`OSPF interface for link ${cfg.linkId} already exists`);
    for (const i of this.ctx.ifaces.values()) {
      if (i.cfg.interfaceId === cfg.interfaceId >>> 0) {
        throw new InvalidInputError(`OSPF interface ID ${cfg.interfaceId} already used by ${i.cfg.name}`);
      }
    }
    if (!(cfg.helloInterval > 0) || !(cfg.deadInterval > cfg.helloInterval)) {
      throw new InvalidInputError(`OSPF interface ${cfg.name}: need 0 < helloInterval < deadInterval`);
    }
    if (!(cfg.mtu >= 1280)) throw new InvalidInputError(`OSPF interface ${cfg.name}: MTU must be at least 1280, got ${cfg.mtu}`);
    this.call(now, () => {
      const iface = newIface(ifaceConfig(cfg), now);
      this.ctx.ifaces.set(cfg.linkId, iface);
      ifaceEvent(iface, IfEvent.InterfaceUp, now, this.ifaceHooks);
    });
  }

  removeInterface(linkId: number, now: number): void {
    const iface = this.ctx.ifaces.get(linkId);
    if (!iface) return;
    this.call(now, () => {
      // As when BFD kills a neighbor: an adjacency that is gone leaves our routes now, not after the SPF
      // throttle's hold (which a burst of earlier changes may have stretched to seconds).
      const hadFull = [...iface.neighbors.values()].some((n) => n.state === NbrState.Full);
      ifaceEvent(iface, IfEvent.InterfaceDown, now, this.ifaceHooks);
      this.ctx.ifaces.delete(linkId);
      if (hadFull) this.runSpf(now);
    });
  }

  private readonly ifaceHooks: IfaceHooks = {
    up: (iface, now) => {
      sendHello(this.ctx, iface, now);
      this.originateDirty = true;
    },
    down: (iface, now) => {
      // Premature aging of our Link-LSA there, while a neighbor may still hear it (the link may be alive and
      // only removed here); nothing waits for acknowledgments since the interface is going away.
      flushLinkLsas(this.ctx, iface, now);
      for (const nbr of [...iface.neighbors.values()]) nbrEvent(nbr, NbrEvent.LLDown, now, this.ctx.nbrHooks);
      iface.neighbors.clear();
      iface.delayedAcks = [];
      iface.delayedAckDue = undefined;
      this.ctx.out.floods.delete(iface.cfg.linkId);
      // Link-scope LSAs of the link (ours and the neighbor's) go with it.
      this.ctx.lsdb.dropLink(iface.cfg.linkId);
      this.originateDirty = true;
      this.ctx.spfTrigger(now);
    },
    log: (msg, fields) => this.log.info(fields, msg),
  };


  /** A new metric for an interface, in place: the adjacency stays, our Router-LSA is re-originated. */
  setInterfaceCost(linkId: number, cost: number, now: number): void {
    const iface = this.ctx.ifaces.get(linkId);
    if (!iface) return;
    const metric = Math.max(1, Math.min(0xffff, Math.round(cost)));
    if (iface.cfg.cost === metric) return;
    this.call(now, () => {
      iface.cfg.cost = metric;
      this.originateDirty = true;
      this.ctx.spfTrigger(now);
    });
  }

  /** Replace the prefixes we advertise in our Intra-Area-Prefix-LSA (re-originated, MinLSInterval permitting). */
  setPrefixes(prefixes: OspfInstanceOptions['prefixes'], now: number): void {
    this.call(now, () => {
      this.prefixes = ourPrefixes(prefixes);
      this.ridConflicts.noteHosts(this.prefixes);
      this.originateDirty = true;
      this.ctx.spfTrigger(now);
    });
  }

  // -------------------------------------------------------------------------------------------------------
  // Packets

  receive(linkId: number, src: Buffer, dst: Buffer, hopLimit: number, packet: Buffer, now: number): void {
    void hopLimit; // accepted whatever it is (FRR: 64 unicast, 1 multicast)
    this.call(now, () => {
      try {
        this.dispatch(linkId, src, dst, packet, now);
      } catch (err) {
        // Never reached by bad input (the codecs return errors): a bug. Count it and keep running.
        count(this.ctx, 'error_internal');
        this.log.error({ err, linkId }, 'OSPF packet processing failed');
      }
    });
  }

  private dispatch(linkId: number, src: Buffer, dst: Buffer, packet: Buffer, now: number): void {
    const rx = checkReceived(this.ctx, linkId, src, dst, packet, now);
    if (!rx) return;
    const { iface, pkt } = rx;
    if (pkt.type === PacketType.Hello) {
      receiveHello(this.ctx, iface, src, pkt.header.routerId, pkt.body, now);
      return;
    }
    const nbr = iface.neighbors.get(pkt.header.routerId);
    if (!nbr) {
      count(this.ctx, 'drop_unknown_neighbor');
      return;
    }
    switch (pkt.type) {
      case PacketType.DatabaseDescription:
        receiveDd(this.ctx, nbr, pkt.body, now);
        break;
      case PacketType.LinkStateRequest:
        receiveLsr(this.ctx, nbr, pkt.body, now);
        break;
      case PacketType.LinkStateUpdate:
        receiveLsu(this.ctx, nbr, pkt.body, now);
        break;
      case PacketType.LinkStateAck:
        receiveLsAck(this.ctx, nbr, pkt.body, now);
        break;
    }
  }

  /** BFD (or anything) says the neighbor is gone: KillNbr now, and SPF without waiting for the throttle. */
  neighborDown(linkId: number, routerId: number | undefined, now: number): void {
    const iface = this.ctx.ifaces.get(linkId);
    if (!iface) return;
    this.call(now, () => {
      let killed = false;
      for (const nbr of [...iface.neighbors.values()]) {
        if (routerId !== undefined && nbr.routerId !== routerId >>> 0) continue;
        nbrEvent(nbr, NbrEvent.KillNbr, now, this.ctx.nbrHooks);
        killed = true;
      }
      if (killed) this.runSpf(now);
    });
  }

  // -------------------------------------------------------------------------------------------------------
  // Timers

  /** Run due timers; returns the absolute time (ms) it next wants to run. */
  tick(now: number): number {
    this.call(now, () => {
      for (let round = 0; round < 4; round++) {
        this.runTimers(now);
        this.finishCall(now);
        if (this.nextDeadline(now) > now) break;
      }
    });
    return Math.max(this.nextDeadline(now), now + 1);
  }

  private runTimers(now: number): void {
    for (const iface of [...this.ctx.ifaces.values()]) {
      if (iface.state === IfState.Down) continue;
      if (iface.helloDue <= now) sendHello(this.ctx, iface, now);
      delayedAckTimer(this.ctx, iface, now);
      for (const nbr of [...iface.neighbors.values()]) {
        if (nbr.inactivityDue <= now) {
          nbrEvent(nbr, NbrEvent.InactivityTimer, now, this.ctx.nbrHooks);
          continue;
        }
        ddTimer(this.ctx, nbr, now);
        if (nbr.lsrRxmtDue !== undefined && nbr.lsrRxmtDue <= now) lsrTimer(this.ctx, nbr, now);
        const rx = rxmtDue(nbr);
        if (rx !== undefined && rx <= now) retransmit(this.ctx, nbr, now);
      }
    }
    if (this.origin.pendingDue !== undefined && this.origin.pendingDue <= now) this.originateDirty = true;
    if (this.agingDue <= now) this.agingSweep(now);
    if (this.throttle.due(now)) this.runSpf(now);
    if (this.microloopHold && this.microloopHold.until <= now) this.publish(now);
  }

  private nextDeadline(now: number): number {
    let next = now + IDLE_WAKEUP_MS;
    const at = (t: number | undefined): void => {
      if (t !== undefined && t < next) next = t;
    };
    for (const iface of this.ctx.ifaces.values()) {
      if (iface.state === IfState.Down) continue;
      at(iface.helloDue);
      at(iface.delayedAckDue);
      for (const nbr of iface.neighbors.values()) {
        at(nbr.inactivityDue);
        at(nbr.ddRxmtDue);
        at(nbr.ddHoldUntil);
        at(nbr.lsrRxmtDue);
        at(rxmtDue(nbr));
      }
    }
    at(this.origin.pendingDue);
    if (this.agingDue !== Number.POSITIVE_INFINITY) at(this.agingDue);
    at(this.throttle.next(now) ?? undefined);
    at(this.microloopHold?.until);
    return next;
  }

  /**
   * LSDB aging (RFC 2328 §14): LSAs reaching MaxAge are flooded once, and removed when no retransmission
   * list holds them, no neighbor is in Exchange/Loading, and MAXAGE_KEEP_MS have passed since they reached
   * MaxAge; our live LSAs are refreshed at LSRefreshTime.
   */
  private agingSweep(now: number): void {
    const ctx = this.ctx;
    let next = Number.POSITIVE_INFINITY;
    const exchanging = anyNeighborExchanging(ctx);
    const refresh: LsdbEntry[] = [];
    const remove: LsdbEntry[] = [];
    for (const e of ctx.lsdb.entries()) {
      if (entryAge(e, now) >= MAX_AGE) {
        if (!e.maxAgeHandled) {
          e.maxAgeHandled = true;
          count(ctx, 'lsa_maxage');
          flood(ctx, e, undefined, now);
          ctx.spfTrigger(now);
        }
        if (e.rxmtRefs === 0 && !exchanging) {
          const keepUntil = maxAgeAt(e) + MAXAGE_KEEP_MS;
          if (now >= keepUntil) remove.push(e);
          else next = Math.min(next, keepUntil);
        }
        continue;
      }
      next = Math.min(next, maxAgeAt(e));
      if (e.self) {
        const r = refreshAt(e);
        if (r <= now) refresh.push(e);
        else next = Math.min(next, r);
      }
    }
    for (const e of remove) {
      if (ctx.lsdb.remove(e)) count(ctx, 'lsa_removed');
    }
    this.agingDue = next;
    for (const e of refresh) refreshLsa(ctx, this.origin, e, now);
  }

  private runSpf(now: number): void {
    const timer = this.spfTimer;
    const t0 = timer?.now();
    try {
      this.spf(now);
    } finally {
      if (timer) timer.ran(timer.now() - t0!);
    }
  }

  private spf(now: number): void {
    this.throttle.ran(now);
    count(this.ctx, 'spf_runs');
    const { input, hostPrefixes } = buildSpfInput(this.ctx.lsdb, now, {
      routerId: this.routerId,
      links: ourRouterLinks(this.ctx),
      prefixes: this.prefixes,
    });
    const result = computeSpf(input);
    detectConflicts(this.ctx, hostPrefixes, (r) => result.distances.has(r), this.knownConflicts, now);
    if (this.lastSpf && lostLocalAdjacency(this.lastSpf.input, input)) {
      // The other routers learn of it only after our LSA and their SPF throttle: until then, hold back
      // what would bounce off them. A second failure during the hold extends it, judged on the first
      // baseline (the topology the others still forward on).
      this.microloopHold = { baseline: this.microloopHold?.baseline ?? this.lastSpf, until: now + this.throttle.delay + MICROLOOP_MARGIN_MS };
    }
    this.lastSpf = { input, result };
    this.publish(now);
  }

  /** The last SPF result as routes, less what the microloop hold keeps back; subscribers hear of changes. */
  private publish(now: number): void {
    const spf = this.lastSpf;
    if (!spf) return;
    let result = spf.result;
    if (this.microloopHold && now >= this.microloopHold.until) this.microloopHold = undefined;
    if (this.microloopHold) {
      const held = loopFreeRoutes(this.microloopHold.baseline, result);
      if (held.withheld + held.narrowed > 0) {
        count(this.ctx, 'microloop_holds');
        this.log.debug({ withheld: held.withheld, narrowed: held.narrowed, untilMs: this.microloopHold.until - now }, 'OSPF holds back routes that would loop until the others converge');
      }
      result = { distances: result.distances, routes: held.routes };
    }
    const routes = toOspfRoutes(this.ctx, result);
    if (sameRoutes(routes, this.currentRoutes)) return;
    this.currentRoutes = routes;
    count(this.ctx, 'route_table_changes');
    this.log.debug({ routes: routes.length }, 'OSPF routes changed');
    for (const cb of this.routeSubscribers) cb(routes);
  }

  // -------------------------------------------------------------------------------------------------------
  // Duplicate router IDs (the detection rules and the tie-break: router-id-conflict.ts)

  /**
   * Take a new router ID in place (the owner calls this when onRouterIdConflict says weYield, with the next
   * derivation, e.g. deriveRouterId(uuid, generation + 1)). Every adjacency is torn down and re-forms under
   * the new ID; LSAs of the old ID are no longer ours but are not flushed (renumber() in
   * router-id-conflict.ts has the steps); our LSAs are originated under the new ID at the end of the call,
   * and Hellos carry it from the next tick. The current conflict episode is marked resolved.
   */
  changeRouterId(newId: number, now: number): void {
    checkRouterId(newId);
    const id = newId >>> 0;
    if (id === this.ctx.routerId) return;
    this.call(now, () => {
      const oldId = renumber(this.ctx, id, now);
      this.origin.lastAt.clear();
      this.origin.holdMs.clear();
      this.origin.held.clear();
      this.origin.fastAt.clear();
      this.origin.pendingDue = undefined;
      this.ridConflicts.resolved(id, now);
      this.log.warn({ from: formatRouterId(oldId), to: formatRouterId(id) }, 'OSPF router ID changed');
      this.originateDirty = true;
      this.ctx.spfTrigger(now);
    });
  }

  /**
   * Told once when a duplicate router ID episode opens, and once more if later evidence turns "do not
   * yield" into "yield". Called after the current call's packets are out; it may call changeRouterId.
   */
  onRouterIdConflict(cb: (e: RouterIdConflictEvent) => void): void {
    this.conflictSubscribers.push(cb);
  }

  /** The current duplicate router ID episode first (if any), then past ones (for `show ospf status`). */
  routerIdConflicts(now = this.lastNow): RouterIdConflictInfo[] {
    return this.ridConflicts.list(now);
  }

  private emitConflicts(): void {
    const events = this.ridConflicts.drain();
    for (const e of events) {
      count(this.ctx, 'router_id_conflicts');
      this.log.warn(
        {
          routerId: formatRouterId(e.routerId),
          source: e.source,
          peer: e.peerAddress ? formatIpv6(e.peerAddress) : undefined,
          weYield: e.weYield,
        },
        `duplicate OSPF router ID: ${e.detail}`,
      );
      for (const cb of this.conflictSubscribers) {
        try {
          cb(e);
        } catch (err) {
          count(this.ctx, 'error_conflict_callback');
          this.log.error({ err }, 'router ID conflict callback failed');
        }
      }
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Neighbor side effects

  private clearLists(nbr: Neighbor, now: number): void {
    nbr.summary = [];
    nbr.requests.clear();
    nbr.lsrOutstanding.clear();
    nbr.lsrRxmtDue = undefined;
    clearRxmt(this.ctx, nbr, now);
    nbr.lastRxDd = undefined;
    nbr.lastTxDd = undefined;
    nbr.ddRxmtDue = undefined;
    nbr.ddHoldUntil = undefined;
    nbr.moreSent = false;
  }

  private neighborEntered(nbr: Neighbor, from: NbrState, event: NbrEvent, now: number): void {
    const to = nbr.state;
    switch (to) {
      case NbrState.ExStart:
        ddStart(this.ctx, nbr, now);
        break;
      case NbrState.Exchange:
        ddStartExchange(this.ctx, nbr, now);
        break;
      case NbrState.Loading:
        sendNextLsr(this.ctx, nbr, now);
        break;
      case NbrState.Down:
        if (nbr.iface.neighbors.get(nbr.routerId) === nbr) nbr.iface.neighbors.delete(nbr.routerId);
        break;
      default:
        break;
    }
    if (to === NbrState.Full || from === NbrState.Full) {
      this.originateDirty = true;
      this.ctx.spfTrigger(now);
    }
    // MaxAge LSAs wait for exchanges to end before they can go.
    if (from === NbrState.Exchange || from === NbrState.Loading) this.ctx.agingChanged(now);
    count(this.ctx, `nbr_to_${to}`);
    if (to === NbrState.Full || from === NbrState.Full) {
      this.log.info(
        { iface: nbr.iface.cfg.name, routerId: formatRouterId(nbr.routerId), from, to, event },
        to === NbrState.Full ? 'OSPF adjacency up' : 'OSPF adjacency down',
      );
    }
    const e: NeighborStateEvent = {
      linkId: nbr.iface.cfg.linkId,
      routerId: nbr.routerId,
      address: Buffer.from(nbr.address),
      from,
      to,
    };
    for (const cb of this.neighborSubscribers) cb(e);
  }

  // -------------------------------------------------------------------------------------------------------
  // Call framing: output queued during a call is sent when the outermost call ends.

  private call(now: number, fn: () => void): void {
    if (now > this.lastNow) this.lastNow = now;
    this.inCall++;
    try {
      fn();
    } finally {
      this.inCall--;
    }
    if (this.inCall === 0) {
      this.finishCall(now);
      this.emitConflicts();
    }
  }

  private finishCall(now: number): void {
    if (this.originateDirty) {
      this.originateDirty = false;
      originateAll(this.ctx, this.origin, this.prefixes, now);
    }
    flushFloods(this.ctx, now);
    flushDirectAcks(this.ctx);
  }

  // -------------------------------------------------------------------------------------------------------
  // Subscriptions and show output

  onRoutes(cb: (routes: OspfRoute[]) => void): void {
    this.routeSubscribers.push(cb);
  }

  onNeighborState(cb: (e: NeighborStateEvent) => void): void {
    this.neighborSubscribers.push(cb);
  }

  /** `now` (ms) defaults to the time of the latest call. */
  neighbors(now = this.lastNow): NeighborInfo[] {
    const out: NeighborInfo[] = [];
    for (const iface of this.ctx.ifaces.values()) {
      for (const n of iface.neighbors.values()) {
        out.push({
          linkId: iface.cfg.linkId,
          interface: iface.cfg.name,
          routerId: formatRouterId(n.routerId),
          state: n.state,
          address: formatIpv6(n.address),
          deadIn: Math.max(0, Math.ceil((n.inactivityDue - now) / 1000)),
          priority: n.priority,
          interfaceId: n.interfaceId,
          uptime: Math.max(0, Math.floor((now - n.stateSince) / 1000)),
          retransmitQueue: n.rxmt.size,
          requestQueue: n.requests.size,
        });
      }
    }
    return out;
  }

  /**
   * The area as SPF sees it: every router (its ID, its /128s) and every point-to-point adjacency both
   * ends advertise (an edge per direction, with its metric). What a topology map draws.
   */
  topology(now = this.lastNow): { routers: { routerId: string; self: boolean; prefixes: string[] }[]; edges: { from: string; to: string; metric: number }[] } {
    const { input } = buildSpfInput(this.ctx.lsdb, now, { routerId: this.routerId, links: ourRouterLinks(this.ctx), prefixes: this.prefixes });
    const prefixes = new Map<number, string[]>();
    for (const p of input.intraPrefixes) {
      if (p.attachedTo.kind !== 'router') continue;
      const list = prefixes.get(p.attachedTo.routerId) ?? [];
      list.push(`${formatIpv6(Buffer.from(p.prefix))}/${p.length}`);
      prefixes.set(p.attachedTo.routerId, list);
    }
    const routers = [...input.routers.values()].map((r) => ({ routerId: formatRouterId(r.routerId), self: r.routerId === this.routerId, prefixes: prefixes.get(r.routerId) ?? [] }));
    const edges = [];
    for (const r of input.routers.values()) {
      for (const l of r.links) {
        if (l.type !== 'p2p' || !input.routers.has(l.neighborRouterId)) continue;
        edges.push({ from: formatRouterId(r.routerId), to: formatRouterId(l.neighborRouterId), metric: l.metric });
      }
    }
    return { routers, edges };
  }

  database(now = this.lastNow): DatabaseEntryInfo[] {
    const names = new Map<number, string>();
    for (const i of this.ctx.ifaces.values()) names.set(i.cfg.linkId, i.cfg.name);
    const out: DatabaseEntryInfo[] = [];
    for (const e of this.ctx.lsdb.entries()) {
      const h = e.lsa.header;
      out.push({
        scope:
          e.scope === FloodingScope.LinkLocal
            ? `link ${names.get(e.linkId ?? -1) ?? e.linkId}`
            : e.scope === FloodingScope.Area
              ? `area ${formatAreaId(this.areaId)}`
              : 'as',
        type: LS_TYPE_NAMES[h.type] ?? `0x${h.type.toString(16).padStart(4, '0')}`,
        linkStateId: formatRouterId(h.linkStateId),
        advertisingRouter: formatRouterId(h.advertisingRouter),
        sequence: `0x${(h.sequence >>> 0).toString(16).padStart(8, '0')}`,
        age: entryAge(e, now),
        checksum: `0x${h.checksum.toString(16).padStart(4, '0')}`,
        length: h.length,
      });
    }
    return out;
  }

  interfaces(): InterfaceInfo[] {
    return [...this.ctx.ifaces.values()].map((i: Iface) => ({
      linkId: i.cfg.linkId,
      name: i.cfg.name,
      state: i.state,
      interfaceId: i.cfg.interfaceId,
      cost: i.cfg.cost,
      helloInterval: i.cfg.helloInterval,
      deadInterval: i.cfg.deadInterval,
      retransmitInterval: i.cfg.retransmitInterval,
      mtu: i.cfg.mtu,
      auth: i.cfg.auth !== undefined,
      neighbors: i.neighbors.size,
      adjacencies: [...i.neighbors.values()].filter((n) => n.state === NbrState.Full).length,
    }));
  }

  routes(): OspfRoute[] {
    return this.currentRoutes;
  }

  conflicts(): AddressConflict[] {
    return [...this.knownConflicts.values()];
  }

  counters(): Record<string, number> {
    return { ...this.ctx.counters };
  }

  /**
   * What still damps this router's reaction to the next change: the SPF backoff (0 once reset), our LSAs
   * held back by their hold, and the microloop hold. All zero: a change now is handled at full speed.
   */
  damping(now = this.lastNow): { spfBackoffMs: number; lsasHeld: number; lsaDueInMs: number | null; microloopHoldMs: number } {
    return {
      spfBackoffMs: this.throttle.backoffAt(now),
      lsasHeld: this.origin.held.size,
      lsaDueInMs: this.origin.pendingDue === undefined ? null : Math.max(0, this.origin.pendingDue - now),
      microloopHoldMs: this.microloopHold ? Math.max(0, this.microloopHold.until - now) : 0,
    };
  }

  /** Our LSAs as we want them now (for tests and `show`). */
  ownLsas(): ReturnType<typeof desiredLsas> {
    return desiredLsas(this.ctx, this.prefixes);
  }
}
