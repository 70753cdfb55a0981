/**
 * The underlay sender look-up: (port id, 16-byte peer address) -> link id, for every packet received on
 * a shared UDP socket. Open addressing with linear probing in typed arrays, so a look-up reads a few
 * words and allocates nothing, whatever the number of links (a linear scan over 2000 links was the old
 * cost of every packet from a new sender).
 *
 * The key is the address only, never the UDP port: VXLAN (RFC 7348 §5) and GRE-in-UDP (RFC 8086 §3.2)
 * senders vary the source port per flow for ECMP in the underlay, so the port says nothing about the peer.
 *
 * Slot layout: keys[slot * 5 ..] = [port, w0, w1, w2, w3] (the address as four big-endian int32 words),
 * vals[slot] = link id, EMPTY or DELETED. Deleted slots keep probe chains intact and are reclaimed by the
 * next rebuild, which happens when live + deleted slots pass half the table.
 */

const EMPTY = -1;
const DELETED = -2;
const KEY_WORDS = 5;
const MIN_CAPACITY = 64;

export class PeerTable {
  private keys: Int32Array;
  private vals: Int32Array;
  private mask: number;
  private live = 0;
  private deleted = 0;

  constructor(capacity = MIN_CAPACITY) {
    let cap = MIN_CAPACITY;
    while (cap < capacity * 2) cap *= 2;
    this.keys = new Int32Array(cap * KEY_WORDS);
    this.vals = new Int32Array(cap).fill(EMPTY);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.live;
  }

  /** The link id for a sender at addr[off..off+16) on `port`, or -1. The hot path: no allocation. */
  get(port: number, addr: Uint8Array, off: number): number {
    const w0 = word(addr, off);
    const w1 = word(addr, off + 4);
    const w2 = word(addr, off + 8);
    const w3 = word(addr, off + 12);
    const keys = this.keys;
    const vals = this.vals;
    let i = hash(port, w0, w1, w2, w3) & this.mask;
    for (;;) {
      const v = vals[i]!;
      if (v === EMPTY) return -1;
      const k = i * KEY_WORDS;
      if (v >= 0 && keys[k] === port && keys[k + 1] === w0 && keys[k + 2] === w1 && keys[k + 3] === w2 && keys[k + 4] === w3) {
        return v;
      }
      i = (i + 1) & this.mask;
    }
  }

  /** Map (port, addr[0..16)) to linkId; returns the link id it replaced, or -1. */
  set(port: number, addr: Uint8Array, linkId: number): number {
    if ((this.live + this.deleted + 1) * 2 > this.vals.length) this.rebuild();
    const w0 = word(addr, 0);
    const w1 = word(addr, 4);
    const w2 = word(addr, 8);
    const w3 = word(addr, 12);
    const found = this.find(port, w0, w1, w2, w3);
    if (found >= 0) {
      const old = this.vals[found]!;
      this.vals[found] = linkId;
      return old;
    }
    let i = hash(port, w0, w1, w2, w3) & this.mask;
    while (this.vals[i]! >= 0) i = (i + 1) & this.mask;
    if (this.vals[i] === DELETED) this.deleted--;
    this.put(i, port, w0, w1, w2, w3, linkId);
    this.live++;
    return -1;
  }

  /** Remove (port, addr[0..16)) if it maps to linkId (any link when linkId is -1). Returns whether it did. */
  delete(port: number, addr: Uint8Array, linkId = -1): boolean {
    const i = this.find(port, word(addr, 0), word(addr, 4), word(addr, 8), word(addr, 12));
    if (i < 0 || (linkId >= 0 && this.vals[i] !== linkId)) return false;
    this.vals[i] = DELETED;
    this.live--;
    this.deleted++;
    return true;
  }

  private find(port: number, w0: number, w1: number, w2: number, w3: number): number {
    let i = hash(port, w0, w1, w2, w3) & this.mask;
    for (;;) {
      const v = this.vals[i]!;
      if (v === EMPTY) return -1;
      const k = i * KEY_WORDS;
      const keys = this.keys;
      if (v >= 0 && keys[k] === port && keys[k + 1] === w0 && keys[k + 2] === w1 && keys[k + 3] === w2 && keys[k + 4] === w3) {
        return i;
      }
      i = (i + 1) & this.mask;
    }
  }

  private put(i: number, port: number, w0: number, w1: number, w2: number, w3: number, linkId: number): void {
    const k = i * KEY_WORDS;
    this.keys[k] = port;
    this.keys[k + 1] = w0;
    this.keys[k + 2] = w1;
    this.keys[k + 3] = w2;
    this.keys[k + 4] = w3;
    this.vals[i] = linkId;
  }

  /** Re-insert the live entries into a table sized for them (at most half full after the next insert). */
  private rebuild(): void {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    let cap = MIN_CAPACITY;
    while (cap < (this.live + 1) * 4) cap *= 2;
    this.keys = new Int32Array(cap * KEY_WORDS);
    this.vals = new Int32Array(cap).fill(EMPTY);
    this.mask = cap - 1;
    this.deleted = 0;
    for (let s = 0; s < oldVals.length; s++) {
      const v = oldVals[s]!;
      if (v < 0) continue;
      const k = s * KEY_WORDS;
      const port = oldKeys[k]!;
      const w0 = oldKeys[k + 1]!;
      const w1 = oldKeys[k + 2]!;
      const w2 = oldKeys[k + 3]!;
      const w3 = oldKeys[k + 4]!;
      let i = hash(port, w0, w1, w2, w3) & this.mask;
      while (this.vals[i] !== EMPTY) i = (i + 1) & this.mask;
      this.put(i, port, w0, w1, w2, w3, v);
    }
  }
}

function word(b: Uint8Array, off: number): number {
  return (b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!;
}

/**
 * Mix the five words (murmur3's 32-bit multiply-rotate step, then its finalizer), so that addresses that
 * differ only in their last bits (fd00::1, fd00::2, ...; IPv4 peers as ::ffff:a.b.c.d) spread over the
 * table instead of filling one probe run.
 */
function hash(port: number, w0: number, w1: number, w2: number, w3: number): number {
  let h = Math.imul(port ^ 0x9e3779b9, 0x85ebca6b);
  h = step(h, w0);
  h = step(h, w1);
  h = step(h, w2);
  h = step(h, w3);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function step(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}
