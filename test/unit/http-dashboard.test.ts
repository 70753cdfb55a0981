/**
 * The dashboard's pure part: query answers -> graph elements and tables, rates from two counter
 * samples; and its event feed on a manual clock and hand-fired timers (one timer for all clients,
 * stopped when the last goes, close() ends every stream).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ManualClock } from '../../src/common/clock.js';
import { buildSnapshot, linkRates, sampleCounters, type DashboardInputs } from '../../src/services/http/dashboard.js';
import { DashboardFeed } from '../../src/services/http/dashboard-events.js';

const A = 'fd00::a';
const B = 'fd00::b';
const C = 'fd00::c';

const counters = (n: number) => ({ rx_packets: 10 * n, rx_bytes: 1000 * n, tx_packets: 20 * n, tx_bytes: 3000 * n, rx_drops: 0, tx_drops: 0 });

/** A seen from A in a chain A - B - C: A's one link to B, B - C adjacent both ways unless `cut`. */
function inputs(o: { n?: number; cut?: boolean; linkState?: string; bfd?: string } = {}): DashboardInputs {
  const edge = (from: string, to: string) => ({ from, to, metric: 10 });
  return {
    status: { name: 'agenticmesh', address: A, uptimeSeconds: 5 },
    links: [{ name: 'clawdboy', kind: 'vxlan', state: o.linkState ?? 'up', peer: B, counters: counters(o.n ?? 1) }],
    routes: [{ prefix: `${B}/128`, via: ['clawdboy'], source: 'connected' }, ...(o.cut ? [] : [{ prefix: `${C}/128`, via: ['clawdboy'], source: 'ospf' }])],
    neighbors: [{ interface: 'clawdboy', routerId: '2.2.2.2', state: 'Full', address: 'fe80::b', uptime: 9, deadIn: 4 }],
    topology: {
      routers: [
        { routerId: '1.1.1.1', self: true, prefixes: [`${A}/128`] },
        { routerId: '2.2.2.2', self: false, prefixes: [`${B}/128`] },
        { routerId: '3.3.3.3', self: false, prefixes: [`${C}/128`] },
      ],
      edges: [edge('1.1.1.1', '2.2.2.2'), edge('2.2.2.2', '1.1.1.1'), edge('3.3.3.3', '2.2.2.2'), ...(o.cut ? [] : [edge('2.2.2.2', '3.3.3.3')])],
    },
    bfd: [{ link: 'clawdboy', peer: 'fe80::b', state: o.bfd ?? 'Up', remoteState: 'Up', diag: 'No Diagnostic', detectionTimeMs: 300, localDiscriminator: 7 }],
    registry: { nodes: [{ name: 'carlotta', address: C }] },
    peers: [{ name: 'clawdboy', address: B }],
  };
}

test('the graph: routers named from status, peers and registry; both directions make one edge; own link overlaid', () => {
  const { snapshot } = buildSnapshot(inputs(), undefined, 0, new Date(0));
  assert.equal(snapshot.graph.source, 'ospf');
  assert.deepEqual(snapshot.graph.nodes, [
    { id: '1.1.1.1', routerId: '1.1.1.1', label: 'agenticmesh', address: A, self: true, reachable: true },
    { id: '2.2.2.2', routerId: '2.2.2.2', label: 'clawdboy', address: B, self: false, reachable: true },
    { id: '3.3.3.3', routerId: '3.3.3.3', label: 'carlotta', address: C, self: false, reachable: true },
  ]);
  assert.deepEqual(snapshot.graph.edges, [
    { id: '1.1.1.1|2.2.2.2', source: '1.1.1.1', target: '2.2.2.2', state: 'up', metric: 10, link: 'clawdboy', bfd: 'Up' },
    { id: '2.2.2.2|3.3.3.3', source: '2.2.2.2', target: '3.3.3.3', state: 'up', metric: 10 },
  ]);
  assert.equal(snapshot.time, '1970-01-01T00:00:00.000Z');
  assert.deepEqual(snapshot.self, { name: 'agenticmesh', address: A, uptimeSeconds: 5 });
  // Tables keep what they show, not every field of the answer.
  assert.deepEqual(snapshot.neighbors, [{ interface: 'clawdboy', routerId: '2.2.2.2', state: 'Full', address: 'fe80::b', uptime: 9 }]);
  assert.deepEqual(snapshot.bfd, [{ link: 'clawdboy', peer: 'fe80::b', state: 'Up', remoteState: 'Up', diag: 'No Diagnostic', detectionTimeMs: 300 }]);
  assert.equal(snapshot.routes.length, 2);
  assert.equal(snapshot.links[0]!.rates, undefined, 'no rates from one sample');
});

