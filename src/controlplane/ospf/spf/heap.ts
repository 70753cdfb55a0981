/**
 * An indexed binary min-heap of vertex indexes 0..n-1, ordered by an external key array (the tentative
 * distances), ties broken by the smaller index. Supports insert-or-decrease in O(log n); no allocation
 * after construction. Used by SPF as the candidate list.
 */
export class IndexedMinHeap {
  private readonly heap: Int32Array;
  /** pos[v] = v's slot in heap, or -1 if v is not in the heap. */
  private readonly pos: Int32Array;
  private n = 0;

  constructor(
    capacity: number,
    private readonly key: Float64Array,
  ) {
    this.heap = new Int32Array(capacity);
    this.pos = new Int32Array(capacity).fill(-1);
  }

  get size(): number {
    return this.n;
  }

  /** Insert v, or move it up after its key decreased. */
  push(v: number): void {
    let i = this.pos[v];
    if (i < 0) {
      i = this.n++;
      this.heap[i] = v;
      this.pos[v] = i;
    }
    this.up(i);
  }

  /** Remove and return the vertex with the least key (-1 if empty). */
  pop(): number {
    if (this.n === 0) return -1;
    const top = this.heap[0];
    this.pos[top] = -1;
    const last = this.heap[--this.n];
    if (this.n > 0) {
      this.heap[0] = last;
      this.pos[last] = 0;
      this.down(0);
    }
    return top;
  }

  private less(a: number, b: number): boolean {
    const ka = this.key[a];
    const kb = this.key[b];
    return ka < kb || (ka === kb && a < b);
  }

  private up(i: number): void {
    const h = this.heap;
    const v = h[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pv = h[p];
      if (!this.less(v, pv)) break;
      h[i] = pv;
      this.pos[pv] = i;
      i = p;
    }
    h[i] = v;
    this.pos[v] = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = this.n;
    const v = h[i];
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && this.less(h[c + 1], h[c])) c++;
      if (!this.less(h[c], v)) break;
      h[i] = h[c];
      this.pos[h[i]] = i;
      i = c;
    }
    h[i] = v;
    this.pos[v] = i;
  }
}
