/**
 * OSPFv3 as a service: one instance, one point-to-point interface per link (tunnel links and kernel
 * links) as the link manager adds them, packets through the control-plane door, one timer driven by
 * the instance's own next-wake time, and its routes into the RIB.
 *
 * It follows the links' events: a link that goes down for another reason (BFD) kills its neighbor at
 * once; a cost change is taken in place; a removed link's interface goes. It holds a link down itself
 * (reason 'ospf') while a Full adjacency on it is lost, so the RIB withdraws the link's connected and
 * static routes too, and it asks BFD for a session to a kernel router once it has heard its address.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatIpv6 } from '../../common/address.js';
import type { MoltnetConfig } from '../../config/schema.js';
import { IPPROTO_OSPF } from '../../dataplane/wire/ipv6.js';
import { formatDottedQuad, parseDottedQuad } from './wire/types.js';
import { OspfInstance, type OspfRoute } from './instance.js';
import { deriveRouterId } from './router-id.js';
import type { Link } from '../link-manager.js';
import type { Route } from '../rib.js';
import type { Service, ServiceContext } from '../service.js';
import { BFD_DOWN_REASON, type BfdApi } from '../bfd/service.js';

export type OspfConfig = MoltnetConfig['ospf'];

/** OSPFv3 packets are link-local: hop limit 1 (RFC 5340 §2.2 via §A.1). */
const OSPF_HOP_LIMIT = 1;
/** The link manager's reason while a Full adjacency on the link is lost. */
export const OSPF_DOWN_REASON = 'ospf';
/** Longest the instance's timer sleeps, so a missed wake-up heals. */
const MAX_SLEEP_MS = 60_000;

/** Where a router ID re-derived after a conflict is remembered, so a restart keeps it. */
const ROUTER_ID_FILE = 'ospf-router-id.json';

/**
 * The default router ID: 32 bits of SHA-256 over the whole UUID (router-id.ts), never bits of the mesh
 * address, which UUIDs assigned in a pattern share. `generation` counts re-derivations after conflicts.
 */
export function routerIdFor(uuid: string, generation = 0): number {
  return deriveRouterId(uuid, generation);
}

export class OspfService implements Service<OspfConfig> {
  readonly name = 'ospf';
  instance!: OspfInstance;
  private ctx!: ServiceContext<OspfConfig>;
  private timer: unknown;
  private stopped = false;
  private tickQueued = false;
  private readonly unsubscribe: (() => void)[] = [];
  /** Links whose Full adjacency was lost (held down with OSPF_DOWN_REASON). */
  private readonly lost = new Set<number>();
  /** Links with an OSPF interface now (see follow()). */
  private readonly running = new Set<number>();
  /** Re-derivations of the default router ID after conflicts this node yielded. */
  private generation = 0;