test('a far cut: the edge left in one direction is half, the router cut off is unreachable', () => {
  const { snapshot } = buildSnapshot(inputs({ cut: true }), undefined, 0);
  assert.equal(snapshot.graph.edges.find((e) => e.id === '2.2.2.2|3.3.3.3')?.state, 'half');
  assert.equal(snapshot.graph.edges.find((e) => e.id === '1.1.1.1|2.2.2.2')?.state, 'up');
  assert.equal(snapshot.graph.nodes.find((n) => n.id === '3.3.3.3')?.reachable, false);
});

test('this node\'s link down, or its BFD session down, makes its edge down before the LSDB says so', () => {
  for (const o of [{ linkState: 'down' }, { bfd: 'Down' }]) {
    const { snapshot } = buildSnapshot(inputs(o), undefined, 0);
    assert.equal(snapshot.graph.edges.find((e) => e.id === '1.1.1.1|2.2.2.2')?.state, 'down', JSON.stringify(o));
  }
});

test('rates from two samples on the injected clock; none when a counter went back or no time passed', () => {
  const clock = new ManualClock(5000);
  const first = buildSnapshot(inputs({ n: 1 }), undefined, clock.now());
  clock.advance(2000);
  const second = buildSnapshot(inputs({ n: 3 }), first.sample, clock.now());
  // 2 s for 20 more rx packets, 40 tx, 2000 rx bytes, 6000 tx.
  const rates = { rxPps: 10, txPps: 20, rxBps: 1000, txBps: 3000 };
  assert.deepEqual(second.snapshot.links[0]!.rates, rates);
  assert.deepEqual(second.snapshot.graph.edges[0]!.rates, rates);
  assert.deepEqual(second.snapshot.links[0]!.counters, counters(3));
  assert.equal(linkRates(counters(3), counters(1), 1000), undefined, 'a counter going back (the link was made anew)');
  assert.equal(linkRates(counters(1), counters(2), 0), undefined);
  assert.equal(linkRates(undefined, counters(2), 1000), undefined);
  assert.deepEqual(sampleCounters([{ name: 'x', counters: { rx_packets: 'junk' } }, { counters: {} }], 7), {
    at: 7,
    links: { x: { rx_packets: 0, rx_bytes: 0, tx_packets: 0, tx_bytes: 0, rx_drops: 0, tx_drops: 0 } },
  });
});

test('without OSPF: this node and the far end of each link; with nothing at all, still a snapshot', () => {
  const i = inputs();
  delete i.topology;
  const { snapshot } = buildSnapshot(i, undefined, 0);
  assert.equal(snapshot.graph.source, 'links');
  assert.deepEqual(
    snapshot.graph.nodes.map((n) => [n.label, n.self]),
    [
      ['agenticmesh', true],
      ['clawdboy', false],
    ],
  );
  assert.deepEqual(
    snapshot.graph.edges.map((e) => [e.source, e.target, e.state, e.link]),
    [[A, B, 'up', 'clawdboy']],
  );
  const empty = buildSnapshot({ links: 'junk', topology: { routers: 'no' }, errors: { bfd: 'boom' } }, undefined, 0).snapshot;
  assert.deepEqual(empty.graph, { nodes: [{ id: 'self', label: 'self', self: true, reachable: true }], edges: [], source: 'links' });
  assert.deepEqual([empty.links, empty.routes, empty.neighbors, empty.bfd], [[], [], [], []]);
  assert.deepEqual(empty.errors, { bfd: 'boom' });
});

