/**
 * Discovery as a service (spec §4, §10): it finds peers and hands them to peering, which makes links
 * only after their handshakes.
 *
 *   Moltbook  on while the API key variable (moltbook.apiKeyEnv) is set: search #moltnet posts every
 *             pollSeconds (with jitter), parse them (posts.ts), hand the candidates with an endpoint to
 *             peering; announce this node (a signed binding in the post) at start, every
 *             announceSeconds, and when the endpoint it would announce changes
 *   cache     peers that peered, in stateDir/discovered-peers.json, dialled again at start
 *   LAN       signed beacons on the underlay's link-local multicast (lan.ts), when discovery.lan
 *
 * The API key never leaves the client: it is not logged, shown or stored (errors from the client do not
 * carry it).
 */
import type { MoltnetConfig } from '../../config/schema.js';
import type { Service, ServiceContext } from '../service.js';
import type { PeeringEvents, PeeringService } from '../peering/service.js';
import { MoltbookClient } from './moltbook-client.js';
import { announcementPost, parsePosts } from './posts.js';
import { PeerCache } from './cache.js';
import { announcedEndpoint, defaultRouteAddress } from './endpoint.js';
import { LanBeacons, type LanCandidate } from './lan.js';
import { formatHostPort, parseHostPort } from '../../config/schema.js';
import { PORTS } from '../../common/ports.js';

/** A LAN peer already handed to peering is not handed again within this (beacons come every 10 s). */
const LAN_REPEAT_MS = 30_000;

export interface DiscoverySection {
  moltbook: MoltnetConfig['moltbook'];
  discovery: MoltnetConfig['discovery'];
  underlayListen: string;
  /** The mesh TUN's name: never a beacon interface. */
  tunName: string;
  name: string | undefined;
  /** This node offers the relay role (peering.relay): announced as a capability. */
  relay: boolean;
  /** The API key, read from the environment at start (never logged). */
  apiKey: string | undefined;
}

interface MoltbookState {
  enabled: boolean;
  lastPoll?: string;
  lastPollError?: string;
  candidates: number;
  ignored: number;
  handedToPeering: number;
  lastAnnounce?: string;
  lastAnnounceId?: string;
  lastAnnounceError?: string;
  announcedEndpoint?: string;
}

export class DiscoveryService implements Service<DiscoverySection> {
  readonly name = 'discovery';
  private ctx!: ServiceContext<DiscoverySection>;
  private cfg!: DiscoverySection;
  private client: MoltbookClient | undefined;
  private cache!: PeerCache;
  private pollTimer: unknown;
  private announceTimer: unknown;
  private stopped = false;
  private announcedAt: string | undefined;
  private readonly state: MoltbookState = { enabled: false, candidates: 0, ignored: 0, handedToPeering: 0 };
  private readonly unsubscribe: (() => void)[] = [];
  private lan: LanBeacons | undefined;
  private readonly lanSeen = new Map<string, number>();

  constructor(private readonly wallClock: () => number = Date.now) {}

