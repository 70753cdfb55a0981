import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PerformanceObserver } from 'node:perf_hooks';
import fc from 'fast-check';
import { Fib, NO_ROUTE, parsePrefix } from '../../src/dataplane/fib/fib.js';
import { flowHash } from '../../src/dataplane/fib/flow-hash.js';
import { InvalidInputError } from '../../src/common/errors.js';
import { ExactMatchFib, NaiveFib, SeededRandom, pick } from '../helpers/naive-fib.js';

/** 16 bytes of an address or prefix given as text. */
const a = (text: string): Buffer => parsePrefix(text).prefix;

function add(fib: { insert(p: Uint8Array, l: number, nh: readonly number[]): void }, text: string, nh: number[]): void {
  const { prefix, length } = parsePrefix(text);
  fib.insert(prefix, length, nh);
}

const look = (fib: Fib, addr: string, hash = 0): number => fib.lookup(a(addr), 0, hash);
const len = (fib: Fib, addr: string): number => fib.matchLength(a(addr), 0);

/** Flip bit `bit` (0 = most significant) of a 16-byte copy. */
function flipBit(src: Uint8Array, bit: number): Buffer {
  const out = Buffer.from(src);
  out[bit >> 3] ^= 0x80 >> (bit & 7);
  return out;
}

const MESH = a('fd00:6d6f:6c74::');
const DENSE = a('fd00:6d6f:6c74:1:2:3::'); // a /96 that many test routes crowd under

interface Route {
  prefix: Uint8Array;
  length: number;
}

/** Random prefix, lengths 0..128, biased toward /48../128 under the mesh /48 and to nesting. */
function randomRoute(rng: SeededRandom, known: Route[]): Route {
  const prefix = new Uint8Array(16);
  rng.fill(prefix);
  const kind = rng.int(10);
  let length: number;
  if (kind < 4) {
    prefix.set(MESH.subarray(0, 6));
    length = rng.range(48, 128);
  } else if (kind < 5) {
    prefix.set(DENSE.subarray(0, 12));
    length = rng.range(96, 128);
  } else if (kind < 7 && known.length > 0) {
    // Nested near a known route: a little shorter or longer, same leading bits.
    const base = known[rng.int(known.length)];
    const keep = base.prefix;
    for (let bit = 0; bit < base.length; bit++) {
      const m = 0x80 >> (bit & 7);
      prefix[bit >> 3] = (prefix[bit >> 3] & ~m) | (keep[bit >> 3] & m);
    }
    length = rng.range(Math.max(0, base.length - 8), Math.min(128, base.length + 24));
  } else if (kind < 8) {
    prefix[0] = 0xfd;
    length = rng.range(8, 128);
  } else {
    length = rng.range(0, 128);
  }
  return { prefix, length };
}

/** Write a lookup address at buf[off..]: random, under the mesh, or derived from a known route. */
function randomAddress(rng: SeededRandom, known: Route[], buf: Uint8Array, off: number): void {
  rng.fill(buf, off, 16);
  const kind = rng.int(10);
  if (kind < 2 || known.length === 0) return;
  if (kind < 3) {
    buf.set(MESH.subarray(0, 6), off);
    return;
  }
  const r = known[rng.int(known.length)];
  for (let bit = 0; bit < r.length; bit++) {
    const m = 0x80 >> (bit & 7);
    buf[off + (bit >> 3)] = (buf[off + (bit >> 3)] & ~m) | (r.prefix[bit >> 3] & m);
  }
  // Sometimes step just outside the route (last prefix bit) or to the first host bit's other side.
  const edge = rng.int(4);
  if (edge === 0 && r.length > 0) buf[off + ((r.length - 1) >> 3)] ^= 0x80 >> ((r.length - 1) & 7);
  if (edge === 1 && r.length < 128) buf[off + (r.length >> 3)] ^= 0x80 >> (r.length & 7);
}

function randomNexthops(rng: SeededRandom): number[] {
  const n = rng.int(4) === 0 ? rng.range(2, 16) : 1;
  return Array.from({ length: n }, () => rng.int(65535));
}