/** Just enough of a request and a response for the feed. */
class FakeStream extends EventEmitter {
  written: string[] = [];
  ended = false;
  destroyed = false;
  writableLength = 0;
  status = 0;
  headers: Record<string, string> = {};
  setTimeout(): this {
    return this;
  }
  writeHead(status: number, headers: Record<string, string>): this {
    this.status = status;
    this.headers = headers;
    return this;
  }
  write(s: string): boolean {
    this.written.push(s);
    return true;
  }
  end(): void {
    this.ended = true;
    this.emit('close');
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

/** Timers fired by hand: pending ones by handle. */
function manualTimers() {
  let next = 1;
  const pending = new Map<number, () => void>();
  return {
    pending,
    setTimeout: (fn: () => void) => {
      pending.set(next, fn);
      return next++;
    },
    clearTimeout: (h: unknown) => void pending.delete(h as number),
    fire: async () => {
      const due = [...pending.entries()];
      pending.clear();
      for (const [, fn] of due) fn();
      await new Promise((r) => setImmediate(r));
    },
  };
}

const settle = () => new Promise((r) => setImmediate(r));

test('the feed: a snapshot at once and each tick to every client, one timer, stopped with the last client; close() ends all', async () => {
  const clock = new ManualClock(0);
  const timers = manualTimers();
  let n = 1;
  let collected = 0;
  const silent = { info() {}, warn() {}, error() {}, debug() {} };
  const feed = new DashboardFeed({
    collect: async () => {
      collected++;
      return inputs({ n });
    },
    clock,
    timers,
    log: silent as never,
    maxClients: 2,
  });
  const events = (s: FakeStream) => s.written.filter((w) => w.startsWith('event: snapshot'));
  const one = new FakeStream();
  feed.attach(one as unknown as IncomingMessage, one as unknown as ServerResponse);
  await settle();
  assert.equal(one.status, 200);
  assert.match(one.headers['Content-Type']!, /^text\/event-stream/);
  assert.equal(one.written[0], 'retry: 2000\n\n');
  assert.equal(events(one).length, 1);
  assert.equal(timers.pending.size, 1);

  // A second client gets the latest snapshot at once; the next tick goes to both, with rates.
  const two = new FakeStream();
  feed.attach(two as unknown as IncomingMessage, two as unknown as ServerResponse);
  assert.equal(events(two).length, 1);
  assert.equal(feed.refuse(), true, 'a third is over the cap of 2');
  assert.equal(feed.counters.refused, 1);
  clock.advance(1000);
  n = 2;
  await timers.fire();
  assert.equal(collected, 2, 'one collection per tick, however many clients');
  assert.equal(events(one).length, 2);
  assert.equal(events(two).length, 2);
  const last = JSON.parse(events(two)[1]!.split('\ndata: ')[1]!) as { links: { rates: { rxPps: number } }[] };
  assert.equal(last.links[0]!.rates.rxPps, 10);
  assert.equal(timers.pending.size, 1);

  // Both go: no timer left.
  one.emit('close');
  two.emit('close');
  assert.equal(timers.pending.size, 0);
  assert.equal(feed.size, 0);

  // close() ends open streams, and refuses from then on.
  const three = new FakeStream();
  feed.attach(three as unknown as IncomingMessage, three as unknown as ServerResponse);
  await settle();
  feed.close();
  assert.equal(three.ended, true);
  assert.equal(timers.pending.size, 0);
  assert.equal(feed.refuse(), true);
});

test('the feed drops a client that does not read rather than queue for it', async () => {
  const timers = manualTimers();
  const silent = { info() {}, warn() {}, error() {}, debug() {} };
  const feed = new DashboardFeed({ collect: async () => inputs(), clock: new ManualClock(0), timers, log: silent as never });
  const slow = new FakeStream();
  feed.attach(slow as unknown as IncomingMessage, slow as unknown as ServerResponse);
  await settle();
  slow.writableLength = 2 * 1024 * 1024;
  await timers.fire();
  assert.equal(slow.destroyed, true);
  assert.equal(feed.counters.dropped, 1);
  assert.equal(feed.size, 0);
  assert.equal(timers.pending.size, 0);
});
