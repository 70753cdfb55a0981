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
 *      the V6-bit clear is left out. A link metric of 0 counts as 1: with every edge out of a router
 *      costing > 0, all shortest-path parents of a vertex leave the heap before it, so ECMP is complete.
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
 *   4. Routes (routes.ts): intra-area, cost = distance of the vertex the prefix is attached to + the
 *      prefix metric, least cost wins, equal costs union their next hops; prefixes of the root itself
 *      are local (cost 0, no next hops) and beat everything. Then AS-external (§16.4): the ASBR must be
 *      reachable, have the E bit and not be us, metric below LSInfinity. A non-zero forwarding address
 *      must match an intra-area route (longest match), which then gives cost and next hops (if that
 *      route is local or on-link, the path to the ASBR is used instead, since a next hop cannot name an
 *      arbitrary address); with no match the LSA is ignored. Intra-area beats external; E1 beats E2;
 *      E1 ranks by distance + metric, E2 by metric then distance; equal ranks union their next hops.
 *      Output sorted by prefix bytes then length; next hops sorted by interface, neighbor, neighbor
 *      interface.
 *
 * Cost: O((V + E) log V) for the tree, O(P log P) for P prefixes; allocation is a handful of typed
 * arrays plus the output itself (per-prefix candidates live in typed arrays, see routes.ts).
 */
import { IndexedMinHeap } from './heap.js';
import { networkKey, type NextHop, type RouterVertex, type SpfInput, type SpfResult } from './graph.js';
import { buildRoutes, type Tree } from './routes.js';

export type * from './graph.js';
export { networkKey } from './graph.js';
export { LS_INFINITY } from './routes.js';

/** Routers with more links than this get a neighbor index for the bidirectional check. */
const HUB_DEGREE = 16;

interface Graph {
  /** Vertexes: networks 0..nNet-1, then routers nNet..n-1. */
  n: number;
  nNet: number;
  root: number;
  /** Router vertex index - nNet -> the router's data. */
  routers: RouterVertex[];
  routerIds: Float64Array;
  /** Router ID | 0 (a small integer for V8, unlike IDs >= 2^31) -> vertex index. */
  rIndex: IdTable;
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

/**
 * Router ID -> vertex index: open addressing over typed arrays (Fibonacci hashing, linear probing).
 * Keys are Router IDs as int32 (id | 0); several times faster than a Map keyed by IDs >= 2^31.
 */
class IdTable {
  private readonly keys: Int32Array;
  private readonly vals: Int32Array;
  private readonly shift: number;
  private readonly mask: number;

  constructor(capacity: number) {
    let bits = 4;
    while (1 << bits < capacity * 2) bits++;
    this.keys = new Int32Array(1 << bits);
    this.vals = new Int32Array(1 << bits).fill(-1);
    this.shift = 32 - bits;
    this.mask = (1 << bits) - 1;
  }

  /** Set key -> val (val >= 0). */
  set(key: number, val: number): void {
    let i = Math.imul(key, 0x9e3779b1) >>> this.shift;
    while (this.vals[i] >= 0 && this.keys[i] !== key) i = (i + 1) & this.mask;
    this.keys[i] = key;
    this.vals[i] = val;
  }

