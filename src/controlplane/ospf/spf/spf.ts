/**
 * SPF: the shortest-path tree and the routing table of one area, as a pure function of an SpfInput
 * (graph.ts says how LSAs map onto it). RFC 2328 §16.1 (Dijkstra), §16.1.1 (next hops), §16.4 (AS
 * external routes), as changed for IPv6 by RFC 5340 §4.8.
 *
 *   1. buildGraph: vertexes get integer indexes (transit networks first, then routers, so that at equal
 *      distance a network leaves the candidate list before a router, as §16.1 step 3 asks: its cost-0
 *      edges to the routers on it must be relaxed before those routers are final). Edges go into
 *      typed arrays (CSR), each kept only if the other end points back (the bidirectional check):
 *        router V -p2p-> router W   W has a p2p link with neighborRouterId V, interfaceId = V's
 *                                   neighborInterfaceId and neighborInterfaceId = V's interfaceId;
 *        router V -transit-> net N  N exists and lists V among its attached routers;
 *        net N -(cost 0)-> router W W has a transit link to N (neighbor = N's DR Router/Interface ID).
 *      A router whose Options have the R-bit clear gets no outgoing edges (never transited); one with
 *      the V6-bit clear is left out.
 *   2. The root's first hops are enumerated before the search: one per p2p link of the root, one
 *      "on-link" hop per transit link of the root, and one per router on such a transit network. Each is
 *      a bit; a vertex's next-hop set is a bitset of `words` uint32s in one Uint32Array.
 *   3. Dijkstra with an indexed binary heap and typed-array distances. Relaxing an edge u->v at a
 *      shorter distance replaces v's set by u's contribution, at an equal distance ORs it in (ECMP):
 *        u = root:                 the edge's own first-hop bit;
 *        u = a network the root is on: u's set with its on-link bit swapped for the hop "straight to v
 *                                  on that network" (§16.1.1, parent is a network attached to the root);
 *        otherwise:                u's set, unchanged (inherited).
 *      No allocation per edge.
 *   4. Intra-area routes: cost = distance of the vertex the prefix is attached to + the prefix metric;
 *      least cost wins, equal costs union their next hops. Prefixes of the root itself are local
 *      (cost 0, no next hops) and beat everything.
 *   5. AS-external routes (§16.4): the ASBR must be reachable, have the E bit and not be us; metric below
 *      LSInfinity. A non-zero forwarding address must match an intra-area route (longest match); then
 *      that route gives cost and next hops (if it is local or on-link, the path to the ASBR is used,
 *      since a next hop cannot name an arbitrary address); with no match the LSA is ignored.
 *      Intra-area beats external; E1 beats E2; E1 ranks by distance + metric; E2 by metric, then distance.
 *      Equal ranks union their next hops.
 *   6. Routes come out sorted by prefix bytes then length; next hops sorted by interface, neighbor.
 */
import { IndexedMinHeap } from './heap.js';
import {
  networkKey,
  type NextHop,
  type RouterVertex,
  type SpfInput,
  type SpfResult,
  type SpfRoute,
} from './graph.js';

export type * from './graph.js';
export { networkKey } from './graph.js';

/** AS-External-LSA metrics at or above this are unreachable (RFC 2328 Appendix B). */
export const LS_INFINITY = 0xffffff;

/** Routers with more links than this get a neighbor index for the bidirectional check. */
const HUB_DEGREE = 16;

interface Graph {
  /** Vertexes: networks 0..nNet-1, then routers nNet..n-1. */
  n: number;
  nNet: number;
  root: number;
  /** Router vertex index - nNet -> the router's data. */
  routers: RouterVertex[];
  routerIds: number[];
  rIndex: Map<number, number>;
  nIndex: Map<string, number>;
  /** CSR: the edges of vertex v are start[v] .. start[v+1]-1. */
  start: Int32Array;
  to: Int32Array;
  cost: Float64Array;
  /** From the root: the first-hop bit. From a network the root is on: offset into hopSub. Else -1. */
  aux: Int32Array;
  /** First hops, sorted, indexed by bit. */
  hops: NextHop[];
  onlink: Uint8Array;
  /** uint32 words per next-hop set. */
  words: number;
  /** Network vertex the root is on -> its on-link bits (one per root link to it). */
  netOnlink: (number[] | undefined)[];
  /** For an edge N->W out of such a network, at aux: the hop bit replacing each on-link bit of N. */
  hopSub: Int32Array;
}

