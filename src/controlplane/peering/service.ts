/**
 * Authenticated peering (spec §3.2) as a service: the TCP 6802 server and the dialer for every peer
 * that must prove who it is, and the rule that ties links to it: a peer's link exists in the data plane
 * only while an authenticated session with that peer is up.
 *
 *   addPeer     authenticate: false -> the link now (a Linux vxlan device, a non-MoltNet peer);
 *               otherwise its underlay sender is held as pending (drop_unauthenticated) and dialled
 *   session up  the first established session adds the link with the parameters agreed in the
 *               handshake; the MoltID is pinned (stateDir/known-peers.json) on first sight
 *   session down the last session gone (EOF, hold time, error) removes the link, holds the sender
 *               pending again and dials with backoff
 *   link down   down for longer than the OSPF dead interval: the sessions are closed and peering runs again
 *
 * Both sides dial; when both connections succeed, the node with the lower uuid closes the one it did not
 * open, so both keep the same one.
 *
 * Discovery (Moltbook, LAN beacons, peer exchange) hands in peers with addDiscovered(): they are dialled
 * like configured ones and dropped after repeated failures. While discovery is on, a peer that is not
 * known here and dials us is accepted once its handshake succeeds ('inbound'; it goes when its session
 * does). Peer exchange runs on the sessions: a PeersRequest is answered with the signed bindings of the
 * peers this node has authenticated, which the asker checks and dials.
 *
 * NAT traversal, as the anchors (Tailscale, Nebula) do it, with the mesh as the rendezvous:
 *   - a relay (peering.relay, capability 'relay') tells each peer where that peer's VXLAN packets come
 *     from (`observed`: its NAT's mapping, which the forwarding plane learns on the peer's roaming link);
 *   - a peer whose endpoint does not answer but whose mesh address is routed (through the relay) is
 *     dialled at its mesh address: the session rides the mesh, authenticated like any other;
 *   - over such a session each side sends its `candidates` (the mapping its relay saw first) and makes
 *     its link toward the other's; both sending at once opens both NATs (hole punching). When the direct
 *     link's OSPF adjacency forms, it is the shorter path and traffic moves to it; when it never does
 *     (a NAT that maps per destination, a firewall), traffic stays on the relayed path.
 */
import { EventEmitter } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { DEFAULT_PORTS, DEFAULT_VNI, parseHostPort, type HostPort, type MoltnetConfig, type PeerConfig } from '../../config/schema.js';
import { formatIpv6, isMeshAddress, meshAddressBytes, uuidToMeshAddress } from '../../common/address.js';
import { deriveGreKey } from '../../transport/wire/gre.js';
import { PORTS } from '../../common/ports.js';
import type { Link, LinkRequest } from '../link-manager.js';
import type { Service, ServiceContext } from '../service.js';
import type { MoltIdBackend } from '../identity/backend.js';
import { ReplayCache, signBinding, verifySignedBinding, type LocalIdentity, type PeerPolicy, type VerifiedPeer } from './handshake.js';
import { MAX_FRAME, encodeRegistryInfo, type LinkParams, type RegistryRecord, type SessionMessage, type SignedBinding } from './messages.js';
import { MeshRegistry, REGISTRY_TAG } from './registry.js';
import { VERSION } from '../../common/version.js';
import { SourceLimiter } from './limits.js';
import { PinStore } from './pins.js';
import { PeeringSession } from './session.js';
import { BFD_DOWN_REASON } from '../bfd/service.js';
import { TrustPolicy, canonicalEntry } from './trust.js';

export interface PeeringSection {
  peering: MoltnetConfig['peering'];
  /** OSPF's dead interval (s): a link down this long is peered again. */
  deadInterval: number;
  wireguard: MoltnetConfig['wireguard'];
  discovery: MoltnetConfig['discovery'];
  /** Some discovery runs (Moltbook with an API key, LAN beacons, exchange): unknown peers may dial in. */
  discovering: boolean;
  /** This node's name and the mesh services it runs, for its registry record. */
  name: string | undefined;
  services: string[];
}

export type PeerState = 'connecting' | 'handshake' | 'established' | 'refused' | 'waiting' | 'unauthenticated';
/** How this node knows a peer. */
export type PeerSource = 'config' | 'runtime' | 'moltbook' | 'lan' | 'exchange' | 'inbound';

/** A peer found by discovery. */
export interface DiscoveredPeer {
  uuid: string;
  endpoint: HostPort;
  /** A name to show it by (a Moltbook author's); made unique here. */
  name?: string;
  source: 'moltbook' | 'lan' | 'exchange';
}

export interface PeeringEvents {
  established: [peer: { name: string; uuid: string; address: string; endpoint: HostPort; source: PeerSource; moltid: string }];
  dropped: [peer: { name: string; uuid: string | undefined; source: PeerSource; reason: string }];
}

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 15_000;
const REFUSED_RETRY_MS = 5_000;
const MAX_REFUSED_RETRY_MS = 60_000;
const CONNECT_TIMEOUT_MS = 5_000;
const MAX_HANDSHAKES = 256;
/** A discovered peer that failed this many dials in a row is dropped. */
const MAX_DISCOVERED_FAILURES = 6;
/** Peer exchange: bindings per reply. */
const MAX_EXCHANGE = 64;
/** Hole punching: candidate endpoints read from a peer. */
const MAX_CANDIDATES = 8;
/** The registry: our record is re-signed this often; records not refreshed for 5 times that expire. */
const REGISTRY_REFRESH_MS = 60_000;
const REGISTRY_MAX_RECORDS = 4096;
/** Registry records per message: they are flooded in frames of at most MAX_FRAME bytes. */
const REGISTRY_FRAME_BUDGET = MAX_FRAME - 1024;

interface PeerEntry {
  config: PeerConfig;
  origin: 'config' | 'runtime' | 'discovered';
  source: PeerSource;
  /** Dials (or handshakes) that failed in a row. */
  failures: number;
  /** The peer's own signed binding from its last handshake, for peer exchange. */
  signed: SignedBinding | undefined;
  state: PeerState;
  reason: string | undefined;
  since: number;
  attempts: number;
  sessions: Set<PeeringSession>;
  moltid: string | undefined;
  uuid: string | undefined;
  link: Link | undefined;
  /** What the link was made with; a session that agrees on other parameters remakes it. */
  linkKey: string | undefined;
  release: (() => void) | undefined;
  dialTimer: unknown;
  downTimer: unknown;
  retryMs: number;
  dialing: boolean;
  /** Link changes for this peer run one at a time. */
  ops: Promise<void>;
  removed: boolean;
  /** Dial the peer's mesh address next: its endpoint did not answer and the mesh routes to it. */
  viaMesh: boolean;
  /** What the peer offered in its handshake. */
  capabilities: string[];
  /** A session carried by the mesh: the peer's candidates, and the one its link was made toward. */
  candidates: string[] | undefined;
  punched: string | undefined;
}

