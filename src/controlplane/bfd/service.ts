/**
 * BFD as a service: one single-hop session per tunnel link (RFC 5881) toward the neighbor's link-local
 * address, sessions other services ask for (OSPF, for a kernel router whose address it learned), and
 * configured multihop sessions (RFC 5883, UDP 4784) from our mesh address to other mesh nodes, routed
 * like any packet. Packets go as UDP inside IPv6 through the control-plane door (hop limit 255, source
 * port from 49152-65535); one timer for all sessions, driven by their next-wake times.
 *
 * BFD knows nothing of OSPF: a single-hop session that leaves Up holds its link down in the link
 * manager (reason 'bfd'), and whoever cares (the RIB, OSPF) follows the link's events.
 *
 * A new link to an authenticated peer starts held down until its session first comes Up: otherwise a restarted node
 * forms adjacencies and carries traffic before BFD watches the link, and a failure in that window is
 * seen only at OSPF's dead interval. A peer that never brings the session Up (BFD off on its side) gets
 * the link after NO_BFD_GRACE_MS, unprotected, and the log says so.
 *
 * A session that comes back Up after a failure holds its link a while longer (dampening, as IOS-XR's
 * `bfd dampening`): HOLD_UP_MIN_MS at first, doubled by each further failure up to HOLD_UP_MAX_MS, back
 * to the shortest after HOLD_UP_RESET_MS without one. A link flapping faster than that stays down and
 * the mesh keeps routing around it, instead of taking every short up-phase and losing traffic on each
 * down-phase while the far routers' LSAs catch up.
 *
 * A detection time that expires is confirmed before the session goes Down: the packet door is asked to
 * catch up first (the forwarding thread reads its sockets and hands up what it has). When this thread
 * was held (a long task, the host short of CPU), its timer runs before the packets that arrived in the
 * meantime, and without the check a session whose peer did send in time would be declared Down. The
 * check takes a round trip to the forwarding thread, under a millisecond when it is running, and never
 * more than DETECT_CONFIRM_MAX_MS.
 *
 * The other half of a held thread is the packets it does not send. A single-hop session that is Up hands
 * the forwarding thread its steady packet (src/dataplane/bfd-stand-in.ts), which that thread sends in our
 * place while this one misses its interval, for up to a few seconds. Not with SHA1 authentication: its
 * sequence number moves on with every packet, so a repeated one would be refused.
 */
import { formatIpv6, linkLocalFor } from '../../common/address.js';
import type { MoltnetConfig } from '../../config/schema.js';
import { BfdSession, type BfdSessionStatus, BFD_GTSM_HOP_LIMIT, BFD_PORT_MULTIHOP, BFD_PORT_SINGLE_HOP, bfdRxName, type BfdAuthOptions, type BfdStateChange } from './session.js';
import { BfdSessionTable, BfdDemuxError } from './discriminators.js';
import { BFD_FLAG_FINAL, BFD_FLAG_POLL, BFD_HEADER_LEN, BFD_STATE_FLAGS, BfdAuthType, BfdState, bfdYourDiscriminator } from './packet.js';
import { parseIpv6Address } from '../../dataplane/wire/ipv6.js';
import type { ReceivedPacket } from '../packet-io.js';
import type { Service, ServiceContext } from '../service.js';
import type { Link } from '../link-manager.js';

export type BfdConfig = MoltnetConfig['bfd'];

interface Entry {
  /** Single hop: the link. Multihop: -1 (the link is looked up per packet). */
  linkId: number;
  linkName: string;
  multihop: boolean;
  peer: Buffer;
  session: BfdSession;
  nextWake: number;
  /** The grace timer of a link held since it was added (cleared at the first Up). */
  grace?: unknown;
  /** Dampening: the session has been Up before, when it last failed, the hold now, its timer. */
  wasUp?: boolean;
  failedAt?: number;
  holdUpMs?: number;
  holdUp?: unknown;
  /** Its detection time expired; waiting for the packet door to catch up before going Down. */
  confirming?: boolean;
  /** The steady packet and interval the forwarding thread sends in our place while this thread is held. */
  standIn?: Buffer;
  standInIntervalMs?: number;
  /** Expired detection times checked, and those a packet already there brought back. */
  detectChecks: number;
  detectSaved: number;
}

