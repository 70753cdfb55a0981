/**
 * Microloop avoidance after a local failure: RFC 8333's local convergence delay, narrowed by RFC 5286's
 * loop-free condition so that only the destinations that would loop wait.
 *
 * Why: a router whose adjacency dies runs SPF at once (its own links are live state), while the other
 * routers still forward on the old topology until our LSA reaches them and their SPF throttle runs (50 ms
 * or more later). If our new next hop N still reaches destination D through us, each packet for D
 * bounces between us and N until N converges: a microloop that burns both links and expires the packets'
 * hop limit. Sending such a packet nowhere for that moment loses the same packets without the loop.
 *
 * The rule, for each destination D whose next hops gained a neighbor N (a next hop we kept is safe):
 *   N is loop-free for D  iff  cost_N(D) < cost_N(S) + cost_S(D)   (RFC 5286 inequality 1)
 * with every cost taken in the topology before the failure (the baseline: our previous SPF input and
 * result, re-rooted at N for N's view). Loop-free next hops are used at once; the others are left out
 * until the hold ends; a destination left with none is withheld (its packets get "no route").
 * Nothing here reads a clock or does I/O.
 */
import { computeSpf } from './spf.js';
import type { NextHop, SpfInput, SpfResult, SpfRoute } from './graph.js';

export interface SpfSnapshot {
  input: SpfInput;
  result: SpfResult;
}

export interface LoopFreeOutcome {
  routes: SpfRoute[];
  /** Destinations withheld: every new next hop would loop back. */
  withheld: number;
  /** Destinations published with fewer next hops than SPF chose. */
  narrowed: number;
}

const routeKey = (r: SpfRoute): string => `${r.prefix.toString('hex')}/${r.length}`;
const linkKey = (l: { interfaceId: number; neighborRouterId: number }): string => `${l.interfaceId >>> 0}:${l.neighborRouterId >>> 0}`;

/** Whether our own vertex lost a link (an adjacency) from `before` to `after`. */
export function lostLocalAdjacency(before: SpfInput, after: SpfInput): boolean {
  const was = before.routers.get(before.root)?.links ?? [];
  const now = new Set((after.routers.get(after.root)?.links ?? []).map(linkKey));
  return was.some((l) => !now.has(linkKey(l)));
}

/** `fresh` (SPF over the topology after the failure) with next hops that may loop left out. */
export function loopFreeRoutes(baseline: SpfSnapshot, fresh: SpfResult): LoopFreeOutcome {
  const root = baseline.input.root;
  const old = new Map(baseline.result.routes.map((r) => [routeKey(r), r]));
  const views = new Map<number, { distances: Map<number, number>; costs: Map<string, number> } | null>();
  const viewOf = (n: number) => {
    let v = views.get(n);
    if (v === undefined) {
      // A neighbor missing from the baseline has no view: treat it as loop-free (it cannot route via us
      // on a topology it was not part of).
      if (!baseline.input.routers.has(n)) v = null;
      else {
        const r = computeSpf({ ...baseline.input, root: n });
        v = { distances: r.distances, costs: new Map(r.routes.map((x) => [routeKey(x), x.cost])) };
      }
      views.set(n, v);
    }
    return v;
  };
  const loopFree = (nh: NextHop, key: string, ours: SpfRoute | undefined): boolean => {
    if (nh.neighborRouterId === 0 || ours === undefined) return true; // we had no path N could have used
    const view = viewOf(nh.neighborRouterId);
    if (view === null) return true;
    const toUs = view.distances.get(root);
    const direct = view.costs.get(key);
    if (toUs === undefined || direct === undefined) return true; // N drops it (or cannot reach us): no loop
    return direct < toUs + ours.cost;
  };

  const routes: SpfRoute[] = [];
  let withheld = 0;
  let narrowed = 0;
  for (const r of fresh.routes) {
    const key = routeKey(r);
    const before = old.get(key);
    if (r.local) {
      routes.push(r);
      continue;
    }
    const had = new Set((before?.nexthops ?? []).map((n) => `${linkKey(n)}:${n.neighborInterfaceId >>> 0}`));
    const keep = r.nexthops.filter((n) => had.has(`${linkKey(n)}:${n.neighborInterfaceId >>> 0}`) || loopFree(n, key, before));
    if (keep.length === r.nexthops.length) routes.push(r);
    else if (keep.length === 0) withheld++;
    else {
      narrowed++;
      routes.push({ ...r, nexthops: keep });
    }
  }
  return { routes, withheld, narrowed };
}