/** What a WireGuard link learns from the handshake. */
export interface WireGuardPeerParams {
  publicKey: Uint8Array;
  port: number;
}

/** The params a peer's link request carries: its config and, for wireguard, what the handshake taught. */
export interface PeerLinkRequestParams {
  peer: PeerConfig;
  wireguard?: WireGuardPeerParams;
  /** An inbound peer (maybe behind NAT): its link answers the UDP port its packets come from. */
  roam?: boolean;
}

/** The parts of a session's message this service reads. */
type ExchangeMessage = Extract<SessionMessage, { peersRequest: unknown } | { peersReply: unknown }>;

/** The registry's view for other services (DNS names, RPC signature checks). */
export interface RegistryView {
  name: string;
  uuid: string;
  address: string;
  moltid: string;
  capabilities: string[];
  services: string[];
  version: string;
  ageSeconds: number;
  ownsName: boolean;
}

export class PeeringService implements Service<PeeringSection> {
  readonly name = 'peering';
  private ctx!: ServiceContext<PeeringSection>;
  private cfg!: PeeringSection;
  private server: Server | undefined;
  private backend: MoltIdBackend | undefined;
  private moltidKey: Buffer | undefined;
  private readonly peers = new Map<string, PeerEntry>();
  private readonly byAddress = new Map<string, PeerEntry>();
  private pins = new Map<string, string>();
  private pinStore!: PinStore;
  private limiter!: SourceLimiter;
  private readonly replay = new ReplayCache();
  private readonly inbound = new Set<PeeringSession>();
  private stopped = false;
  private readonly unsubscribe: (() => void)[] = [];
  private exchangeTimer: unknown;
  /** Mesh addresses an operator removed: not accepted inbound or from discovery until added again. */
  private readonly removedByOperator = new Set<string>();
  /** Where a relay sees this node's VXLAN packets come from (its NAT's mapping), and which relay said so. */
  private publicUdp: { endpoint: string; from: string } | undefined;
  /** The underlay address a session last reached a peer from (a binding's endpoint on mesh sessions). */
  private underlayLocal: string | undefined;
  readonly registry = new MeshRegistry({ maxRecords: REGISTRY_MAX_RECORDS, maxAgeMs: 5 * REGISTRY_REFRESH_MS, skewMs: 5 * 60_000 });
  private ownRecord: RegistryRecord | undefined;
  private registryTimer: unknown;
  readonly events = new EventEmitter<PeeringEvents>();
  readonly counters = {
    connections: 0,
    refused_connections: 0,
    handshakes_ok: 0,
    handshakes_failed: 0,
    sessions_lost: 0,
    exchange_received: 0,
    exchange_bad: 0,
    discovered_dropped: 0,
    observed_sent: 0,
    observed_received: 0,
    candidates_bad: 0,
    punch_attempts: 0,
  };

  constructor(private readonly wallClock: () => number = Date.now) {}

  async start(ctx: ServiceContext<PeeringSection>): Promise<void> {
    this.ctx = ctx;
    this.cfg = ctx.config;
    this.pinStore = new PinStore(ctx.node.stateDir);
    this.pins = await this.pinStore.load();
    this.limiter = this.makeLimiter();
    const identity = ctx.services.get<{ backend: MoltIdBackend }>('identity');
    this.backend = identity?.backend;
    if (this.backend?.kind === 'builtin') await this.backend.init();
    await this.loadKey();
    const onDown = (l: Link, reason: string) => this.linkDown(l, reason);
    const onUp = (l: Link) => this.linkUp(l);
    const onRoamed = (l: Link, endpoint: string) => this.roamed(l, endpoint);
    ctx.links.on('down', onDown);
    ctx.links.on('up', onUp);
    ctx.links.on('roamed', onRoamed);
    this.unsubscribe.push(() => ctx.links.off('down', onDown), () => ctx.links.off('up', onUp), () => ctx.links.off('roamed', onRoamed));
    ctx.queries.register('peers', () => this.describe());
    ctx.queries.register('peering', () => ({
      port: this.cfg.peering.port,
      moltid: this.moltidKey ? `MOLTID:0x${this.moltidKey.toString('hex')}` : null,
      relay: this.cfg.peering.relay,
      ...(this.publicUdp ? { publicEndpoint: this.publicUdp.endpoint, publicEndpointFrom: this.publicUdp.from } : {}),
      pinned: Object.fromEntries(this.pins),
      handshakesInProgress: this.limiter.inProgress,
      counters: this.counters,
    }));
    ctx.queries.register('registry', () => this.registryView());
    await this.listen();
    this.scheduleExchange();
    await this.refreshRegistry();
  }

  reconfigure(section: PeeringSection): boolean {
    if (section.peering.port !== this.cfg.peering.port || section.peering.listen !== this.cfg.peering.listen) return false;
    this.cfg = section;
    this.limiter = this.makeLimiter();
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.exchangeTimer !== undefined) this.ctx.timers.clearTimeout(this.exchangeTimer);
    if (this.registryTimer !== undefined) this.ctx.timers.clearTimeout(this.registryTimer);
    for (const u of this.unsubscribe) u();
    for (const e of this.peers.values()) this.clearTimers(e);
    for (const e of this.peers.values()) for (const s of e.sessions) s.close('shutting down');
    for (const s of this.inbound) s.close('shutting down');
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The identity service exposes its backend; without one the node cannot prove itself. */
  private async loadKey(): Promise<void> {
    if (!this.backend) return;
    try {
      const info = await this.backend.info();
      this.moltidKey = Buffer.from(info.publicKey.replace(/^0x/i, ''), 'hex');
    } catch (err) {
      this.ctx.log.warn({ err: (err as Error).message }, 'MoltID key not available yet: peering handshakes will fail until it is');
    }
  }

  has(name: string): boolean {
    return this.peers.has(name.toLowerCase());
  }

  /** Start peering with a peer (or add its link at once when it does not authenticate). */
  async addPeer(config: PeerConfig, origin: 'config' | 'runtime' | 'discovered', source: PeerSource = origin === 'discovered' ? 'moltbook' : origin): Promise<void> {
    const key = config.name.toLowerCase();
    if (this.peers.has(key)) throw new Error(`a peer named "${config.name}" already exists`);
    if (origin !== 'discovered') this.removedByOperator.delete(config.address);
    // A configured or added peer takes the place of the same node found by discovery.
    const found = this.byAddress.get(config.address);
    if (found && found.origin === 'discovered' && origin !== 'discovered') await this.removePeer(found.config.name);
    const e = this.newEntry(config, origin, source, config.authenticate ? 'connecting' : 'unauthenticated');
    if (!config.authenticate) {
      e.link = await this.ctx.links.add(this.request(e, undefined));
      this.peers.set(key, e);
      this.byAddress.set(config.address, e);
      return;
    }
    e.release = await this.ctx.links.holdPending(this.request(e, undefined));
    this.peers.set(key, e);
    this.byAddress.set(config.address, e);
    this.dial(e);
  }