const STATE_NAMES = ['AdminDown', 'Down', 'Init', 'Up'];
/** The link manager's reason while a session holds its link down. */
export const BFD_DOWN_REASON = 'bfd';
/** How long a new link waits for its session to come Up before it is let go without BFD. */
export const NO_BFD_GRACE_MS = 5_000;
export const HOLD_UP_MIN_MS = 1_000;
export const HOLD_UP_MAX_MS = 8_000;
export const HOLD_UP_RESET_MS = 20_000;
/** The longest an expired detection time waits for the packet door to catch up. */
export const DETECT_CONFIRM_MAX_MS = 100;

/** What other services may ask of BFD. */
export interface BfdApi {
  /** Run a session on this link toward `peer` (its link-local); replaces one toward another address. */
  ensureSession(linkId: number, linkName: string, peer: Buffer): void;
  removeSession(linkId: number): void;
}

export class BfdService implements Service<BfdConfig>, BfdApi {
  readonly name = 'bfd';
  private ctx!: ServiceContext<BfdConfig>;
  private cfg!: BfdConfig;
  private readonly table = new BfdSessionTable<Entry>();
  private readonly byLink = new Map<number, Entry>();
  private readonly multihop = new Map<string, Entry>();
  private timer: unknown;
  private stopped = false;
  private readonly unsubscribe: (() => void)[] = [];
  /**
   * detect_confirm: expired detection times checked against the packet door; detect_saved: of those, the
   * ones a packet that was already there brought back (a Down avoided); detect_confirm_timeout: the door
   * did not answer within DETECT_CONFIRM_MAX_MS.
   */
  readonly counters: Record<string, number> = {
    rx: 0,
    rx_no_session: 0,
    rx_bad: 0,
    tx_no_route: 0,
    detect_confirm: 0,
    detect_saved: 0,
    detect_confirm_timeout: 0,
  };

  start(ctx: ServiceContext<BfdConfig>): void {
    this.ctx = ctx;
    this.cfg = ctx.config;
    ctx.packets.handlers.bfd = (p) => this.receive(p);
    const added = (l: Link) => {
      if (l.peerMesh) this.ensureSession(l.id, l.name, parseIpv6Address(linkLocalFor(formatIpv6(l.peerMesh))));
    };
    const removed = (l: Link) => this.removeSession(l.id);
    // Links to authenticated peers, MoltNet nodes that run BFD. Not kernel links (sessions only when OSPF
    // asks) nor unauthenticated peers (a kernel vxlan device, say), which may have no BFD at all.
    this.unsubscribe.push(ctx.links.holdNewLinks(BFD_DOWN_REASON, (l) => l.peerMesh !== undefined && l.request.authenticated === true));
    ctx.links.on('added', added);
    ctx.links.on('removed', removed);
    this.unsubscribe.push(() => ctx.links.off('added', added), () => ctx.links.off('removed', removed));
    for (const l of ctx.links.list()) added(l);
    for (const peer of this.cfg.multihop) this.ensureMultihop(parseIpv6Address(peer));
    ctx.queries.register('bfd', () => this.sessions());
    const up = ctx.metrics.gauge({
      name: 'moltnet_bfd_session_up',
      help: 'BFD session state: 1 Up, 0 otherwise',
      labelNames: ['link', 'peer', 'multihop'],
      collect: () => {
        up.reset();
        for (const e of this.entries()) {
          up.set({ link: e.linkName, peer: formatIpv6(e.peer), multihop: String(e.multihop) }, e.session.status().state === 'Up' ? 1 : 0);
        }
      },
    });
  }

  /** Timer or auth changes restart the sessions; the multihop list alone changes in place. */
  reconfigure(section: BfdConfig): boolean {
    const { multihop: a, ...restA } = section;
    const { multihop: b, ...restB } = this.cfg;
    if (JSON.stringify(restA) !== JSON.stringify(restB)) return false;
    this.cfg = section;
    const wanted = new Set(a);
    for (const [key, e] of this.multihop) {
      if (!wanted.has(key)) {
        this.multihop.delete(key);
        this.table.remove(e.session.localDiscriminator);
      }
    }
    for (const peer of a) this.ensureMultihop(parseIpv6Address(peer));
    void b;
    this.reschedule();
    return true;
  }