  async start(ctx: ServiceContext<OspfConfig>): Promise<void> {
    this.ctx = ctx;
    const cfg = ctx.config;
    const spfSeconds = ctx.metrics.histogram({
      name: 'moltnet_ospf_spf_duration_seconds',
      help: 'How long each SPF run took (its count is the number of runs)',
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
    });
    const configured = cfg.routerId !== undefined;
    if (!configured) this.generation = await this.loadGeneration();
    const routerId = configured ? parseDottedQuad(cfg.routerId!)! : routerIdFor(ctx.node.uuid, this.generation);
    const inst = new OspfInstance({
      routerId,
      routerIdConfigured: configured,
      areaId: parseDottedQuad(cfg.area) ?? 0,
      linkLocal: ctx.node.linkLocal,
      prefixes: [{ prefix: ctx.node.meshAddress, length: 128, metric: 0 }],
      io: { send: (linkId, dst, packet) => ctx.packets.sendIpv6(linkId, dst, IPPROTO_OSPF, OSPF_HOP_LIMIT, packet) },
      log: ctx.log,
      now: ctx.clock.now(),
      spfTimer: { now: () => performance.now(), ran: (ms) => spfSeconds.observe(ms / 1000) },
    });
    this.instance = inst;
    inst.onRoutes((routes) => ctx.rib.replaceSource('ospf', ribRoutes(routes)));
    inst.onRouterIdConflict((e) => {
      const fields = { routerId: formatDottedQuad(e.routerId), source: e.source, peer: e.peerAddress ? formatIpv6(e.peerAddress) : undefined, link: e.linkId !== undefined ? ctx.links.nameOf(e.linkId) : undefined };
      if (!e.weYield) {
        // Configured IDs are kept as they are: the operator must fix one side.
        (configured ? ctx.log.error : ctx.log.warn).call(ctx.log, fields, `OSPF router ID conflict: ${e.detail}`);
        return;
      }
      this.generation++;
      const next = routerIdFor(ctx.node.uuid, this.generation);
      ctx.log.warn({ ...fields, newRouterId: formatDottedQuad(next), generation: this.generation }, `OSPF router ID conflict, this node yields: ${e.detail}`);
      inst.changeRouterId(next, ctx.clock.now());
      this.reschedule();
      void this.saveGeneration();
    });
    inst.onNeighborState((e) => {
      const link = ctx.links.get(e.linkId);
      // A kernel router's address is learned here: run BFD with it (tunnel links have theirs already).
      if (link?.kind === 'kernel' && e.to !== 'Down') ctx.services.get<BfdApi>('bfd')?.ensureSession(link.id, link.name, e.address);
      if (e.to === 'Full' && this.lost.delete(e.linkId)) ctx.links.setDown(e.linkId, OSPF_DOWN_REASON, false);
      if (e.from === 'Full' && e.to !== 'Full' && !this.lost.has(e.linkId)) {
        this.lost.add(e.linkId);
        ctx.links.setDown(e.linkId, OSPF_DOWN_REASON, true);
      }
    });
    ctx.packets.handlers.ospf = (p) => {
      inst.receive(p.linkId, p.src, p.dst, p.hopLimit, p.payload, ctx.clock.now());
      // The punt path hands packets up in batches (hundreds of LS Updates while a neighbor floods 10,000
      // LSAs): run the timers once after the batch, not once per packet.
      if (this.tickQueued) return;
      this.tickQueued = true;
      queueMicrotask(() => {
        this.tickQueued = false;
        this.reschedule();
      });
    };
    const on = <E extends 'added' | 'removed' | 'held' | 'down' | 'changed'>(event: E, fn: (l: Link, reason?: string) => void) => {
      ctx.links.on(event, fn as never);
      this.unsubscribe.push(() => ctx.links.off(event, fn as never));
    };
    on('added', (l) => this.follow(l));
    on('held', (l) => this.follow(l));
    on('down', (l, reason) => {
      if (reason === OSPF_DOWN_REASON || reason === 'removed' || !this.running.has(l.id)) return;
      inst.neighborDown(l.id, undefined, ctx.clock.now());
      this.reschedule();
    });
    on('removed', (l) => {
      this.lost.delete(l.id);
      if (this.running.delete(l.id)) inst.removeInterface(l.id, ctx.clock.now());
      this.reschedule();
    });
    on('changed', (l) => {
      inst.setInterfaceCost(l.id, l.cost, ctx.clock.now());
      this.reschedule();
    });
    for (const l of ctx.links.list()) this.follow(l);
    this.registerQueries();
    const neighbors = ctx.metrics.gauge({
      name: 'moltnet_ospf_neighbors',
      help: 'OSPF neighbors by state',
      labelNames: ['state'],
      collect: () => {
        neighbors.reset();
        for (const n of inst.neighbors(ctx.clock.now())) neighbors.inc({ state: n.state });
      },
    });
    const events = ctx.metrics.gauge({
      name: 'moltnet_ospf_events',
      help: 'OSPF counters since start, by name (packets, LSAs, SPF runs)',
      labelNames: ['event'],
      collect: () => {
        events.reset();
        for (const [k, v] of Object.entries(inst.counters())) events.set({ event: k }, v);
      },
    });
    this.reschedule();
  }

  /** Every OSPF setting shapes the instance or its interfaces: any change restarts it. */
  reconfigure(section: OspfConfig): boolean {
    return JSON.stringify(section) === JSON.stringify(this.ctx.config);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.ctx.timers.clearTimeout(this.timer);
    for (const u of this.unsubscribe.splice(0)) u();
    if (this.ctx.packets.handlers.ospf) delete this.ctx.packets.handlers.ospf;
    this.ctx.rib.replaceSource('ospf', []);
    for (const id of this.lost) this.ctx.links.setDown(id, OSPF_DOWN_REASON, false);
    this.lost.clear();
  }

