/**
 * The RIB: every route the node knows, by source, and the one that wins per prefix.
 *
 *   sources      connected (a peer's /128 through its link), static (the config), ospf (SPF's result)
 *   preference   connected < static < ospf, like a router's administrative distance
 *   usable       a route's next hops are the links it names that are up; a route with none left is no
 *                candidate, so a less preferred source takes over (a static route whose link went down
 *                yields to OSPF's path)
 *   installed    the winners as the FIB holds them
 *
 * Every change is turned into a FibChange (remove / insert, an insert replacing the prefix's route)
 * over only the prefixes it touched, so one route change at 100k routes costs one FIB update, not a
 * rebuild. Listeners (the forwarding worker's FIB and the control plane's copy) get each change once.
 * Pure: no I/O, no clock.
 */
import { MAX_NEXTHOPS } from '../common/limits.js';
import { formatIpv6 } from '../common/address.js';

export type RouteSource = 'connected' | 'static' | 'ospf';
export const ROUTE_SOURCES: readonly RouteSource[] = ['connected', 'static', 'ospf'];
const PREFERENCE: Record<RouteSource, number> = { connected: 0, static: 1, ospf: 2 };

export interface Route {
  /** 16 bytes; bits past `length` are zero. */
  prefix: Uint8Array;
  length: number;
  /** Link ids, in order of preference. */
  nexthops: number[];
  source: RouteSource;
  /** OSPF cost. */
  cost?: number;
  /** OSPF route type. */
  ospfType?: string;
}

export interface FibRoute {
  prefix: Uint8Array;
  length: number;
  nexthops: number[];
}

export interface FibChange {
  remove: { prefix: Uint8Array; length: number }[];
  /** Insert or replace. */
  insert: FibRoute[];
}

interface Installed {
  route: Route;
  nexthops: number[];
}

export type FibListener = (change: FibChange) => void;

export class Rib {
  /** key -> the route of each source for that prefix. */
  private readonly candidates = new Map<string, Map<RouteSource, Route>>();
  private readonly bySource = new Map<RouteSource, Set<string>>(ROUTE_SOURCES.map((s) => [s, new Set<string>()]));
  /** link id -> keys of routes (any source) naming it. */
  private readonly byLink = new Map<number, Set<string>>();
  private readonly downLinks = new Set<number>();
  private readonly installed = new Map<string, Installed>();
  private readonly dirty = new Set<string>();
  private readonly listeners: FibListener[] = [];
  private depth = 0;

  onChange(listener: FibListener): void {
    this.listeners.push(listener);
  }

  /** Add or replace one route of its source. */
  set(route: Route): void {
    this.batch(() => this.put(route));
  }

  /** Withdraw one route of a source. */
  withdraw(source: RouteSource, prefix: Uint8Array, length: number): void {
    this.batch(() => this.drop(source, keyOf(prefix, length)));
  }

  /** Make a source's routes exactly `routes` (same-prefix entries merge their next hops). */
  replaceSource(source: RouteSource, routes: readonly Route[]): void {
    this.batch(() => {
      const next = new Map<string, Route>();
      for (const r of routes) {
        const key = keyOf(r.prefix, r.length);
        const prev = next.get(key);
        if (prev) {
          for (const n of r.nexthops) if (!prev.nexthops.includes(n)) prev.nexthops.push(n);
        } else {
          next.set(key, { ...r, nexthops: [...r.nexthops], source });
        }
      }
      for (const key of [...this.bySource.get(source)!]) if (!next.has(key)) this.drop(source, key);
      for (const [key, r] of next) {
        const cur = this.candidates.get(key)?.get(source);
        if (!cur || !sameRoute(cur, r)) this.put(r, key);
      }
    });
  }

  /** A link went down (true) or came back (false): its routes stop or start being candidates. */
  setLinkDown(linkId: number, down: boolean): void {
    if (down === this.downLinks.has(linkId)) return;
    if (down) this.downLinks.add(linkId);
    else this.downLinks.delete(linkId);
    this.batch(() => {
      for (const key of this.byLink.get(linkId) ?? []) this.dirty.add(key);
    });
  }

  /** Group several changes into one FibChange. */
  batch(fn: () => void): void {
    this.depth++;
    try {
      fn();
    } finally {
      this.depth--;
    }
    if (this.depth === 0) this.commit();
  }