const linkMetric = (m: number): number => (m > 0 ? m : 1);

function buildGraph(input: SpfInput): Graph {
  const rootId = input.root >>> 0;

  // Vertex indexes: networks first, then routers (the root always, even without a Router-LSA).
  const nIndex = new Map<string, number>();
  const nets: { attached: number[]; set: Set<number>; dr: number; drIf: number }[] = [];
  for (const [key, nv] of input.networks) {
    const set = new Set<number>(nv.attachedRouters);
    nIndex.set(key, nets.length);
    nets.push({ attached: [...set], set, dr: nv.drRouterId >>> 0, drIf: nv.drInterfaceId >>> 0 });
  }
  const nNet = nets.length;
  const routers: RouterVertex[] = [];
  const routerIds: number[] = [];
  const rIndex = new Map<number, number>();
  for (const [id, rv] of input.routers) {
    if (id !== rootId && rv.options !== undefined && !rv.options.v6) continue;
    rIndex.set(id, nNet + routers.length);
    routers.push(rv);
    routerIds.push(id);
  }
  if (!rIndex.has(rootId)) {
    rIndex.set(rootId, nNet + routers.length);
    routers.push({ routerId: rootId, flags: { border: false, external: false }, links: [] });
    routerIds.push(rootId);
  }
  const n = nNet + routers.length;
  const root = rIndex.get(rootId)!;

  // The bidirectional check. Hubs get an index of their links by neighbor Router ID.
  const hubIndex: (Map<number, number[]> | undefined)[] = new Array(routers.length);
  const linksTo = (w: number, neighbor: number): number[] | undefined => {
    const r = w - nNet;
    const links = routers[r].links;
    if (links.length <= HUB_DEGREE) return undefined;
    let idx = hubIndex[r];
    if (idx === undefined) {
      idx = new Map();
      for (let i = 0; i < links.length; i++) {
        const k = links[i].neighborRouterId;
        const l = idx.get(k);
        if (l === undefined) idx.set(k, [i]);
        else l.push(i);
      }
      hubIndex[r] = idx;
    }
    return idx.get(neighbor) ?? [];
  };
  /** Whether router w has a p2p link back to router v over the same pair of interfaces. */
  const p2pBack = (w: number, v: number, vIf: number, wIf: number): boolean => {
    const links = routers[w - nNet].links;
    const some = linksTo(w, v);
    const count = some === undefined ? links.length : some.length;
    for (let k = 0; k < count; k++) {
      const l = links[some === undefined ? k : some[k]];
      if (
        l.type === 'p2p' &&
        l.neighborRouterId === v &&
        l.interfaceId === wIf &&
        l.neighborInterfaceId === vIf
      ) {
        return true;
      }
    }
    return false;
  };
  /** The index of router w's transit link to network vertex nv, or -1. */
  const transitLink = (w: number, nv: number): number => {
    const net = nets[nv];
    const links = routers[w - nNet].links;
    const some = linksTo(w, net.dr);
    const count = some === undefined ? links.length : some.length;
    for (let k = 0; k < count; k++) {
      const i = some === undefined ? k : some[k];
      const l = links[i];
      if (l.type === 'transit' && l.neighborRouterId === net.dr && l.neighborInterfaceId === net.drIf) return i;
    }
    return -1;
  };

  // The root's first hops.
  const tmpHops: NextHop[] = [];
  const hopKeys = new Map<string, number>();
  const hopId = (interfaceId: number, neighborRouterId: number, neighborInterfaceId: number): number => {
    const key = `${interfaceId}/${neighborRouterId}/${neighborInterfaceId}`;
    let id = hopKeys.get(key);
    if (id === undefined) {
      id = tmpHops.length;
      hopKeys.set(key, id);
      tmpHops.push({ interfaceId, neighborRouterId, neighborInterfaceId });
    }
    return id;
  };
  const rootEdges: { to: number; cost: number; hop: number }[] = [];
  const netRoot = new Map<number, { onlink: number[]; direct: Map<number, number>[] }>();
  for (const l of routers[root - nNet].links) {
    const m = linkMetric(l.metric);
    if (l.type === 'p2p') {
      const w = rIndex.get(l.neighborRouterId);
      if (w === undefined || w === root || !p2pBack(w, rootId, l.interfaceId, l.neighborInterfaceId)) continue;
      rootEdges.push({ to: w, cost: m, hop: hopId(l.interfaceId, l.neighborRouterId, l.neighborInterfaceId) });
    } else {
      const nv = nIndex.get(networkKey(l.neighborRouterId, l.neighborInterfaceId));
      if (nv === undefined || !nets[nv].set.has(rootId)) continue;
      const onlink = hopId(l.interfaceId, 0, 0);
      const direct = new Map<number, number>();
      for (const id of nets[nv].attached) {
        const w = rIndex.get(id);
        if (w === undefined || w === root) continue;
        const t = transitLink(w, nv);
        if (t >= 0) direct.set(w, hopId(l.interfaceId, id, routers[w - nNet].links[t].interfaceId));
      }
      let entry = netRoot.get(nv);
      if (entry === undefined) netRoot.set(nv, (entry = { onlink: [], direct: [] }));
      entry.onlink.push(onlink);
      entry.direct.push(direct);
      rootEdges.push({ to: nv, cost: m, hop: onlink });
    }
  }
  // Number the hops in output order, so that decoding a bitset yields sorted next hops.
  const order = tmpHops.map((_, i) => i);
  order.sort((a, b) => {
    const x = tmpHops[a];
    const y = tmpHops[b];
    return (
      x.interfaceId - y.interfaceId ||
      x.neighborRouterId - y.neighborRouterId ||
      x.neighborInterfaceId - y.neighborInterfaceId
    );
  });
  const bitOf = new Int32Array(tmpHops.length);
  for (let i = 0; i < order.length; i++) bitOf[order[i]] = i;
  const hops = order.map((i) => tmpHops[i]);
  const onlink = new Uint8Array(hops.length);
  for (let i = 0; i < hops.length; i++) onlink[i] = hops[i].neighborRouterId === 0 ? 1 : 0;
  const netOnlink: (number[] | undefined)[] = new Array(nNet);
  for (const [nv, e] of netRoot) netOnlink[nv] = e.onlink.map((b) => bitOf[b]);

  // Edges (CSR).
  let maxEdges = rootEdges.length;
  for (const net of nets) maxEdges += net.attached.length;
  for (const rv of routers) maxEdges += rv.links.length;
  const start = new Int32Array(n + 1);
  const to = new Int32Array(maxEdges);
  const cost = new Float64Array(maxEdges);
  const aux = new Int32Array(maxEdges).fill(-1);
  const sub: number[] = [];
  let e = 0;
  for (let nv = 0; nv < nNet; nv++) {
    start[nv] = e;
    const entry = netRoot.get(nv);
    for (const id of nets[nv].attached) {
      const w = rIndex.get(id);
      if (w === undefined || w === root || transitLink(w, nv) < 0) continue;
      to[e] = w;
      cost[e] = 0;
      if (entry !== undefined) {
        aux[e] = sub.length;
        for (const direct of entry.direct) sub.push(bitOf[direct.get(w)!]);
      }
      e++;
    }
  }
  for (let v = nNet; v < n; v++) {
    start[v] = e;
    if (v === root) {
      for (const re of rootEdges) {
        to[e] = re.to;
        cost[e] = re.cost;
        aux[e] = bitOf[re.hop];
        e++;
      }
      continue;
    }
    const rv = routers[v - nNet];
    if (rv.options !== undefined && !rv.options.r) continue;
    const vId = routerIds[v - nNet];
    for (const l of rv.links) {
      let w: number | undefined;
      if (l.type === 'p2p') {
        w = rIndex.get(l.neighborRouterId);
        if (w === undefined || w === root || w === v || !p2pBack(w, vId, l.interfaceId, l.neighborInterfaceId)) {
          continue;
        }
      } else {
        w = nIndex.get(networkKey(l.neighborRouterId, l.neighborInterfaceId));
        if (w === undefined || !nets[w].set.has(vId)) continue;
      }
      to[e] = w;
      cost[e] = linkMetric(l.metric);
      e++;
    }
  }
  start[n] = e;

  return {
    n,
    nNet,
    root,
    routers,
    routerIds,
    rIndex,
    nIndex,
    start,
    to,
    cost,
    aux,
    hops,
    onlink,
    words: Math.max(1, Math.ceil(hops.length / 32)),
    netOnlink,
    hopSub: Int32Array.from(sub),
  };
}