  ensureSession(linkId: number, linkName: string, peer: Buffer): void {
    if (this.stopped) return;
    const cur = this.byLink.get(linkId);
    if (cur && cur.peer.equals(peer)) return;
    if (cur) this.removeSession(linkId);
    const entry = this.newEntry(linkId, linkName, false, peer);
    this.table.add(entry.session.localDiscriminator, { peer: formatIpv6(peer), via: linkName }, entry);
    this.byLink.set(linkId, entry);
    if (this.ctx.links.get(linkId)?.downReasons.has(BFD_DOWN_REASON)) {
      entry.grace = this.ctx.timers.setTimeout(() => {
        entry.grace = undefined;
        if (this.byLink.get(linkId) !== entry || entry.session.status().state === 'Up') return;
        this.ctx.log.warn({ link: linkName, peer: formatIpv6(peer), waitedMs: NO_BFD_GRACE_MS }, 'no BFD session came up on a new link: it carries traffic without BFD protection');
        this.ctx.links.setDown(linkId, BFD_DOWN_REASON, false);
      }, NO_BFD_GRACE_MS);
    }
    this.service(entry, this.ctx.clock.now());
    this.reschedule();
  }

  removeSession(linkId: number): void {
    const e = this.byLink.get(linkId);
    if (!e) return;
    this.byLink.delete(linkId);
    this.table.remove(e.session.localDiscriminator);
    if (e.grace !== undefined) this.ctx.timers.clearTimeout(e.grace);
    if (e.holdUp !== undefined) this.ctx.timers.clearTimeout(e.holdUp);
    this.endStandIn(e);
    // A session that is gone holds nothing down.
    this.ctx.links.setDown(linkId, BFD_DOWN_REASON, false);
    this.reschedule();
  }

  /** `detectChecks`: expired detection times checked against the packet door; `detectSaved`: Downs it avoided. */
  sessions(): (BfdSessionStatus & { link: string; peer: string; detectChecks: number; detectSaved: number })[] {
    return [...this.entries()].map((e) => ({ link: e.linkName, peer: formatIpv6(e.peer), ...e.session.status(), detectChecks: e.detectChecks, detectSaved: e.detectSaved }));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.ctx.timers.clearTimeout(this.timer);
    for (const e of this.byLink.values()) {
      if (e.grace !== undefined) this.ctx.timers.clearTimeout(e.grace);
      if (e.holdUp !== undefined) this.ctx.timers.clearTimeout(e.holdUp);
      this.endStandIn(e);
    }
    for (const u of this.unsubscribe.splice(0)) u();
    if (this.ctx.packets.handlers.bfd) delete this.ctx.packets.handlers.bfd;
    for (const id of [...this.byLink.keys()]) this.ctx.links.setDown(id, BFD_DOWN_REASON, false);
  }

  private ensureMultihop(peer: Buffer): void {
    const key = formatIpv6(peer);
    if (this.multihop.has(key)) return;
    const entry = this.newEntry(-1, '-', true, peer);
    this.table.add(entry.session.localDiscriminator, { peer: key, via: formatIpv6(this.ctx.node.meshAddress), multihop: true }, entry);
    this.multihop.set(key, entry);
    this.service(entry, this.ctx.clock.now());
    this.reschedule();
  }

  private newEntry(linkId: number, linkName: string, multihop: boolean, peer: Buffer): Entry {
    const session = new BfdSession({
      localDiscriminator: this.table.allocate(),
      ...(multihop ? { multihop: true } : {}),
      ...(multihop
        ? { desiredMinTxMs: this.cfg.multihopTimers.minTxMs, requiredMinRxMs: this.cfg.multihopTimers.minRxMs, detectMult: this.cfg.multihopTimers.multiplier }
        : { desiredMinTxMs: this.cfg.minTxMs, requiredMinRxMs: this.cfg.minRxMs, detectMult: this.cfg.multiplier }),
      ...(this.cfg.authentication ? { auth: authOptions(this.cfg.authentication) } : {}),
    });
    const entry: Entry = { linkId, linkName, multihop, peer: Buffer.from(peer), session, nextWake: 0, detectChecks: 0, detectSaved: 0 };
    session.onStateChange((c) => this.stateChanged(entry, c));
    return entry;
  }

  private *entries(): Generator<Entry> {
    yield* this.byLink.values();
    yield* this.multihop.values();
  }

