/**
 * The routing table from a shortest-path tree (the second half of computeSpf): intra-area routes
 * (RFC 5340 §4.8.3), then AS-external routes (RFC 2328 §16.4). Candidates live in typed arrays and are
 * found through an open-addressing table keyed by prefix words and length, so nothing is allocated per
 * prefix until the output routes themselves.
 */
import type { ExternalPrefix, IntraPrefix, NextHop, SpfRoute } from './graph.js';

/** AS-External-LSA metrics at or above this are unreachable (RFC 2328 Appendix B). */
export const LS_INFINITY = 0xffffff;

/** What route selection needs of the tree (built by spf.ts). */
export interface Tree {
  root: number;
  /** Distance per vertex (Infinity: unreachable). */
  dist: Float64Array;
  /** Next-hop bitsets, `words` uint32s per vertex; bit b = hops[b]. */
  nh: Uint32Array;
  words: number;
  hops: NextHop[];
  /** 1 for on-link hops (neighborRouterId 0). */
  onlink: Uint8Array;
  /** Router ID -> vertex, or -1. */
  routerVertex(routerId: number): number;
  /** Network key -> vertex, or -1. */
  networkVertex(key: string): number;
  /** Whether router vertex v has the E bit. */
  isAsbr(v: number): boolean;
}

const INTRA = 0;
const E1 = 1;
const E2 = 2;

/**
 * Candidate routes, one per distinct prefix/length, in parallel typed arrays. The table finds a
 * candidate by its masked prefix (four uint32 words) and length.
 */
class Candidates {
  readonly words: Uint32Array;
  readonly length: Uint8Array;
  readonly type: Uint8Array;
  readonly cost: Float64Array;
  readonly ext: Float64Array;
  readonly local: Uint8Array;
  /** The vertex whose next-hop set the route uses (-1: none), unless `merged` has the candidate. */
  readonly vertex: Int32Array;
  /** Unions of equal-cost next-hop sets. */
  readonly merged = new Map<number, Uint32Array>();
  count = 0;
  private readonly slots: Int32Array;
  private readonly shift: number;
  private readonly mask: number;

  constructor(capacity: number) {
    this.words = new Uint32Array(4 * capacity);
    this.length = new Uint8Array(capacity);
    this.type = new Uint8Array(capacity);
    this.cost = new Float64Array(capacity);
    this.ext = new Float64Array(capacity);
    this.local = new Uint8Array(capacity);
    this.vertex = new Int32Array(capacity);
    let bits = 4;
    while (1 << bits < capacity * 2) bits++;
    this.slots = new Int32Array(1 << bits).fill(-1);
    this.shift = 32 - bits;
    this.mask = (1 << bits) - 1;
  }

  private hash(k: Uint32Array, len: number): number {
    let h = Math.imul(k[0], 0x9e3779b1) ^ k[1];
    h = Math.imul(h, 0x85ebca6b) ^ k[2];
    h = Math.imul(h, 0xc2b2ae35) ^ k[3];
    return Math.imul(h ^ len, 0x9e3779b1) >>> this.shift;
  }

  /** The candidate for the prefix in k (see loadWords) and length, or -1. */
  find(k: Uint32Array, len: number): number {
    const w = this.words;
    for (let s = this.hash(k, len); ; s = (s + 1) & this.mask) {
      const c = this.slots[s];
      if (c < 0) return -1;
      const o = 4 * c;
      if (this.length[c] === len && w[o] === k[0] && w[o + 1] === k[1] && w[o + 2] === k[2] && w[o + 3] === k[3]) return c;
    }
  }

  /** Add a candidate for a prefix known to be absent; returns its index. */
  add(k: Uint32Array, len: number): number {
    const c = this.count++;
    this.words.set(k, 4 * c);
    this.length[c] = len;
    let s = this.hash(k, len);
    while (this.slots[s] >= 0) s = (s + 1) & this.mask;
    this.slots[s] = c;
    return c;
  }