  /**
   * Stop peering with a peer and remove its link. `operator`: an operator's `peer remove` or a reload
   * that dropped it: it is not taken back as an inbound peer when it dials again (until added again).
   */
  async removePeer(name: string, opts: { operator?: boolean } = {}): Promise<PeerConfig | undefined> {
    const e = this.peers.get(name.toLowerCase());
    if (!e) return undefined;
    if (opts.operator) this.removedByOperator.add(e.config.address);
    e.removed = true;
    this.peers.delete(name.toLowerCase());
    this.byAddress.delete(e.config.address);
    this.clearTimers(e);
    for (const s of e.sessions) s.close('peer removed');
    await this.serial(e, async () => {
      if (e.link) await this.ctx.links.remove(e.link.id).catch(() => undefined);
      e.link = undefined;
    });
    e.release?.();
    return e.config;
  }

  /** A configured cost change: the link keeps forwarding, and a later one gets the new cost. */
  setCost(name: string, cost: number): void {
    const e = this.peers.get(name.toLowerCase());
    if (!e) return;
    e.config = { ...e.config, cost };
    if (e.link) this.ctx.links.setCost(e.link.id, cost);
  }

  private newEntry(config: PeerConfig, origin: PeerEntry['origin'], source: PeerSource, state: PeerState): PeerEntry {
    return {
      config,
      origin,
      source,
      failures: 0,
      signed: undefined,
      state,
      reason: undefined,
      since: this.ctx.clock.now(),
      attempts: 0,
      sessions: new Set(),
      moltid: undefined,
      uuid: config.uuid,
      link: undefined,
      linkKey: undefined,
      release: undefined,
      dialTimer: undefined,
      downTimer: undefined,
      retryMs: FIRST_RETRY_MS,
      dialing: false,
      ops: Promise.resolve(),
      removed: false,
      viaMesh: false,
      capabilities: [],
      candidates: undefined,
      punched: undefined,
    };
  }

  /** A peer discovery found: dialled like a configured one. Returns whether it is new here. */
  async addDiscovered(d: DiscoveredPeer): Promise<boolean> {
    if (this.stopped) return false;
    const uuid = d.uuid.toLowerCase();
    if (uuid === this.ctx.node.uuid) return false;
    const address = uuidToMeshAddress(uuid);
    if (this.removedByOperator.has(address)) return false;
    const known = this.byAddress.get(address);
    if (known) {
      // A newer endpoint for a discovered peer that is not up: dial that one from now on.
      if (known.origin === 'discovered' && known.state !== 'established' && (known.config.endpoint.host !== d.endpoint.host || known.config.endpoint.port !== d.endpoint.port)) {
        known.config = { ...known.config, endpoint: d.endpoint };
      }
      return false;
    }
    if (this.dynamicCount() >= this.cfg.discovery.maxPeers) return false;
    await this.addPeer(this.discoveredConfig(uuid, d.endpoint, d.name), 'discovered', d.source);
    return true;
  }

  private dynamicCount(): number {
    let n = 0;
    for (const e of this.peers.values()) if (e.origin === 'discovered') n++;
    return n;
  }

  private discoveredConfig(uuid: string, endpoint: HostPort, hint: string | undefined): PeerConfig {
    const link = this.cfg.discovery.link;
    return {
      name: this.uniqueName(uuid, hint),
      uuid,
      address: uuidToMeshAddress(uuid),
      endpoint,
      link,
      ...(link !== 'gre' ? { vni: DEFAULT_VNI } : {}),
      authenticate: true,
      cost: 10,
    };
  }

  /** A DNS label for a discovered peer: its hint if free, else peer-<uuid digits>. */
  private uniqueName(uuid: string, hint: string | undefined): string {
    const label = (hint ?? '').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
    const hex = uuid.replace(/-/g, '');
    for (const n of [label, `peer-${hex.slice(0, 8)}`, `peer-${hex.slice(0, 16)}`, `peer-${hex}`]) {
      if (n && /^[a-z0-9]/.test(n) && !this.peers.has(n)) return n;
    }
    return `peer-${hex}-${this.peers.size}`;
  }

  describe(): Record<string, unknown>[] {
    const now = this.ctx.clock.now();
    return [...this.peers.values()].map((e) => ({
      name: e.config.name,
      address: e.config.address,
      ...(e.uuid ? { uuid: e.uuid } : {}),
      endpoint: `${e.config.endpoint.host.includes(':') ? `[${e.config.endpoint.host}]` : e.config.endpoint.host}:${e.config.endpoint.port}`,
      kind: e.config.link,
      origin: e.origin,
      source: e.source,
      authenticated: e.config.authenticate,
      state: e.state,
      ...(e.reason ? { reason: e.reason } : {}),
      ...(e.moltid ? { moltid: e.moltid } : {}),
      sinceSeconds: Math.round((now - e.since) / 1000),
      sessions: [...e.sessions].filter((s) => s.state === 'established').length,
      ...this.sessionFacts(e, now),
      ...this.pathFacts(e),
      ...(e.link ? { link: { id: e.link.id, state: e.link.up ? 'up' : 'down', ...(e.link.up ? {} : { downReasons: [...e.link.downReasons] }) } } : { link: null }),
    }));
  }

  /** Where the peer's session comes from as we see it, and when we last heard from it. */
  private sessionFacts(e: PeerEntry, now: number): Record<string, unknown> {
    const s = [...e.sessions].find((x) => x.state === 'established');
    if (!s) return {};
    return {
      session: isMeshSession(s) ? 'mesh' : 'underlay',
      observedAddress: normalizeAddr(s.remoteAddress),
      lastHeardSeconds: Math.round((now - s.lastHeard) / 1000),
      ...(e.link?.observed ? { observedEndpoint: e.link.observed } : {}),
      ...(e.candidates ? { candidates: e.candidates } : {}),
    };
  }

  /** 'direct' when the route to the peer is its own link, 'relayed' (via which link) when it goes elsewhere. */
  private pathFacts(e: PeerEntry): Record<string, unknown> {
    if (e.state !== 'established') return {};
    const id = this.ctx.lookupRoute(meshAddressBytes(e.config.address));
    if (id === undefined) return { path: 'none' };
    if (e.link && id === e.link.id) return { path: 'direct' };
    return { path: 'relayed', via: this.ctx.links.nameOf(id) };
  }

  // --- sessions -------------------------------------------------------------------------------

  private makeLimiter(): SourceLimiter {
    return new SourceLimiter({
      maxPerSource: this.cfg.peering.maxConnectionsPerSource,
      perMinute: this.cfg.peering.connectionsPerMinutePerSource,
      maxHandshakes: MAX_HANDSHAKES,
    });
  }