  async start(ctx: ServiceContext<DiscoverySection>): Promise<void> {
    this.ctx = ctx;
    this.cfg = ctx.config;
    this.cache = new PeerCache(ctx.node.stateDir);
    const bad = await this.cache.load();
    if (bad) ctx.log.warn({ err: bad }, 'discovered-peers cache unreadable; starting with an empty one');
    ctx.queries.register('discovery', () => ({
      moltbook: this.state,
      cached: this.cache.size,
      lan: this.lan ? { interfaces: this.lan.activeInterfaces().map((i) => i.name), counters: this.lan.counters } : false,
      exchange: this.cfg.discovery.exchange,
    }));
    const peering = this.peering();
    const onUp = (p: PeeringEvents['established'][0]) => {
      if (p.source === 'moltbook' || p.source === 'lan' || p.source === 'exchange') {
        this.cache.put({ uuid: p.uuid, endpoint: p.endpoint, name: p.name, source: p.source, lastSeen: this.wallClock() });
        void this.cache.save().catch((err) => ctx.log.warn({ err: (err as Error).message }, 'cannot save the discovered-peers cache'));
      }
    };
    const onDropped = (p: { uuid: string | undefined }) => {
      if (p.uuid && this.cache.delete(p.uuid)) void this.cache.save().catch(() => undefined);
    };
    peering?.events.on('established', onUp);
    peering?.events.on('dropped', onDropped);
    this.unsubscribe.push(() => peering?.events.off('established', onUp), () => peering?.events.off('dropped', onDropped));
    // A restart reconnects at once to the peers that worked before.
    for (const p of this.cache.list()) {
      void peering?.addDiscovered({ uuid: p.uuid, endpoint: p.endpoint, ...(p.name ? { name: p.name } : {}), source: p.source }).catch(() => undefined);
    }
    if (this.cfg.discovery.lan) await this.startLan();
    if (this.cfg.apiKey === undefined) {
      ctx.log.info({ variable: this.cfg.moltbook.apiKeyEnv }, 'Moltbook discovery off: the API key variable is not set');
      return;
    }
    this.client = new MoltbookClient({
      baseUrl: this.cfg.moltbook.baseUrl,
      apiKey: this.cfg.apiKey,
      apiKeyName: this.cfg.moltbook.apiKeyEnv,
      onRetry: (r) => ctx.log.debug({ ...r }, 'Moltbook request retried'),
    });
    this.state.enabled = true;
    this.pollTimer = ctx.timers.setTimeout(() => void this.poll(), 0);
    this.announceTimer = ctx.timers.setTimeout(() => void this.announceLoop(), 0);
  }

  reconfigure(): boolean {
    return false;
  }

  stop(): void {
    this.stopped = true;
    this.lan?.stop();
    for (const u of this.unsubscribe) u();
    for (const t of [this.pollTimer, this.announceTimer]) if (t !== undefined) this.ctx.timers.clearTimeout(t);
    this.pollTimer = this.announceTimer = undefined;
  }

  /** `moltnet announce`: one post now. */
  async announceNow(): Promise<{ id: string; endpoint: string }> {
    if (!this.client) throw new Error(`Moltbook is off on this node: set ${this.cfg.moltbook.apiKeyEnv} in the daemon's environment`);
    const endpoint = await this.endpoint();
    if (!endpoint) throw new Error('no endpoint to announce: set moltbook.endpoint (host:port)');
    const peering = this.peering();
    if (!peering) throw new Error('peering is not running');
    const signedBinding = await peering.signedBindingFor(endpoint);
    const post = announcementPost({
      address: this.ctx.node.address,
      endpoint,
      ...(this.cfg.name ? { name: this.cfg.name } : {}),
      protocols: ['ospfv3', 'bfd', 'moltnet-peering'],
      capabilities: this.cfg.relay ? ['relay'] : [],
      ...(this.ctx.node.wireguard ? { wireguardKey: this.ctx.node.wireguard.publicKey } : {}),
      signedBinding,
    });
    const { id } = await this.client.createPost({ ...post, submolt: this.cfg.moltbook.submolt });
    this.announcedAt = endpoint;
    Object.assign(this.state, { lastAnnounce: new Date(this.wallClock()).toISOString(), lastAnnounceId: id, announcedEndpoint: endpoint });
    delete this.state.lastAnnounceError;
    this.ctx.log.info({ id, endpoint }, 'announced on Moltbook');
    return { id, endpoint };
  }

