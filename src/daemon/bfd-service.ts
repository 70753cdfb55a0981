/**
 * BFD in the daemon: one single-hop session per link (RFC 5881) toward the neighbor's link-local
 * address, and configured multihop sessions (RFC 5883, UDP 4784) from our mesh address to other mesh
 * nodes, routed like any packet. Packets go as UDP inside IPv6 through the control-plane door (hop limit
 * 255, source port from 49152-65535); one timer for all sessions, driven by their next-wake times. BFD
 * knows nothing of OSPF: the daemon subscribes to single-hop state changes and acts on them.
 */
import type { Logger } from '../common/log.js';
import type { MoltnetConfig } from '../config/schema.js';
import { formatIpv6 } from '../common/address.js';
import { BfdSession, BFD_GTSM_HOP_LIMIT, BFD_PORT_MULTIHOP, BFD_PORT_SINGLE_HOP, bfdRxName, type BfdStateChange } from '../controlplane/bfd/session.js';
import { BfdSessionTable, BfdDemuxError } from '../controlplane/bfd/discriminators.js';
import { BFD_HEADER_LEN, BfdAuthType, BfdState, bfdYourDiscriminator } from '../controlplane/bfd/packet.js';
import type { BfdAuthOptions } from '../controlplane/bfd/session.js';
import type { ControlPacketIo, ReceivedPacket } from '../controlplane/packet-io.js';

interface Entry {
  /** Single hop: the link. Multihop: -1 (the link is looked up per packet). */
  linkId: number;
  linkName: string;
  multihop: boolean;
  peer: Buffer;
  session: BfdSession;
  nextWake: number;
  wasUp: boolean;
}

export type BfdLinkEvent = (linkId: number, up: boolean, change: BfdStateChange) => void;

const STATE_NAMES = ['AdminDown', 'Down', 'Init', 'Up'];

export class BfdService {
  private readonly table = new BfdSessionTable<Entry>();
  private readonly byLink = new Map<number, Entry>();
  private readonly multihop = new Map<string, Entry>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  readonly counters: Record<string, number> = { rx: 0, rx_no_session: 0, rx_bad: 0 };

  constructor(
    private readonly cfg: MoltnetConfig,
    private readonly packetIo: ControlPacketIo,
    private readonly log: Logger,
    private readonly onLinkEvent: BfdLinkEvent,
    /** Our mesh address: the source of multihop sessions. */
    private readonly meshAddress: Buffer,
    /** The link a packet to this address leaves on, by the route table; undefined without a route. */
    private readonly routeLink: (dst: Buffer) => number | undefined,
  ) {
    packetIo.handlers.bfd = (p) => this.receive(p);
  }

  /** Run a session on this link toward `peer` (its link-local); replaces one toward another address. */
  ensureSession(linkId: number, linkName: string, peer: Buffer): void {
    const cur = this.byLink.get(linkId);
    if (cur && cur.peer.equals(peer)) return;
    if (cur) this.removeSession(linkId);
    const discr = this.table.allocate();
    const session = new BfdSession({
      localDiscriminator: discr,
      desiredMinTxMs: this.cfg.bfd.minTxMs,
      requiredMinRxMs: this.cfg.bfd.minRxMs,
      detectMult: this.cfg.bfd.multiplier,
      ...(this.cfg.bfd.authentication ? { auth: authOptions(this.cfg.bfd.authentication) } : {}),
    });
    const entry: Entry = { linkId, linkName, multihop: false, peer: Buffer.from(peer), session, nextWake: 0, wasUp: false };
    this.table.add(discr, { peer: formatIpv6(peer), via: linkName }, entry);
    this.byLink.set(linkId, entry);
    session.onStateChange((c) => this.stateChanged(entry, c));
    this.service(entry, performance.now());
    this.reschedule();
  }