  private receive(p: ReceivedPacket): void {
    this.counters['rx']!++;
    // Too short to demultiplex; every other bad field is counted by reason in the session it reaches.
    if (p.payload.length < BFD_HEADER_LEN) {
      this.counters['rx_bad']!++;
      return;
    }
    const multihop = p.dstPort === BFD_PORT_MULTIHOP;
    const link = this.byLink.get(p.linkId);
    const d = this.table.demux(bfdYourDiscriminator(p.payload, 0), {
      peer: formatIpv6(p.src),
      via: multihop ? formatIpv6(this.ctx.node.meshAddress) : (link?.linkName ?? `link${p.linkId}`),
      multihop,
    });
    if (!d.ok) {
      this.counters[d.code === BfdDemuxError.UnknownPeer ? 'rx_no_session' : 'rx_bad']!++;
      return;
    }
    const now = this.ctx.clock.now();
    const rc = d.session.session.receive(p.payload, { hopLimit: p.hopLimit, now });
    if (rc < 0) this.ctx.log.debug({ link: d.session.linkName, reason: bfdRxName(rc) }, 'bfd packet dropped');
    // A dropped packet does not end a confirmation under way: the door may still hold a good one.
    this.service(d.session, now, !d.session.confirming);
    this.reschedule();
  }

  /** Poll a session: send what is due, remember when it next wants to run. */
  private service(e: Entry, now: number, detect = true): void {
    const r = e.session.poll(now, detect);
    if (r.transmit) {
      if (!e.multihop) {
        this.ctx.packets.sendUdp(e.linkId, e.peer, e.session.sourcePort, BFD_PORT_SINGLE_HOP, BFD_GTSM_HOP_LIMIT, r.transmit);
        this.updateStandIn(e, r.transmit);
      } else {
        const linkId = this.ctx.lookupRoute(e.peer);
        if (linkId === undefined) this.counters['tx_no_route']!++;
        else this.ctx.packets.sendUdp(linkId, e.peer, e.session.sourcePort, BFD_PORT_MULTIHOP, BFD_GTSM_HOP_LIMIT, r.transmit, this.ctx.node.meshAddress);
      }
    }
    e.nextWake = r.nextWake;
  }

  /** A steady packet of an Up session (no Poll, no Final) becomes the stand-in's when it changed. */
  private updateStandIn(e: Entry, packet: Buffer): void {
    const auth = this.cfg.authentication;
    if (auth && auth.type !== 'simple') return;
    const flags = packet[BFD_STATE_FLAGS]!;
    if (flags >> 6 !== BfdState.Up || (flags & (BFD_FLAG_POLL | BFD_FLAG_FINAL)) !== 0) return;
    const interval = e.session.txIntervalMs;
    if (e.standIn !== undefined && e.standInIntervalMs === interval && e.standIn.equals(packet)) return;
    e.standIn = Buffer.from(packet);
    e.standInIntervalMs = interval;
    this.ctx.packets.standInUdp(e.linkId, e.peer, e.session.sourcePort, BFD_PORT_SINGLE_HOP, BFD_GTSM_HOP_LIMIT, e.standIn, interval);
  }

  private endStandIn(e: Entry): void {
    if (e.standIn === undefined) return;
    e.standIn = undefined;
    e.standInIntervalMs = undefined;
    this.ctx.packets.standInUdp(e.linkId, e.peer, e.session.sourcePort, BFD_PORT_SINGLE_HOP, BFD_GTSM_HOP_LIMIT, null, 0);
  }

  private reschedule(): void {
    if (this.stopped) return;
    if (this.timer !== undefined) this.ctx.timers.clearTimeout(this.timer);
    this.timer = undefined;
    let next = Infinity;
    for (const e of this.entries()) if (!e.confirming) next = Math.min(next, e.nextWake);
    if (next === Infinity) return;
    this.timer = this.ctx.timers.setTimeout(() => this.fire(), Math.max(0, next - this.ctx.clock.now()));
  }