  /** Signed beacons on every eligible interface; what they bring is handed to peering. */
  private async startLan(): Promise<void> {
    const port = parseHostPort(this.cfg.underlayListen, PORTS.vxlan).port ?? PORTS.vxlan;
    this.lan = new LanBeacons({
      intervalMs: this.cfg.discovery.lanIntervalSeconds * 1000,
      exclude: [...this.cfg.discovery.lanExclude, this.cfg.tunName],
      ownUuid: this.ctx.node.uuid,
      makeBeacon: async (iface) => {
        const peering = this.peering();
        if (!peering) throw new Error('peering is not running');
        return peering.signedBindingFor(formatHostPort({ host: iface.address, port }));
      },
      log: this.ctx.log,
      timers: this.ctx.timers,
      clock: this.ctx.clock,
    });
    this.lan.on('candidate', (c) => this.fromLan(c));
    await this.lan.start();
  }

  private fromLan(c: LanCandidate): void {
    const now = this.ctx.clock.now();
    const last = this.lanSeen.get(c.uuid);
    if (last !== undefined && now - last < LAN_REPEAT_MS) return;
    if (this.lanSeen.size > 4096) this.lanSeen.clear();
    this.lanSeen.set(c.uuid, now);
    let endpoint;
    try {
      const hp = parseHostPort(c.endpoint, PORTS.vxlan);
      endpoint = { host: hp.host, port: hp.port ?? PORTS.vxlan };
    } catch {
      return;
    }
    void this.peering()?.addDiscovered({ uuid: c.uuid, endpoint, source: 'lan' }).catch((err) => this.ctx.log.warn({ err: (err as Error).message }, 'LAN peer not added'));
  }

  private peering(): PeeringService | undefined {
    return this.ctx.services.get<PeeringService>('peering');
  }

  private endpoint(): Promise<string | undefined> {
    return announcedEndpoint({ configured: this.cfg.moltbook.endpoint, underlayListen: this.cfg.underlayListen, defaultRouteAddress });
  }

  private async poll(): Promise<void> {
    this.pollTimer = undefined;
    if (this.stopped || !this.client) return;
    try {
      const posts = await this.client.searchPosts();
      const { candidates, ignored } = parsePosts(posts, { unsigned: this.cfg.discovery.unsigned });
      this.state.candidates = candidates.length;
      this.state.ignored = ignored.length;
      let handed = 0;
      for (const c of candidates) {
        if (!c.endpoint || c.uuid === this.ctx.node.uuid) continue;
        if (await this.peering()?.addDiscovered({ uuid: c.uuid, endpoint: c.endpoint, ...(c.name ? { name: c.name } : {}), source: 'moltbook' })) handed++;
      }
      this.state.handedToPeering += handed;
      this.state.lastPoll = new Date(this.wallClock()).toISOString();
      delete this.state.lastPollError;
      if (ignored.length > 0) this.ctx.log.debug({ ignored: ignored.slice(0, 10) }, 'Moltbook posts ignored');
      this.ctx.log.info({ candidates: candidates.length, ignored: ignored.length, new: handed }, 'Moltbook polled');
      // The endpoint we would announce changed (a new default route): say so now.
      if (this.announcedAt !== undefined && (await this.endpoint()) !== this.announcedAt) await this.announceNow().catch(() => undefined);
    } catch (err) {
      this.state.lastPollError = (err as Error).message;
      this.ctx.log.warn({ err: (err as Error).message }, 'Moltbook poll failed');
    }
    if (this.stopped) return;
    const every = this.cfg.moltbook.pollSeconds * 1000;
    this.pollTimer = this.ctx.timers.setTimeout(() => void this.poll(), Math.round(every * (0.8 + 0.4 * Math.random())));
  }

  private async announceLoop(): Promise<void> {
    this.announceTimer = undefined;
    if (this.stopped) return;
    let retryMs = this.cfg.moltbook.announceSeconds * 1000;
    try {
      await this.announceNow();
    } catch (err) {
      this.state.lastAnnounceError = (err as Error).message;
      this.ctx.log.warn({ err: (err as Error).message }, 'Moltbook announcement failed');
      retryMs = Math.min(retryMs, 60_000);
    }
    if (this.stopped) return;
    this.announceTimer = this.ctx.timers.setTimeout(() => void this.announceLoop(), retryMs);
  }
}