  private listen(): Promise<void> {
    const server = createServer({ allowHalfOpen: false }, (socket) => this.accept(socket));
    server.maxConnections = 4096;
    server.on('error', (err) => this.ctx.log.error({ err: err.message }, 'peering server error'));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: this.cfg.peering.port, host: this.cfg.peering.listen, ipv6Only: false }, () => {
        server.off('error', reject);
        this.ctx.log.info({ listen: this.cfg.peering.listen, port: this.cfg.peering.port }, 'peering listens');
        resolve();
      });
    });
  }

  private accept(socket: Socket): void {
    const addr = normalizeAddr(socket.remoteAddress ?? '');
    const why = this.stopped ? 'shutting down' : this.limiter.admit(addr, this.ctx.clock.now());
    if (why) {
      this.counters.refused_connections++;
      this.ctx.log.debug({ from: addr, why }, 'peering connection refused');
      socket.destroy();
      return;
    }
    this.counters.connections++;
    socket.on('error', () => undefined);
    const session = this.session(socket, 'responder', undefined);
    this.inbound.add(session);
    let counted = true;
    const handshakeOver = () => {
      if (counted) this.limiter.handshakeDone();
      counted = false;
    };
    session.once('established', handshakeOver);
    session.once('closed', () => {
      handshakeOver();
      this.limiter.release(addr);
      this.inbound.delete(session);
    });
  }

  private dial(e: PeerEntry): void {
    if (this.stopped || e.removed || e.dialing || e.dialTimer !== undefined) return;
    if ([...e.sessions].some((s) => s.state === 'established')) return;
    e.dialing = true;
    e.attempts++;
    if (e.state !== 'established') this.setState(e, 'connecting', e.reason);
    // Through the mesh (a relay carries it) when the endpoint did not answer last time and the mesh has a
    // route to the peer; from our mesh address, which is what the peer checks the handshake against.
    const overMesh = e.viaMesh && this.meshRouted(e);
    const host = overMesh ? e.config.address : e.config.endpoint.host;
    const socket = connect({
      host,
      port: this.cfg.peering.port,
      timeout: CONNECT_TIMEOUT_MS,
      ...(overMesh ? { localAddress: formatIpv6(this.ctx.node.meshAddress) } : {}),
    });
    const failed = (reason: string) => {
      socket.destroy();
      if (!e.dialing) return;
      e.dialing = false;
      if (e.removed || this.stopped) return;
      // Alternate: an endpoint that does not answer (behind NAT) is tried through the mesh next, and back.
      e.viaMesh = !overMesh && this.meshRouted(e);
      // The peer dialled us meanwhile: that session stands, nothing to retry.
      if ([...e.sessions].some((s) => s.state === 'established')) return;
      this.setState(e, e.state === 'refused' ? 'refused' : 'waiting', reason);
      if (this.failedTooOften(e, reason)) return;
      this.retry(e);
    };
    socket.once('timeout', () => failed(`no answer from ${host} port ${this.cfg.peering.port} within ${CONNECT_TIMEOUT_MS / 1000} s`));
    socket.once('error', (err) => failed(`cannot reach ${host} port ${this.cfg.peering.port}: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    socket.once('connect', () => {
      socket.setTimeout(0);
      socket.removeAllListeners('timeout');
      socket.removeAllListeners('error');
      socket.on('error', () => undefined);
      e.dialing = false;
      if (e.removed || this.stopped) {
        socket.destroy();
        return;
      }
      if (e.state !== 'established') this.setState(e, 'handshake', e.reason);
      this.session(socket, 'initiator', e);
    });
  }

  /** A discovered peer that keeps failing is let go (discovery may find it again). */
  private failedTooOften(e: PeerEntry, reason: string): boolean {
    if (e.origin !== 'discovered') return false;
    e.failures++;
    if (e.failures < MAX_DISCOVERED_FAILURES) return false;
    this.counters.discovered_dropped++;
    this.ctx.log.info({ peer: e.config.name, source: e.source, failures: e.failures, reason }, 'discovered peer dropped after failing repeatedly');
    void this.removePeer(e.config.name).then(() => this.events.emit('dropped', { name: e.config.name, uuid: e.uuid, source: e.source, reason }));
    return true;
  }

  private retry(e: PeerEntry): void {
    if (this.stopped || e.removed || e.dialTimer !== undefined) return;
    const refused = e.state === 'refused';
    const base = refused ? Math.max(e.retryMs, REFUSED_RETRY_MS) : e.retryMs;
    const wait = Math.round(base * (0.8 + 0.4 * Math.random()));
    e.retryMs = Math.min(base * 2, refused ? MAX_REFUSED_RETRY_MS : MAX_RETRY_MS);
    e.dialTimer = this.ctx.timers.setTimeout(() => {
      e.dialTimer = undefined;
      this.dial(e);
    }, wait);
  }

  private session(socket: Socket, role: 'initiator' | 'responder', dialled: PeerEntry | undefined): PeeringSession {
    const local = this.localIdentity(socket);
    const session = new PeeringSession({
      socket,
      handshake: {
        role,
        local,
        policy: this.policy(dialled),
        replay: this.replay,
        random: randomBytes,
        ...(dialled?.config.uuid ? { expectUuid: dialled.config.uuid } : {}),
        timeoutMs: this.cfg.peering.handshakeTimeoutMs,
        windowMs: this.cfg.peering.windowSeconds * 1000,
        capabilities: ['vxlan', 'gre', 'wireguard', ...(this.cfg.peering.relay ? ['relay'] : [])],
      },
      clock: this.ctx.clock,
      wallClock: this.wallClock,
      timers: this.ctx.timers,
      keepaliveMs: this.cfg.peering.keepaliveSeconds * 1000,
      holdMs: this.cfg.peering.holdSeconds * 1000,
      log: this.ctx.log,
    });
    if (dialled) dialled.sessions.add(session);
    session.once('established', () => this.established(session));
    session.once('closed', (reason) => this.closed(session, reason));
    return session;
  }

  /** Our side of a binding: the endpoint is the one announced, or the address a session's peer reaches. */
  private localIdentity(socket: Socket | undefined, announced?: string): LocalIdentity {
    const backend = this.backend;
    const node = this.ctx.node;
    const wg = this.ctx.node.wireguard;
    return {
      binding: (wall) => {
        if (!this.moltidKey) throw new Error('this node has no MoltID key (run moltnet id init)');
        let host = normalizeAddr(socket?.localAddress ?? '');
        if (host && !isMeshAddress(host)) this.underlayLocal = host;
        // A session over the mesh: the binding names an underlay endpoint, never a mesh address (peers that
        // receive it by exchange dial it): the mapping a relay saw, else the address other sessions use.
        if (isMeshAddress(host) && announced === undefined) {
          if (this.publicUdp) announced = this.publicUdp.endpoint;
          else host = this.underlayLocal ?? '::';
        }
        return {
          uuid: node.uuid,
          meshAddress: node.meshAddress,
          moltidKey: this.moltidKey,
          endpoint: announced ?? (host.includes(':') ? `[${host}]:${PORTS.vxlan}` : `${host}:${PORTS.vxlan}`),
          linkKinds: ['vxlan', 'gre', ...(wg ? ['wireguard'] : [])],
          ...(wg ? { wireguardKey: wg.publicKey, wireguardPort: wg.port } : {}),
          timestampMs: wall,
        };
      },
      sign: (data) => {
        if (!backend) throw new Error('this node has no MoltID backend');
        return backend.sign(data);
      },
    };
  }

  /** This node's binding for an endpoint it announces (Moltbook, LAN beacons), signed by its MoltID key. */
  async signedBindingFor(endpoint: string): Promise<SignedBinding> {
    const local = this.localIdentity(undefined, endpoint);
    return signBinding(local.binding(this.wallClock()), local.sign);
  }

  /** The handshake's questions, answered from this node's peers and trust lists. */
  private policy(dialled: PeerEntry | undefined): PeerPolicy {
    const entryFor = (address: string) => (dialled && dialled.config.address === address ? dialled : this.byAddress.get(address));
    return {
      precheck: (_uuid, address) => {
        const e = entryFor(address);
        if (!e || e.removed) {
          if (dialled) return `the peer at ${dialled.config.endpoint.host} is ${address}, not ${dialled.config.address}`;
          if (this.removedByOperator.has(address)) return `${address} was removed from this node's peers`;
          return this.acceptsInbound() ? this.inboundTrust().precheck(_uuid, address) : `${address} is not a peer of this node`;
        }
        if (!e.config.authenticate) return `${address} is configured without authentication here`;
        return this.trust(e, undefined).precheck(_uuid, address);
      },
      check: (peer) => {
        const e = entryFor(peer.address);
        if (!e) return this.acceptsInbound() ? this.inboundTrust().check(peer) : `${peer.address} is not a peer of this node`;
        if (e.config.moltid !== undefined && canonicalEntry(e.config.moltid) !== canonicalEntry(peer.moltid)) {
          return `${peer.uuid} presented another MoltID than the one configured for it`;
        }
        return this.trust(e, peer.uuid).check(peer);
      },
      linkFor: (peer) => {
        const e = entryFor(peer.address);
        return this.offer(e?.config ?? this.discoveredConfig(peer.uuid, { host: '::', port: DEFAULT_PORTS[this.cfg.discovery.link] }, undefined), peer.uuid);
      },
    };
  }

  private acceptsInbound(): boolean {
    return this.cfg.discovering && this.cfg.discovery.acceptInbound && this.dynamicCount() < this.cfg.discovery.maxPeers;
  }

  /** An unknown peer that dials in: pins, allow and deny lists as for any other. */
  private inboundTrust(): TrustPolicy {
    return new TrustPolicy({ pinned: this.pins, allow: this.cfg.peering.allow, deny: this.cfg.peering.deny });
  }

  private trust(e: PeerEntry, uuid: string | undefined): TrustPolicy {
    const configured = e.config.moltid !== undefined && uuid !== undefined ? new Map([[uuid, e.config.moltid]]) : undefined;
    return new TrustPolicy({ ...(configured ? { configured } : {}), pinned: this.pins, allow: this.cfg.peering.allow, deny: this.cfg.peering.deny });
  }

  /** The link this node uses with a peer, as a handshake states it. */
  private offer(p: PeerConfig, peerUuid: string): LinkParams {
    if (p.link === 'gre') return { kind: 'gre', greKey: deriveGreKey(this.ctx.node.uuid, peerUuid) };
    return { kind: p.link, ...(p.vni !== undefined ? { vni: p.vni } : {}) };
  }

  private established(s: PeeringSession): void {
    const peer = s.peer!;
    const e = this.byAddress.get(peer.address) ?? (s.role === 'responder' && this.acceptsInbound() ? this.adoptInbound(s, peer) : undefined);
    if (!e || e.removed || this.stopped) {
      s.close(`${peer.address} is no longer a peer of this node`);
      return;
    }
    // An inbound session joins its peer's entry now that we know who it is.
    if (!e.sessions.has(s)) e.sessions.add(s);
    this.inbound.delete(s);
    if (s.role === 'initiator') {
      const ours = this.offer(e.config, peer.uuid);
      const theirs = s.link;
      if (theirs && (theirs.kind !== ours.kind || (theirs.vni ?? 0) !== (ours.vni ?? 0) || (theirs.greKey ?? 0) !== (ours.greKey ?? 0))) {
        const why = `link parameters disagree: we use ${describeParams(ours)}, the peer ${describeParams(theirs)}`;
        this.ctx.log.warn({ peer: e.config.name, why }, 'peering refused');
        this.setState(e, 'refused', why);
        s.close(why);
        return;
      }
    }
    if (e.config.link === 'wireguard' && (!peer.wireguardKey || !peer.wireguardPort)) {
      const why = 'the peer offers no WireGuard key (is wireguard available on it?)';
      this.setState(e, 'refused', why);
      s.close(why);
      return;
    }
    this.counters.handshakes_ok++;
    if (this.ctx.node.uuid < peer.uuid && s.role === 'initiator') {
      for (const other of e.sessions) if (other !== s && other.role === 'responder') other.close('a duplicate of the session this node opened');
    } else if (this.ctx.node.uuid < peer.uuid && s.role === 'responder' && [...e.sessions].some((o) => o !== s && o.role === 'initiator' && o.state === 'established')) {
      s.close('a duplicate of the session this node opened');
      return;
    }
    const firstPin = !this.pins.has(peer.uuid) && e.config.moltid === undefined;
    if (firstPin) {
      this.pins.set(peer.uuid, canonicalEntry(peer.moltid));
      this.pinStore.save(this.pins).catch((err) => this.ctx.log.error({ err: (err as Error).message }, 'cannot save pinned MoltIDs'));
      this.ctx.log.info({ peer: e.config.name, uuid: peer.uuid, moltid: shortId(peer.moltid) }, 'pinned the MoltID of a new peer');
    }
    e.uuid = peer.uuid;
    e.moltid = peer.moltid;
    e.signed = peer.signed;
    e.failures = 0;
    e.retryMs = FIRST_RETRY_MS;
    e.capabilities = peer.capabilities ?? [];
    s.on('message', (m) => this.onMessage(e, s, m));
    if (this.cfg.discovery.exchange) s.send({ peersRequest: { max: MAX_EXCHANGE } });
    this.sendRegistry(s, this.registryRecords());
    if (e.dialTimer !== undefined) this.ctx.timers.clearTimeout(e.dialTimer);
    e.dialTimer = undefined;
    if (isMeshSession(s)) {
      // Relayed: the link waits for the peer's candidates (hole punching); ours go now.
      this.setState(e, 'established', undefined);
      this.ctx.log.info({ peer: e.config.name, uuid: peer.uuid, role: s.role, source: e.source }, 'peer authenticated over the mesh (relayed); trying a direct path');
      this.sendCandidates(s);
      if (e.candidates) this.punch(e);
      this.events.emit('established', { name: e.config.name, uuid: peer.uuid, address: peer.address, endpoint: e.config.endpoint, source: e.source, moltid: peer.moltid });
      return;
    }
    const wireguard = e.config.link === 'wireguard' ? { publicKey: peer.wireguardKey!, port: peer.wireguardPort! } : undefined;
    const key = wireguard ? `${Buffer.from(wireguard.publicKey).toString('hex')}:${wireguard.port}` : 'plain';
    void this.serial(e, async () => {
      if (e.removed || s.state !== 'established') return;
      if (e.link && e.linkKey === key) {
        this.setState(e, 'established', undefined);
        return;
      }
      if (e.link) await this.ctx.links.remove(e.link.id);
      e.link = undefined;
      try {
        e.link = await this.ctx.links.add(this.request(e, wireguard));
        e.linkKey = key;
        this.setState(e, 'established', undefined);
        this.ctx.log.info({ peer: e.config.name, uuid: peer.uuid, link: e.link.id, role: s.role, source: e.source }, 'peer authenticated; link up');
        if (this.cfg.peering.relay && e.link.observed) this.sendObserved(e, e.link.observed);
        this.events.emit('established', { name: e.config.name, uuid: peer.uuid, address: peer.address, endpoint: e.config.endpoint, source: e.source, moltid: peer.moltid });
      } catch (err) {
        const why = `link not made: ${(err as Error).message}`;
        this.setState(e, 'refused', why);
        this.ctx.log.error({ peer: e.config.name, err: (err as Error).message }, 'peer authenticated but its link could not be made');
        s.close(why);
      }
    });
  }

  /**
   * An unknown peer that dialled in and proved itself: a peer entry of its own, its endpoint the address
   * it came from (what we saw, not what it says: behind NAT only that one answers).
   */
  private adoptInbound(s: PeeringSession, peer: VerifiedPeer): PeerEntry {
    const config = this.discoveredConfig(peer.uuid, { host: normalizeAddr(s.remoteAddress), port: DEFAULT_PORTS[this.cfg.discovery.link] }, undefined);
    const e = this.newEntry(config, 'discovered', 'inbound', 'handshake');
    e.sessions.add(s);
    e.uuid = peer.uuid;
    this.peers.set(config.name.toLowerCase(), e);
    this.byAddress.set(config.address, e);
    this.ctx.log.info({ peer: config.name, uuid: peer.uuid, from: config.endpoint.host }, 'accepted an inbound peer');
    return e;
  }

  /** A message on an established session. */
  private onMessage(e: PeerEntry, s: PeeringSession, m: SessionMessage): void {
    if ('registry' in m) this.onRegistry(s, m.registry.records);
    else if ('observed' in m) this.onObserved(e, m.observed.endpoint);
    else if ('candidates' in m) this.onCandidates(e, s, m.candidates.endpoints);
    else this.onExchange(e, s, m);
  }

  /** Peer exchange on an established session. */
  private onExchange(e: PeerEntry, s: PeeringSession, m: ExchangeMessage): void {
    if ('peersRequest' in m) {
      if (!this.cfg.discovery.exchange) return s.send({ peersReply: { peers: [] } });
      const max = Math.min(Math.max(0, m.peersRequest.max || MAX_EXCHANGE), MAX_EXCHANGE);
      const peers: SignedBinding[] = [];
      let bytes = 64;
      for (const other of this.peers.values()) {
        if (peers.length >= max) break;
        if (other === e || !other.signed || other.state !== 'established') continue;
        const size = other.signed.binding.length + other.signed.signature.length + 16;
        if (bytes + size > MAX_FRAME) break;
        bytes += size;
        peers.push(other.signed);
      }
      s.send({ peersReply: { peers } });
      return;
    }
    if (!this.cfg.discovery.exchange) return;
    for (const sb of m.peersReply.peers.slice(0, MAX_EXCHANGE)) {
      const v = verifySignedBinding(sb);
      if (typeof v === 'string') {
        this.counters.exchange_bad++;
        continue;
      }
      let endpoint: HostPort;
      try {
        const ep = parseHostPort(v.binding.endpoint, DEFAULT_PORTS[this.cfg.discovery.link]);
        endpoint = { host: ep.host, port: ep.port ?? DEFAULT_PORTS[this.cfg.discovery.link] };
      } catch {
        this.counters.exchange_bad++;
        continue;
      }
      if (isMeshAddress(endpoint.host)) {
        // An endpoint inside the mesh is no underlay address (a tunnel through itself).
        this.counters.exchange_bad++;
        continue;
      }
      this.counters.exchange_received++;
      void this.addDiscovered({ uuid: v.binding.uuid, endpoint, source: 'exchange' }).catch((err) =>
        this.ctx.log.warn({ err: (err as Error).message, from: e.config.name }, 'exchanged peer not added'),
      );
    }
  }

  /** Ask every peer with a session for its peers, now and then. */
  private scheduleExchange(): void {
    const every = this.cfg.discovery.exchangeSeconds * 1000;
    this.exchangeTimer = this.ctx.timers.setTimeout(() => {
      this.exchangeTimer = undefined;
      if (this.stopped) return;
      if (this.cfg.discovery.exchange) {
        for (const e of this.peers.values()) {
          for (const s of e.sessions) if (s.state === 'established') s.send({ peersRequest: { max: MAX_EXCHANGE } });
        }
      }
      this.scheduleExchange();
    }, Math.round(every * (0.8 + 0.4 * Math.random())));
  }

  private closed(s: PeeringSession, reason: string): void {
    const peer = s.peer;
    const e = [...this.peers.values()].find((x) => x.sessions.has(s)) ?? (peer ? this.byAddress.get(peer.address) : undefined);
    this.inbound.delete(s);
    if (!e) {
      if (s.role === 'responder' && s.state === 'closed' && !peer) this.counters.handshakes_failed++;
      return;
    }
    const wasEstablished = s.wasEstablished;
    e.sessions.delete(s);
    if (isMeshSession(s) && wasEstablished) e.candidates = undefined;
    if (e.removed || this.stopped) return;
    const stillUp = [...e.sessions].some((o) => o.state === 'established');
    if (stillUp) return;
    const refusal = isRefusal(reason);
    if (e.source === 'inbound') {
      // We cannot dial it (it may be behind NAT): it comes back when it dials again.
      if (wasEstablished) this.counters.sessions_lost++;
      void this.removePeer(e.config.name).then(() => this.events.emit('dropped', { name: e.config.name, uuid: e.uuid, source: e.source, reason }));
      return;
    }
    if (wasEstablished && e.link) {
      this.counters.sessions_lost++;
      this.ctx.log.warn({ peer: e.config.name, reason }, 'peering session lost: link removed until the peer proves itself again');
      void this.serial(e, async () => {
        if (e.link && ![...e.sessions].some((o) => o.state === 'established')) {
          await this.ctx.links.remove(e.link.id).catch(() => undefined);
          e.link = undefined;
          e.linkKey = undefined;
          e.punched = undefined;
        }
      });
      this.setState(e, 'waiting', reason);
    } else if (wasEstablished) {
      this.setState(e, 'waiting', reason);
    } else {
      this.counters.handshakes_failed++;
      // Something else answers at the endpoint (a private address reused on another LAN): try the mesh.
      if (s.role === 'initiator' && !isMeshSession(s)) e.viaMesh = this.meshRouted(e);
      if (refusal) this.ctx.log.warn({ peer: e.config.name, reason }, 'peering refused');
      this.setState(e, refusal ? 'refused' : 'waiting', reason);
      if (s.role === 'initiator' && this.failedTooOften(e, reason)) return;
    }
    // A session we did not dial still tells us to try ours.
    if (!e.dialing && e.dialTimer === undefined && ![...e.sessions].some((o) => o.state === 'handshake')) this.retry(e);
  }

  // --- the mesh-wide registry ------------------------------------------------------------------

  /** Sign our record anew (name, services, version, now), flood it, expire what was not refreshed. */
  private async refreshRegistry(): Promise<void> {
    if (this.stopped) return;
    try {
      const local = this.localIdentity(undefined, this.publicUdp?.endpoint ?? (this.underlayLocal ? `[${this.underlayLocal}]:${PORTS.vxlan}` : `[::]:${PORTS.vxlan}`));
      const wall = this.wallClock();
      const binding = await signBinding(local.binding(wall), local.sign);
      const info = encodeRegistryInfo({
        name: (this.cfg.name ?? '').toLowerCase(),
        capabilities: ['vxlan', 'gre', ...(this.ctx.node.wireguard ? ['wireguard'] : []), ...(this.cfg.peering.relay ? ['relay'] : [])],
        services: this.cfg.services,
        version: VERSION,
        timestampMs: wall,
      });
      const infoSignature = await local.sign(Buffer.concat([REGISTRY_TAG, info]));
      this.ownRecord = { binding, info, infoSignature };
      const gone = this.registry.expire(wall);
      if (gone.length > 0) this.ctx.log.info({ nodes: gone.length }, 'registry records expired (their nodes stopped refreshing them)');
      for (const s of this.establishedSessions()) this.sendRegistry(s, [this.ownRecord]);
    } catch (err) {
      this.ctx.log.warn({ err: (err as Error).message }, 'registry record not signed (no MoltID yet?)');
    } finally {
      if (!this.stopped) {
        this.registryTimer = this.ctx.timers.setTimeout(() => {
          this.registryTimer = undefined;
          void this.refreshRegistry();
        }, Math.round(REGISTRY_REFRESH_MS * (0.9 + 0.2 * Math.random())));
      }
    }
  }

  private registryRecords(): RegistryRecord[] {
    const others = this.registry.entries().filter((e) => e.uuid !== this.ctx.node.uuid);
    return [...(this.ownRecord ? [this.ownRecord] : []), ...others.map((e) => e.record)];
  }

  private establishedSessions(except?: PeeringSession): PeeringSession[] {
    const out: PeeringSession[] = [];
    for (const e of this.peers.values()) for (const s of e.sessions) if (s !== except && s.state === 'established') out.push(s);
    return out;
  }

  /** In frames that fit MAX_FRAME. */
  private sendRegistry(s: PeeringSession, records: RegistryRecord[]): void {
    let batch: RegistryRecord[] = [];
    let bytes = 0;
    for (const r of records) {
      const size = r.binding.binding.length + r.binding.signature.length + r.info.length + r.infoSignature.length + 24;
      if (batch.length > 0 && bytes + size > REGISTRY_FRAME_BUDGET) {
        s.send({ registry: { records: batch } });
        batch = [];
        bytes = 0;
      }
      batch.push(r);
      bytes += size;
    }
    if (batch.length > 0) s.send({ registry: { records: batch } });
  }

  /** Records from a peer: keep what verifies and is newer, and pass exactly that on to the others. */
  private onRegistry(from: PeeringSession, records: RegistryRecord[]): void {
    const fresh: RegistryRecord[] = [];
    const wall = this.wallClock();
    for (const r of records.slice(0, 256)) {
      const v = this.registry.accept(r, wall, this.pins);
      if (v.status === 'new') {
        if (v.entry.uuid === this.ctx.node.uuid) continue;
        fresh.push(r);
      } else if (v.status === 'refused') this.ctx.log.debug({ reason: v.reason }, 'registry record refused');
    }
    if (fresh.length === 0) return;
    for (const s of this.establishedSessions(from)) this.sendRegistry(s, fresh);
  }

  private registryView(): { digest: string; nodes: RegistryView[]; conflicts: string[]; counters: MeshRegistry['counters'] } {
    const wall = this.wallClock();
    const nodes = this.registry
      .entries()
      .filter((e) => e.uuid !== this.ctx.node.uuid)
      .map((e) => ({
        name: e.info.name,
        uuid: e.uuid,
        address: e.address,
        moltid: e.moltid,
        capabilities: e.info.capabilities,
        services: e.info.services,
        version: e.info.version,
        ageSeconds: Math.max(0, Math.round((wall - e.info.timestampMs) / 1000)),
        ownsName: this.registry.ownsName(e),
      }));
    return { digest: this.registry.digest(), nodes, conflicts: this.registry.conflicts.slice(-20), counters: this.registry.counters };
  }

  // --- NAT traversal ----------------------------------------------------------------------------

  /** The forwarding plane heard a roaming link's peer at `endpoint`: a relay tells the peer. */
  private roamed(l: Link, endpoint: string): void {
    if (!this.cfg.peering.relay) return;
    const e = this.entryOfLink(l);
    if (e) this.sendObserved(e, endpoint);
  }

  private sendObserved(e: PeerEntry, endpoint: string): void {
    for (const s of e.sessions) {
      if (s.state !== 'established' || isMeshSession(s)) continue;
      s.send({ observed: { endpoint } });
      this.counters.observed_sent++;
    }
  }

  /** A relay says where our VXLAN packets come from: our candidate for peers behind NAT. */
  private onObserved(e: PeerEntry, endpoint: string): void {
    if (!e.capabilities.includes('relay')) return; // only a peer that offers the role is asked to know
    const ep = parseEndpoint(endpoint);
    if (!ep) {
      this.counters.candidates_bad++;
      return;
    }
    this.counters.observed_received++;
    if (this.publicUdp?.endpoint === endpoint) return;
    this.publicUdp = { endpoint, from: e.config.name };
    this.ctx.log.info({ endpoint, relay: e.config.name }, 'a relay sees this node\'s VXLAN packets from this endpoint');
    for (const other of this.peers.values()) for (const s of other.sessions) if (s.state === 'established' && isMeshSession(s)) this.sendCandidates(s);
  }

  private sendCandidates(s: PeeringSession): void {
    const endpoints = this.publicUdp ? [this.publicUdp.endpoint] : [];
    s.send({ candidates: { endpoints } });
  }

  /** A peer reached over the mesh says where to send to it directly. */
  private onCandidates(e: PeerEntry, s: PeeringSession, endpoints: string[]): void {
    if (!isMeshSession(s)) return; // a session on the underlay already has its direct link
    const good = endpoints.slice(0, MAX_CANDIDATES).filter((x) => parseEndpoint(x) !== undefined);
    if (good.length < Math.min(endpoints.length, MAX_CANDIDATES)) this.counters.candidates_bad++;
    e.candidates = good;
    this.punch(e);
  }

  /**
   * Make the peer's link toward its first candidate (roaming: it answers the port the peer's packets
   * come from). Our OSPF and BFD packets on it open our NAT toward the peer while the peer's open its.
   */
  private punch(e: PeerEntry): void {
    const target = e.candidates?.[0];
    if (target === undefined || target === e.punched) return;
    if (e.config.link !== 'vxlan') return; // the relay observed the VXLAN socket's mapping, no other
    const ep = parseEndpoint(target)!;
    void this.serial(e, async () => {
      if (e.removed || ![...e.sessions].some((x) => x.state === 'established' && isMeshSession(x))) return;
      if (e.link) await this.ctx.links.remove(e.link.id);
      e.link = undefined;
      e.punched = target;
      this.counters.punch_attempts++;
      try {
        // Held down until BFD proves the path: a hole that never opens must not take the relayed route.
        const hold = this.ctx.services.get('bfd') ? [BFD_DOWN_REASON] : [];
        e.link = await this.ctx.links.add({ ...this.request(e, undefined, ep), holdDown: hold });
        e.linkKey = 'punched';
        this.ctx.log.info({ peer: e.config.name, endpoint: target, link: e.link.id }, 'hole punching: link toward the peer\'s observed endpoint');
      } catch (err) {
        this.ctx.log.warn({ peer: e.config.name, endpoint: target, err: (err as Error).message }, 'hole punching: link not made');
      }
    });
  }

  /** The mesh routes to the peer over some other link (a relay): a session can ride it. */
  private meshRouted(e: PeerEntry): boolean {
    const id = this.ctx.lookupRoute(meshAddressBytes(e.config.address));
    return id !== undefined && id !== e.link?.id;
  }

  // --- links ----------------------------------------------------------------------------------

  private linkDown(l: Link, reason: string): void {
    if (reason === 'removed') return;
    const e = this.entryOfLink(l);
    if (!e || !e.config.authenticate || e.downTimer !== undefined) return;
    e.downTimer = this.ctx.timers.setTimeout(() => {
      e.downTimer = undefined;
      if (!e.link || e.link.up || e.removed) return;
      this.ctx.log.warn({ peer: e.config.name, seconds: this.cfg.deadInterval }, 'link down for longer than the dead interval: peering again');
      for (const s of e.sessions) s.close(`link down for more than ${this.cfg.deadInterval} s`);
    }, this.cfg.deadInterval * 1000);
  }

  private linkUp(l: Link): void {
    const e = this.entryOfLink(l);
    if (e?.downTimer !== undefined) {
      this.ctx.timers.clearTimeout(e.downTimer);
      e.downTimer = undefined;
    }
  }

  private entryOfLink(l: Link): PeerEntry | undefined {
    for (const e of this.peers.values()) if (e.link?.id === l.id) return e;
    return undefined;
  }

  /** `punched`: a link toward a peer's observed endpoint, found over the mesh (it roams, as inbound ones do). */
  private request(e: PeerEntry, wireguard: WireGuardPeerParams | undefined, punched?: HostPort): LinkRequest {
    const peer = punched ? { ...e.config, endpoint: punched } : e.config;
    const params: PeerLinkRequestParams = { peer, ...(wireguard ? { wireguard } : {}), ...(e.source === 'inbound' || punched ? { roam: true } : {}) };
    return { name: e.config.name, kind: e.config.link, origin: e.origin, cost: e.config.cost, params, authenticated: e.config.authenticate };
  }

  private serial(e: PeerEntry, fn: () => Promise<void>): Promise<void> {
    const run = e.ops.then(fn, fn);
    e.ops = run.catch((err) => this.ctx.log.error({ peer: e.config.name, err: (err as Error).message }, 'peer link change failed'));
    return e.ops;
  }

  private setState(e: PeerEntry, state: PeerState, reason: string | undefined): void {
    if (e.state !== state) e.since = this.ctx.clock.now();
    e.state = state;
    e.reason = reason;
  }

  private clearTimers(e: PeerEntry): void {
    if (e.dialTimer !== undefined) this.ctx.timers.clearTimeout(e.dialTimer);
    if (e.downTimer !== undefined) this.ctx.timers.clearTimeout(e.downTimer);
    e.dialTimer = e.downTimer = undefined;
  }
}