  set(c: number, type: number, cost: number, ext: number, local: boolean, vertex: number): void {
    this.type[c] = type;
    this.cost[c] = cost;
    this.ext[c] = ext;
    this.local[c] = local ? 1 : 0;
    this.vertex[c] = vertex;
    this.merged.delete(c);
  }
}

/** Scratch: the words of the last prefix given to loadWords. */
const kw = new Uint32Array(4);

function validPrefix(p: Uint8Array, length: number): boolean {
  return Number.isInteger(length) && length >= 0 && length <= 128 && p.length >= (length + 7) >> 3;
}

/** Load prefix p masked to `length` bits into kw (bytes past the end of p count as zero). */
function loadWords(p: Uint8Array, length: number): void {
  for (let j = 0; j < 4; j++) {
    const bits = length - 32 * j;
    if (bits <= 0) {
      kw[j] = 0;
      continue;
    }
    const o = 4 * j;
    let x: number;
    if (p.length >= o + 4) {
      x = (p[o] << 24) | (p[o + 1] << 16) | (p[o + 2] << 8) | p[o + 3];
    } else {
      x = 0;
      for (let i = 0; i < 4; i++) x = (x << 8) | (o + i < p.length ? p[o + i] : 0);
    }
    kw[j] = bits >= 32 ? x : x & (-1 << (32 - bits));
  }
}

function isZero(a: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) return false;
  return true;
}

