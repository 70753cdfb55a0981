/**
 * The BFD service over two real link managers joined back to back, with an injected clock and timers:
 * a new tunnel link carries nothing until its session first comes Up (a restarted node is protected
 * before it forms adjacencies), and a peer that never answers gets its link after the grace, unprotected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BfdService, BFD_DOWN_REASON, DETECT_CONFIRM_MAX_MS, HOLD_UP_MIN_MS, NO_BFD_GRACE_MS } from '../../src/controlplane/bfd/service.js';
import { LinkManager, type LinkDriver, type LinkPlane, type LinkRequest } from '../../src/controlplane/link-manager.js';
import type { ServiceContext } from '../../src/controlplane/service.js';
import type { ReceivedPacket } from '../../src/controlplane/packet-io.js';
import { parseIpv6Address } from '../../src/dataplane/wire/ipv6.js';
import { linkLocalFor } from '../../src/common/address.js';

const A = 'fd00:6d6f:6c74:1::a';
const B = 'fd00:6d6f:6c74:1::b';

const plane: LinkPlane = { addPort() {}, removePort() {}, addLink() {}, removeLink() {} };
function driver(peer: string): LinkDriver {
  return {
    kind: 'vxlan',
    async prepare(req: LinkRequest) {
      return {
        spec: { name: req.name, kind: 'vxlan', port: 0, remote: new Uint8Array(20), mtu: 1380, localMesh: new Uint8Array(16), localLinkLocal: new Uint8Array(16), peerMesh: parseIpv6Address(peer) },
        describe: {},
        close: () => undefined,
      };
    },
  };
}

/** One clock and one timer queue for both nodes. */
class World {
  now = 0;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  readonly api = {
    setTimeout: (fn: () => void, ms: number) => {
      const id = ++this.seq;
      this.timers.set(id, { at: this.now + ms, fn });
      return id;
    },
    clearTimeout: (id: unknown) => void this.timers.delete(id as number),
  };
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= end).sort((x, y) => x[1].at - y[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.now = Math.max(this.now, due[1].at);
      due[1].fn();
    }
    this.now = end;
  }
}

/** The packet door's catch-up: by default at once (nothing waits in the forwarding thread). */
type Door = { caughtUp?: (done: () => void) => void; standIns?: { linkId: number; data: Buffer | null; intervalMs: number }[] };

function node(world: World, self: string, peer: string, wire: { deliver?: (p: ReceivedPacket) => void }, warnings: string[], multihop: string[] = [], door: Door = {}, authentication?: unknown) {
  const links = new LinkManager(plane, [driver(peer)]);
  const handlers: { bfd?: (p: ReceivedPacket) => void } = {};
  const log = { info() {}, debug() {}, error() {}, warn: (_o: unknown, m: string) => void warnings.push(m), child: () => log };
  const ctx = {
    config: { enabled: true, minTxMs: 100, minRxMs: 100, multiplier: 3, multihop, multihopTimers: { minTxMs: 300, minRxMs: 300, multiplier: 3 }, ...(authentication ? { authentication } : {}) },
    clock: { now: () => world.now },
    timers: world.api,
    log,
    node: { meshAddress: parseIpv6Address(self) },
    links,
    queries: { register() {} },
    metrics: { gauge: () => ({ reset() {}, set() {} }) },
    lookupRoute: () => undefined,
    packets: {
      handlers,
      caughtUp: (done: () => void) => (door.caughtUp ? door.caughtUp(done) : done()),
      standInUdp: (linkId: number, _dst: Buffer, _sp: number, _dp: number, _hl: number, data: Buffer | null, intervalMs: number) =>
        door.standIns?.push({ linkId, data: data && Buffer.from(data), intervalMs }),
      sendUdp: (linkId: number, dst: Buffer, srcPort: number, dstPort: number, hopLimit: number, payload: Buffer) =>
        wire.deliver?.({ linkId, src: parseIpv6Address(linkLocalFor(self)), dst, hopLimit, payload: Buffer.from(payload), srcPort, dstPort }),
    },
  } as unknown as ServiceContext<never>;
  const bfd = new BfdService();
  bfd.start(ctx as never);
  return { links, handlers, bfd };
}

