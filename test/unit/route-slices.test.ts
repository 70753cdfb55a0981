/**
 * Route changes cross to the forwarding thread packed in one buffer (packRoutes) and are applied a slice
 * at a time (RouteCursor, ForwardingCore.drain with a slice): 10,000 routes in one go held the forwarding
 * thread for 100+ ms, long enough on a busy 2-core host for BFD's stand-in to miss the peer's detection
 * time (bird-prefixes.test.ts flapped the link that way). Messages behind a change wait for it, in order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryNetwork } from '../../src/dataplane/io/memory.js';
import { createCounters } from '../../src/dataplane/counters.js';
import { Fib, parsePrefix } from '../../src/dataplane/fib/fib.js';
import { ForwardingCore } from '../../src/daemon/forwarding-core.js';
import { RouteCursor, packRoutes, type RouteSpec, type ToWorker } from '../../src/daemon/forwarding-messages.js';
import { addr } from '../helpers/packets.js';
import { ME, ME_LL } from '../helpers/engine-net.js';

function route(prefix: string, nexthops: number[]): RouteSpec {
  const p = parsePrefix(prefix);
  return { prefix: p.prefix, length: p.length, nexthops };
}

/** /48s under 2001:db8::/32, as BIRD's external routes in bird-prefixes.test.ts. */
function externals(n: number, nexthops: number[]): RouteSpec[] {
  return Array.from({ length: n }, (_, i) => route(`2001:db8:${i.toString(16)}::/48`, nexthops));
}

test('packRoutes: removes then inserts, every length, 1..16 next hops, link ids up to 65534', () => {
  const change = {
    remove: [route('::/0', [1]), route('fd00:6d6f:6c74::/48', [1])].map(({ prefix, length }) => ({ prefix, length })),
    insert: [route('::/0', [7]), route('fd00:6d6f:6c74:1::/64', [0, 65534]), route('2001:db8::1/128', Array.from({ length: 16 }, (_, i) => i + 1))],
  };
  const data = packRoutes(change);
  assert.equal(data.byteLength, 2 * 18 + 18 + 2 + 18 + 4 + 18 + 32);
  // The first record: length 0, no next hops (a remove), the prefix.
  assert.deepEqual([...new Uint8Array(data, 0, 2)], [0, 0]);
  const seen: string[] = [];
  const done = new RouteCursor(data).applyTo(
    {
      remove: (p, l) => seen.push(`-${Buffer.from(p).toString('hex')}/${l}`),
      insert: (p, l, nh) => void seen.push(`+${Buffer.from(p).toString('hex')}/${l} ${nh.join(',')}`),
    },
    () => false,
  );
  assert.equal(done, true);
  assert.deepEqual(seen, [
    `-${'00'.repeat(16)}/0`,
    `-fd006d6f6c74${'00'.repeat(10)}/48`,
    `+${'00'.repeat(16)}/0 7`,
    `+fd006d6f6c740001${'00'.repeat(8)}/64 0,65534`,
    `+20010db8${'00'.repeat(11)}01/128 ${Array.from({ length: 16 }, (_, i) => i + 1).join(',')}`,
  ]);
});

test('RouteCursor: stops when told (asked every 64 records), goes on where it stopped, and a cut record is an error, not a hang', () => {
  const fib = new Fib();
  const cursor = new RouteCursor(packRoutes({ remove: [], insert: externals(1000, [3]) }));
  let asked = 0;
  assert.equal(cursor.applyTo(fib, () => ++asked === 2), false);
  assert.equal(fib.size, 127); // asked before record 64 (no) and before record 128 (yes)
  assert.equal(cursor.applyTo(fib, () => false), true);
  assert.equal(fib.size, 1000);
  assert.equal(cursor.done, true);

  const whole = packRoutes({ remove: [], insert: externals(2, [3, 4]) });
  const cut = new RouteCursor(whole.slice(0, whole.byteLength - 1));
  const fib2 = new Fib();
  assert.throws(() => cut.applyTo(fib2, () => false), /ends inside a record/);
  assert.equal(fib2.size, 1);
  assert.equal(cut.done, true);
});

/** A core on a memory network whose clock moves `tick` ms each time it is read. */
function core(tick: number) {
  const net = new MemoryNetwork();
  let t = 0;
  const errors: string[] = [];
  const c = new ForwardingCore({
    io: net,
    tunFd: net.tunOpen('molt0').fd,
    meshAddress: addr(ME),
    linkLocal: addr(ME_LL),
    counters: createCounters(false),
    maxPacket: 1600,
    batch: 64,
    now: () => (t += tick),
    punt: () => undefined,
    error: (m) => errors.push(m),
  });
  return { c, errors };
}

test('ForwardingCore.drain: a big route change is applied over several slices; the messages behind it wait, in order', () => {
  const { c, errors } = core(0.01);
  const inbox: ToWorker[] = [
    { type: 'routes', data: packRoutes({ remove: [], insert: externals(10_000, [1]) }) },
    { type: 'sync', id: 1 },
    { type: 'routes', data: packRoutes({ remove: externals(10_000, [1]), insert: [route('fd00:6d6f:6c74::/48', [2])] }) },
    { type: 'sync', id: 2 },
  ];
  const next = () => inbox.shift();
  let slices = 0;
  const sizes: number[] = [];
  const synced: number[] = [];
  while (inbox.length > 0 || c.applying) {
    assert.equal(c.drain(next, 2), true);
    slices++;
    sizes.push(c.fib.size);
    synced.push(...c.takeSyncs());
    assert.ok(slices < 1000, 'the change never finished');
  }
  // 2 ms at 0.01 ms a read, a read per 64 records: about 200 * 64 records per slice.
  assert.ok(slices >= 2, `${slices} slices`);
  assert.ok(sizes.some((n) => n > 0 && n < 10_000), `no slice ended part way: ${sizes.join(' ')}`);
  assert.deepEqual(synced, [1, 2]);
  assert.equal(c.fib.size, 1);
  assert.equal(c.fib.matchLength(addr('fd00:6d6f:6c74::1'), 0), 48);
  assert.deepEqual(errors, []);
});

test('ForwardingCore.drain: with no slice (the in-process plane) everything is applied in one call', () => {
  const { c } = core(1);
  const inbox: ToWorker[] = [
    { type: 'routes', data: packRoutes({ remove: [], insert: externals(5000, [1]) }) },
    { type: 'sync', id: 9 },
  ];
  assert.equal(c.drain(() => inbox.shift()), true);
  assert.equal(c.applying, false);
  assert.equal(c.fib.size, 5000);
  assert.deepEqual(c.takeSyncs(), [9]);
});

test('ForwardingCore.drain: a bad record is reported and skipped, the rest of the change still applied', () => {
  const { c, errors } = core(0);
  const data = packRoutes({ remove: [], insert: externals(3, [1]) });
  new Uint8Array(data)[18 + 2] = 200; // the second record's length: no IPv6 prefix is /200
  c.drain(() => undefined);
  const inbox: ToWorker[] = [{ type: 'routes', data }];
  c.drain(() => inbox.shift());
  assert.equal(c.fib.size, 2);
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /applying routes/);
});