export function buildRoutes(tree: Tree, intraPrefixes: IntraPrefix[], externals: ExternalPrefix[]): SpfRoute[] {
  const { dist, nh, words: W, root } = tree;
  const cand = new Candidates(intraPrefixes.length + externals.length);
  const { type, cost, ext, local, vertex, merged } = cand;

  /** The next-hop set of candidate c: [array, offset], or null for none (local). */
  const setArray = (c: number): Uint32Array | null => merged.get(c) ?? (vertex[c] < 0 ? null : nh);
  const setOffset = (c: number): number => (merged.has(c) ? 0 : vertex[c] * W);
  /** OR the set of vertex v (or merged set `bits`) into candidate c's set. */
  const merge = (c: number, v: number, bits: Uint32Array | undefined): void => {
    if (bits === undefined && !merged.has(c) && vertex[c] === v) return;
    const out = new Uint32Array(W);
    const a = setArray(c);
    const ao = setOffset(c);
    if (a !== null) for (let k = 0; k < W; k++) out[k] = a[ao + k];
    if (bits !== undefined) for (let k = 0; k < W; k++) out[k] |= bits[k];
    else if (v >= 0) for (let k = 0; k < W; k++) out[k] |= nh[v * W + k];
    merged.set(c, out);
  };

  // Intra-area routes: least distance + prefix metric; the root's own prefixes are local and win.
  const lengths = new Uint8Array(129);
  for (const p of intraPrefixes) {
    if (!validPrefix(p.prefix, p.length)) continue;
    const at = p.attachedTo;
    const v = at.kind === 'router' ? tree.routerVertex(at.routerId) : tree.networkVertex(at.key);
    if (v < 0 || dist[v] === Infinity) continue;
    const isLocal = v === root;
    const d = isLocal ? 0 : dist[v] + p.metric;
    loadWords(p.prefix, p.length);
    let c = cand.find(kw, p.length);
    if (c < 0) {
      c = cand.add(kw, p.length);
      lengths[p.length] = 1;
    } else if (local[c] === 1 || (!isLocal && d > cost[c])) {
      continue;
    } else if (!isLocal && d === cost[c]) {
      merge(c, v, undefined);
      continue;
    }
    cand.set(c, INTRA, d, 0, isLocal, isLocal ? -1 : v);
  }
  const intraCount = cand.count;

  // Longest match of a forwarding address among the intra-area routes.
  const byLength: number[] = [];
  for (let len = 128; len >= 0; len--) if (lengths[len] === 1) byLength.push(len);
  const lookup = (addr: Uint8Array): number => {
    for (const len of byLength) {
      loadWords(addr, len);
      const c = cand.find(kw, len);
      if (c >= 0 && c < intraCount) return c;
    }
    return -1;
  };
  const hasOnlink = (c: number): boolean => {
    const a = setArray(c);
    const o = setOffset(c);
    if (a === null) return false;
    for (let b = 0; b < tree.hops.length; b++) {
      if (tree.onlink[b] === 1 && (a[o + (b >>> 5)] & (1 << (b & 31))) !== 0) return true;
    }
    return false;
  };

  // AS-external routes.
  for (const x of externals) {
    if (!validPrefix(x.prefix, x.length) || !(x.metric >= 0 && x.metric < LS_INFINITY)) continue;
    const a = tree.routerVertex(x.asbr);
    if (a < 0 || a === root || dist[a] === Infinity || !tree.isAsbr(a)) continue;
    let reach = dist[a];
    let v = a;
    let bits: Uint32Array | undefined;
    const fa = x.forwardingAddress;
    if (fa !== undefined && fa.length >= 16 && !isZero(fa)) {
      const via = lookup(fa);
      if (via < 0) continue;
      // A forwarding address on one of our own or an on-link prefix: no next hop can name it; use the
      // path to the ASBR.
      if (local[via] === 0 && !hasOnlink(via)) {
        reach = cost[via];
        v = vertex[via];
        bits = merged.get(via);
      }
    }
    const t = x.metricType === 2 ? E2 : E1;
    const total = t === E1 ? reach + x.metric : reach;
    loadWords(x.prefix, x.length);
    let c = cand.find(kw, x.length);
    if (c >= 0 && c < intraCount) continue; // intra-area beats external
    if (c < 0) {
      c = cand.add(kw, x.length);
    } else {
      const order = t - type[c] || (t === E1 ? total - cost[c] : x.metric - ext[c] || total - cost[c]);
      if (order > 0) continue;
      if (order === 0) {
        merge(c, v, bits);
        if (x.metric < ext[c]) ext[c] = x.metric; // E1 ties of different metrics: report the least
        continue;
      }
    }
    cand.set(c, t, total, x.metric, false, v);
    if (bits !== undefined) merged.set(c, bits);
  }

  // Output, sorted by prefix then length.
  const n = cand.count;
  const cw = cand.words;
  const clen = cand.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((x, y) => {
    const a = 4 * x;
    const b = 4 * y;
    return cw[a] - cw[b] || cw[a + 1] - cw[b + 1] || cw[a + 2] - cw[b + 2] || cw[a + 3] - cw[b + 3] || clen[x] - clen[y];
  });
  const store = Buffer.allocUnsafeSlow(n * 16);
  const routes: SpfRoute[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const c = order[i];
    const off = i * 16;
    store.writeUInt32BE(cw[4 * c], off);
    store.writeUInt32BE(cw[4 * c + 1], off + 4);
    store.writeUInt32BE(cw[4 * c + 2], off + 8);
    store.writeUInt32BE(cw[4 * c + 3], off + 12);
    const s = setArray(c);
    let nexthops: NextHop[];
    if (s === null) {
      nexthops = [];
    } else {
      const so = setOffset(c);
      let count = 0;
      for (let k = 0; k < W; k++) count += popcount(s[so + k]);
      nexthops = new Array(count);
      let j = 0;
      for (let k = 0; k < W; k++) {
        let word = s[so + k];
        while (word !== 0) {
          const low = word & -word;
          nexthops[j++] = tree.hops[k * 32 + 31 - Math.clz32(low)];
          word ^= low;
        }
      }
    }
    const t = type[c];
    const route: SpfRoute = {
      prefix: store.subarray(off, off + 16),
      length: clen[c],
      cost: cost[c],
      type: t === INTRA ? 'intra' : t === E1 ? 'external1' : 'external2',
      local: local[c] === 1,
      nexthops,
    };
    if (t !== INTRA) route.externalCost = ext[c];
    routes[i] = route;
  }
  return routes;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}