  /** The installed routes (winners with their usable next hops), sorted by prefix then length. */
  best(): (Route & { nexthops: number[] })[] {
    return [...this.installed.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, i]) => ({ ...i.route, nexthops: i.nexthops }));
  }

  /** Every route of every source (for show and tests), winners or not. */
  all(): Route[] {
    const out: Route[] = [];
    for (const m of this.candidates.values()) out.push(...m.values());
    return out;
  }

  get size(): number {
    return this.installed.size;
  }

  private put(route: Route, key = keyOf(route.prefix, route.length)): void {
    const r: Route = { ...route, prefix: masked(route.prefix, route.length), nexthops: [...new Set(route.nexthops)] };
    let m = this.candidates.get(key);
    if (!m) {
      m = new Map();
      this.candidates.set(key, m);
    }
    const old = m.get(r.source);
    if (old) this.unindex(old, key);
    m.set(r.source, r);
    this.bySource.get(r.source)!.add(key);
    for (const n of r.nexthops) {
      let s = this.byLink.get(n);
      if (!s) {
        s = new Set();
        this.byLink.set(n, s);
      }
      s.add(key);
    }
    this.dirty.add(key);
  }

  private drop(source: RouteSource, key: string): void {
    const m = this.candidates.get(key);
    const old = m?.get(source);
    if (!m || !old) return;
    m.delete(source);
    if (m.size === 0) this.candidates.delete(key);
    this.bySource.get(source)!.delete(key);
    this.unindex(old, key);
    this.dirty.add(key);
  }

  private unindex(r: Route, key: string): void {
    const others = this.candidates.get(key);
    for (const n of r.nexthops) {
      // Keep the index entry while another source's route for the prefix still names the link.
      let still = false;
      if (others) for (const o of others.values()) if (o !== r && o.nexthops.includes(n)) still = true;
      if (still) continue;
      const s = this.byLink.get(n);
      s?.delete(key);
      if (s && s.size === 0) this.byLink.delete(n);
    }
  }

  private commit(): void {
    if (this.dirty.size === 0) return;
    const change: FibChange = { remove: [], insert: [] };
    for (const key of this.dirty) {
      const winner = this.winner(key);
      const cur = this.installed.get(key);
      if (!winner) {
        if (cur) {
          this.installed.delete(key);
          change.remove.push({ prefix: cur.route.prefix, length: cur.route.length });
        }
        continue;
      }
      const same = cur !== undefined && sameList(cur.nexthops, winner.nexthops);
      this.installed.set(key, winner);
      if (!same) change.insert.push({ prefix: winner.route.prefix, length: winner.route.length, nexthops: winner.nexthops });
    }
    this.dirty.clear();
    if (change.remove.length === 0 && change.insert.length === 0) return;
    for (const l of this.listeners) l(change);
  }

  private winner(key: string): Installed | undefined {
    const m = this.candidates.get(key);
    if (!m) return undefined;
    let best: Installed | undefined;
    for (const r of m.values()) {
      if (best && PREFERENCE[r.source] >= PREFERENCE[best.route.source]) continue;
      const usable = r.nexthops.filter((n) => !this.downLinks.has(n)).slice(0, MAX_NEXTHOPS);
      if (usable.length > 0) best = { route: r, nexthops: usable };
    }
    return best;
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** "<32 hex digits of the masked prefix>/<length>", without allocating a buffer (it runs per route per change). */
export function keyOf(prefix: Uint8Array, length: number): string {
  let k = '';
  for (let i = 0; i < 16; i++) {
    const bits = length - 8 * i;
    const b = bits <= 0 ? 0 : bits >= 8 ? prefix[i]! : prefix[i]! & (0xff << (8 - bits));
    k += HEX[b & 0xff];
  }
  return `${k}/${length}`;
}

/** "fd00:6d6f:6c74::/48" */
export function formatPrefix(prefix: Uint8Array, length: number): string {
  return `${formatIpv6(prefix)}/${length}`;
}

function masked(prefix: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(16);
  out.set(prefix.subarray(0, 16));
  for (let bit = length; bit < 128; bit++) out[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return out;
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameRoute(a: Route, b: Route): boolean {
  return sameList(a.nexthops, b.nexthops) && a.cost === b.cost && a.ospfType === b.ospfType;
}
