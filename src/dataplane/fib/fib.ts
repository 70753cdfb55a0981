/**
 * The forwarding information base: IPv6 longest-prefix match (any length 0..128) with ECMP.
 *
 * A multibit trie with controlled prefix expansion, a 16-bit root and 8-bit strides below it, whose
 * sparse tails are path-compressed into small leaf blocks. Everything a lookup touches lives in
 * typed arrays that grow by doubling, and the part it touches is kept small (under 4 MiB for 100k
 * routes, the 512 KiB root included) because on this kind of machine random loads get several
 * times slower once the working set passes a few MiB. A typical lookup at 100k routes reads the
 * root slot, one node slot and one leaf block (one or two cache lines), and nothing else.
 *
 *
 *   root    Int32Array, 65536 slots: indexed by address bits 0..15.
 *   nodes   Int32Array, 256 slots per node: a node at depth d (16, 24, ..., 120) is indexed by the
 *           address byte d/8. Node 0 is never used, so a child offset is always > 0.
 *   A slot is two int32s [child, route]:
 *     route  the longest route that ends inside this node's stride (length in (d, d+stride]) and
 *            covers the slot, or -1. A /50 in a depth-48 node fills 64 slots (prefix expansion).
 *     child  0: nothing deeper; > 0: offset of the child node in `nodes`;
 *            < 0: ~offset of a leaf block in `blocks`.
 *   blocks  Int32Array of leaf blocks: [count | class << 8, entry, entry, ...], entries longest
 *           first, each [prefix word 0..3, result << 8 | length] (5 words). A block holds up to
 *           LEAF_CAP routes below a slot and compares them against the whole address, so a sparse
 *           subtree needs no nodes. Blocks come in four sizes (1, 2, 4, 7 entries); blockIds,
 *           beside them, names the route of each entry for the control plane.
 *   result  Int32Array by route: the next hop when the route has one; for an ECMP route ~set,
 *           where set indexes the next-hop pool. A leaf entry carries its route's result, so a
 *           lookup that ends in a block reads nothing else.
 *   ecmp    Uint16Array, the next-hop pool: 16 slots per set, holding an ECMP route's next hops
 *           in the order given, and ecmpCount by set; the route picks
 *           ecmp[set * 16 + hash % count].
 *
 * lookupPacket() is the forwarder's entry: it takes the packet, not a hash, and hashes the flow only
 * when the matched route is ECMP, so single-path routes (most of them) skip the 36-byte hash.
 *
 * Lookup: best = the default route; walk the root, then one node per address byte while the slot
 * has a child node, remembering each slot's route; if the walk ends on a leaf block, the first
 * entry whose masked prefix equals the masked address wins, else the remembered route does.
 * No allocation, no strings, no calls.
 *
 * Invariant: every node below the root holds more than LEAF_CAP routes in its subtree. A full
 * leaf block that gets one more route becomes a node (its routes are placed again one stride
 * down); a node whose subtree shrinks to LEAF_CAP routes is collapsed back into a block. Updates
 * are incremental: an insert or remove walks one root-to-leaf path (plus the expanded slot range).
 * A Map from "hex/length" to route id serves replace and remove, and finds the covering route
 * that takes back the expanded slots of a removed one.
 */
import { MAX_LINK_ID, MAX_NEXTHOPS } from '../../common/limits.js';
import { InvalidInputError } from '../../common/errors.js';
import { IP6_DST, formatIpv6, parseIpv6Address } from '../wire/ipv6.js';
import { flowHash as defaultFlowHash, type FlowHashFn } from './flow-hash.js';

export const NO_ROUTE = -1;

export interface FibEntry {
  /** RFC 5952 text, e.g. "fd00:6d6f:6c74::". */
  prefix: string;
  length: number;
  nexthops: number[];
}

export interface FibOptions {
  /** Routes to make room for up front (the arrays still grow by doubling past it). */
  initialCapacity?: number;
  /** The flow hash lookupPacket() uses for ECMP routes (tests count its calls); default flowHash. */
  flowHash?: FlowHashFn;
}

/** Most routes a leaf block holds before it becomes a node. */
const LEAF_CAP = 7;
const ENTRY = 5; // words per leaf-block entry
const CLASS_CAP = [1, 2, 4, LEAF_CAP];
const CLASS_WORDS = CLASS_CAP.map((c) => 1 + ENTRY * c);
const NODE_WORDS = 512; // 256 slots x [child, route]
const ROOT_WORDS = 65536 * 2;
const MAX_ROUTES = 1 << 24;
/** ECMP set numbers share an int32 with the length in leaf entries (as ~set << 8). */
const MAX_ECMP_SETS = 1 << 23;