  /** The value for key, or -1. */
  get(key: number): number {
    let i = Math.imul(key, 0x9e3779b1) >>> this.shift;
    for (;;) {
      const v = this.vals[i];
      if (v < 0 || this.keys[i] === key) return v;
      i = (i + 1) & this.mask;
    }
  }
}

const P2P = 0;
const TRANSIT = 1;

function buildGraph(input: SpfInput): Graph {
  const rootId = input.root >>> 0;

  // Vertex indexes: networks first, then routers (the root always, even without a Router-LSA).
  const nIndex = new Map<string, number>();
  const netList: { ids: number[]; dr: number; drIf: number }[] = [];
  for (const [key, nv] of input.networks) {
    nIndex.set(key, netList.length);
    netList.push({ ids: [...new Set(nv.attachedRouters)], dr: nv.drRouterId >>> 0, drIf: nv.drInterfaceId >>> 0 });
  }
  const nNet = netList.length;
  const cap = input.routers.size + 1;
  const routers: RouterVertex[] = new Array(cap);
  const routerIds = new Float64Array(cap);
  const rIndex = new IdTable(cap);
  let R = 0;
  input.routers.forEach((rv, id) => {
    if ((id | 0) !== (rootId | 0) && rv.options !== undefined && !rv.options.v6) return;
    rIndex.set(id | 0, nNet + R);
    routers[R] = rv;
    routerIds[R++] = id >>> 0;
  });
  if (rIndex.get(rootId | 0) < 0) {
    rIndex.set(rootId | 0, nNet + R);
    routers[R] = { routerId: rootId, flags: { border: false, external: false }, links: [] };
    routerIds[R++] = rootId;
  }
  const n = nNet + R;
  const root = rIndex.get(rootId | 0);

  // Every link once, flattened: router slot r's links are linkStart[r] .. linkStart[r+1]-1.
  // linkTo: the router vertex (p2p) or network vertex (transit) it names, -1 if absent.
  let L = 0;
  for (let r = 0; r < R; r++) L += routers[r].links.length;
  const linkStart = new Int32Array(R + 1);
  const linkType = new Uint8Array(L);
  const linkTo = new Int32Array(L);
  const linkIf = new Uint32Array(L);
  const linkNbrIf = new Uint32Array(L);
  const linkCost = new Float64Array(L);
  let li = 0;
  for (let r = 0; r < R; r++) {
    linkStart[r] = li;
    for (const l of routers[r].links) {
      if (l.type === 'p2p') {
        linkType[li] = P2P;
        linkTo[li] = rIndex.get(l.neighborRouterId | 0);
      } else {
        linkType[li] = TRANSIT;
        linkTo[li] = nIndex.get(networkKey(l.neighborRouterId, l.neighborInterfaceId)) ?? -1;
      }
      linkIf[li] = l.interfaceId;
      linkNbrIf[li] = l.neighborInterfaceId;
      linkCost[li] = l.metric > 0 ? l.metric : 1;
      li++;
    }
  }
  linkStart[R] = li;

  // Networks: attached routers as vertex indexes, and the set of them (for "N lists V").
  const netAttached: Int32Array[] = new Array(nNet);
  const netHas: Set<number>[] = new Array(nNet);
  for (let nv = 0; nv < nNet; nv++) {
    const idx: number[] = [];
    for (const id of netList[nv].ids) {
      const w = rIndex.get(id | 0);
      if (w >= 0) idx.push(w);
    }
    netAttached[nv] = Int32Array.from(idx);
    netHas[nv] = new Set(idx);
  }

  // The bidirectional check. Hubs get an index of their links by the vertex they name.
  const hubIndex: (Map<number, number[]> | undefined)[] = new Array(R);
  const linksTo = (r: number, target: number): number[] | undefined => {
    if (linkStart[r + 1] - linkStart[r] <= HUB_DEGREE) return undefined;
    let idx = hubIndex[r];
    if (idx === undefined) {
      idx = new Map();
      for (let i = linkStart[r]; i < linkStart[r + 1]; i++) {
        const l = idx.get(linkTo[i]);
        if (l === undefined) idx.set(linkTo[i], [i]);
        else l.push(i);
      }
      hubIndex[r] = idx;
    }
    return idx.get(target) ?? [];
  };
  /** The link of router vertex w back to v matching type and interfaces (wIf/vIf: p2p only), or -1. */
  const backLink = (w: number, v: number, type: number, vIf: number, wIf: number): number => {
    const r = w - nNet;
    const some = linksTo(r, v);
    const first = linkStart[r];
    const count = some === undefined ? linkStart[r + 1] - first : some.length;
    for (let k = 0; k < count; k++) {
      const i = some === undefined ? first + k : some[k];
      if (linkTo[i] === v && linkType[i] === type && (type === TRANSIT || (linkIf[i] === wIf && linkNbrIf[i] === vIf))) {
        return i;
      }
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
  const rootSlot = root - nNet;
  for (let i = linkStart[rootSlot]; i < linkStart[rootSlot + 1]; i++) {
    const t = linkTo[i];
    if (t < 0) continue;
    if (linkType[i] === P2P) {
      if (t === root || backLink(t, root, P2P, linkIf[i], linkNbrIf[i]) < 0) continue;
      rootEdges.push({ to: t, cost: linkCost[i], hop: hopId(linkIf[i], routerIds[t - nNet], linkNbrIf[i]) });
    } else {
      if (!netHas[t].has(root)) continue;
      const onlink = hopId(linkIf[i], 0, 0);
      const direct = new Map<number, number>();
      for (const w of netAttached[t]) {
        if (w === root) continue;
        const back = backLink(w, t, TRANSIT, 0, 0);
        if (back >= 0) direct.set(w, hopId(linkIf[i], routerIds[w - nNet], linkIf[back]));
      }
      let entry = netRoot.get(t);
      if (entry === undefined) netRoot.set(t, (entry = { onlink: [], direct: [] }));
      entry.onlink.push(onlink);
      entry.direct.push(direct);
      rootEdges.push({ to: t, cost: linkCost[i], hop: onlink });
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
  let maxEdges = L + rootEdges.length;
  for (const a of netAttached) maxEdges += a.length;
  const start = new Int32Array(n + 1);
  const to = new Int32Array(maxEdges);
  const cost = new Float64Array(maxEdges);
  const aux = new Int32Array(maxEdges).fill(-1);
  const sub: number[] = [];
  let e = 0;
  for (let nv = 0; nv < nNet; nv++) {
    start[nv] = e;
    const entry = netRoot.get(nv);
    for (const w of netAttached[nv]) {
      if (w === root || backLink(w, nv, TRANSIT, 0, 0) < 0) continue;
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
    const r = v - nNet;
    const opts = routers[r].options;
    if (opts !== undefined && !opts.r) continue;
    for (let i = linkStart[r], end = linkStart[r + 1]; i < end; i++) {
      const w = linkTo[i];
      if (w < 0 || w === root || w === v) continue;
      if (linkType[i] === P2P ? backLink(w, v, P2P, linkIf[i], linkNbrIf[i]) < 0 : !netHas[w].has(v)) continue;
      to[e] = w;
      cost[e] = linkCost[i];
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

interface Search {
  dist: Float64Array;
  /** Next-hop bitsets, `words` per vertex. */
  nh: Uint32Array;
}

function dijkstra(g: Graph): Search {
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

export function computeSpf(input: SpfInput): SpfResult {
  const g = buildGraph(input);
  const { dist, nh } = dijkstra(g);

  const distances = new Map<number, number>();
  for (let v = g.nNet; v < g.n; v++) if (dist[v] !== Infinity) distances.set(g.routerIds[v - g.nNet], dist[v]);

  const tree: Tree = {
    root: g.root,
    dist,
    nh,
    words: g.words,
    hops: g.hops,
    onlink: g.onlink,
    routerVertex: (id) => g.rIndex.get(id | 0),
    networkVertex: (key) => g.nIndex.get(key) ?? -1,
    isAsbr: (v) => g.routers[v - g.nNet].flags.external,
  };
  return { distances, routes: buildRoutes(tree, input.intraPrefixes, input.externals) };
}