  /** A multihop session (RFC 5883) to another mesh node's address. */
  ensureMultihop(peer: Buffer): void {
    const key = formatIpv6(peer);
    if (this.multihop.has(key)) return;
    const discr = this.table.allocate();
    const session = new BfdSession({
      localDiscriminator: discr,
      multihop: true,
      desiredMinTxMs: this.cfg.bfd.minTxMs,
      requiredMinRxMs: this.cfg.bfd.minRxMs,
      detectMult: this.cfg.bfd.multiplier,
      ...(this.cfg.bfd.authentication ? { auth: authOptions(this.cfg.bfd.authentication) } : {}),
    });
    const entry: Entry = { linkId: -1, linkName: '-', multihop: true, peer: Buffer.from(peer), session, nextWake: 0, wasUp: false };
    this.table.add(discr, { peer: key, via: formatIpv6(this.meshAddress), multihop: true }, entry);
    this.multihop.set(key, entry);
    session.onStateChange((c) => this.stateChanged(entry, c));
    this.service(entry, performance.now());
    this.reschedule();
  }

  private *entries(): Generator<Entry> {
    yield* this.byLink.values();
    yield* this.multihop.values();
  }

  removeSession(linkId: number): void {
    const e = this.byLink.get(linkId);
    if (!e) return;
    this.byLink.delete(linkId);
    this.table.remove(e.session.localDiscriminator);
    this.reschedule();
  }

  sessions(): unknown[] {
    return [...this.entries()].map((e) => ({
      link: e.linkName,
      peer: formatIpv6(e.peer),
      ...e.session.status(),
    }));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
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
      via: multihop ? formatIpv6(this.meshAddress) : (link?.linkName ?? `link${p.linkId}`),
      multihop,
    });
    if (!d.ok) {
      this.counters[d.code === BfdDemuxError.UnknownPeer ? 'rx_no_session' : 'rx_bad']!++;
      return;
    }
    const now = performance.now();
    const rc = d.session.session.receive(p.payload, { hopLimit: p.hopLimit, now });
    if (rc < 0) this.log.debug({ link: d.session.linkName, reason: bfdRxName(rc) }, 'bfd packet dropped');
    this.service(d.session, now);
    this.reschedule();
  }

  /** Poll a session: send what is due, remember when it next wants to run. */
  private service(e: Entry, now: number): void {
    const r = e.session.poll(now);
    if (r.transmit) {
      if (!e.multihop) {
        this.packetIo.sendUdp(e.linkId, e.peer, e.session.sourcePort, BFD_PORT_SINGLE_HOP, BFD_GTSM_HOP_LIMIT, r.transmit);
      } else {
        const linkId = this.routeLink(e.peer);
        if (linkId === undefined) this.counters['tx_no_route'] = (this.counters['tx_no_route'] ?? 0) + 1;
        else this.packetIo.sendUdp(linkId, e.peer, e.session.sourcePort, BFD_PORT_MULTIHOP, BFD_GTSM_HOP_LIMIT, r.transmit, this.meshAddress);
      }
    }
    e.nextWake = r.nextWake;
  }

  private reschedule(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    let next = Infinity;
    for (const e of this.entries()) next = Math.min(next, e.nextWake);
    if (next === Infinity) return;
    this.timer = setTimeout(() => this.fire(), Math.max(0, next - performance.now()));
  }

  private fire(): void {
    const now = performance.now();
    for (const e of this.entries()) if (e.nextWake <= now) this.service(e, now);
    this.reschedule();
  }

  private stateChanged(e: Entry, c: BfdStateChange): void {
    this.log.info({ link: e.linkName, peer: formatIpv6(e.peer), from: STATE_NAMES[c.from], to: STATE_NAMES[c.to], diag: c.diag }, 'bfd session state');
    // Multihop sessions are monitoring: their state is shown, routing does not follow them.
    if (e.multihop) return;
    if (c.to === BfdState.Up) {
      e.wasUp = true;
      this.onLinkEvent(e.linkId, true, c);
    } else if (c.from === BfdState.Up) {
      this.onLinkEvent(e.linkId, false, c);
    }
  }
}

function authOptions(a: NonNullable<MoltnetConfig['bfd']['authentication']>): BfdAuthOptions {
  const type =
    a.type === 'simple' ? BfdAuthType.SimplePassword : a.type === 'keyed-sha1' ? BfdAuthType.KeyedSha1 : BfdAuthType.MeticulousKeyedSha1;
  return { type, keys: [{ id: a.keyId, secret: a.key }], sendKeyId: a.keyId };
}