  /**
   * OSPF runs on a tunnel link while nothing but OSPF itself holds it down. Held by anyone else (BFD down,
   * or not yet Up on a new link), the interface is gone: no Hellos are heard there, so no adjacency can form
   * and be advertised over a link that carries nothing (which would draw the mesh's traffic into it).
   */
  private follow(link: Link): void {
    // A kernel router's BFD lives and dies with its OSPF adjacency (RFC 5882): take our OSPF away and its
    // BFD goes too and never comes Up again. There, a BFD down kills the neighbor (the 'down' handler) and
    // OSPF stays.
    const usable = [...link.downReasons].every((r) => r === OSPF_DOWN_REASON || (r === BFD_DOWN_REASON && link.kind === 'kernel'));
    if (usable && !this.running.has(link.id)) {
      this.running.add(link.id);
      this.addLink(link);
    } else if (!usable && this.running.delete(link.id)) {
      this.instance.removeInterface(link.id, this.ctx.clock.now());
      this.reschedule();
    }
  }

  private addLink(link: Link): void {
    const cfg = this.ctx.config;
    const auth = cfg.authentication;
    this.instance.addInterface(
      {
        linkId: link.id,
        name: link.name,
        interfaceId: link.id + 1,
        cost: link.cost,
        helloInterval: cfg.helloInterval,
        deadInterval: cfg.deadInterval,
        mtu: link.spec.mtu,
        mtuIgnore: cfg.mtuIgnore,
        ...(auth ? { auth: { keyId: auth.keyId, key: Buffer.from(auth.key, 'utf8') } } : {}),
      },
      this.ctx.clock.now(),
    );
    this.reschedule();
  }

  private registerQueries(): void {
    const { ctx, instance: inst } = this;
    ctx.queries.register('ospf neighbors', () => inst.neighbors(ctx.clock.now()));
    ctx.queries.register('ospf database', () => inst.database(ctx.clock.now()));
    ctx.queries.register('ospf topology', () => inst.topology(ctx.clock.now()));
    ctx.queries.register('ospf interfaces', () => inst.interfaces());
    ctx.queries.register('ospf routes', () =>
      inst.routes().map((r) => ({
        prefix: `${formatIpv6(r.prefix)}/${r.length}`,
        type: r.type,
        cost: r.cost,
        local: r.local ?? false,
        via: r.nexthops.map((n) => `${formatIpv6(n.address)}%${ctx.links.nameOf(n.linkId)}`),
      })),
    );
    ctx.queries.register('ospf status', () => ({
      routerId: formatDottedQuad(inst.routerId),
      routerIdSource: ctx.config.routerId !== undefined ? 'configured' : this.generation === 0 ? 'derived' : `derived (generation ${this.generation}, after a conflict)`,
      routerIdConflicts: inst.routerIdConflicts(ctx.clock.now()),
      conflicts: inst.conflicts(),
      counters: inst.counters(),
      damping: inst.damping(ctx.clock.now()),
    }));
  }

  private async loadGeneration(): Promise<number> {
    try {
      const saved = JSON.parse(await readFile(join(this.ctx.node.stateDir, ROUTER_ID_FILE), 'utf8')) as { uuid?: string; generation?: number };
      // A state directory carried over from another identity says nothing about this one.
      if (saved.uuid === this.ctx.node.uuid && Number.isInteger(saved.generation) && saved.generation! >= 0) return saved.generation!;
    } catch {
      /* none yet, or unreadable: start from the first derivation */
    }
    return 0;
  }

  private async saveGeneration(): Promise<void> {
    const path = join(this.ctx.node.stateDir, ROUTER_ID_FILE);
    try {
      await writeFile(`${path}.tmp`, JSON.stringify({ uuid: this.ctx.node.uuid, generation: this.generation }) + '\n', { mode: 0o600 });
      await rename(`${path}.tmp`, path);
    } catch (err) {
      this.ctx.log.warn({ err: (err as Error).message, path }, 'could not save the router ID generation');
    }
  }

  private reschedule(): void {
    if (this.stopped) return;
    const now = this.ctx.clock.now();
    let next: number;
    try {
      next = this.instance.tick(now);
    } catch (err) {
      this.ctx.log.error({ err }, 'ospf timer failed');
      next = now + 1000;
    }
    if (this.timer !== undefined) this.ctx.timers.clearTimeout(this.timer);
    const delay = Math.max(0, Math.min(next - now, MAX_SLEEP_MS));
    this.timer = this.ctx.timers.setTimeout(() => {
      this.timer = undefined;
      this.reschedule();
    }, delay);
  }
}

function ribRoutes(routes: OspfRoute[]): Route[] {
  return routes
    .filter((r) => !r.local && r.nexthops.length > 0)
    .map((r) => ({
      prefix: r.prefix,
      length: r.length,
      nexthops: [...new Set(r.nexthops.map((n) => n.linkId))],
      source: 'ospf' as const,
      cost: r.cost,
      ospfType: r.type,
    }));
}