const req: LinkRequest = { name: 'peer', kind: 'vxlan', origin: 'config', cost: 10, params: {}, authenticated: true };

test('a new tunnel link is held down until its BFD session first comes Up', async () => {
  const world = new World();
  const toB: { deliver?: (p: ReceivedPacket) => void } = {};
  const toA: { deliver?: (p: ReceivedPacket) => void } = {};
  const warnings: string[] = [];
  const a = node(world, A, B, toB, warnings);
  const b = node(world, B, A, toA, warnings);
  // Each side's packets arrive on the other's link, 0.2 ms later.
  toB.deliver = (p) => void world.api.setTimeout(() => b.handlers.bfd?.({ ...p, linkId: b.links.list()[0]?.id ?? -1 }), 0.2);
  toA.deliver = (p) => void world.api.setTimeout(() => a.handlers.bfd?.({ ...p, linkId: a.links.list()[0]?.id ?? -1 }), 0.2);
  const events: string[] = [];
  a.links.on('up', (l, why) => events.push(`up ${l.name} ${why} at ${world.now}`));
  a.links.on('down', (l, why) => events.push(`down ${l.name} ${why} at ${world.now}`));
  const la = await a.links.add(req);
  assert.equal(la.up, false);
  assert.deepEqual([...la.downReasons], [BFD_DOWN_REASON]);
  await b.links.add(req);
  world.advance(NO_BFD_GRACE_MS - 1000);
  assert.equal(la.up, true, `BFD came Up within the slow start: ${JSON.stringify(a.bfd.sessions())}`);
  // And stays Up: the hold was BFD's first verdict, not a flap.
  world.advance(10_000);
  assert.equal(events.length, 1, events.join('\n'));
  assert.match(events[0]!, /^up peer bfd at /);
  assert.ok(Number(events[0]!.split(' at ')[1]) < NO_BFD_GRACE_MS);
  assert.deepEqual(warnings, []);
  a.bfd.stop();
  b.bfd.stop();
});

test('a peer without BFD gets its link after the grace, unprotected, and the log says so', async () => {
  const world = new World();
  const warnings: string[] = [];
  const a = node(world, A, B, {}, warnings);
  const la = await a.links.add(req);
  world.advance(NO_BFD_GRACE_MS - 1);
  assert.equal(la.up, false);
  world.advance(1);
  assert.equal(la.up, true);
  assert.deepEqual(warnings, ['no BFD session came up on a new link: it carries traffic without BFD protection']);
  a.bfd.stop();
});

test('stopping BFD releases held links and holds no new ones', async () => {
  const world = new World();
  const a = node(world, A, B, {}, []);
  const la = await a.links.add(req);
  assert.equal(la.up, false);
  a.bfd.stop();
  assert.equal(la.up, true);
  const lb = await a.links.add({ ...req, name: 'other' });
  assert.equal(lb.up, true);
  world.advance(NO_BFD_GRACE_MS * 2);
});

test('links to unauthenticated peers (a kernel vxlan device, say) are not held: they may have no BFD', async () => {
  const world = new World();
  const a = node(world, A, B, {}, []);
  const la = await a.links.add({ ...req, authenticated: false });
  assert.equal(la.up, true);
  a.bfd.stop();
});