/** A refusal (policy, identity) rather than a transport failure: retried more slowly. */
function isRefusal(reason: string): boolean {
  return /refused by the peer|another MoltID|denied|allow list|not a peer|not the expected|does not derive|does not verify|disagree|configured without|offers no WireGuard|not made/.test(reason);
}

function describeParams(p: LinkParams): string {
  return p.kind === 'gre' ? `gre key ${p.greKey ?? 0}` : p.kind === 'vxlan' || p.kind === 'wireguard' ? `${p.kind} vni ${p.vni ?? 0}` : p.kind;
}

function shortId(moltid: string): string {
  return moltid.length > 24 ? `${moltid.slice(0, 16)}…${moltid.slice(-8)}` : moltid;
}

/** A session whose peer is at a mesh address: it rides the mesh (through a relay), not the underlay. */
function isMeshSession(s: PeeringSession): boolean {
  return isMeshAddress(normalizeAddr(s.remoteAddress));
}

/** An IP-literal host:port (an observed or candidate endpoint), or undefined. */
function parseEndpoint(text: string): HostPort | undefined {
  if (typeof text !== 'string' || text.length > 64) return undefined;
  try {
    const ep = parseHostPort(text, PORTS.vxlan);
    const host = ep.host;
    if (!host.includes(':') && !/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return undefined;
    if (host.includes(':') && isMeshAddress(host)) return undefined;
    return { host, port: ep.port ?? PORTS.vxlan };
  } catch {
    return undefined;
  }
}

/** ::ffff:192.0.2.1 (a v4 client on the dual-stack socket) -> 192.0.2.1. */
function normalizeAddr(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}