interface Tree {
  dist: Float64Array;
  /** Next-hop bitsets, `words` per vertex. */
  nh: Uint32Array;
}

function dijkstra(g: Graph): Tree {
  const { n, root, start, to, cost, aux, words: W, netOnlink, hopSub } = g;
  const dist = new Float64Array(n).fill(Infinity);
  const done = new Uint8Array(n);
  const nh = new Uint32Array(n * W);
  const heap = new IndexedMinHeap(n, dist);
  dist[root] = 0;
  heap.push(root);
  while (heap.size > 0) {
    const u = heap.pop();
    done[u] = 1;
    const du = dist[u];
    const ub = u * W;
    const onl = netOnlink[u];
    for (let e = start[u], end = start[u + 1]; e < end; e++) {
      const v = to[e];
      if (done[v] === 1) continue;
      const d = du + cost[e];
      const dv = dist[v];
      if (d > dv) continue;
      const vb = v * W;
      if (d < dv) {
        dist[v] = d;
        for (let k = 0; k < W; k++) nh[vb + k] = 0;
        heap.push(v);
      }
      // ECMP: OR u's contribution into v's set.
      const a = aux[e];
      if (u === root) {
        nh[vb + (a >>> 5)] |= 1 << (a & 31);
        continue;
      }
      for (let k = 0; k < W; k++) nh[vb + k] |= nh[ub + k];
      if (onl !== undefined) {
        for (let t = 0; t < onl.length; t++) {
          const b = onl[t];
          const mask = 1 << (b & 31);
          if ((nh[ub + (b >>> 5)] & mask) === 0) continue;
          nh[vb + (b >>> 5)] &= ~mask;
          const h = hopSub[a + t];
          nh[vb + (h >>> 5)] |= 1 << (h & 31);
        }
      }
    }
  }
  return { dist, nh };
}

