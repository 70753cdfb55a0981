/**
 * The daemon's route table: connected routes (a peer's /128 through its link), static routes from the
 * config, and routes from OSPF. One route per prefix wins by source preference (connected, then static,
 * then OSPF), like a router's administrative distance; the winners program the FIB.
 */
import { formatIpv6 } from '../common/address.js';
import { parsePrefix } from '../dataplane/fib/fib.js';
import type { RouteSpec } from './forwarding-messages.js';

export type RouteSource = 'connected' | 'static' | 'ospf';
const PREFERENCE: Record<RouteSource, number> = { connected: 0, static: 1, ospf: 2 };

export interface RouteEntry {
  prefix: Buffer;
  length: number;
  /** Link ids. */
  nexthops: number[];
  source: RouteSource;
  /** OSPF cost, when from OSPF. */
  cost?: number;
  /** OSPF route type. */
  ospfType?: string;
}

export class RouteTable {
  private readonly bySource = new Map<RouteSource, Map<string, RouteEntry>>([
    ['connected', new Map()],
    ['static', new Map()],
    ['ospf', new Map()],
  ]);

  /** Replace every route of one source. */
  setSource(source: RouteSource, routes: RouteEntry[]): void {
    const m = new Map<string, RouteEntry>();
    for (const r of routes) {
      const key = `${formatIpv6(r.prefix)}/${r.length}`;
      const prev = m.get(key);
      if (prev) {
        for (const n of r.nexthops) if (!prev.nexthops.includes(n)) prev.nexthops.push(n);
      } else {
        m.set(key, { ...r, nexthops: [...r.nexthops], source });
      }
    }
    this.bySource.set(source, m);
  }

  /** The winning route per prefix, sorted by prefix text then length. */
  best(): RouteEntry[] {
    const out = new Map<string, RouteEntry>();
    for (const m of this.bySource.values()) {
      for (const [key, r] of m) {
        if (r.nexthops.length === 0) continue;
        const cur = out.get(key);
        if (!cur || PREFERENCE[r.source] < PREFERENCE[cur.source]) out.set(key, r);
      }
    }
    return [...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
  }

  fibSpecs(): RouteSpec[] {
    return this.best().map((r) => ({ prefix: r.prefix, length: r.length, nexthops: r.nexthops.slice(0, 16) }));
  }
}

export function prefixEntry(text: string, nexthops: number[], source: RouteSource): RouteEntry {
  const { prefix, length } = parsePrefix(text);
  return { prefix, length, nexthops, source };
}