/** MASKS[length * 4 + w]: the int32 mask of word w for a prefix of that length. */
const MASKS = new Int32Array(129 * 4);
for (let l = 0; l <= 128; l++) for (let w = 0; w < 4; w++) MASKS[l * 4 + w] = maskWord(l, w);

export class Fib {
  private readonly root = new Int32Array(ROOT_WORDS);
  private nodes: Int32Array;
  /** Routes in each node's subtree, by node index (offset / NODE_WORDS). */
  private nodeRoutes: Int32Array;
  private nodeTop = 1;
  private freeNodes: number[] = [];

  private blocks: Int32Array;
  /** Beside each entry's last word in `blocks`, the route id it holds (control plane only). */
  private blockIds: Int32Array;
  private blockTop = 0;
  private liveBlocks = 0;
  private freeBlocks: number[][] = CLASS_CAP.map(() => []);
  private readonly masks = MASKS;

  // Routes, by id.
  private prefixWords: Int32Array; // 4 per route, masked
  private lengths: Uint8Array;
  private result: Int32Array;
  private routeTop = 0;
  private freeRoutes: number[] = [];

  // The next-hop pool for ECMP routes.
  private ecmp: Uint16Array;
  private ecmpCount: Uint8Array;
  private ecmpTop = 0;
  private freeEcmp: number[] = [];

  private defaultRoute = -1;
  private readonly byKey = new Map<string, number>();
  /** Routes of each length: unexpand() looks up covering routes only at lengths that have some. */
  private readonly lengthCount = new Int32Array(129);
  private readonly hash: FlowHashFn;

  constructor(opts: FibOptions = {}) {
    this.hash = opts.flowHash ?? defaultFlowHash;
    const cap = opts.initialCapacity ?? 1024;
    if (!Number.isInteger(cap) || cap < 0) {
      throw new RangeError(`Fib initialCapacity must be a non-negative integer, got ${String(cap)}`);
    }
    const routeCap = Math.max(16, Math.min(cap, MAX_ROUTES));
    const nodeCap = Math.max(16, routeCap >> 8);
    this.nodes = new Int32Array(nodeCap * NODE_WORDS);
    this.nodeRoutes = new Int32Array(nodeCap);
    this.blocks = new Int32Array(routeCap * 8);
    this.blockIds = new Int32Array(this.blocks.length);
    this.prefixWords = new Int32Array(routeCap * 4);
    this.lengths = new Uint8Array(routeCap);
    this.result = new Int32Array(routeCap);
    const ecmpCap = Math.max(16, routeCap >> 2);
    this.ecmp = new Uint16Array(ecmpCap * MAX_NEXTHOPS);
    this.ecmpCount = new Uint8Array(ecmpCap);
    this.resetRoot();
  }

  /** Number of routes. */
  get size(): number {
    return this.byKey.size;
  }

  // ---------------------------------------------------------------------------------------------
  // The hot path

