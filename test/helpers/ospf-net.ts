/**
 * An in-memory OSPF network for tests: OspfInstances joined by point-to-point links, a manual clock, and a
 * packet delivery queue (optional per-link delay and loss from a seeded PRNG). Deterministic: the same seed
 * gives the same run. No sleeping: run() jumps the clock to the next packet or timer.
 */
import { OspfInstance, type OspfRoute } from '../../src/controlplane/ospf/instance.js';
import type { OspfInterfaceConfig } from '../../src/controlplane/ospf/config.js';
import { ManualClock } from '../../src/common/clock.js';

/** mulberry32: a small seeded PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function linkLocalOf(routerId: number): Buffer {
  const b = Buffer.alloc(16);
  b[0] = 0xfe;
  b[1] = 0x80;
  b.writeUInt32BE(routerId >>> 0, 12);
  return b;
}

export function meshAddressOf(routerId: number): Buffer {
  const b = Buffer.from('fd006d6f6c74' + '0'.repeat(20), 'hex');
  b.writeUInt32BE(routerId >>> 0, 12);
  return b;
}

export interface SimRouter {
  id: number;
  inst: OspfInstance;
  nextTick: number;
  linkLocal: Buffer;
  /** linkId -> the link. */
  ports: Map<number, SimLink>;
  /** The interface configuration of each port (for restarts). */
  configs: Map<number, OspfInterfaceConfig>;
  prefixes: { prefix: Buffer; length: number; metric?: number }[];
  sent: { linkId: number; dst: Buffer; packet: Buffer; at: number }[];
  routeUpdates: number;
  lastRoutes: OspfRoute[];
}

export interface SimLink {
  id: number;
  a: { router: number; linkId: number };
  b: { router: number; linkId: number };
  cost: number;
  /** Packets are delivered only while up. */
  up: boolean;
  delayMs: number;
  loss: number;
}

interface Delivery {
  at: number;
  seq: number;
  to: number;
  linkId: number;
  src: Buffer;
  dst: Buffer;
  packet: Buffer;
}

export interface SimOptions {
  seed?: number;
  helloInterval?: number;
  deadInterval?: number;
  mtu?: number;
  /** Default per-link delay (ms). */
  delayMs?: number;
  /** Random extra delay up to this (ms). */
  jitterMs?: number;
  loss?: number;
  /** Keep every sent packet on the router (for tests that look at them). */
  record?: boolean;
  spfThrottle?: { delay: number; initialHold: number; maxHold: number };
}

export class SimNet {
  readonly clock = new ManualClock(0);
  readonly routers = new Map<number, SimRouter>();
  readonly links: SimLink[] = [];
  private queue: Delivery[] = [];
  private seq = 0;
  readonly rand: () => number;
  delivered = 0;
  dropped = 0;
  /** A filter that may drop packets (return false). */
  filter: ((d: { from: number; to: number; link: SimLink; packet: Buffer }) => boolean) | undefined;

  constructor(readonly opts: SimOptions = {}) {
    this.rand = prng(opts.seed ?? 1);
  }

  get now(): number {
    return this.clock.now();
  }

  addRouter(id: number, extra: { prefixes?: { prefix: Buffer; length: number; metric?: number }[] } = {}): SimRouter {
    const linkLocal = linkLocalOf(id);
    const r: SimRouter = {
      id,
      inst: undefined as unknown as OspfInstance,
      nextTick: this.now,
      linkLocal,
      ports: new Map(),
      configs: new Map(),
      prefixes: extra.prefixes ?? [{ prefix: meshAddressOf(id), length: 128 }],
      sent: [],
      routeUpdates: 0,
      lastRoutes: [],
    };
    r.inst = this.newInstance(r);
    this.routers.set(id, r);
    return r;
  }

  private newInstance(r: SimRouter): OspfInstance {
    const inst = new OspfInstance({
      routerId: r.id,
      linkLocal: r.linkLocal,
      prefixes: r.prefixes,
      io: { send: (linkId, dst, packet) => this.send(r, linkId, dst, packet) },
      now: this.now,
      ...(this.opts.spfThrottle ? { spfThrottle: this.opts.spfThrottle } : {}),
    });
    inst.onRoutes((routes) => {
      r.routeUpdates++;
      r.lastRoutes = routes;
    });
    return inst;
  }

  /** The router restarts: a fresh instance with the same Router ID and interfaces (its LSDB is lost). */
  restartRouter(id: number): void {
    const r = this.routers.get(id)!;
    r.inst = this.newInstance(r);
    for (const cfg of r.configs.values()) r.inst.addInterface(cfg, this.now);
    r.nextTick = this.now;
  }

  private nextLinkId(r: SimRouter): number {
    let id = 1;
    while (r.ports.has(id)) id++;
    return id;
  }

  ifaceConfig(r: SimRouter, linkId: number, cost: number, over: Partial<OspfInterfaceConfig> = {}): OspfInterfaceConfig {
    return {
      linkId,
      name: `l${linkId}`,
      interfaceId: linkId,
      cost,
      helloInterval: this.opts.helloInterval ?? 10,
      deadInterval: this.opts.deadInterval ?? 40,
      mtu: this.opts.mtu ?? 1400,
      ...over,
    };
  }