test('dampening: after a failure the link waits out a hold once BFD is back, doubled by each further failure', async () => {
  const world = new World();
  const wire = { cut: false };
  const toB: { deliver?: (p: ReceivedPacket) => void } = {};
  const toA: { deliver?: (p: ReceivedPacket) => void } = {};
  const a = node(world, A, B, toB, []);
  const b = node(world, B, A, toA, []);
  toB.deliver = (p) => void (wire.cut || world.api.setTimeout(() => b.handlers.bfd?.({ ...p, linkId: b.links.list()[0]?.id ?? -1 }), 0.2));
  toA.deliver = (p) => void (wire.cut || world.api.setTimeout(() => a.handlers.bfd?.({ ...p, linkId: a.links.list()[0]?.id ?? -1 }), 0.2));
  const la = await a.links.add(req);
  await b.links.add(req);
  world.advance(3000);
  assert.equal(la.up, true);
  // A failure: down within the detection time.
  wire.cut = true;
  world.advance(400);
  assert.equal(la.up, false);
  // Mended: BFD comes back within a few slow-start intervals, the link only after the hold.
  wire.cut = false;
  const upAt = (limit: number) => {
    const start = world.now;
    while (!la.up && world.now - start < limit) world.advance(10);
    return world.now - start;
  };
  const first = upAt(20_000);
  assert.ok(first >= HOLD_UP_MIN_MS, `up ${first} ms after the mend`);
  // A second failure soon after: a longer hold.
  wire.cut = true;
  world.advance(400);
  assert.equal(la.up, false);
  wire.cut = false;
  const second = upAt(20_000);
  assert.ok(second >= 2 * HOLD_UP_MIN_MS && second > first, `first ${first} ms, second ${second} ms`);
  a.bfd.stop();
  b.bfd.stop();
});

test('multihop sessions run on their own timers (300 ms x 3 by default), link sessions on the links\' (100 ms x 3)', async () => {
  const world = new World();
  const a = node(world, A, B, {}, [], [B]);
  await a.links.add(req);
  const byKind = new Map(a.bfd.sessions().map((s) => [s.multihop, s]));
  assert.deepEqual([byKind.get(true)?.desiredMinTxMs, byKind.get(true)?.requiredMinRxMs, byKind.get(true)?.detectMult], [300, 300, 3]);
  assert.deepEqual([byKind.get(false)?.desiredMinTxMs, byKind.get(false)?.requiredMinRxMs, byKind.get(false)?.detectMult], [100, 100, 3]);
  a.bfd.stop();
});

/**
 * B's thread is held for 500 ms (a long task, a host short of CPU): A's packets wait in B's forwarding
 * thread, and B's detection timer runs before them. They were there in time, so the session stays Up.
 */
test('an expired detection time first lets in the packets waiting in the door: a held thread is not a failure', async () => {
  const world = new World();
  const queued: (() => void)[] = [];
  const held = { on: false };
  const doorB: Door = {
    caughtUp(done) {
      for (const deliver of queued.splice(0)) deliver();
      done();
    },
  };
  const toB: { deliver?: (p: ReceivedPacket) => void } = {};
  const toA: { deliver?: (p: ReceivedPacket) => void } = {};
  const a = node(world, A, B, toB, []);
  const b = node(world, B, A, toA, [], [], doorB);
  const intoB = (p: ReceivedPacket) => () => b.handlers.bfd?.({ ...p, linkId: b.links.list()[0]?.id ?? -1 });
  toB.deliver = (p) => void world.api.setTimeout(() => (held.on ? queued.push(intoB(p)) : intoB(p)()), 0.2);
  toA.deliver = (p) => void world.api.setTimeout(() => a.handlers.bfd?.({ ...p, linkId: a.links.list()[0]?.id ?? -1 }), 0.2);
  await a.links.add(req);
  const lb = await b.links.add(req);
  world.advance(3000);
  assert.equal(lb.up, true);
  held.on = true;
  world.advance(500);
  held.on = false;
  world.advance(500);
  const s = b.bfd.sessions()[0]!;
  assert.equal(lb.up, true, 'the link stayed up');
  assert.equal(s.state, 'Up');
  assert.equal(s.counters.downCount, 0);
  assert.ok(s.detectChecks >= 1 && s.detectSaved === s.detectChecks, JSON.stringify({ checks: s.detectChecks, saved: s.detectSaved }));
  a.bfd.stop();
  b.bfd.stop();
});