  /**
   * Longest-prefix match of the 16-byte address at buf[off..off+16) (the caller guarantees the
   * bytes are there). Returns the next hop chosen among the route's next hops by
   * `flowHash` (a uint32; hash % count), or NO_ROUTE. Allocates nothing.
   */
  lookup(buf: Uint8Array, off: number, flowHash: number): number {
    // The same walk is written out in matchLength(): a shared helper call would cost more.
    let best = this.defaultRoute;
    let i = ((buf[off] << 8) | buf[off + 1]) << 1;
    const root = this.root;
    let x = root[i + 1];
    if (x >= 0) best = x;
    let child = root[i];
    if (child !== 0) {
      const nodes = this.nodes;
      let p = off + 2;
      while (child > 0) {
        i = child + (buf[p++] << 1);
        x = nodes[i + 1];
        if (x >= 0) best = x;
        child = nodes[i];
      }
      if (child < 0) {
        const blocks = this.blocks;
        const masks = this.masks;
        let e = ~child;
        const end = e + 1 + (blocks[e] & 0xff) * ENTRY;
        const a0 = (buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
        const a1 = (buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7];
        const a2 = (buf[off + 8] << 24) | (buf[off + 9] << 16) | (buf[off + 10] << 8) | buf[off + 11];
        const a3 = (buf[off + 12] << 24) | (buf[off + 13] << 16) | (buf[off + 14] << 8) | buf[off + 15];
        for (e++; e < end; e += ENTRY) {
          const meta = blocks[e + 4];
          const m = (meta & 0xff) << 2;
          if (
            (((a0 ^ blocks[e]) & masks[m]) |
              ((a1 ^ blocks[e + 1]) & masks[m + 1]) |
              ((a2 ^ blocks[e + 2]) & masks[m + 2]) |
              ((a3 ^ blocks[e + 3]) & masks[m + 3])) ===
            0
          ) {
            const v = meta >> 8;
            if (v >= 0) return v;
            return this.ecmp[(~v << 4) + ((flowHash >>> 0) % this.ecmpCount[~v])];
          }
        }
      }
    }
    if (best < 0) return NO_ROUTE;
    const v = this.result[best];
    if (v >= 0) return v;
    return this.ecmp[(~v << 4) + ((flowHash >>> 0) % this.ecmpCount[~v])];
  }

  /**
   * lookup() for the IPv6 packet at buf[pkt..]: matches its destination (pkt + 24) and, only if the
   * route is ECMP, hashes the flow (source, destination, flow label) to pick the next hop. The
   * caller guarantees a whole IPv6 header. Allocates nothing. (The walk of lookup(), written out.)
   */
  lookupPacket(buf: Uint8Array, pkt: number): number {
    const off = pkt + IP6_DST;
    let best = this.defaultRoute;
    let i = ((buf[off] << 8) | buf[off + 1]) << 1;
    const root = this.root;
    let x = root[i + 1];
    if (x >= 0) best = x;
    let child = root[i];
    if (child !== 0) {
      const nodes = this.nodes;
      let p = off + 2;
      while (child > 0) {
        i = child + (buf[p++] << 1);
        x = nodes[i + 1];
        if (x >= 0) best = x;
        child = nodes[i];
      }
      if (child < 0) {
        const blocks = this.blocks;
        const masks = this.masks;
        let e = ~child;
        const end = e + 1 + (blocks[e] & 0xff) * ENTRY;
        const a0 = (buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
        const a1 = (buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7];
        const a2 = (buf[off + 8] << 24) | (buf[off + 9] << 16) | (buf[off + 10] << 8) | buf[off + 11];
        const a3 = (buf[off + 12] << 24) | (buf[off + 13] << 16) | (buf[off + 14] << 8) | buf[off + 15];
        for (e++; e < end; e += ENTRY) {
          const meta = blocks[e + 4];
          const m = (meta & 0xff) << 2;
          if (
            (((a0 ^ blocks[e]) & masks[m]) |
              ((a1 ^ blocks[e + 1]) & masks[m + 1]) |
              ((a2 ^ blocks[e + 2]) & masks[m + 2]) |
              ((a3 ^ blocks[e + 3]) & masks[m + 3])) ===
            0
          ) {
            const v = meta >> 8;
            if (v >= 0) return v;
            return this.ecmp[(~v << 4) + ((this.hash(buf, pkt) >>> 0) % this.ecmpCount[~v])];
          }
        }
      }
    }
    if (best < 0) return NO_ROUTE;
    const v = this.result[best];
    if (v >= 0) return v;
    return this.ecmp[(~v << 4) + ((this.hash(buf, pkt) >>> 0) % this.ecmpCount[~v])];
  }

  /** The matched route's prefix length, or -1: for tests and 'show'. (The walk of lookup().) */
  matchLength(buf: Uint8Array, off: number): number {
    let best = this.defaultRoute;
    let i = ((buf[off] << 8) | buf[off + 1]) << 1;
    const root = this.root;
    let x = root[i + 1];
    if (x >= 0) best = x;
    let child = root[i];
    if (child === 0) return best < 0 ? -1 : this.lengths[best];
    const nodes = this.nodes;
    let p = off + 2;
    while (child > 0) {
      i = child + (buf[p++] << 1);
      x = nodes[i + 1];
      if (x >= 0) best = x;
      child = nodes[i];
    }
    if (child < 0) {
      const blocks = this.blocks;
      const masks = this.masks;
      let e = ~child;
      const end = e + 1 + (blocks[e] & 0xff) * ENTRY;
      const a0 = (buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
      const a1 = (buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7];
      const a2 = (buf[off + 8] << 24) | (buf[off + 9] << 16) | (buf[off + 10] << 8) | buf[off + 11];
      const a3 = (buf[off + 12] << 24) | (buf[off + 13] << 16) | (buf[off + 14] << 8) | buf[off + 15];
      for (e++; e < end; e += ENTRY) {
        const meta = blocks[e + 4];
        const m = (meta & 0xff) << 2;
        if (
          (((a0 ^ blocks[e]) & masks[m]) |
            ((a1 ^ blocks[e + 1]) & masks[m + 1]) |
            ((a2 ^ blocks[e + 2]) & masks[m + 2]) |
            ((a3 ^ blocks[e + 3]) & masks[m + 3])) ===
          0
        ) {
          return meta & 0xff;
        }
      }
    }
    return best < 0 ? -1 : this.lengths[best];
  }

  // ---------------------------------------------------------------------------------------------
  // The control plane

  /**
   * Insert or replace the route for prefix/length. prefix: 16 bytes (bits past length are
   * ignored). nexthops: 1..16 link ids, each an integer 0..65534, used in the order given.
   */
  insert(prefix: Uint8Array, length: number, nexthops: readonly number[]): void {
    checkPrefix(prefix, length);
    if (!Array.isArray(nexthops) || nexthops.length < 1 || nexthops.length > MAX_NEXTHOPS) {
      throw new RangeError(`a route needs 1..${MAX_NEXTHOPS} next hops, got ${describeCount(nexthops)}`);
    }
    for (const nh of nexthops) {
      if (!Number.isInteger(nh) || nh < 0 || nh > MAX_LINK_ID) {
        throw new RangeError(`next hop must be a link id 0..${MAX_LINK_ID}, got ${String(nh)}`);
      }
    }
    const masked = maskPrefix(prefix, length);
    const key = routeKey(masked, length);
    const existing = this.byKey.get(key);
    if (existing !== undefined) {
      this.setNexthops(existing, nexthops);
      this.refreshEntry(existing);
      return;
    }
    const r = this.allocRoute();
    for (let w = 0; w < 4; w++) this.prefixWords[r * 4 + w] = masked.readInt32BE(w * 4);
    this.lengths[r] = length;
    this.setNexthops(r, nexthops);
    this.byKey.set(key, r);
    this.lengthCount[length]++;
    this.placeFromRoot(r);
  }

  /** Remove the route for prefix/length (bits past length ignored). Returns whether it existed. */
  remove(prefix: Uint8Array, length: number): boolean {
    checkPrefix(prefix, length);
    const masked = maskPrefix(prefix, length);
    const key = routeKey(masked, length);
    const r = this.byKey.get(key);
    if (r === undefined) return false;
    this.removeFromRoot(r);
    this.byKey.delete(key);
    this.lengthCount[length]--;
    this.setNexthops(r, null);
    this.freeRoutes.push(r);
    return true;
  }

  /** Remove every route. Keeps the arrays' current sizes. */
  clear(): void {
    this.resetRoot();
    this.nodeTop = 1;
    this.freeNodes = [];
    this.blockTop = 0;
    this.liveBlocks = 0;
    this.freeBlocks = CLASS_CAP.map(() => []);
    this.routeTop = 0;
    this.freeRoutes = [];
    this.result.fill(0); // no route owns a pool set any more
    this.ecmpTop = 0;
    this.freeEcmp = [];
    this.defaultRoute = -1;
    this.byKey.clear();
    this.lengthCount.fill(0);
  }

  /** Every route, sorted by prefix (as a number) then length. */
  entries(): FibEntry[] {
    const ids = [...this.byKey.values()];
    const pw = this.prefixWords;
    ids.sort((x, y) => {
      for (let w = 0; w < 4; w++) {
        const a = pw[x * 4 + w] >>> 0;
        const b = pw[y * 4 + w] >>> 0;
        if (a !== b) return a < b ? -1 : 1;
      }
      return this.lengths[x] - this.lengths[y];
    });
    const bytes = Buffer.alloc(16);
    return ids.map((r) => {
      for (let w = 0; w < 4; w++) bytes.writeInt32BE(pw[r * 4 + w], w * 4);
      return { prefix: formatIpv6(bytes, 0), length: this.lengths[r], nexthops: this.nexthopsOf(r) };
    });
  }

  /** Sizes of the compiled structure, for 'show' and the benchmark. */
  stats(): { routes: number; nodes: number; leafBlocks: number; bytes: number; hotBytes: number } {
    const hotBytes =
      this.root.byteLength +
      (this.nodeTop - this.freeNodes.length) * NODE_WORDS * 4 +
      this.blockTop * 4 +
      this.routeTop * 4 +
      this.ecmpTop * MAX_NEXTHOPS * 2;
    return {
      routes: this.byKey.size,
      nodes: this.nodeTop - 1 - this.freeNodes.length,
      leafBlocks: this.liveBlocks,
      bytes:
        this.root.byteLength +
        this.nodes.byteLength +
        this.nodeRoutes.byteLength +
        this.blocks.byteLength +
        this.prefixWords.byteLength +
        this.lengths.byteLength +
        this.result.byteLength +
        this.ecmp.byteLength,
      hotBytes,
    };
  }

  // --- placing a route -------------------------------------------------------------------------

  private placeFromRoot(r: number): void {
    const len = this.lengths[r];
    if (len === 0) {
      this.defaultRoute = r;
      return;
    }
    const chunk = this.prefixWords[r * 4] >>> 16;
    if (len <= 16) {
      this.expand(this.root, 0, chunk, 16 - len, r, len);
      return;
    }
    const i = chunk << 1;
    this.root[i] = this.placeBelow(this.root[i], 16, r);
  }

  /** Place route r (longer than d) below a slot whose child value is `child`; returns the new child value. */
  private placeBelow(child: number, d: number, r: number): number {
    if (child > 0) {
      this.placeInNode(child, d, r);
      return child;
    }
    if (child === 0) {
      const q = this.allocBlock(0);
      this.blocks[q] = 1;
      this.writeEntry(q + 1, r);
      return ~q;
    }
    const q = ~child;
    const n = this.blocks[q] & 0xff;
    const cls = this.blocks[q] >> 8;
    if (n < CLASS_CAP[cls]) {
      this.insertEntry(q, n, r);
      return child;
    }
    if (cls + 1 < CLASS_CAP.length) {
      const q2 = this.moveBlock(q, n, cls, cls + 1);
      this.insertEntry(q2, n, r);
      return ~q2;
    }
    // Full: the block becomes a node one stride down.
    const moved = this.blockRoutes(q);
    this.freeBlock(q);
    const node = this.allocNode();
    for (const x of moved) this.placeInNode(node, d, x);
    this.placeInNode(node, d, r);
    return node;
  }

  private placeInNode(node: number, d: number, r: number): void {
    this.nodeRoutes[node / NODE_WORDS]++;
    const len = this.lengths[r];
    const byte = this.routeByte(r, d >> 3);
    if (len <= d + 8) {
      this.expand(this.nodes, node, byte, d + 8 - len, r, len);
      return;
    }
    const i = node + (byte << 1);
    const next = this.placeBelow(this.nodes[i], d + 8, r);
    this.nodes[i] = next; // this.nodes may have grown inside placeBelow
  }

  /** Prefix expansion: write r over the 2^free slots from `start` unless a longer route holds one. */
  private expand(arr: Int32Array, base: number, start: number, free: number, r: number, len: number): void {
    const end = start + (1 << free);
    for (let s = start; s < end; s++) {
      const i = base + (s << 1) + 1;
      const cur = arr[i];
      if (cur < 0 || this.lengths[cur] <= len) arr[i] = r;
    }
  }

  // --- removing a route ------------------------------------------------------------------------

  private removeFromRoot(r: number): void {
    const len = this.lengths[r];
    if (len === 0) {
      this.defaultRoute = -1;
      return;
    }
    const chunk = this.prefixWords[r * 4] >>> 16;
    if (len <= 16) {
      this.unexpand(this.root, 0, chunk, 0, r, len);
      return;
    }
    const i = chunk << 1;
    this.root[i] = this.removeBelow(this.root[i], 16, r);
  }

  /** Remove route r from below a slot whose child value is `child`; returns the new child value. */
  private removeBelow(child: number, d: number, r: number): number {
    if (child > 0) {
      this.removeInNode(child, d, r);
      if (this.nodeRoutes[child / NODE_WORDS] <= LEAF_CAP) return this.collapse(child);
      return child;
    }
    if (child === 0) throw new Error(`FIB corrupt: route ${r} missing below depth ${d}`);
    const q = ~child;
    const blocks = this.blocks;
    const n = blocks[q] & 0xff;
    const cls = blocks[q] >> 8;
    let e = q + 1;
    const end = q + 1 + n * ENTRY;
    const ids = this.blockIds;
    while (e < end && ids[e + 4] !== r) e += ENTRY;
    if (e >= end) throw new Error(`FIB corrupt: route ${r} missing from its leaf block`);
    blocks.copyWithin(e, e + ENTRY, end);
    ids.copyWithin(e, e + ENTRY, end);
    blocks[q] = (n - 1) | (cls << 8);
    if (n === 1) {
      this.freeBlock(q);
      return 0;
    }
    if (cls > 0 && n - 1 <= CLASS_CAP[cls - 1]) return ~this.moveBlock(q, n - 1, cls, cls - 1);
    return child;
  }

  private removeInNode(node: number, d: number, r: number): void {
    this.nodeRoutes[node / NODE_WORDS]--;
    const len = this.lengths[r];
    const byte = this.routeByte(r, d >> 3);
    if (len <= d + 8) {
      this.unexpand(this.nodes, node, byte, d, r, len);
      return;
    }
    const i = node + (byte << 1);
    this.nodes[i] = this.removeBelow(this.nodes[i], d + 8, r);
  }

  /**
   * Undo prefix expansion of r (length len, in a node at depth d): its slots go to the longest
   * route that covers r and also ends in this node (length d+1 .. len-1), or to -1.
   */
  private unexpand(arr: Int32Array, base: number, start: number, d: number, r: number, len: number): void {
    const stride = d === 0 ? 16 : 8;
    const bytes = Buffer.alloc(16);
    for (let w = 0; w < 4; w++) bytes.writeInt32BE(this.prefixWords[r * 4 + w], w * 4);
    let repl = -1;
    for (let l = len - 1; l > d && repl < 0; l--) {
      if (this.lengthCount[l] === 0) continue;
      const found = this.byKey.get(routeKey(maskPrefix(bytes, l), l));
      if (found !== undefined) repl = found;
    }
    const end = start + (1 << (d + stride - len));
    for (let s = start; s < end; s++) {
      const i = base + (s << 1) + 1;
      if (arr[i] === r) arr[i] = repl;
    }
  }

  /** Turn a node whose subtree holds LEAF_CAP routes or fewer back into a leaf block (or nothing). */
  private collapse(node: number): number {
    const found = new Set<number>();
    this.collectAndFree(node, found);
    if (found.size === 0) return 0;
    const list = [...found].sort((x, y) => this.lengths[y] - this.lengths[x]);
    let cls = 0;
    while (CLASS_CAP[cls] < list.length) cls++;
    const q = this.allocBlock(cls);
    this.blocks[q] = list.length | (cls << 8);
    for (let k = 0; k < list.length; k++) this.writeEntry(q + 1 + k * ENTRY, list[k]);
    return ~q;
  }

  private collectAndFree(node: number, out: Set<number>): void {
    for (let s = 0; s < 256; s++) {
      const i = node + (s << 1);
      const child = this.nodes[i];
      const r = this.nodes[i + 1];
      if (r >= 0) out.add(r);
      if (child > 0) {
        this.collectAndFree(child, out);
      } else if (child < 0) {
        for (const x of this.blockRoutes(~child)) out.add(x);
        this.freeBlock(~child);
      }
    }
    this.freeNodes.push(node / NODE_WORDS);
  }

  // --- leaf blocks -----------------------------------------------------------------------------

  private writeEntry(e: number, r: number): void {
    const b = this.blocks;
    for (let w = 0; w < 4; w++) b[e + w] = this.prefixWords[r * 4 + w];
    b[e + 4] = (this.result[r] << 8) | this.lengths[r];
    this.blockIds[e + 4] = r;
  }

  /** Rewrite the leaf entry of route r (if it has one) after its next hops changed. */
  private refreshEntry(r: number): void {
    const len = this.lengths[r];
    if (len <= 16) return;
    let child = this.root[(this.prefixWords[r * 4] >>> 16) << 1];
    for (let d = 16; child > 0; d += 8) {
      if (len <= d + 8) return; // expanded in this node's slots: they hold the id, not the result
      child = this.nodes[child + (this.routeByte(r, d >> 3) << 1)];
    }
    const q = ~child;
    const n = this.blocks[q] & 0xff;
    for (let e = q + 1; e < q + 1 + n * ENTRY; e += ENTRY) {
      if (this.blockIds[e + 4] === r) this.blocks[e + 4] = (this.result[r] << 8) | len;
    }
  }

  /** Add r to the block at q holding n entries (room checked), keeping it longest first. */
  private insertEntry(q: number, n: number, r: number): void {
    const b = this.blocks;
    const len = this.lengths[r];
    let k = n;
    while (k > 0 && (b[q + 1 + (k - 1) * ENTRY + 4] & 0xff) < len) k--;
    const e = q + 1 + k * ENTRY;
    b.copyWithin(e + ENTRY, e, q + 1 + n * ENTRY);
    this.blockIds.copyWithin(e + ENTRY, e, q + 1 + n * ENTRY);
    this.writeEntry(e, r);
    b[q] = (n + 1) | (b[q] & ~0xff);
  }

  private blockRoutes(q: number): number[] {
    const n = this.blocks[q] & 0xff;
    const out: number[] = [];
    for (let k = 0; k < n; k++) out.push(this.blockIds[q + 1 + k * ENTRY + 4]);
    return out;
  }

  /** Copy the block at q (n entries) into a new block of class `to`, free the old; returns the new offset. */
  private moveBlock(q: number, n: number, from: number, to: number): number {
    const q2 = this.allocBlock(to);
    const b = this.blocks; // after allocBlock: it may have grown
    b.copyWithin(q2 + 1, q + 1, q + 1 + n * ENTRY);
    this.blockIds.copyWithin(q2 + 1, q + 1, q + 1 + n * ENTRY);
    b[q2] = n | (to << 8);
    b[q] = from << 8;
    this.freeBlock(q);
    return q2;
  }

  private allocBlock(cls: number): number {
    this.liveBlocks++;
    const free = this.freeBlocks[cls].pop();
    if (free !== undefined) {
      this.blocks[free] = cls << 8;
      return free;
    }
    const q = this.blockTop;
    this.blockTop += CLASS_WORDS[cls];
    if (this.blockTop > this.blocks.length) {
      this.blocks = grow(this.blocks, this.blockTop);
      this.blockIds = grow(this.blockIds, this.blocks.length);
    }
    this.blocks[q] = cls << 8;
    return q;
  }

  private freeBlock(q: number): void {
    this.liveBlocks--;
    this.freeBlocks[this.blocks[q] >> 8].push(q);
  }

  // --- nodes and routes ------------------------------------------------------------------------

  private resetRoot(): void {
    const root = this.root;
    for (let i = 0; i < ROOT_WORDS; i += 2) {
      root[i] = 0;
      root[i + 1] = -1;
    }
  }

  private allocNode(): number {
    let idx = this.freeNodes.pop();
    if (idx === undefined) {
      idx = this.nodeTop++;
      if ((idx + 1) * NODE_WORDS > this.nodes.length) {
        this.nodes = grow(this.nodes, (idx + 1) * NODE_WORDS);
        const counts = new Int32Array(this.nodes.length / NODE_WORDS);
        counts.set(this.nodeRoutes);
        this.nodeRoutes = counts;
      }
    }
    const base = idx * NODE_WORDS;
    const nodes = this.nodes;
    for (let i = base; i < base + NODE_WORDS; i += 2) {
      nodes[i] = 0;
      nodes[i + 1] = -1;
    }
    this.nodeRoutes[idx] = 0;
    return base;
  }

  private allocRoute(): number {
    const free = this.freeRoutes.pop();
    if (free !== undefined) return free;
    const r = this.routeTop;
    if (r >= MAX_ROUTES) throw new RangeError(`the FIB holds at most ${MAX_ROUTES} routes`);
    this.routeTop++;
    if (r >= this.lengths.length) {
      const cap = this.lengths.length * 2;
      this.prefixWords = grow(this.prefixWords, cap * 4);
      this.result = grow(this.result, cap);
      const lengths = new Uint8Array(cap);
      lengths.set(this.lengths);
      this.lengths = lengths;
    }
    return r;
  }

  /**
   * Give route r these next hops (null: none, as it is removed), taking or releasing a pool set.
   * result[r] becomes the next hop, or ~set for an ECMP route.
   */
  private setNexthops(r: number, nexthops: readonly number[] | null): void {
    const old = this.result[r];
    let set = old < 0 ? ~old : -1;
    const n = nexthops === null ? 0 : nexthops.length;
    if (n <= 1) {
      if (set >= 0) this.freeEcmp.push(set);
      this.result[r] = n === 1 ? nexthops![0] : 0;
      return;
    }
    if (set < 0) {
      const free = this.freeEcmp.pop();
      if (free !== undefined) {
        set = free;
      } else {
        if (this.ecmpTop >= MAX_ECMP_SETS) throw new RangeError(`the FIB holds at most ${MAX_ECMP_SETS} ECMP routes`);
        set = this.ecmpTop++;
        if (set >= this.ecmpCount.length) {
          const next = new Uint16Array(this.ecmp.length * 2);
          next.set(this.ecmp);
          this.ecmp = next;
          const counts = new Uint8Array(this.ecmpCount.length * 2);
          counts.set(this.ecmpCount);
          this.ecmpCount = counts;
        }
      }
    }
    for (let k = 0; k < n; k++) this.ecmp[set * MAX_NEXTHOPS + k] = nexthops![k];
    this.ecmpCount[set] = n;
    this.result[r] = ~set;
  }

  private nexthopsOf(r: number): number[] {
    const v = this.result[r];
    if (v >= 0) return [v];
    return Array.from(this.ecmp.subarray(~v * MAX_NEXTHOPS, ~v * MAX_NEXTHOPS + this.ecmpCount[~v]));
  }

  /** Byte k (0..15) of route r's prefix. */
  private routeByte(r: number, k: number): number {
    return (this.prefixWords[r * 4 + (k >> 2)] >>> (24 - 8 * (k & 3))) & 0xff;
  }
}

function grow(arr: Int32Array, atLeast: number): Int32Array {
  let n = Math.max(arr.length * 2, 1024);
  while (n < atLeast) n *= 2;
  const next = new Int32Array(n);
  next.set(arr);
  return next;
}

function checkPrefix(prefix: Uint8Array, length: number): void {
  if (!(prefix instanceof Uint8Array) || prefix.length !== 16) {
    throw new RangeError(`an IPv6 prefix must be 16 bytes, got ${prefix instanceof Uint8Array ? prefix.length : typeof prefix}`);
  }
  if (!Number.isInteger(length) || length < 0 || length > 128) {
    throw new RangeError(`an IPv6 prefix length must be an integer 0..128, got ${String(length)}`);
  }
}

function describeCount(v: unknown): string {
  return Array.isArray(v) ? String(v.length) : typeof v;
}

/** A fresh 16-byte copy of prefix with the bits past length zeroed. */
function maskPrefix(prefix: Uint8Array, length: number): Buffer {
  const out = Buffer.alloc(16);
  for (let k = 0; k < 16; k++) {
    const bits = Math.min(8, Math.max(0, length - 8 * k));
    out[k] = prefix[k] & (0xff << (8 - bits)) & 0xff;
  }
  return out;
}

/** The int32 mask of word w (0..3) for a prefix of the given length. */
function maskWord(length: number, w: number): number {
  const bits = Math.min(32, Math.max(0, length - 32 * w));
  return bits === 0 ? 0 : -1 << (32 - bits);
}

function routeKey(masked: Buffer, length: number): string {
  return `${masked.toString('hex', 0, (length + 7) >> 3)}/${length}`;
}

// -----------------------------------------------------------------------------------------------
// Prefix text: addresses are parsed and printed by wire/ipv6.ts (RFC 4291 §2.2 in, RFC 5952 out).

/**
 * Parse "fd00:6d6f:6c74::/48" into {prefix: Buffer(16), length}. Bits past the length are zeroed
 * ("fd00::1/48" is fd00::/48). A bare address means /128. Throws InvalidInputError naming the input.
 */
export function parsePrefix(text: string): { prefix: Buffer; length: number } {
  if (typeof text !== 'string') throw new InvalidInputError(`IPv6 prefix must be a string, got ${typeof text}`);
  const t = text.trim();
  const slash = t.indexOf('/');
  const addr = slash < 0 ? t : t.slice(0, slash);
  let length = 128;
  if (slash >= 0) {
    const lenText = t.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(lenText) || Number(lenText) > 128) {
      throw new InvalidInputError(`invalid IPv6 prefix "${text}": the length must be 0..128, got "${lenText}"`);
    }
    length = Number(lenText);
  }
  let bytes: Buffer;
  try {
    bytes = parseIpv6Address(addr);
  } catch (e) {
    const why = e instanceof InvalidInputError ? e.message : String(e);
    throw new InvalidInputError(`invalid IPv6 prefix "${text}": ${why}`);
  }
  return { prefix: maskPrefix(bytes, length), length };
}
