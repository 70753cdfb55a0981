/**
 * Reference implementations of longest-prefix match, obviously correct and slow, to check the
 * FIB against (as wireguard-go checks its trie against a naive one). Same next-hop choice as the
 * FIB: nexthops[(flowHash >>> 0) % count] of the longest matching route.
 *
 *  - NaiveFib: a linear scan over every route. The reference of references, and the benchmark's
 *    baseline.
 *  - ExactMatchFib: one exact-match table per prefix length, probed longest first. Fast enough to
 *    check 100k routes x 200k lookups in a test; itself checked against NaiveFib.
 *
 * Also a seeded PRNG, so tests and benchmarks are reproducible.
 */

export const NAIVE_NO_ROUTE = -1;

interface NaiveRoute {
  words: number[]; // 4 uint32, masked
  length: number;
  nexthops: number[];
}

/** The four big-endian uint32 words of buf[off..off+16). */
export function addressWords(buf: Uint8Array, off: number): number[] {
  const w: number[] = [];
  for (let k = 0; k < 4; k++) {
    const o = off + 4 * k;
    w.push(((buf[o] << 24) | (buf[o + 1] << 16) | (buf[o + 2] << 8) | buf[o + 3]) >>> 0);
  }
  return w;
}

/** The uint32 mask of word k for a prefix of `length` bits. */
export function wordMask(length: number, k: number): number {
  const bits = Math.min(32, Math.max(0, length - 32 * k));
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

const WORD_MASKS: number[] = [];
for (let l = 0; l <= 128; l++) for (let k = 0; k < 4; k++) WORD_MASKS.push(wordMask(l, k));

function maskedWords(words: number[], length: number): number[] {
  return words.map((w, k) => (w & wordMask(length, k)) >>> 0);
}

/** The next hop a route gives a flow: nexthops[hash % count]. */
export function pick(nexthops: number[], flowHash: number): number {
  return nexthops[(flowHash >>> 0) % nexthops.length];
}

export class NaiveFib {
  /** Every route, scanned in full by each lookup; keyed only to find a route to replace or remove. */
  private routes = new Map<string, NaiveRoute>();

  get size(): number {
    return this.routes.size;
  }

  insert(prefix: Uint8Array, length: number, nexthops: readonly number[]): void {
    const words = maskedWords(addressWords(prefix, 0), length);
    this.routes.set(`${words.join(',')}/${length}`, { words, length, nexthops: [...nexthops] });
  }

  remove(prefix: Uint8Array, length: number): boolean {
    const words = maskedWords(addressWords(prefix, 0), length);
    return this.routes.delete(`${words.join(',')}/${length}`);
  }

  /** The longest matching route, or undefined. */
  route(buf: Uint8Array, off: number): { length: number; nexthops: number[] } | undefined {
    const a = addressWords(buf, off);
    let best: NaiveRoute | undefined;
    for (const r of this.routes.values()) {
      if (best !== undefined && r.length <= best.length) continue;
      let match = true;
      for (let k = 0; k < 4 && match; k++) match = ((a[k] & WORD_MASKS[r.length * 4 + k]) >>> 0) === r.words[k];
      if (match) best = r;
    }
    return best;
  }

  lookup(buf: Uint8Array, off: number, flowHash: number): number {
    const r = this.route(buf, off);
    return r === undefined ? NAIVE_NO_ROUTE : pick(r.nexthops, flowHash);
  }

  matchLength(buf: Uint8Array, off: number): number {
    return this.route(buf, off)?.length ?? -1;
  }
}

/** Keys are int32 (`| 0`): small integers hash fast, uint32 above 2^31 would be heap numbers. */
type Level = Map<number, Level | number[]>;

function int32Words(prefix: Uint8Array, length: number): number[] {
  return maskedWords(addressWords(prefix, 0), length).map((w) => w | 0);
}

export class ExactMatchFib {
  /** byLength[L]: nested maps keyed by the masked words 0..ceil(L/32)-1 (at least one), leaf = next hops. */
  private byLength: (Level | undefined)[] = new Array(129).fill(undefined);
  private count = 0;

  get size(): number {
    return this.count;
  }

  private static depth(length: number): number {
    return Math.max(1, Math.ceil(length / 32));
  }

  insert(prefix: Uint8Array, length: number, nexthops: readonly number[]): void {
    const words = int32Words(prefix, length);
    let m = this.byLength[length];
    if (m === undefined) this.byLength[length] = m = new Map();
    const depth = ExactMatchFib.depth(length);
    for (let k = 0; k < depth - 1; k++) {
      let next = m.get(words[k]) as Level | undefined;
      if (next === undefined) m.set(words[k], (next = new Map()));
      m = next;
    }
    if (!m.has(words[depth - 1])) this.count++;
    m.set(words[depth - 1], [...nexthops]);
  }

  remove(prefix: Uint8Array, length: number): boolean {
    const words = int32Words(prefix, length);
    let m = this.byLength[length];
    const depth = ExactMatchFib.depth(length);
    for (let k = 0; k < depth - 1 && m !== undefined; k++) m = m.get(words[k]) as Level | undefined;
    if (m === undefined || !m.delete(words[depth - 1])) return false;
    this.count--;
    return true;
  }

  /** The longest matching route, or undefined. */
  route(buf: Uint8Array, off: number): { length: number; nexthops: number[] } | undefined {
    const a = addressWords(buf, off);
    for (let length = 128; length >= 0; length--) {
      let m: Level | number[] | undefined = this.byLength[length];
      const depth = ExactMatchFib.depth(length);
      for (let k = 0; k < depth && m !== undefined && !Array.isArray(m); k++) m = m.get(a[k] & WORD_MASKS[length * 4 + k]);
      if (Array.isArray(m)) return { length, nexthops: m };
    }
    return undefined;
  }

  lookup(buf: Uint8Array, off: number, flowHash: number): number {
    const r = this.route(buf, off);
    return r === undefined ? NAIVE_NO_ROUTE : pick(r.nexthops, flowHash);
  }

  matchLength(buf: Uint8Array, off: number): number {
    return this.route(buf, off)?.length ?? -1;
  }
}

/** mulberry32: a small seeded PRNG (32-bit state), good enough for test data. */
export class SeededRandom {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** A uint32. */
  u32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 0x100000000) * n);
  }
  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  /** Fill buf[off..off+len) with random bytes. */
  fill(buf: Uint8Array, off = 0, len = buf.length - off): void {
    for (let i = 0; i < len; i++) buf[off + i] = this.u32() & 0xff;
  }
}