  /** A point-to-point link between two routers, up on both ends. */
  connect(
    a: number,
    b: number,
    cost = 10,
    over: { a?: Partial<OspfInterfaceConfig>; b?: Partial<OspfInterfaceConfig>; costB?: number } = {},
  ): SimLink {
    const ra = this.routers.get(a)!;
    const rb = this.routers.get(b)!;
    const link: SimLink = {
      id: this.links.length,
      a: { router: a, linkId: this.nextLinkId(ra) },
      b: { router: b, linkId: this.nextLinkId(rb) },
      cost,
      up: true,
      delayMs: this.opts.delayMs ?? 1,
      loss: this.opts.loss ?? 0,
    };
    this.links.push(link);
    ra.ports.set(link.a.linkId, link);
    rb.ports.set(link.b.linkId, link);
    const ca = this.ifaceConfig(ra, link.a.linkId, cost, over.a);
    const cb = this.ifaceConfig(rb, link.b.linkId, over.costB ?? cost, over.b);
    ra.configs.set(link.a.linkId, ca);
    rb.configs.set(link.b.linkId, cb);
    ra.inst.addInterface(ca, this.now);
    rb.inst.addInterface(cb, this.now);
    ra.nextTick = this.now;
    rb.nextTick = this.now;
    return link;
  }

  /** Take a link down on both ends (the interfaces go away). */
  removeLink(link: SimLink): void {
    link.up = false;
    const ra = this.routers.get(link.a.router)!;
    const rb = this.routers.get(link.b.router)!;
    ra.inst.removeInterface(link.a.linkId, this.now);
    rb.inst.removeInterface(link.b.linkId, this.now);
    ra.ports.delete(link.a.linkId);
    rb.ports.delete(link.b.linkId);
    ra.configs.delete(link.a.linkId);
    rb.configs.delete(link.b.linkId);
    ra.nextTick = this.now;
    rb.nextTick = this.now;
  }

  private send(r: SimRouter, linkId: number, dst: Buffer, packet: Buffer): void {
    if (this.opts.record) r.sent.push({ linkId, dst: Buffer.from(dst), packet: Buffer.from(packet), at: this.now });
    const link = r.ports.get(linkId);
    if (!link || !link.up) return;
    const far = link.a.router === r.id && link.a.linkId === linkId ? link.b : link.a;
    if (link.loss > 0 && this.rand() < link.loss) {
      this.dropped++;
      return;
    }
    if (this.filter && !this.filter({ from: r.id, to: far.router, link, packet })) {
      this.dropped++;
      return;
    }
    const jitter = this.opts.jitterMs ? Math.floor(this.rand() * this.opts.jitterMs) : 0;
    this.push({
      at: this.now + link.delayMs + jitter,
      seq: this.seq++,
      to: far.router,
      linkId: far.linkId,
      src: r.linkLocal,
      dst: Buffer.from(dst),
      packet: Buffer.from(packet),
    });
  }

  private push(d: Delivery): void {
    // Binary heap on (at, seq).
    const q = this.queue;
    q.push(d);
    let i = q.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(q[p]!, q[i]!)) break;
      [q[p], q[i]] = [q[i]!, q[p]!];
      i = p;
    }
  }

  private pop(): Delivery | undefined {
    const q = this.queue;
    if (q.length === 0) return undefined;
    const top = q[0]!;
    const last = q.pop()!;
    if (q.length > 0) {
      q[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < q.length && less(q[l]!, q[m]!)) m = l;
        if (r < q.length && less(q[r]!, q[m]!)) m = r;
        if (m === i) break;
        [q[m], q[i]] = [q[i]!, q[m]!];
        i = m;
      }
    }
    return top;
  }

  /** Run until `until` (ms, absolute). */
  run(until: number): void {
    for (;;) {
      let next = Number.POSITIVE_INFINITY;
      for (const r of this.routers.values()) if (r.nextTick < next) next = r.nextTick;
      const qTop = this.queue[0];
      if (qTop && qTop.at < next) next = qTop.at;
      if (next > until) break;
      if (next > this.now) this.clock.set(next);
      const now = this.now;
      while (this.queue[0] && this.queue[0].at <= now) {
        const d = this.pop()!;
        const r = this.routers.get(d.to);
        if (!r || !r.ports.has(d.linkId)) continue;
        this.delivered++;
        r.inst.receive(d.linkId, d.src, d.dst, 1, d.packet, now);
        r.nextTick = now;
      }
      for (const r of this.routers.values()) {
        if (r.nextTick <= now) r.nextTick = r.inst.tick(now);
      }
    }
    if (until > this.now) this.clock.set(until);
  }

  /** Run for `ms` more. */
  advance(ms: number): void {
    this.run(this.now + ms);
  }

  /** Every router's area-scope LSDB as comparable text. */
  areaDatabase(id: number): string {
    return this.routers
      .get(id)!
      .inst.database()
      .filter((e) => e.scope.startsWith('area') && e.age < 3600)
      .map((e) => `${e.type} ${e.linkStateId} ${e.advertisingRouter} ${e.sequence} ${e.checksum}`)
      .sort()
      .join('\n');
  }
}

function less(a: Delivery, b: Delivery): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