test('a real failure still goes Down: at once when the door has nothing, within the bound when it does not answer', async () => {
  for (const answers of [true, false]) {
    const world = new World();
    const wire = { cut: false };
    const doorB: Door = answers ? {} : { caughtUp() {} };
    const toB: { deliver?: (p: ReceivedPacket) => void } = {};
    const toA: { deliver?: (p: ReceivedPacket) => void } = {};
    const a = node(world, A, B, toB, []);
    const b = node(world, B, A, toA, [], [], doorB);
    toB.deliver = (p) => void (wire.cut || world.api.setTimeout(() => b.handlers.bfd?.({ ...p, linkId: b.links.list()[0]?.id ?? -1 }), 0.2));
    toA.deliver = (p) => void world.api.setTimeout(() => a.handlers.bfd?.({ ...p, linkId: a.links.list()[0]?.id ?? -1 }), 0.2);
    await a.links.add(req);
    const lb = await b.links.add(req);
    world.advance(3000);
    assert.equal(lb.up, true);
    let downAt = -1;
    b.links.on('down', () => (downAt = world.now));
    wire.cut = true;
    const cutAt = world.now;
    const detect = b.bfd.sessions()[0]!.detectionTimeMs!;
    while (downAt < 0 && world.now - cutAt < 2000) world.advance(1);
    const after = downAt - cutAt;
    // The last packet left up to one interval before the cut: Down between detect - 100 and detect (+ the bound).
    const extra = answers ? 0 : DETECT_CONFIRM_MAX_MS;
    assert.ok(downAt >= 0 && after <= detect + extra + 1 && after >= detect - 100 + extra - 1, `${answers ? 'answering' : 'silent'} door: down ${after} ms after the cut (detection ${detect} ms)`);
    assert.equal(b.bfd.counters['detect_saved'], 0);
    assert.equal(b.bfd.counters['detect_confirm_timeout'], answers ? 0 : 1);
    a.bfd.stop();
    b.bfd.stop();
  }
});

test('an Up session hands the forwarding thread its steady packet once; leaving Up takes it back; SHA1 authentication gives none', async () => {
  for (const auth of [undefined, { type: 'simple', keyId: 1, key: 'secret' }, { type: 'keyed-sha1', keyId: 1, key: 'secret' }]) {
    const world = new World();
    const wire = { cut: false };
    const doorA: Door = { standIns: [] };
    const toB: { deliver?: (p: ReceivedPacket) => void } = {};
    const toA: { deliver?: (p: ReceivedPacket) => void } = {};
    const a = node(world, A, B, toB, [], [], doorA, auth);
    const b = node(world, B, A, toA, [], [], {}, auth);
    toB.deliver = (p) => void world.api.setTimeout(() => b.handlers.bfd?.({ ...p, linkId: b.links.list()[0]?.id ?? -1 }), 0.2);
    toA.deliver = (p) => void (wire.cut || world.api.setTimeout(() => a.handlers.bfd?.({ ...p, linkId: a.links.list()[0]?.id ?? -1 }), 0.2));
    const la = await a.links.add(req);
    await b.links.add(req);
    world.advance(3000);
    assert.equal(la.up, true);
    const what = auth?.type ?? 'none';
    if (what === 'keyed-sha1') {
      assert.deepEqual(doorA.standIns, [], 'no stand-in with a per-packet sequence number');
      continue;
    }
    // One template for the steady state (slow start ended: the 100 ms interval), not one per packet.
    const up = doorA.standIns!;
    assert.ok(up.length >= 1 && up.length <= 3, `${what}: ${up.length} templates in 3 s`);
    const last = up.at(-1)!;
    assert.equal(last.intervalMs, 100);
    assert.equal(last.linkId, la.id);
    assert.equal(last.data![1]! >> 6, 3, 'the template says Up');
    assert.equal(last.data![1]! & 0x30, 0, 'with neither Poll nor Final');
    // Down: taken back before the Down packet goes.
    wire.cut = true;
    world.advance(400);
    assert.equal(la.up, false);
    assert.deepEqual(up.at(-1), { linkId: la.id, data: null, intervalMs: 0 }, what);
    a.bfd.stop();
    b.bfd.stop();
  }
});