  private fire(): void {
    this.timer = undefined;
    const now = this.ctx.clock.now();
    let expired: Entry[] | undefined;
    for (const e of this.entries()) {
      if (e.confirming || e.nextWake > now) continue;
      if (e.session.detectionExpired(now)) {
        // Sent what is due now; Down waits for the packet door (the file's header says why).
        e.confirming = true;
        (expired ??= []).push(e);
        this.service(e, now, false);
      } else {
        this.service(e, now);
      }
    }
    this.reschedule();
    if (expired) this.confirmExpired(expired);
  }

  private confirmExpired(expired: Entry[]): void {
    this.counters['detect_confirm']! += expired.length;
    const firedAt = this.ctx.clock.now();
    let done = false;
    const finish = (timedOut: boolean) => {
      if (done) return;
      done = true;
      if (timedOut) this.counters['detect_confirm_timeout']! += expired.length;
      else this.ctx.timers.clearTimeout(bound);
      if (this.stopped) return;
      const now = this.ctx.clock.now();
      for (const e of expired) {
        e.confirming = false;
        // Removed meanwhile (its link went): nothing to decide.
        if (e.multihop ? this.multihop.get(formatIpv6(e.peer)) !== e : this.byLink.get(e.linkId) !== e) continue;
        e.detectChecks++;
        const saved = !e.session.detectionExpired(now);
        if (saved) {
          e.detectSaved++;
          this.counters['detect_saved']!++;
        }
        this.ctx.log.info(
          { link: e.linkName, peer: formatIpv6(e.peer), lateMs: Math.round(now - firedAt), doorTimedOut: timedOut, kept: saved },
          saved ? 'bfd detection time expired while packets were waiting in the door: kept Up' : 'bfd detection time expired: the door had nothing newer',
        );
        this.service(e, now);
      }
      this.reschedule();
    };
    const bound = this.ctx.timers.setTimeout(() => finish(true), DETECT_CONFIRM_MAX_MS);
    this.ctx.packets.caughtUp(() => finish(false));
  }

  private stateChanged(e: Entry, c: BfdStateChange): void {
    this.ctx.log.info({ link: e.linkName, peer: formatIpv6(e.peer), from: STATE_NAMES[c.from], to: STATE_NAMES[c.to], diag: c.diag }, 'bfd session state');
    // Multihop sessions are monitoring: their state is shown, routing does not follow them.
    if (e.multihop || this.byLink.get(e.linkId) !== e) return;
    // Not Up any more: nobody may go on saying Up for us (the packet of the change follows this).
    if (c.to !== BfdState.Up) this.endStandIn(e);
    if (c.to === BfdState.Up) {
      if (e.grace !== undefined) this.ctx.timers.clearTimeout(e.grace);
      e.grace = undefined;
      if (!e.wasUp) {
        e.wasUp = true;
        this.ctx.links.setDown(e.linkId, BFD_DOWN_REASON, false);
        return;
      }
      const hold = e.holdUpMs ?? HOLD_UP_MIN_MS;
      this.ctx.log.info({ link: e.linkName, holdMs: hold }, 'bfd session back Up: the link waits out its hold');
      e.holdUp = this.ctx.timers.setTimeout(() => {
        e.holdUp = undefined;
        if (this.byLink.get(e.linkId) === e && e.session.status().state === 'Up') this.ctx.links.setDown(e.linkId, BFD_DOWN_REASON, false);
      }, hold);
    } else if (c.from === BfdState.Up) {
      const now = this.ctx.clock.now();
      if (e.holdUp !== undefined) this.ctx.timers.clearTimeout(e.holdUp);
      e.holdUp = undefined;
      // Failing again soon after the last failure: the next hold is longer.
      e.holdUpMs = e.failedAt !== undefined && now - e.failedAt < HOLD_UP_RESET_MS ? Math.min(2 * (e.holdUpMs ?? HOLD_UP_MIN_MS), HOLD_UP_MAX_MS) : HOLD_UP_MIN_MS;
      e.failedAt = now;
      this.ctx.links.setDown(e.linkId, BFD_DOWN_REASON, true);
    }
  }
}

function authOptions(a: NonNullable<BfdConfig['authentication']>): BfdAuthOptions {
  const type =
    a.type === 'simple' ? BfdAuthType.SimplePassword : a.type === 'keyed-sha1' ? BfdAuthType.KeyedSha1 : BfdAuthType.MeticulousKeyedSha1;
  return { type, keys: [{ id: a.keyId, secret: a.key }], sendKeyId: a.keyId };
}