/** A route being chosen: the best candidate so far for one prefix/length. */
interface Candidate {
  key: string;
  prefix: Uint8Array;
  length: number;
  /** 0 intra, 1 E1, 2 E2. */
  type: 0 | 1 | 2;
  cost: number;
  ext: number;
  local: boolean;
  /** The vertex whose next-hop set this route uses (-1: none) ... */
  vertex: number;
  /** ... unless equal-cost candidates were merged: then their union. */
  bits: Uint32Array | null;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function validPrefix(p: Uint8Array, length: number): boolean {
  return Number.isInteger(length) && length >= 0 && length <= 128 && p.length >= (length + 7) >> 3;
}

/** Byte i of prefix p masked to `length` bits. */
function maskedByte(p: Uint8Array, length: number, i: number): number {
  const full = length >> 3;
  if (i < full) return p[i];
  if (i > full || i >= p.length) return 0;
  return p[i] & (0xff00 >> (length & 7)) & 0xff;
}

/** Sortable key: 32 hex digits of the masked prefix, then 2 of the length. */
function prefixKey(p: Uint8Array, length: number): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += HEX[maskedByte(p, length, i)];
  return s + HEX[length];
}

function isZero(a: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) return false;
  return true;
}

export function computeSpf(input: SpfInput): SpfResult {
  const g = buildGraph(input);
  const { dist, nh } = dijkstra(g);
  const W = g.words;
  const rootId = input.root >>> 0;

  const distances = new Map<number, number>();
  for (let v = g.nNet; v < g.n; v++) if (dist[v] !== Infinity) distances.set(g.routerIds[v - g.nNet], dist[v]);

  const setOf = (c: Candidate): Uint32Array =>
    c.bits ?? (c.vertex < 0 ? new Uint32Array(W) : nh.subarray(c.vertex * W, c.vertex * W + W));
  /** Union of c's next hops with those of the vertex / set of `other`. */
  const merge = (c: Candidate, other: Candidate): void => {
    if (c.bits === null && c.vertex === other.vertex && other.bits === null) return;
    const out = Uint32Array.from(setOf(c));
    const add = setOf(other);
    for (let k = 0; k < W; k++) out[k] |= add[k];
    c.bits = out;
  };

  // Intra-area routes.
  const intra = new Map<string, Candidate>();
  const lengths = new Set<number>();
  for (const p of input.intraPrefixes) {
    if (!validPrefix(p.prefix, p.length)) continue;
    const at = p.attachedTo;
    const v = at.kind === 'router' ? g.rIndex.get(at.routerId) : g.nIndex.get(at.key);
    if (v === undefined || dist[v] === Infinity) continue;
    const local = at.kind === 'router' && at.routerId === rootId;
    const c: Candidate = {
      key: prefixKey(p.prefix, p.length),
      prefix: p.prefix,
      length: p.length,
      type: 0,
      cost: local ? 0 : dist[v] + p.metric,
      ext: 0,
      local,
      vertex: local ? -1 : v,
      bits: null,
    };
    const old = intra.get(c.key);
    if (old === undefined || (c.local && !old.local) || (!old.local && c.cost < old.cost)) {
      intra.set(c.key, c);
      lengths.add(c.length);
    } else if (!old.local && c.cost === old.cost) {
      merge(old, c);
    }
  }

  // Longest match of a forwarding address among the intra-area routes.
  const byLength = [...lengths].sort((a, b) => b - a);
  const lookup = (addr: Uint8Array): Candidate | undefined => {
    for (const len of byLength) {
      const c = intra.get(prefixKey(addr, len));
      if (c !== undefined) return c;
    }
    return undefined;
  };
  const hasOnlink = (c: Candidate): boolean => {
    const s = setOf(c);
    for (let b = 0; b < g.hops.length; b++) if (g.onlink[b] === 1 && (s[b >>> 5] & (1 << (b & 31))) !== 0) return true;
    return false;
  };

  // AS-external routes.
  const external = new Map<string, Candidate>();
  for (const x of input.externals) {
    if (!validPrefix(x.prefix, x.length) || !(x.metric >= 0 && x.metric < LS_INFINITY)) continue;
    const a = g.rIndex.get(x.asbr);
    if (a === undefined || a === g.root || dist[a] === Infinity || !g.routers[a - g.nNet].flags.external) continue;
    const key = prefixKey(x.prefix, x.length);
    if (intra.has(key)) continue;
    let reach = dist[a];
    let vertex = a;
    let bits: Uint32Array | null = null;
    const fa = x.forwardingAddress;
    if (fa !== undefined && fa.length >= 16 && !isZero(fa)) {
      const via = lookup(fa);
      if (via === undefined) continue;
      if (!via.local && !hasOnlink(via)) {
        reach = via.cost;
        vertex = via.vertex;
        bits = via.bits;
      }
    }
    const type = x.metricType === 2 ? 2 : 1;
    const c: Candidate = {
      key,
      prefix: x.prefix,
      length: x.length,
      type,
      cost: type === 1 ? reach + x.metric : reach,
      ext: x.metric,
      local: false,
      vertex,
      bits,
    };
    const old = external.get(key);
    if (old === undefined) {
      external.set(key, c);
      continue;
    }
    const order =
      c.type - old.type || (c.type === 1 ? c.cost - old.cost : c.ext - old.ext || c.cost - old.cost);
    if (order < 0) {
      external.set(key, c);
    } else if (order === 0) {
      merge(old, c);
      if (c.ext < old.ext) old.ext = c.ext; // E1 ties of different metrics: report the least
    }
  }

  // Output, sorted.
  const all = [...intra.values(), ...external.values()];
  all.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  const store = Buffer.alloc(all.length * 16);
  const routes: SpfRoute[] = new Array(all.length);
  for (let i = 0; i < all.length; i++) {
    const c = all[i];
    const prefix = store.subarray(i * 16, i * 16 + 16);
    for (let k = 0; k < 16; k++) prefix[k] = maskedByte(c.prefix, c.length, k);
    const nexthops: NextHop[] = [];
    if (!c.local) {
      const s = setOf(c);
      for (let k = 0; k < W; k++) {
        let word = s[k];
        while (word !== 0) {
          const low = word & -word;
          nexthops.push(g.hops[k * 32 + 31 - Math.clz32(low)]);
          word ^= low;
        }
      }
    }
    const route: SpfRoute = {
      prefix,
      length: c.length,
      cost: c.cost,
      type: c.type === 0 ? 'intra' : c.type === 1 ? 'external1' : 'external2',
      local: c.local,
      nexthops,
    };
    if (c.type !== 0) route.externalCost = c.ext;
    routes[i] = route;
  }
  return { distances, routes };
}
