/**
 * An in-memory OSPF network for tests: OspfInstances joined by point-to-point links, a manual clock, and a
 * packet delivery queue (optional per-link delay and loss from a seeded PRNG). Deterministic: the same seed
 * gives the same run. No sleeping: run() jumps the clock to the next packet or timer.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
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
  /** The simulation's name for the router (the Router ID too, unless `routerId` was given). */
  id: number;
  /** The Router ID it starts with. */
  routerId: number;
  routerIdConfigured: boolean;
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
  /** Simulated time (ms) of the latest route table change, if any. */
  lastRouteChangeAt?: number;
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

  addRouter(
    id: number,
    extra: {
      prefixes?: { prefix: Buffer; length: number; metric?: number }[];
      /** Default `id`: several routers may share one (duplicate router ID tests). */
      routerId?: number;
      routerIdConfigured?: boolean;
      /** Default linkLocalOf(id). */
      linkLocal?: Buffer;
    } = {},
  ): SimRouter {
    const linkLocal = extra.linkLocal ?? linkLocalOf(id);
    const r: SimRouter = {
      id,
      routerId: extra.routerId ?? id,
      routerIdConfigured: extra.routerIdConfigured ?? false,
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
      routerId: r.routerId,
      routerIdConfigured: r.routerIdConfigured,
      linkLocal: r.linkLocal,
      prefixes: r.prefixes,
      io: { send: (linkId, dst, packet) => this.send(r, linkId, dst, packet) },
      now: this.now,
      ...(this.opts.spfThrottle ? { spfThrottle: this.opts.spfThrottle } : {}),
    });
    inst.onRoutes((routes) => {
      r.routeUpdates++;
      r.lastRoutes = routes;
      r.lastRouteChangeAt = this.now;
    });
    return inst;
  }

  /**
   * The router restarts: a fresh instance with the same interfaces (its LSDB is lost) and the Router ID it
   * has now (or `routerId`).
   */
  restartRouter(id: number, routerId?: number): void {
    const r = this.routers.get(id)!;
    r.routerId = routerId ?? r.inst.routerId;
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

// -----------------------------------------------------------------------------------------------------------
// Reference results for simulated networks (routers named 1..n)

export interface Edge {
  a: number;
  b: number;
  cost: number;
}

/** A random connected graph: a random spanning tree plus `extra` random edges, no parallel edges. */
export function randomGraph(n: number, extra: number, rand: () => number): Edge[] {
  const edges: Edge[] = [];
  const seen = new Set<string>();
  const add = (a: number, b: number): boolean => {
    const k = a < b ? `${a}-${b}` : `${b}-${a}`;
    if (a === b || seen.has(k)) return false;
    seen.add(k);
    edges.push({ a, b, cost: 1 + Math.floor(rand() * 20) });
    return true;
  };
  for (let i = 2; i <= n; i++) add(i, 1 + Math.floor(rand() * (i - 1)));
  let added = 0;
  while (added < extra) if (add(1 + Math.floor(rand() * n), 1 + Math.floor(rand() * n))) added++;
  return edges;
}

/** Reference: from every router, the distance to every other and the set of first-hop neighbors (ECMP). */
export function reference(n: number, edges: Edge[]): Map<number, Map<number, { dist: number; firstHops: Set<number> }>> {
  const adj = new Map<number, { to: number; cost: number }[]>();
  for (let i = 1; i <= n; i++) adj.set(i, []);
  for (const e of edges) {
    adj.get(e.a)!.push({ to: e.b, cost: e.cost });
    adj.get(e.b)!.push({ to: e.a, cost: e.cost });
  }
  const dist = (src: number): Map<number, number> => {
    const d = new Map<number, number>([[src, 0]]);
    const done = new Set<number>();
    for (;;) {
      let u = -1;
      let best = Infinity;
      for (const [v, dv] of d) if (!done.has(v) && dv < best) [u, best] = [v, dv];
      if (u < 0) break;
      done.add(u);
      for (const { to, cost } of adj.get(u)!) if ((d.get(to) ?? Infinity) > best + cost) d.set(to, best + cost);
    }
    return d;
  };
  const all = new Map<number, Map<number, number>>();
  for (let i = 1; i <= n; i++) all.set(i, dist(i));
  const out = new Map<number, Map<number, { dist: number; firstHops: Set<number> }>>();
  for (let s = 1; s <= n; s++) {
    const m = new Map<number, { dist: number; firstHops: Set<number> }>();
    const ds = all.get(s)!;
    for (const [t, dt] of ds) {
      if (t === s) continue;
      const firstHops = new Set<number>();
      for (const { to, cost } of adj.get(s)!) {
        const dn = all.get(to)!.get(t);
        if (dn !== undefined && cost + dn === dt) firstHops.add(to);
      }
      m.set(t, { dist: dt, firstHops });
    }
    out.set(s, m);
  }
  return out;
}

export function checkConverged(net: SimNet, n: number, edges: Edge[], label: string): void {
  const ref = reference(n, edges);
  const db1 = net.areaDatabase(1);
  assert.equal(db1.split('\n').length, 2 * n, `${label}: a Router-LSA and an Intra-Area-Prefix-LSA per router`);
  for (let i = 2; i <= n; i++) {
    // Only routers in router 1's partition need the same database.
    if (ref.get(1)!.has(i)) assert.equal(net.areaDatabase(i), db1, `${label}: LSDB of ${i} differs from router 1's`);
  }
  for (let s = 1; s <= n; s++) {
    const r = net.routers.get(s)!;
    const routes = r.inst.routes();
    const expected = ref.get(s)!;
    for (let t = 1; t <= n; t++) {
      if (t === s) continue;
      const host = net.routers.get(t)!.prefixes[0]!.prefix;
      const route = routes.find((x) => x.length === 128 && x.prefix.equals(host));
      const exp = expected.get(t);
      if (!exp) {
        assert.equal(route, undefined, `${label}: ${s} should have no route to unreachable ${t}`);
        continue;
      }
      assert.ok(route, `${label}: ${s} has no route to ${t}`);
      assert.equal(route.cost, exp.dist, `${label}: cost ${s}->${t}`);
      const hops = new Set(
        route.nexthops.map((h) => {
          const link = r.ports.get(h.linkId)!;
          const far = link.a.router === s && link.a.linkId === h.linkId ? link.b.router : link.a.router;
          assert.ok(h.address.equals(net.routers.get(far)!.linkLocal), `${label}: next hop address of ${s}->${t}`);
          return far;
        }),
      );
      assert.deepEqual([...hops].sort((a, b) => a - b), [...exp.firstHops].sort((a, b) => a - b), `${label}: next hops ${s}->${t}`);
    }
    const own = routes.find((x) => x.prefix.equals(r.prefixes[0]!.prefix));
    assert.ok(own?.local, `${label}: ${s} has its own /128 as local`);
  }
}

// -----------------------------------------------------------------------------------------------------------
// For large simulated networks (hundreds to thousands of routers): the same checks, without the O(n^2)
// scans per router of reference() and checkConverged().

/** SHA-256 (hex) of a router's area-scope LSDB: every LSA's type, IDs, sequence number and checksum. */
export function lsdbDigest(net: SimNet, id: number): string {
  return createHash('sha256').update(net.areaDatabase(id)).digest('hex');
}

/** The same result as reference(), by Dijkstra with a binary heap: O(n (n + m) log n) for all sources. */
export function referenceFast(n: number, edges: Edge[]): Map<number, Map<number, { dist: number; firstHops: Set<number> }>> {
  const adj: { to: number; cost: number }[][] = Array.from({ length: n + 1 }, () => []);
  for (const e of edges) {
    adj[e.a]!.push({ to: e.b, cost: e.cost });
    adj[e.b]!.push({ to: e.a, cost: e.cost });
  }
  const dist = (src: number): Float64Array => {
    const d = new Float64Array(n + 1).fill(Infinity);
    d[src] = 0;
    // Heap of [distance, vertex]; stale entries are skipped when popped.
    const h: [number, number][] = [[0, src]];
    const up = (i: number): void => {
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (h[p]![0] <= h[i]![0]) break;
        [h[p], h[i]] = [h[i]!, h[p]!];
        i = p;
      }
    };
    const down = (i: number): void => {
      for (;;) {
        const l = 2 * i + 1;
        let m = i;
        if (l < h.length && h[l]![0] < h[m]![0]) m = l;
        if (l + 1 < h.length && h[l + 1]![0] < h[m]![0]) m = l + 1;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    };
    while (h.length > 0) {
      const [du, u] = h[0]!;
      const last = h.pop()!;
      if (h.length > 0) {
        h[0] = last;
        down(0);
      }
      if (du > d[u]!) continue;
      for (const { to, cost } of adj[u]!) {
        if (du + cost < d[to]!) {
          d[to] = du + cost;
          h.push([d[to]!, to]);
          up(h.length - 1);
        }
      }
    }
    return d;
  };
  const all: Float64Array[] = [];
  for (let i = 1; i <= n; i++) all[i] = dist(i);
  const out = new Map<number, Map<number, { dist: number; firstHops: Set<number> }>>();
  for (let s = 1; s <= n; s++) {
    const m = new Map<number, { dist: number; firstHops: Set<number> }>();
    const ds = all[s]!;
    for (let t = 1; t <= n; t++) {
      const dt = ds[t]!;
      if (t === s || dt === Infinity) continue;
      const firstHops = new Set<number>();
      for (const { to, cost } of adj[s]!) if (cost + all[to]![t]! === dt) firstHops.add(to);
      m.set(t, { dist: dt, firstHops });
    }
    out.set(s, m);
  }
  return out;
}

/**
 * What checkConverged() asserts (routers named 1..n, one /128 each, connected graph), as a list of the
 * differences found (at most `limit`); empty when the network has converged. LSDBs are compared by
 * lsdbDigest(); each router's routes are looked up by prefix in a map, not scanned.
 */
export function convergenceErrors(
  net: SimNet,
  n: number,
  ref: Map<number, Map<number, { dist: number; firstHops: Set<number> }>>,
  limit = 10,
): string[] {
  const errors: string[] = [];
  const err = (msg: string): boolean => {
    errors.push(msg);
    return errors.length >= limit;
  };
  const db1 = net.areaDatabase(1);
  const lines = db1 === '' ? 0 : db1.split('\n').length;
  if (lines !== 2 * n && err(`router 1 has ${lines} area LSAs, expected ${2 * n}`)) return errors;
  const digest1 = createHash('sha256').update(db1).digest('hex');
  for (let i = 2; i <= n; i++) {
    if (ref.get(1)!.has(i) && lsdbDigest(net, i) !== digest1 && err(`LSDB of ${i} differs from router 1's`)) return errors;
  }
  const hostKey = (p: Buffer): string => `${p.toString('hex')}/128`;
  for (let s = 1; s <= n; s++) {
    const r = net.routers.get(s)!;
    const byPrefix = new Map<string, OspfRoute>();
    for (const x of r.inst.routes()) if (x.length === 128) byPrefix.set(hostKey(x.prefix), x);
    const expected = ref.get(s)!;
    for (let t = 1; t <= n; t++) {
      const route = byPrefix.get(hostKey(net.routers.get(t)!.prefixes[0]!.prefix));
      if (t === s) {
        if (!route?.local && err(`${s} lacks its own /128 as local`)) return errors;
        continue;
      }
      const exp = expected.get(t);
      if (!exp) {
        if (route && err(`${s} has a route to unreachable ${t}`)) return errors;
        continue;
      }
      if (!route) {
        if (err(`${s} has no route to ${t}`)) return errors;
        continue;
      }
      if (route.cost !== exp.dist && err(`cost ${s}->${t} is ${route.cost}, expected ${exp.dist}`)) return errors;
      const hops: number[] = [];
      for (const h of route.nexthops) {
        const link = r.ports.get(h.linkId);
        if (!link) {
          if (err(`${s}->${t}: next hop on unknown link ${h.linkId}`)) return errors;
          continue;
        }
        const far = link.a.router === s && link.a.linkId === h.linkId ? link.b.router : link.a.router;
        if (!h.address.equals(net.routers.get(far)!.linkLocal) && err(`${s}->${t}: next hop address is not ${far}'s`)) return errors;
        hops.push(far);
      }
      const got = [...new Set(hops)].sort((a, b) => a - b).join(',');
      const want = [...exp.firstHops].sort((a, b) => a - b).join(',');
      if (got !== want && err(`next hops ${s}->${t} are [${got}], expected [${want}]`)) return errors;
    }
  }
  return errors;
}

export interface ConvergenceRun {
  /** Simulated time (ms) of the first check that passed (a multiple of stepMs), or undefined if none did. */
  convergedAt: number | undefined;
  /** Simulated time (ms) of the last route table change on any router before convergence. */
  lastRouteChangeAt: number;
  /** Full checks run (each costs O(n^2)). */
  checks: number;
  /** The differences the last check found (empty if converged). */
  errors: string[];
}

/**
 * Run the network in steps of `stepMs` until convergenceErrors() finds nothing, or until `maxMs` (absolute).
 * The full check runs only when every router has a route to every router, and then again only once a route
 * table has changed or `recheckMs` of simulated time has passed (an LSDB may still differ with the routes
 * right).
 */
export function runUntilConverged(
  net: SimNet,
  n: number,
  ref: Map<number, Map<number, { dist: number; firstHops: Set<number> }>>,
  opts: { stepMs?: number; maxMs: number; recheckMs?: number },
): ConvergenceRun {
  const stepMs = opts.stepMs ?? 100;
  const recheckMs = opts.recheckMs ?? 5000;
  let checks = 0;
  let errors: string[] = ['not checked'];
  let checkedVersion = -1;
  let checkedAt = Number.NEGATIVE_INFINITY;
  const lastChange = (): number => {
    let t = 0;
    for (const r of net.routers.values()) if (r.lastRouteChangeAt !== undefined && r.lastRouteChangeAt > t) t = r.lastRouteChangeAt;
    return t;
  };
  while (net.now < opts.maxMs) {
    net.advance(Math.min(stepMs, opts.maxMs - net.now));
    let version = 0;
    let complete = true;
    for (const r of net.routers.values()) {
      version += r.routeUpdates;
      if (r.lastRoutes.length !== n) complete = false;
    }
    if (!complete) continue;
    if (version === checkedVersion && net.now - checkedAt < recheckMs) continue;
    checks++;
    checkedVersion = version;
    checkedAt = net.now;
    errors = convergenceErrors(net, n, ref);
    if (errors.length === 0) return { convergedAt: net.now, lastRouteChangeAt: lastChange(), checks, errors };
  }
  return { convergedAt: undefined, lastRouteChangeAt: lastChange(), checks, errors };
}

function less(a: Delivery, b: Delivery): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