describe('Fib: known cases', () => {
  it('is empty at first', () => {
    const fib = new Fib();
    assert.equal(fib.size, 0);
    assert.equal(look(fib, '::'), NO_ROUTE);
    assert.equal(look(fib, 'fd00:6d6f:6c74::1'), NO_ROUTE);
    assert.equal(len(fib, '::1'), -1);
    assert.deepEqual(fib.entries(), []);
  });

  it('matches everything with the default route ::/0', () => {
    const fib = new Fib();
    add(fib, '::/0', [7]);
    for (const x of ['::', '::1', 'fd00:6d6f:6c74::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '2001:db8::']) {
      assert.equal(look(fib, x), 7, x);
      assert.equal(len(fib, x), 0, x);
    }
  });

  it('matches /128 host routes exactly', () => {
    const fib = new Fib();
    add(fib, 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268/128', [1]);
    add(fib, 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9269/128', [2]);
    add(fib, '::/128', [3]);
    add(fib, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128', [4]);
    assert.equal(look(fib, 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268'), 1);
    assert.equal(look(fib, 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9269'), 2);
    assert.equal(look(fib, 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:926a'), NO_ROUTE);
    assert.equal(look(fib, '::'), 3);
    assert.equal(look(fib, '::1'), NO_ROUTE);
    assert.equal(look(fib, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), 4);
    assert.equal(look(fib, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe'), NO_ROUTE);
    assert.equal(len(fib, 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268'), 128);
  });

  it('prefers /128 over /64 over /48 over ::/0, and removal restores the shorter match', () => {
    const fib = new Fib();
    add(fib, '::/0', [1]);
    add(fib, 'fd00:6d6f:6c74::/48', [2]);
    add(fib, 'fd00:6d6f:6c74:daa4::/64', [3]);
    add(fib, 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268/128', [4]);
    const host = 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268';
    assert.equal(fib.size, 4);
    assert.equal(look(fib, host), 4);
    assert.equal(look(fib, 'fd00:6d6f:6c74:daa4::1'), 3);
    assert.equal(look(fib, 'fd00:6d6f:6c74:daa5::1'), 2);
    assert.equal(look(fib, 'fd00:6d6f:6c75::1'), 1);

    assert.equal(fib.remove(a('fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268'), 128), true);
    assert.equal(look(fib, host), 3);
    assert.equal(len(fib, host), 64);
    assert.equal(fib.remove(a('fd00:6d6f:6c74:daa4::'), 64), true);
    assert.equal(look(fib, host), 2);
    assert.equal(fib.remove(a('fd00:6d6f:6c74::'), 48), true);
    assert.equal(look(fib, host), 1);
    assert.equal(fib.remove(a('::'), 0), true);
    assert.equal(look(fib, host), NO_ROUTE);
    assert.equal(fib.size, 0);
    assert.equal(fib.remove(a('::'), 0), false);
  });

  it('ignores bits past the length on insert and remove, and replaces next hops', () => {
    const fib = new Fib();
    const p = a('fd00:6d6f:6c74:ffff::1');
    fib.insert(p, 48, [5]);
    assert.equal(fib.size, 1);
    assert.equal(look(fib, 'fd00:6d6f:6c74::'), 5);
    fib.insert(a('fd00:6d6f:6c74::'), 48, [6, 7]);
    assert.equal(fib.size, 1, 'same prefix: replaced, not added');
    assert.equal(look(fib, 'fd00:6d6f:6c74::', 0), 6);
    assert.equal(look(fib, 'fd00:6d6f:6c74::', 1), 7);
    fib.insert(a('fd00:6d6f:6c74::'), 49, [8]);
    assert.equal(fib.size, 2, 'same bits, other length: a different route');
    assert.deepEqual(
      fib.entries().map((e) => [e.prefix, e.length, e.nexthops]),
      [
        ['fd00:6d6f:6c74::', 48, [6, 7]],
        ['fd00:6d6f:6c74::', 49, [8]],
      ],
    );
    assert.equal(fib.remove(a('fd00:6d6f:6c74:1234::'), 48), true);
    assert.equal(fib.remove(a('fd00:6d6f:6c74::'), 48), false);
    assert.equal(look(fib, 'fd00:6d6f:6c74:8000::'), NO_ROUTE);
    assert.equal(look(fib, 'fd00:6d6f:6c74::'), 8);
  });

  it('handles short prefixes expanded in the root, at the 16-bit and 8-bit stride edges', () => {
    const fib = new Fib();
    add(fib, '::/1', [1]);
    add(fib, '8000::/1', [2]);
    add(fib, 'fc00::/7', [3]);
    add(fib, 'fd00::/8', [4]);
    add(fib, 'fd00::/15', [5]);
    add(fib, 'fd00::/16', [6]);
    add(fib, 'fd00::/17', [7]);
    add(fib, 'fd00::/24', [8]);
    add(fib, 'fd00::/25', [9]);
    assert.equal(look(fib, '1::'), 1);
    assert.equal(look(fib, 'fc00::'), 3);
    assert.equal(look(fib, 'fdff::'), 4);
    assert.equal(look(fib, 'fd01::'), 5);
    assert.equal(look(fib, 'fd00:8000::'), 6);
    assert.equal(look(fib, 'fd00:100::'), 7);
    assert.equal(look(fib, 'fd00:80::'), 8);
    assert.equal(look(fib, 'fd00::1'), 9);
    fib.remove(a('fd00::'), 8);
    assert.equal(look(fib, 'fdff::'), 3, '/7 takes the /8 back');
    fib.remove(a('fd00::'), 16);
    assert.equal(look(fib, 'fd00:8000::'), 5, '/15 takes the /16 back');
    fib.remove(a('fd00::'), 24);
    assert.equal(look(fib, 'fd00:80::'), 7, '/17 takes the /24 back');
    fib.remove(a('fc00::'), 7);
    assert.equal(look(fib, 'fdff::'), 2, 'then the /1');
  });

  it('finds the right one of 129 nested routes for every prefix length', () => {
    const fib = new Fib();
    const ref = new NaiveFib();
    const host = a('fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268');
    for (let l = 0; l <= 128; l++) {
      fib.insert(host, l, [l]);
      ref.insert(host, l, [l]);
    }
    assert.equal(fib.size, 129);
    assert.equal(fib.lookup(host, 0, 0), 128);
    for (let bit = 0; bit < 128; bit++) {
      // Flipping bit k leaves exactly the routes of length <= k matching.
      const x = flipBit(host, bit);
      assert.equal(fib.matchLength(x, 0), bit, `bit ${bit}`);
      assert.equal(fib.lookup(x, 0, 0), bit, `bit ${bit}`);
    }
    const rng = new SeededRandom(129);
    const order = Array.from({ length: 129 }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const l of order) {
      assert.equal(fib.remove(host, l), true);
      ref.remove(host, l);
      for (let bit = 0; bit < 128; bit += 3) {
        const x = flipBit(host, bit);
        assert.equal(fib.matchLength(x, 0), ref.matchLength(x, 0), `after removing /${l}, bit ${bit}`);
      }
      assert.equal(fib.matchLength(host, 0), ref.matchLength(host, 0));
    }
    assert.equal(fib.size, 0);
    assert.equal(fib.stats().nodes, 0, 'every node was freed');
    assert.equal(fib.stats().leafBlocks, 0, 'every leaf block was freed');
  });

  it('grows past leaf blocks into nodes and collapses back on removal', () => {
    const fib = new Fib({ initialCapacity: 0 });
    const base = a('fd00:6d6f:6c74:1:2:3:4:0');
    const hosts: Buffer[] = [];
    for (let i = 0; i < 300; i++) {
      const h = Buffer.from(base);
      h.writeUInt16BE(i * 7, 14);
      hosts.push(h);
      fib.insert(h, 128, [i]);
    }
    assert.ok(fib.stats().nodes > 0);
    for (let i = 0; i < 300; i++) assert.equal(fib.lookup(hosts[i], 0, 0), i);
    for (let i = 0; i < 300; i++) {
      fib.remove(hosts[i], 128);
      if (i + 1 < 300) assert.equal(fib.lookup(hosts[i + 1], 0, 0), i + 1);
    }
    assert.equal(fib.stats().nodes, 0);
    assert.equal(fib.stats().leafBlocks, 0);
  });

  it('replaces next hops of routes in leaf blocks, in nodes and in the root (single <-> ECMP)', () => {
    const fib = new Fib();
    const hosts = ['fd00:6d6f:6c74:1::1', 'fd00:6d6f:6c74:1::2', 'fd00:6d6f:6c74:2::1'];
    for (const h of hosts) add(fib, `${h}/128`, [1]);
    add(fib, 'fd00:6d6f:6c74::/48', [2]); // expanded in a node slot
    add(fib, 'fd00::/8', [3]); // expanded in the root
    for (let i = 0; i < 40; i++) add(fib, `fd00:6d6f:6c74:3::${(i + 1).toString(16)}/128`, [4]); // makes nodes
    const check = (h: string, want: number[]): void => {
      for (let k = 0; k < 32; k++) assert.equal(look(fib, h, k), want[k % want.length], `${h} hash ${k}`);
    };
    add(fib, 'fd00:6d6f:6c74:1::2/128', [7, 8, 9]);
    check('fd00:6d6f:6c74:1::2', [7, 8, 9]);
    check('fd00:6d6f:6c74:1::1', [1]);
    add(fib, 'fd00:6d6f:6c74:1::2/128', [10, 11]);
    check('fd00:6d6f:6c74:1::2', [10, 11]);
    add(fib, 'fd00:6d6f:6c74:1::2/128', [12]);
    check('fd00:6d6f:6c74:1::2', [12]);
    add(fib, 'fd00:6d6f:6c74:3::7/128', [13, 14]);
    check('fd00:6d6f:6c74:3::7', [13, 14]);
    check('fd00:6d6f:6c74:3::8', [4]);
    add(fib, 'fd00:6d6f:6c74::/48', [5, 6]);
    check('fd00:6d6f:6c74:9::9', [5, 6]);
    add(fib, 'fd00::/8', [15, 16, 17, 18]);
    check('fd00:1::', [15, 16, 17, 18]);
    assert.equal(fib.size, 45);
    // A removed ECMP route's pool set is reused without disturbing the others.
    assert.equal(fib.remove(a('fd00:6d6f:6c74:3::7'), 128), true);
    add(fib, 'fd00:6d6f:6c74:4::/64', [20, 21, 22]);
    check('fd00:6d6f:6c74:4::1', [20, 21, 22]);
    check('fd00:6d6f:6c74:9::9', [5, 6]);
    check('fd00:1::', [15, 16, 17, 18]);
    const e = fib.entries().find((x) => x.prefix === 'fd00:6d6f:6c74:4::');
    assert.deepEqual(e, { prefix: 'fd00:6d6f:6c74:4::', length: 64, nexthops: [20, 21, 22] });
  });

  it('looks up an address at an offset inside a packet', () => {
    const fib = new Fib();
    add(fib, 'fd00:6d6f:6c74:f8a9::/64', [3]);
    const pkt = Buffer.alloc(40, 0xee);
    a('fd00:6d6f:6c74:f8a9::42').copy(pkt, 24); // the IPv6 destination address
    assert.equal(fib.lookup(pkt, 24, 0), 3);
    assert.equal(fib.lookup(pkt, 8, 0), NO_ROUTE);
  });

  it('clear() empties it and it stays usable', () => {
    const fib = new Fib();
    add(fib, '::/0', [1]);
    add(fib, 'fd00::/8', [2]);
    add(fib, 'fd00:6d6f:6c74::1/128', [3]);
    fib.clear();
    assert.equal(fib.size, 0);
    assert.equal(look(fib, 'fd00:6d6f:6c74::1'), NO_ROUTE);
    add(fib, 'fd00:6d6f:6c74::1/128', [4]);
    assert.equal(look(fib, 'fd00:6d6f:6c74::1'), 4);
    assert.equal(look(fib, 'fd00:6d6f:6c74::2'), NO_ROUTE);
  });

  it('lists entries sorted by prefix then length, in RFC 5952 text', () => {
    const fib = new Fib();
    add(fib, 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268/128', [4]);
    add(fib, '2001:db8:0:0:1:0:0:1/128', [5]);
    add(fib, 'fd00:6d6f:6c74::/48', [2, 3]);
    add(fib, '::/0', [1]);
    add(fib, 'fd00::/8', [9]);
    add(fib, 'fd00:0:0:1::/64', [8]);
    assert.deepEqual(fib.entries(), [
      { prefix: '::', length: 0, nexthops: [1] },
      { prefix: '2001:db8::1:0:0:1', length: 128, nexthops: [5] },
      { prefix: 'fd00::', length: 8, nexthops: [9] },
      { prefix: 'fd00:0:0:1::', length: 64, nexthops: [8] },
      { prefix: 'fd00:6d6f:6c74::', length: 48, nexthops: [2, 3] },
      { prefix: 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268', length: 128, nexthops: [4] },
    ]);
  });

  it('rejects bad arguments with clear errors', () => {
    const fib = new Fib();
    const p = a('fd00::');
    assert.throws(() => fib.insert(p, 129, [1]), /length must be an integer 0\.\.128/);
    assert.throws(() => fib.insert(p, -1, [1]), /0\.\.128/);
    assert.throws(() => fib.insert(p, 1.5, [1]), /0\.\.128/);
    assert.throws(() => fib.insert(p.subarray(0, 15), 8, [1]), /16 bytes/);
    assert.throws(() => fib.insert(p, 8, []), /1\.\.16 next hops, got 0/);
    assert.throws(() => fib.insert(p, 8, new Array(17).fill(1)), /got 17/);
    assert.throws(() => fib.insert(p, 8, [65535]), /link id 0\.\.65534, got 65535/);
    assert.throws(() => fib.insert(p, 8, [-1]), /link id/);
    assert.throws(() => fib.insert(p, 8, [1.5]), /link id/);
    assert.throws(() => fib.remove(p, 200), /0\.\.128/);
    assert.equal(fib.size, 0);
    fib.insert(p, 8, [0, 65534]);
    assert.equal(look(fib, 'fd00::', 1), 65534);
  });
});

describe('parsePrefix', () => {
  it('parses prefixes and bare addresses', () => {
    const r = parsePrefix('fd00:6d6f:6c74::/48');
    assert.ok(Buffer.isBuffer(r.prefix));
    assert.equal(r.length, 48);
    assert.equal(r.prefix.toString('hex'), 'fd006d6f6c7400000000000000000000');
    assert.deepEqual(parsePrefix('::/0'), { prefix: Buffer.alloc(16), length: 0 });
    assert.equal(parsePrefix('FD00::1/128').prefix.toString('hex'), 'fd000000000000000000000000000001');
    assert.equal(parsePrefix('fd00::1').length, 128);
    assert.equal(parsePrefix(' fd00::/8 ').length, 8);
    assert.equal(parsePrefix('::ffff:192.0.2.1/128').prefix.toString('hex'), '00000000000000000000ffffc0000201');
    assert.equal(parsePrefix('1:2:3:4:5:6:7:8/128').prefix.toString('hex'), '00010002000300040005000600070008');
    assert.equal(parsePrefix('fd00:6d6f:6c74:ffff::1/48').prefix.toString('hex'), 'fd006d6f6c7400000000000000000000');
    assert.equal(parsePrefix('ffff::/3').prefix.toString('hex'), 'e0000000000000000000000000000000');
  });

  it('rejects bad input with a message naming it', () => {
    for (const bad of [
      '',
      '/48',
      'fd00::/129',
      'fd00::/-1',
      'fd00::/',
      'fd00::/4a',
      'fd00::/48/1',
      'fd00::/1000',
      '10.0.0.0/8',
      'fd00:::1/64',
      'fd00::1::2/64',
      'gggg::/16',
      '1:2:3:4:5:6:7:8:9/128',
      'fe80::1%eth0/64',
      'fd00 ::/8',
    ]) {
      assert.throws(
        () => parsePrefix(bad),
        (e: unknown) => e instanceof InvalidInputError && e.message.includes(`"${bad}"`),
        JSON.stringify(bad),
      );
    }
  });
});

describe('Fib: ECMP', () => {
  it('uses every next hop across hashes, the same one for the same hash, hash % count', () => {
    const fib = new Fib();
    add(fib, 'fd00:6d6f:6c74::/48', [10, 11, 12, 13]);
    const dst = a('fd00:6d6f:6c74:1::1');
    const seen = new Map<number, number>();
    const rng = new SeededRandom(7);
    for (let i = 0; i < 4000; i++) {
      const h = rng.u32();
      const nh = fib.lookup(dst, 0, h);
      assert.equal(nh, [10, 11, 12, 13][h % 4]);
      assert.equal(fib.lookup(dst, 0, h), nh, 'same hash, same next hop');
      seen.set(nh, (seen.get(nh) ?? 0) + 1);
    }
    assert.deepEqual([...seen.keys()].sort(), [10, 11, 12, 13]);
    for (const n of seen.values()) assert.ok(n > 800 && n < 1200, `uneven spread: ${[...seen.values()]}`);
    assert.equal(fib.lookup(dst, 0, 0xffffffff), 13);
    assert.equal(fib.lookup(dst, 0, -1), 13, 'an int32 hash is read as uint32');
  });

  it('spreads over all 16 next hops, and follows a replaced set', () => {
    const fib = new Fib();
    const nhs = Array.from({ length: 16 }, (_, i) => 100 + i);
    add(fib, '::/0', nhs);
    const dst = a('2001:db8::1');
    const used = new Set<number>();
    for (let h = 0; h < 64; h++) used.add(fib.lookup(dst, 0, h));
    assert.equal(used.size, 16);
    add(fib, '::/0', [1, 2, 3]);
    const again = new Set<number>();
    for (let h = 0; h < 64; h++) again.add(fib.lookup(dst, 0, h));
    assert.deepEqual([...again].sort(), [1, 2, 3]);
  });
});

describe('Fib: lookupPacket', () => {
  /** An IPv6 header at offset `at` of a fresh buffer, from src to dst with a flow label. */
  function header(src: string, dst: string, flowLabel = 0, at = 0): Buffer {
    const b = Buffer.alloc(at + 40, 0xee);
    b.writeUInt32BE((6 << 28) | flowLabel, at);
    a(src).copy(b, at + 8);
    a(dst).copy(b, at + 24);
    return b;
  }

  it('hashes the flow only when the matched route is ECMP; single routes never call the hash', () => {
    let calls = 0;
    const fib = new Fib({
      flowHash: (buf, off) => {
        calls++;
        return flowHash(buf, off);
      },
    });
    add(fib, 'fd00:6d6f:6c74::/48', [1]); // in the root
    add(fib, 'fd00:6d6f:6c74:1::/64', [2]); // in a leaf block
    add(fib, 'fd00:6d6f:6c74:2::/64', [3, 4, 5]); // ECMP in a leaf block
    add(fib, '::/0', [6, 7]); // ECMP default
    for (let i = 0; i < 100; i++) {
      assert.equal(fib.lookupPacket(header(`fd00::${i}`, 'fd00:6d6f:6c74:9::1', i), 0), 1);
      assert.equal(fib.lookupPacket(header(`fd00::${i}`, 'fd00:6d6f:6c74:1::1', i), 0), 2);
    }
    assert.equal(calls, 0);
    assert.ok([3, 4, 5].includes(fib.lookupPacket(header('fd00::1', 'fd00:6d6f:6c74:2::1'), 0)));
    assert.equal(calls, 1);
    assert.ok([6, 7].includes(fib.lookupPacket(header('fd00::1', '2001:db8::1'), 0)));
    assert.equal(calls, 2);
    assert.equal(new Fib().lookupPacket(header('fd00::1', '2001:db8::1'), 0), NO_ROUTE);
  });

  it('ECMP still spreads flows over every next hop, one path per flow, as lookup() with flowHash does', () => {
    const fib = new Fib();
    add(fib, 'fd00:6d6f:6c74:2::/64', [3, 4, 5, 6]);
    add(fib, '2001:db8::/32', [8, 9]);
    const seen = new Map<number, number>();
    for (let i = 0; i < 2000; i++) {
      const pkt = header(`fd00:6d6f:6c74:${(i % 97).toString(16)}::${(i * 13).toString(16)}`, `fd00:6d6f:6c74:2::${i.toString(16)}`, i % 5, 24);
      const nh = fib.lookupPacket(pkt, 24);
      assert.equal(nh, fib.lookup(pkt, 24 + 24, flowHash(pkt, 24)), 'the same choice as lookup() with the flow hash');
      pkt[24 + 7] = 1; // hop limit and payload are not part of the flow
      pkt.writeUInt16BE(999, 24 + 4);
      assert.equal(fib.lookupPacket(pkt, 24), nh, 'one flow, one path');
      seen.set(nh, (seen.get(nh) ?? 0) + 1);
    }
    assert.deepEqual([...seen.keys()].sort(), [3, 4, 5, 6]);
    for (const n of seen.values()) assert.ok(n > 350 && n < 650, `uneven spread: ${[...seen.values()]}`);
    const two = new Set<number>();
    for (let i = 0; i < 64; i++) two.add(fib.lookupPacket(header('fd00::1', '2001:db8::1', i), 0));
    assert.deepEqual([...two].sort(), [8, 9], 'the flow label alone moves a flow');
  });
});

describe('Fib: against the naive reference', () => {
  it('property: random inserts, removals and lookups agree with a linear scan', () => {
    const bytes16 = fc.uint8Array({ minLength: 16, maxLength: 16 });
    const route = fc.oneof(
      fc.record({ prefix: bytes16, length: fc.integer({ min: 0, max: 128 }) }),
      fc.record({
        prefix: bytes16.map((b) => (b.set(MESH.subarray(0, 6)), b)),
        length: fc.integer({ min: 48, max: 128 }),
      }),
      fc.record({
        prefix: bytes16.map((b) => (b.set(DENSE.subarray(0, 12)), b)),
        length: fc.integer({ min: 96, max: 128 }),
      }),
    );
    const op = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('insert' as const), route, nh: fc.array(fc.integer({ min: 0, max: 65534 }), { minLength: 1, maxLength: 16 }) }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('removeKnown' as const), pick: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('removeAny' as const), route }) },
    );
    // A probe: derived from the i-th route ever inserted (with the host bits and one edge bit from `noise`), or random.
    const probe = fc.record({ pick: fc.nat(), noise: bytes16, edge: fc.integer({ min: 0, max: 3 }), hash: fc.nat({ max: 0xffffffff }) });

    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), fc.array(probe, { minLength: 1, maxLength: 60 }), (ops, probes) => {
        const fib = new Fib({ initialCapacity: 0 });
        const ref = new NaiveFib();
        const known: Route[] = [];
        for (const o of ops) {
          if (o.kind === 'insert') {
            fib.insert(o.route.prefix, o.route.length, o.nh);
            ref.insert(o.route.prefix, o.route.length, o.nh);
            known.push(o.route);
          } else {
            const r = o.kind === 'removeAny' ? o.route : known[o.pick % Math.max(1, known.length)];
            if (r === undefined) continue;
            assert.equal(fib.remove(r.prefix, r.length), ref.remove(r.prefix, r.length));
          }
        }
        assert.equal(fib.size, ref.size);
        for (const p of probes) {
          const addr = Buffer.from(p.noise);
          const r = known[p.pick % Math.max(1, known.length)];
          if (r !== undefined) {
            for (let bit = 0; bit < r.length; bit++) {
              const m = 0x80 >> (bit & 7);
              addr[bit >> 3] = (addr[bit >> 3] & ~m) | (r.prefix[bit >> 3] & m);
            }
            if (p.edge === 0 && r.length > 0) addr[(r.length - 1) >> 3] ^= 0x80 >> ((r.length - 1) & 7);
            if (p.edge === 1 && r.length < 128) addr[r.length >> 3] ^= 0x80 >> (r.length & 7);
          }
          assert.equal(fib.matchLength(addr, 0), ref.matchLength(addr, 0));
          assert.equal(fib.lookup(addr, 0, p.hash), ref.lookup(addr, 0, p.hash));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the exact-match reference agrees with the linear scan (seeded, with removals)', () => {
    for (const seed of [11, 12, 13]) {
      const rng = new SeededRandom(seed);
      const naive = new NaiveFib();
      const exact = new ExactMatchFib();
      const known: Route[] = [];
      for (let i = 0; i < 2000; i++) {
        const r = randomRoute(rng, known);
        const nh = randomNexthops(rng);
        naive.insert(r.prefix, r.length, nh);
        exact.insert(r.prefix, r.length, nh);
        known.push(r);
      }
      for (let i = 0; i < 500; i++) {
        const r = known[rng.int(known.length)];
        assert.equal(exact.remove(r.prefix, r.length), naive.remove(r.prefix, r.length));
      }
      assert.equal(exact.size, naive.size);
      const buf = Buffer.alloc(16);
      for (let i = 0; i < 3000; i++) {
        randomAddress(rng, known, buf, 0);
        const h = rng.u32();
        assert.equal(exact.lookup(buf, 0, h), naive.lookup(buf, 0, h));
        assert.equal(exact.matchLength(buf, 0), naive.matchLength(buf, 0));
      }
    }
  });

  it('seeded: 100k routes x 200k lookups, then removals and re-inserts, agree with the reference', () => {
    const ROUTES = 100_000;
    const LOOKUPS = 200_000;
    const rng = new SeededRandom(0x6d6f6c74);
    const fib = new Fib();
    const ref = new ExactMatchFib();
    const known: Route[] = [];
    for (let i = 0; i < ROUTES; i++) {
      const r = randomRoute(rng, known);
      const nh = randomNexthops(rng);
      fib.insert(r.prefix, r.length, nh);
      ref.insert(r.prefix, r.length, nh);
      known.push(r);
    }
    assert.equal(fib.size, ref.size);
    const addrs = Buffer.alloc(LOOKUPS * 16);
    const hashes = new Uint32Array(LOOKUPS);
    const check = (count: number, stage: string): void => {
      for (let i = 0; i < count; i++) {
        randomAddress(rng, known, addrs, i * 16);
        hashes[i] = rng.u32();
      }
      let mismatches = 0;
      let first = '';
      for (let i = 0; i < count; i++) {
        const got = fib.lookup(addrs, i * 16, hashes[i]);
        const route = ref.route(addrs, i * 16);
        const want = route === undefined ? NO_ROUTE : pick(route.nexthops, hashes[i]);
        if (got !== want || fib.matchLength(addrs, i * 16) !== (route?.length ?? -1)) {
          if (mismatches++ === 0) first = `${addrs.toString('hex', i * 16, i * 16 + 16)}: got ${got}, want ${want}`;
        }
      }
      assert.equal(mismatches, 0, `${stage}: ${mismatches} mismatches, first ${first}`);
    };
    check(LOOKUPS, 'after inserts');

    // The linear scan agrees with the exact-match reference here too, on a sample.
    const naive = new NaiveFib();
    for (const e of fib.entries()) {
      naive.insert(parsePrefix(`${e.prefix}/${e.length}`).prefix, e.length, e.nexthops);
    }
    for (let i = 0; i < 300; i++) {
      assert.equal(naive.lookup(addrs, i * 16, hashes[i]), ref.lookup(addrs, i * 16, hashes[i]));
    }

    // Remove a third (some twice), replace next hops of some, add new ones.
    for (let i = 0; i < ROUTES / 3; i++) {
      const r = known[rng.int(known.length)];
      assert.equal(fib.remove(r.prefix, r.length), ref.remove(r.prefix, r.length));
    }
    for (let i = 0; i < ROUTES / 10; i++) {
      const r = rng.int(2) === 0 ? known[rng.int(known.length)] : randomRoute(rng, known);
      const nh = randomNexthops(rng);
      fib.insert(r.prefix, r.length, nh);
      ref.insert(r.prefix, r.length, nh);
      known.push(r);
    }
    assert.equal(fib.size, ref.size);
    check(LOOKUPS / 2, 'after removals');

    // Remove everything: the structure is empty again.
    for (const r of known) fib.remove(r.prefix, r.length);
    assert.equal(fib.size, 0);
    assert.deepEqual({ nodes: fib.stats().nodes, leafBlocks: fib.stats().leafBlocks }, { nodes: 0, leafBlocks: 0 });
  });

  it('several seeds, smaller: routes, lookups and removals agree', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const rng = new SeededRandom(seed);
      const fib = new Fib({ initialCapacity: 0 });
      const ref = new ExactMatchFib();
      const known: Route[] = [];
      const buf = Buffer.alloc(16);
      for (let round = 0; round < 4; round++) {
        for (let i = 0; i < 5000; i++) {
          const r = randomRoute(rng, known);
          const nh = randomNexthops(rng);
          fib.insert(r.prefix, r.length, nh);
          ref.insert(r.prefix, r.length, nh);
          known.push(r);
        }
        for (let i = 0; i < 3000; i++) {
          const r = known[rng.int(known.length)];
          assert.equal(fib.remove(r.prefix, r.length), ref.remove(r.prefix, r.length));
        }
        assert.equal(fib.size, ref.size);
        for (let i = 0; i < 10000; i++) {
          randomAddress(rng, known, buf, 0);
          const h = rng.u32();
          const want = ref.lookup(buf, 0, h);
          if (fib.lookup(buf, 0, h) !== want) {
            assert.fail(`seed ${seed} round ${round}: ${buf.toString('hex')} got ${fib.lookup(buf, 0, h)} want ${want}`);
          }
        }
      }
    }
  });
});

describe('Fib: hot path', () => {
  it('lookup and lookupPacket allocate nothing (no garbage collection during 2M of each)', async () => {
    const rng = new SeededRandom(99);
    const fib = new Fib();
    const known: Route[] = [];
    for (let i = 0; i < 20000; i++) {
      const r = randomRoute(rng, known);
      fib.insert(r.prefix, r.length, randomNexthops(rng));
      known.push(r);
    }
    const N = 4096;
    const addrs = Buffer.alloc(N * 16);
    for (let i = 0; i < N; i++) randomAddress(rng, known, addrs, i * 16);
    // The same destinations as IPv6 headers, for lookupPacket (which hashes ECMP flows itself).
    const pkts = Buffer.alloc(N * 40);
    for (let i = 0; i < N; i++) {
      pkts[i * 40] = 0x60;
      pkts.writeUInt32BE(rng.u32(), i * 40 + 8);
      addrs.copy(pkts, i * 40 + 24, i * 16, i * 16 + 16);
    }
    let sink = 0;
    for (let i = 0; i < 200_000; i++) {
      const k = i & (N - 1);
      sink += fib.lookup(addrs, k * 16, i) + fib.matchLength(addrs, k * 16) + fib.lookupPacket(pkts, k * 40); // warm up
    }

    // GC entries carry their start time; count those that began during the timed loop. A collection of
    // other tests' garbage can land in the window now and then; an allocating lookup (2M calls x even
    // 16 bytes = 32 MB) would cause scavenges on every attempt. So: the fewest of three attempts.
    const attempt = async (): Promise<number> => {
      const starts: number[] = [];
      const obs = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) starts.push(e.startTime);
      });
      obs.observe({ entryTypes: ['gc'] });
      await new Promise((r) => setTimeout(r, 20));
      // A local 32-bit accumulator: a captured or growing one would box numbers and allocate itself.
      let acc = 0;
      const t0 = performance.now();
      for (let i = 0; i < 2_000_000; i++) {
        const k = i & (N - 1);
        acc = (acc + fib.lookup(addrs, k * 16, i) + fib.lookupPacket(pkts, k * 40)) | 0;
      }
      const t1 = performance.now();
      sink += acc;
      await new Promise((r) => setTimeout(r, 50));
      obs.disconnect();
      return starts.filter((t) => t >= t0 && t <= t1).length;
    };
    let gcs = Infinity;
    for (let k = 0; k < 3 && gcs > 0; k++) gcs = Math.min(gcs, await attempt());
    assert.ok(sink !== 0.5);
    assert.equal(gcs, 0, 'a lookup allocated');
  });
});
