import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/common/clock.js';
import * as F from '../fixtures/bfd-packets.js';
import { bytesOf } from '../fixtures/bfd-packets.js';
import {
  BfdAuthType,
  BfdDiag,
  BfdState,
  bfdAuthSequence,
  checkBfdControl,
  emitBfdControl,
  parseBfdControl,
  type BfdControlRepr,
} from '../../src/controlplane/bfd/packet.js';
import {
  BFD_PORT_MULTIHOP,
  BFD_PORT_SINGLE_HOP,
  BfdEvent,
  BfdRx,
  BfdSession,
  bfdRxName,
  type BfdSessionOptions,
  type BfdStateChange,
} from '../../src/controlplane/bfd/session.js';
import { BfdDemuxError, BfdSessionTable } from '../../src/controlplane/bfd/discriminators.js';

const { AdminDown, Down, Init, Up } = BfdState;

/** A small seeded PRNG (mulberry32), uniform in [0, 1). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function repr(b: Uint8Array): BfdControlRepr {
  const r = parseBfdControl(b, 0, b.length);
  if (!r.ok) throw new Error(r.error);
  return r.repr;
}

function session(opts: Partial<BfdSessionOptions> & { localDiscriminator: number }, seed = 1): BfdSession {
  return new BfdSession({ random: seeded(seed), ...opts });
}

function events(s: BfdSession): BfdStateChange[] {
  const list: BfdStateChange[] = [];
  s.onStateChange((e) => list.push(e));
  return list;
}

/** Hop limit 255: what a single-hop peer's packets arrive with. */
const at = (now: number, hopLimit = 255) => ({ hopLimit, now });

// ---------------------------------------------------------------------------------------------------------
// Two sessions wired back to back in memory, zero latency, driven by one ManualClock: the caller contract
// (poll after every input, one timer per session at nextWake) played out exactly.

interface Sent {
  at: number;
  from: 'a' | 'b';
  bytes: Buffer;
}

class Wire {
  readonly clock = new ManualClock(0);
  readonly sent: Sent[] = [];
  /** Packets a receiver dropped, with the BfdRx code. */
  readonly rejects: { at: number; to: 'a' | 'b'; code: number }[] = [];
  /** Drop what a (or b) sends. */
  readonly drop = { a: false, b: false };
  private readonly wake = new Map<BfdSession, number>();

  constructor(
    readonly a: BfdSession,
    readonly b: BfdSession,
  ) {}

  private other(s: BfdSession): BfdSession {
    return s === this.a ? this.b : this.a;
  }

  private deliver(from: BfdSession, bytes: Buffer, now: number): void {
    const tag = from === this.a ? 'a' : 'b';
    this.sent.push({ at: now, from: tag, bytes });
    if (this.drop[tag]) return;
    const to = this.other(from);
    const code = to.receive(bytes, at(now));
    if (code !== BfdRx.Ok) this.rejects.push({ at: now, to: tag === 'a' ? 'b' : 'a', code });
    this.step(to, now);
  }

  step(s: BfdSession, now: number): void {
    const r = s.poll(now);
    assert.ok(r.nextWake > now, `nextWake ${r.nextWake} must be after now ${now}`);
    this.wake.set(s, r.nextWake);
    if (r.transmit) this.deliver(s, r.transmit, now);
  }

  /** Both send their first packet at 0 before either hears the other. */
  startTogether(): void {
    const ra = this.a.poll(0);
    const rb = this.b.poll(0);
    assert.ok(ra.transmit && rb.transmit);
    this.sent.push({ at: 0, from: 'a', bytes: ra.transmit }, { at: 0, from: 'b', bytes: rb.transmit });
    this.b.receive(ra.transmit, at(0));
    this.a.receive(rb.transmit, at(0));
    this.step(this.a, 0);
    this.step(this.b, 0);
  }

  /** Runs every wake-up up to and including t. */
  runUntil(t: number): void {
    for (;;) {
      let next: BfdSession | null = null;
      let when = Infinity;
      for (const [s, w] of this.wake) if (w < when) [next, when] = [s, w];
      if (next === null || when > t) break;
      this.clock.set(when);
      this.step(next, when);
    }
    this.clock.set(t);
  }

  /** Periodic intervals between packets `from` sent in [t0, t1]. */
  intervals(from: 'a' | 'b', t0: number, t1: number): number[] {
    const times = this.sent.filter((s) => s.from === from && s.at >= t0 && s.at <= t1).map((s) => s.at);
    return times.slice(1).map((t, i) => t - times[i]!);
  }

  lastFrom(from: 'a' | 'b'): Sent {
    const s = this.sent.filter((x) => x.from === from);
    return s[s.length - 1]!;
  }
}

function pair(aOpts: Partial<BfdSessionOptions> = {}, bOpts: Partial<BfdSessionOptions> = {}): Wire {
  const a = session({ localDiscriminator: 0xaaaa0001, ...aOpts }, 11);
  const b = session({ localDiscriminator: 0xbbbb0002, ...bOpts }, 22);
  return new Wire(a, b);
}

// ---------------------------------------------------------------------------------------------------------
// The state machine.

test('handshake: two sessions starting together go Down -> Init -> Up at once', () => {
  const w = pair();
  const ea = events(w.a);
  const eb = events(w.b);
  w.startTogether();
  assert.equal(w.a.sessionState, Up);
  assert.equal(w.b.sessionState, Up);
  const pairs = (es: BfdStateChange[]) => es.map((e) => [e.from, e.to, e.diag, e.at]);
  assert.deepEqual(pairs(ea), [[Down, Init, 0, 0], [Init, Up, 0, 0]]);
  assert.deepEqual(pairs(eb), [[Down, Init, 0, 0], [Init, Up, 0, 0]]);
  assert.equal(ea[0]!.localDiscriminator, 0xaaaa0001);
  assert.equal(w.a.remoteDiscriminator, 0xbbbb0002);
  assert.equal(w.b.remoteDiscriminator, 0xaaaa0001);
  // What went on the wire: Down, Down, then Init, Up (Poll), Final ...
  const states = w.sent.map((s) => {
    const r = repr(s.bytes);
    return `${s.from}:${['AdminDown', 'Down', 'Init', 'Up'][r.state]}${r.poll ? '+P' : ''}${r.final ? '+F' : ''}`;
  });
  assert.deepEqual(states.slice(0, 4), ['a:Down', 'b:Down', 'a:Init', 'b:Up+P']);
  assert.ok(states.includes('a:Up+F'), states.join(' '));
  assert.deepEqual(w.rejects, []);
});

test('handshake: a session that starts later is brought Up by the other (Down -> Init -> Up on one side)', () => {
  const w = pair();
  const eb = events(w.b);
  w.step(w.a, 0); // a sends Down; b has not sent anything yet but receives it
  // b: Down + Down -> Init, answers at once; a: Down + Init -> Up, tells b; b: Init + Up -> Up.
  assert.equal(w.a.sessionState, Up);
  assert.equal(w.b.sessionState, Up);
  assert.deepEqual(w.sent.slice(0, 3).map((x) => [x.from, repr(x.bytes).state]), [['a', Down], ['b', Init], ['a', Up]]);
  assert.deepEqual(
    eb.map((e) => [e.from, e.to]),
    [[Down, Init], [Init, Up]],
  );
});

test('the [state][received state] table of RFC 5880 §6.8.6', () => {
  // Bring a session to `state` by feeding it packets from a peer, then feed one packet in `rx`.
  const peer = 0x12345678;
  const me = 0x0badf00d;
  const pkt = (state: BfdState, your = me): Buffer => {
    const s = session({ localDiscriminator: peer });
    const r = repr(s.poll(0).transmit!);
    const out = Buffer.alloc(24);
    emitBfdControl({ ...r, state, yourDiscriminator: your }, out, 0);
    return out;
  };
  const into = (state: BfdState): BfdSession => {
    const s = session({ localDiscriminator: me });
    if (state === Init) s.receive(pkt(Down, 0), at(0));
    if (state === Up) {
      s.receive(pkt(Down, 0), at(0));
      s.receive(pkt(Up), at(0));
    }
    assert.equal(s.sessionState, state);
    return s;
  };
  const NSSD = BfdDiag.NeighborSignaledSessionDown;
  // [local][received] -> [next, diag]
  const want: Record<number, [BfdState, number][]> = {
    [Down]: [[Down, 0], [Init, 0], [Up, 0], [Down, 0]],
    [Init]: [[Down, NSSD], [Init, 0], [Up, 0], [Up, 0]],
    [Up]: [[Down, NSSD], [Down, NSSD], [Up, 0], [Up, 0]],
  };
  for (const local of [Down, Init, Up]) {
    for (const rx of [AdminDown, Down, Init, Up]) {
      const s = into(local);
      const your = rx === AdminDown || rx === Down ? 0 : me;
      assert.equal(s.receive(pkt(rx, your), at(1)), BfdRx.Ok);
      assert.deepEqual([s.sessionState, s.diag], want[local]![rx], `local ${local} rx ${rx}`);
    }
  }
  // In AdminDown every packet is discarded.
  for (const rx of [AdminDown, Down, Init, Up]) {
    const s = session({ localDiscriminator: me, adminDown: true });
    assert.equal(s.receive(pkt(rx, rx < Init ? 0 : me), at(0)), BfdRx.LocalAdminDown);
    assert.equal(s.sessionState, AdminDown);
  }
  assert.deepEqual(Object.values(BfdEvent), [0, 1, 2, 3, 4, 5, 6]);
});

test('slow start: 1 s (75-100% jitter) while not Up, with Desired Min TX 1 s on the wire', () => {
  const s = session({ localDiscriminator: 7 }, 5);
  const times: number[] = [];
  let now = 0;
  while (now < 60_000) {
    const r = s.poll(now);
    if (r.transmit) {
      times.push(now);
      const p = repr(r.transmit);
      assert.deepEqual([p.state, p.desiredMinTxUs, p.requiredMinRxUs, p.yourDiscriminator, p.detectMult], [Down, 1_000_000, 100_000, 0, 3]);
    }
    assert.ok(r.nextWake > now && Number.isFinite(r.nextWake));
    now = r.nextWake;
  }
  const gaps = times.slice(1).map((t, i) => t - times[i]!);
  assert.ok(gaps.length > 55, `${gaps.length} packets`);
  assert.ok(Math.min(...gaps) >= 750 && Math.max(...gaps) < 1000, `${Math.min(...gaps)}..${Math.max(...gaps)}`);
  assert.equal(s.txIntervalMs, 1000);
  assert.equal(s.stats().packetsOut, times.length);
});

test('after Up the negotiated rate: 100 ms x 3, packets every 75-100 ms, detection 300 ms', () => {
  const w = pair();
  w.startTogether();
  w.runUntil(30_000);
  assert.equal(w.a.txIntervalMs, 100);
  assert.equal(w.a.detectionTimeMs, 300);
  const gaps = w.intervals('a', 1000, 30_000);
  assert.ok(gaps.length > 290);
  assert.ok(Math.min(...gaps) >= 75 && Math.max(...gaps) < 100, `${Math.min(...gaps)}..${Math.max(...gaps)}`);
  const last = repr(w.lastFrom('a').bytes);
  assert.deepEqual([last.state, last.desiredMinTxUs, last.requiredMinRxUs, last.poll, last.final], [Up, 100_000, 100_000, false, false]);
  assert.equal(w.a.isPolling, false);
  assert.equal(w.b.isPolling, false);
});

test('negotiated TX = max(our desired min TX, the peer\'s required min RX); detection from the peer\'s values', () => {
  const w = pair({ desiredMinTxMs: 50, requiredMinRxMs: 20 }, { desiredMinTxMs: 200, requiredMinRxMs: 150, detectMult: 5 });
  w.startTogether();
  w.runUntil(5000);
  assert.equal(w.a.txIntervalMs, 150, 'a sends at b\'s required 150 ms, not its own 50');
  assert.equal(w.b.txIntervalMs, 200, 'b sends at its desired 200 ms, above a\'s required 20');
  assert.equal(w.a.detectionTimeMs, 5 * 200, 'b\'s mult 5 x max(a required 20, b desired 200)');
  assert.equal(w.b.detectionTimeMs, 3 * 150, 'a\'s mult 3 x max(b required 150, a desired 50)');
  const gaps = w.intervals('a', 1000, 5000);
  assert.ok(Math.min(...gaps) >= 112.5 && Math.max(...gaps) < 150);
});

test('detection: still Up 1 ms before remote mult x agreed interval, Down with diag 1 at the deadline', () => {
  for (const [aOpts, bOpts, detect] of [
    [{}, {}, 300],
    [{ requiredMinRxMs: 50 }, { desiredMinTxMs: 120, detectMult: 4 }, 480],
  ] as const) {
    const w = pair(aOpts, bOpts);
    const ea = events(w.a);
    w.startTogether();
    w.runUntil(10_000);
    w.drop.b = true; // b's packets no longer reach a
    const lastRx = w.lastFrom('b').at;
    assert.equal(w.a.detectionTimeMs, detect);
    w.runUntil(lastRx + detect - 1);
    assert.equal(w.a.sessionState, Up, '1 ms before the deadline');
    w.runUntil(lastRx + detect);
    assert.equal(w.a.sessionState, Down, 'at the deadline');
    assert.equal(w.a.diag, BfdDiag.ControlDetectionTimeExpired);
    const down = ea[ea.length - 1]!;
    assert.deepEqual([down.from, down.to, down.diag, down.at], [Up, Down, 1, lastRx + detect]);
    // a told b at once: b goes Down with diag 3, and a's Down has Your Discriminator 0 again.
    const told = repr(w.lastFrom('a').bytes);
    assert.deepEqual([told.state, told.diag, told.yourDiscriminator, told.desiredMinTxUs], [Down, 1, 0, 1_000_000]);
    assert.equal(w.b.sessionState, Down);
    assert.equal(w.b.diag, BfdDiag.NeighborSignaledSessionDown);
    assert.equal(w.a.stats().downCount, 1);
  }
});

test('maxRxGapMs: the longest silence while Up, below the detection time when the session holds', () => {
  const w = pair();
  w.startTogether();
  w.runUntil(5000);
  const steady = w.a.stats().maxRxGapMs;
  assert.ok(steady >= 75 && steady < 100, `${steady}`);
  // Two of b's packets lost in a row: a waits up to three intervals, still inside 300 ms.
  w.drop.b = true;
  const lastRx = w.lastFrom('b').at;
  w.runUntil(lastRx + 250);
  w.drop.b = false;
  w.runUntil(8000);
  assert.equal(w.a.sessionState, Up);
  const gap = w.a.stats().maxRxGapMs;
  assert.ok(gap > 250 && gap < 300, `${gap}`);
});

test('detection in Init uses the peer\'s slow 1 s rate: 3 s', () => {
  const s = session({ localDiscriminator: 9 });
  const peer = session({ localDiscriminator: 10 });
  s.receive(peer.poll(0).transmit!, at(0));
  assert.equal(s.sessionState, Init);
  assert.equal(s.detectionTimeMs, 3000);
  s.poll(2999);
  assert.equal(s.sessionState, Init);
  s.poll(3000);
  assert.equal(s.sessionState, Down);
  assert.equal(s.remoteDiscriminator, 0, 'forgotten after a Detection Time of silence');
});

test('the link recovers after a cut: Down, then Up again when packets flow', () => {
  const w = pair();
  w.startTogether();
  w.runUntil(5000);
  w.drop.b = true;
  w.drop.a = true;
  w.runUntil(6000);
  assert.equal(w.a.sessionState, Down);
  assert.equal(w.b.sessionState, Down);
  w.drop.a = false;
  w.drop.b = false;
  w.runUntil(9000);
  assert.equal(w.a.sessionState, Up);
  assert.equal(w.b.sessionState, Up);
  const st = w.a.stats();
  assert.deepEqual([st.upCount, st.downCount], [2, 1]);
  assert.ok(st.stateChanges >= 4);
  assert.ok(st.lastChangeAt! > 6000 && st.lastChangeAt! <= 9000);
});

// ---------------------------------------------------------------------------------------------------------
// Poll/Final.

test('Poll/Final: a TX increase while Up is applied only after the Final', () => {
  const w = pair();
  w.startTogether();
  w.runUntil(2000);
  w.a.setParams({ desiredMinTxMs: 300 });
  assert.ok(w.a.isPolling);
  assert.equal(w.a.txIntervalMs, 100, 'not before the Final');
  const before = w.sent.length;
  w.runUntil(2100);
  const next = w.sent.slice(before);
  const poll = next.find((s) => s.from === 'a')!;
  const p = repr(poll.bytes);
  assert.deepEqual([p.poll, p.final, p.desiredMinTxUs], [true, false, 300_000]);
  const fin = next.find((s) => s.from === 'b' && repr(s.bytes).final)!;
  assert.equal(fin.at, poll.at, 'b answers the Poll at once');
  assert.equal(repr(fin.bytes).poll, false, 'never P and F together');
  assert.equal(w.a.isPolling, false);
  assert.equal(w.a.txIntervalMs, 300);
  assert.equal(w.b.detectionTimeMs, 900, 'b took a\'s new desired TX from the Poll itself');
  w.runUntil(10_000);
  const gaps = w.intervals('a', 3000, 10_000);
  assert.ok(Math.min(...gaps) >= 225 && Math.max(...gaps) < 300, `${Math.min(...gaps)}..${Math.max(...gaps)}`);
  assert.equal(w.a.sessionState, Up);
  assert.equal(w.b.sessionState, Up);
});

test('Poll/Final: an RX decrease keeps the old detection time until the Final; an RX increase applies at once', () => {
  const w = pair({}, { desiredMinTxMs: 20 });
  w.startTogether();
  w.runUntil(2000);
  assert.equal(w.a.detectionTimeMs, 300, 'max(a required 100, b desired 20) x 3');
  w.a.setParams({ requiredMinRxMs: 300 });
  assert.equal(w.a.detectionTimeMs, 900, 'increase: at once');
  w.runUntil(3000);
  assert.equal(w.a.isPolling, false);
  assert.equal(w.b.txIntervalMs, 300, 'b slowed down to what a requires');
  // Lost Finals: b's packets vanish while a polls for a decrease.
  w.drop.b = true;
  w.a.setParams({ requiredMinRxMs: 30 });
  assert.ok(w.a.isPolling);
  assert.equal(w.a.detectionTimeMs, 900, 'decrease: the old value until the Final');
  w.runUntil(w.clock.now() + 100);
  assert.ok(w.a.isPolling);
  w.drop.b = false;
  w.runUntil(w.clock.now() + 400);
  assert.equal(w.a.isPolling, false);
  assert.equal(w.a.detectionTimeMs, 90, '3 x max(30, 20) after the Final');
  assert.equal(w.a.sessionState, Up);
});

test('Poll/Final: a second change during a Poll Sequence is polled for after the first Final', () => {
  const w = pair();
  w.startTogether();
  w.runUntil(2000);
  w.drop.b = true; // hold the Final back
  w.a.setParams({ desiredMinTxMs: 200 });
  w.runUntil(2050);
  w.a.setParams({ desiredMinTxMs: 250 });
  w.drop.b = false;
  const i = w.sent.length;
  w.runUntil(2400);
  const polls = w.sent.slice(i).filter((s) => s.from === 'a' && repr(s.bytes).poll).map((s) => repr(s.bytes).desiredMinTxUs);
  assert.ok(polls.includes(250_000), polls.join(','));
  w.runUntil(4000);
  assert.equal(w.a.isPolling, false);
  assert.equal(w.a.txIntervalMs, 250);
  assert.equal(w.a.sessionState, Up);
});

test('the Final answers a captured FRR Poll (frame 254) and our own Poll ends on FRR\'s Final', () => {
  const s = session({ localDiscriminator: 0xdb13cdb6 }); // we stand where BIRD stood
  s.receive(bytesOf(F.FRR_DOWN), at(0));
  assert.equal(s.sessionState, Init);
  s.poll(0);
  s.receive(bytesOf(F.FRR_UP_POLL), at(5));
  assert.equal(s.sessionState, Up);
  assert.ok(s.isPolling, 'going Up lowers our desired TX from 1 s: Poll');
  const fin = repr(s.poll(5).transmit!);
  assert.deepEqual([fin.state, fin.final, fin.poll, fin.yourDiscriminator], [Up, true, false, 0x6d0eaad2]);
  const next = s.poll(5);
  assert.equal(next.transmit, null, 'the Final reset the periodic timer');
  const periodic = repr(s.poll(next.nextWake).transmit!);
  assert.deepEqual([periodic.poll, periodic.final, periodic.desiredMinTxUs], [true, false, 100_000]);
  s.receive(bytesOf(F.FRR_UP_FINAL), at(next.nextWake));
  assert.equal(s.isPolling, false);
  assert.equal(s.txIntervalMs, 300, 'FRR requires 300 ms');
  s.receive(bytesOf(F.FRR_POLL_200), at(400));
  const fin2 = repr(s.poll(400).transmit!);
  assert.equal(fin2.final, true);
  assert.equal(s.txIntervalMs, 200);
  assert.equal(s.detectionTimeMs, 600);
});

// ---------------------------------------------------------------------------------------------------------
// AdminDown.

test('AdminDown from the peer takes us Down with diag 3; ours is diag 7 and ignores the peer', () => {
  const w = pair();
  const ea = events(w.a);
  w.startTogether();
  w.runUntil(2000);
  w.b.setAdminDown(2000);
  w.step(w.b, 2000); // the caller polls after every command
  assert.equal(w.b.sessionState, AdminDown);
  assert.equal(w.b.diag, BfdDiag.AdministrativelyDown);
  const told = repr(w.lastFrom('b').bytes);
  assert.deepEqual([told.state, told.diag, told.desiredMinTxUs], [AdminDown, 7, 1_000_000]);
  assert.equal(w.a.sessionState, Down);
  assert.equal(w.a.diag, BfdDiag.NeighborSignaledSessionDown);
  const e = ea[ea.length - 1]!;
  assert.deepEqual([e.from, e.to, e.diag, e.at], [Up, Down, 3, 2000]);
  // a keeps sending Down; b (AdminDown) discards it, and a stays Down: Down + AdminDown -> Down.
  w.runUntil(5000);
  assert.equal(w.a.sessionState, Down);
  assert.equal(w.b.sessionState, AdminDown);
  assert.ok(w.rejects.length >= 3);
  assert.ok(w.rejects.every((r) => r.to === 'b' && r.code === BfdRx.LocalAdminDown));
  assert.equal(w.b.stats().drops.LocalAdminDown, w.rejects.length);
});

test('AdminDown: no Final is sent, AdminUp goes Down and the session comes back', () => {
  const w = pair();
  w.startTogether();
  w.runUntil(1000);
  w.a.setAdminDown(1000);
  w.step(w.a, 1000);
  assert.equal(w.b.sessionState, Down);
  w.runUntil(4000);
  assert.equal(w.a.sessionState, AdminDown);
  const fromA = w.sent.filter((x) => x.from === 'a' && x.at > 1000).map((x) => repr(x.bytes));
  assert.ok(fromA.length >= 2 && fromA.every((p) => p.state === AdminDown && p.diag === 7 && !p.final));
  assert.ok(w.a.stats().drops.LocalAdminDown! >= 2);
  w.a.setAdminUp(4000);
  assert.equal(w.a.sessionState, Down);
  assert.equal(w.a.diag, BfdDiag.None);
  w.step(w.a, 4000);
  w.runUntil(8000);
  assert.equal(w.a.sessionState, Up);
  assert.equal(w.b.sessionState, Up);
});

test('the real FRR AdminDown (frame 418, diag 0) takes us Down with diag 3', () => {
  const s = session({ localDiscriminator: 0xdb13cdb6 });
  const ev = events(s);
  s.receive(bytesOf(F.FRR_DOWN), at(0));
  s.receive(bytesOf(F.FRR_UP_POLL), at(1));
  assert.equal(s.sessionState, Up);
  assert.equal(s.receive(bytesOf(F.FRR_ADMIN_DOWN), at(2)), BfdRx.Ok);
  assert.equal(s.sessionState, Down);
  assert.equal(s.diag, BfdDiag.NeighborSignaledSessionDown);
  assert.deepEqual(ev.map((e) => [e.from, e.to, e.diag]), [[Down, Init, 0], [Init, Up, 0], [Up, Down, 3]]);
  assert.equal(s.status().remoteState, 'AdminDown');
  // FRR came back with a Down (frame 530): Down + Down -> Init.
  s.receive(bytesOf(F.FRR_DOWN_EXPIRED), at(3));
  assert.equal(s.sessionState, Init);
});

// ---------------------------------------------------------------------------------------------------------
// GTSM, discriminators, drops.

test('GTSM: single hop accepts hop limit 255 only; multihop takes a configurable minimum', () => {
  const s = session({ localDiscriminator: 0xdb13cdb6 });
  assert.equal(s.receive(bytesOf(F.FRR_DOWN), at(0, 254)), BfdRx.HopLimit);
  assert.equal(s.receive(bytesOf(F.FRR_DOWN), at(0, 1)), BfdRx.HopLimit);
  assert.equal(s.receive(bytesOf(F.FRR_DOWN), at(0, 64)), BfdRx.HopLimit);
  assert.equal(s.sessionState, Down);
  assert.equal(s.stats().drops.HopLimit, 3);
  assert.equal(s.stats().packetsIn, 0);
  assert.equal(s.receive(bytesOf(F.FRR_DOWN), at(0, 255)), BfdRx.Ok);
  assert.equal(s.sessionState, Init);
  assert.equal(s.dstPort, BFD_PORT_SINGLE_HOP);
  assert.ok(s.sourcePort >= 49152 && s.sourcePort <= 65535);

  // BIRD sends multihop BFD with hop limit 64: the default multihop minimum takes it ...
  const mh = session({ localDiscriminator: 0xff13ab41, multihop: true });
  assert.equal(mh.dstPort, BFD_PORT_MULTIHOP);
  assert.equal(mh.receive(bytesOf(F.BIRD_MH_INIT), at(0, F.BIRD_MH_INIT.hopLimit)), BfdRx.Ok);
  assert.equal(mh.sessionState, Up, 'Down + Init -> Up, as FRR did (frame 148)');
  // ... and a stricter one refuses it, like FRR's default minimum TTL 254 did.
  const strict = session({ localDiscriminator: 0xff13ab41, multihop: true, minHopLimit: 254 });
  assert.equal(strict.receive(bytesOf(F.BIRD_MH_INIT), at(0, 64)), BfdRx.HopLimit);
  const at64 = session({ localDiscriminator: 0xff13ab41, multihop: true, minHopLimit: 64 });
  assert.equal(at64.receive(bytesOf(F.BIRD_MH_INIT), at(0, 63)), BfdRx.HopLimit);
  assert.equal(at64.receive(bytesOf(F.BIRD_MH_INIT), at(0, 64)), BfdRx.Ok);
});

test('bad packets are dropped by reason, never thrown', () => {
  const s = session({ localDiscriminator: 0xdb13cdb6 });
  const bad = (edit: (b: Buffer) => void, c = F.FRR_UP) => {
    const b = bytesOf(c);
    edit(b);
    return b;
  };
  const cases: [Buffer, number][] = [
    [Buffer.alloc(0), BfdRx.Truncated],
    [bytesOf(F.FRR_UP).subarray(0, 23), BfdRx.Truncated],
    [bad((b) => (b[0] = 0x40)), BfdRx.BadVersion],
    [bad((b) => (b[3] = 20)), BfdRx.ShortLength],
    [bad((b) => (b[3] = 30)), BfdRx.LengthExceedsPayload],
    [bad((b) => (b[2] = 0)), BfdRx.ZeroDetectMult],
    [bad((b) => (b[1] |= 1)), BfdRx.Multipoint],
    [bad((b) => b.writeUInt32BE(0, 4)), BfdRx.ZeroMyDiscriminator],
    [bad((b) => b.writeUInt32BE(0, 8)), BfdRx.ZeroYourDiscriminator],
    [bad((b) => b.writeUInt32BE(0x12345678, 8)), BfdRx.WrongYourDiscriminator],
    [bytesOf(F.SHA1_A_DOWN), BfdRx.AuthUnexpected],
    [bad((b) => b.writeUInt32BE(0xdb13cdb6, 8), F.MD5_A_UP), BfdRx.AuthUnsupported],
  ];
  for (const [b, code] of cases) assert.equal(s.receive(b, at(0)), code, bfdRxName(code));
  const drops = s.stats().drops;
  assert.deepEqual(Object.keys(drops).sort(), cases.map(([, c]) => bfdRxName(c)).filter((n, i, a) => a.indexOf(n) === i).sort());
  assert.equal(drops.Truncated, 2);
  assert.equal(s.sessionState, Down);
  assert.equal(s.stats().packetsIn, 0);
  const codes = Object.values(BfdRx);
  assert.equal(new Set(codes).size, codes.length, 'one code per reason');
  assert.equal(bfdRxName(-20), 'HopLimit');
});

test('a parsed repr is accepted like the bytes', () => {
  const s = session({ localDiscriminator: 0xdb13cdb6 });
  assert.equal(s.receive(repr(bytesOf(F.FRR_DOWN)), at(0)), BfdRx.Ok);
  assert.equal(s.sessionState, Init);
  assert.equal(s.receive({ ...repr(bytesOf(F.FRR_UP)), detectMult: 0 }, at(1)), BfdRx.ZeroDetectMult);
  assert.equal(s.receive(repr(bytesOf(F.FRR_UP)), at(1)), BfdRx.Ok);
  assert.equal(s.sessionState, Up);
});

// ---------------------------------------------------------------------------------------------------------
// Jitter.

test('jitter: 75-100% of the interval over many intervals (seeded), 75-90% when Detect Mult is 1', () => {
  for (const [mult, hi] of [
    [3, 1.0],
    [1, 0.9],
  ] as const) {
    const w = pair({ detectMult: mult }, { detectMult: mult });
    w.startTogether();
    w.runUntil(120_000);
    const gaps = w.intervals('a', 1000, 120_000);
    assert.ok(gaps.length > 1000, `${gaps.length}`);
    const lo = Math.min(...gaps);
    const max = Math.max(...gaps);
    assert.ok(lo >= 75 && max < 100 * hi, `mult ${mult}: ${lo}..${max}`);
    assert.ok(lo < 76 && max > 100 * hi - 1, `the whole range is used: ${lo}..${max}`);
    const mean = gaps.reduce((x, y) => x + y, 0) / gaps.length;
    assert.ok(Math.abs(mean - (75 + 100 * hi) / 2) < 1, `mean ${mean}`);
    assert.equal(w.a.sessionState, Up);
  }
});

test('the same seed gives the same schedule', () => {
  const run = () => {
    const w = pair();
    w.startTogether();
    w.runUntil(5000);
    return w.sent.map((s) => `${s.from}${s.at}`).join(',');
  };
  assert.equal(run(), run());
});

// ---------------------------------------------------------------------------------------------------------
// Authentication.

const sha1 = (type: 4 | 5, secret = 'k3y', id = 1) => ({ auth: { type, keys: [{ id, secret }] } });

test('keyed SHA1 and meticulous keyed SHA1: two sessions come Up and stay Up', () => {
  for (const type of [BfdAuthType.KeyedSha1, BfdAuthType.MeticulousKeyedSha1] as const) {
    const w = pair(sha1(type), sha1(type));
    w.startTogether();
    w.runUntil(10_000);
    assert.equal(w.a.sessionState, Up);
    assert.equal(w.b.sessionState, Up);
    const seqs = w.sent.filter((s) => s.from === 'a').map((s) => bfdAuthSequence(s.bytes, 0));
    assert.ok(seqs.every((q, i) => i === 0 || q === ((seqs[i - 1]! + 1) >>> 0)), 'one more per packet');
    const p = repr(w.lastFrom('b').bytes);
    assert.equal(p.auth?.type, type);
    assert.equal(w.lastFrom('b').bytes.length, 52);
    assert.deepEqual(w.rejects, []);
  }
});

test('auth: replays are rejected (meticulous: strictly increasing; keyed: within 3 x Detect Mult)', () => {
  const w = pair(sha1(5), sha1(5));
  w.startTogether();
  w.runUntil(1000);
  const old = w.lastFrom('b').bytes;
  w.runUntil(1200);
  assert.equal(w.a.receive(old, at(1200)), BfdRx.AuthSequence, 'an older packet');
  const fresh = w.lastFrom('b').bytes;
  assert.equal(w.a.receive(fresh, at(1200)), BfdRx.AuthSequence, 'the same packet again');
  assert.equal(w.a.stats().drops.AuthSequence, 2);
  assert.equal(w.a.sessionState, Up);

  // Keyed SHA1 with the real BIRD packets: the same sequence number again is fine, one behind is not.
  const s = session({
    localDiscriminator: 0x196768ea,
    auth: { type: BfdAuthType.KeyedSha1, keys: [{ id: F.SHA1_KEY_ID, secret: F.SHA1_SECRET }] },
  });
  assert.equal(s.receive(bytesOf(F.SHA1_B_DOWN), at(0)), BfdRx.Ok);
  assert.equal(s.sessionState, Init);
  assert.equal(s.receive(bytesOf(F.SHA1_B_UP_POLL), at(1)), BfdRx.Ok);
  assert.equal(s.sessionState, Up);
  assert.equal(s.receive(bytesOf(F.SHA1_B_UP_FINAL), at(2)), BfdRx.Ok, 'same sequence: allowed for keyed');
  assert.equal(s.receive(bytesOf(F.SHA1_B_UP), at(3)), BfdRx.Ok);
  assert.equal(s.receive(bytesOf(F.SHA1_B_DOWN), at(4)), BfdRx.AuthSequence, 'sequence - 1: replay');
  assert.equal(s.sessionState, Up, 'the replayed Down did nothing');
});

test('auth: keyed window is [last, last + 3 x Detect Mult], meticulous (last, last + 3 x Detect Mult]', () => {
  for (const type of [BfdAuthType.KeyedSha1, BfdAuthType.MeticulousKeyedSha1] as const) {
    const peer = session({ localDiscriminator: 2, ...sha1(type) });
    const s = session({ localDiscriminator: 1, ...sha1(type) });
    // Packets 0..k from the peer, each one more in sequence.
    const pkts = Array.from({ length: 12 }, (_, i) => peer.poll(i * 1000).transmit!);
    assert.equal(s.receive(pkts[0]!, at(0)), BfdRx.Ok);
    assert.equal(s.receive(pkts[0]!, at(1)), type === BfdAuthType.KeyedSha1 ? BfdRx.Ok : BfdRx.AuthSequence);
    assert.equal(s.receive(pkts[10]!, at(2)), BfdRx.AuthSequence, '+10 > 3 x 3');
    assert.equal(s.receive(pkts[9]!, at(3)), BfdRx.Ok, '+9 = 3 x 3');
    assert.equal(s.receive(pkts[8]!, at(4)), BfdRx.AuthSequence, 'behind');
  }
});

test('auth: wrong key, unknown key ID, missing, unexpected, other type, MD5 are each counted', () => {
  const s = session({ localDiscriminator: 0x196768ea, ...sha1(4, F.SHA1_SECRET, F.SHA1_KEY_ID) });
  const other = (o: Partial<BfdSessionOptions>) => session({ localDiscriminator: 0x86d055b0, ...o }).poll(0).transmit!;
  assert.equal(s.receive(other(sha1(4, 'wrong', F.SHA1_KEY_ID)), at(0)), BfdRx.AuthDigest);
  assert.equal(s.receive(other(sha1(4, F.SHA1_SECRET, 8)), at(0)), BfdRx.AuthKeyId);
  assert.equal(s.receive(other({}), at(0)), BfdRx.AuthMissing);
  assert.equal(s.receive(other(sha1(5, F.SHA1_SECRET, F.SHA1_KEY_ID)), at(0)), BfdRx.AuthTypeMismatch);
  const md5 = bytesOf(F.MD5_B_UP);
  md5.writeUInt32BE(0x196768ea, 8);
  assert.equal(s.receive(md5, at(0)), BfdRx.AuthUnsupported);
  assert.equal(s.receive(other(sha1(4, F.SHA1_SECRET, F.SHA1_KEY_ID)), at(0)), BfdRx.Ok);
  const plain = session({ localDiscriminator: 5 });
  assert.equal(plain.receive(bytesOf(F.SHA1_B_DOWN), at(0)), BfdRx.AuthUnexpected);
  assert.deepEqual(s.stats().drops, { AuthDigest: 1, AuthKeyId: 1, AuthMissing: 1, AuthTypeMismatch: 1, AuthUnsupported: 1 });
});

test('auth with BIRD\'s real packets: meticulous keyed SHA1 multihop and simple password reach Up', () => {
  const mh = session({
    localDiscriminator: 0xc1499f83,
    multihop: true,
    auth: { type: BfdAuthType.MeticulousKeyedSha1, keys: [{ id: F.MSHA1_KEY_ID, secret: F.MSHA1_SECRET }] },
  });
  assert.equal(mh.receive(bytesOf(F.MSHA1_B_DOWN), at(0, 64)), BfdRx.Ok);
  assert.equal(mh.sessionState, Init);
  assert.equal(mh.receive(bytesOf(F.MSHA1_B_UP_POLL), at(1, 64)), BfdRx.Ok);
  assert.equal(mh.sessionState, Up);
  assert.equal(mh.receive(bytesOf(F.MSHA1_B_UP), at(2, 64)), BfdRx.Ok);
  assert.equal(mh.receive(bytesOf(F.MSHA1_B_UP), at(3, 64)), BfdRx.AuthSequence);
  const reply = mh.poll(3).transmit!;
  assert.equal(checkBfdControl(reply, 0, reply.length), 0);
  assert.equal(repr(reply).auth?.type, BfdAuthType.MeticulousKeyedSha1);

  const simple = session({
    localDiscriminator: 0x196768ea,
    auth: { type: BfdAuthType.SimplePassword, keys: [{ id: F.SIMPLE_KEY_ID, secret: F.SIMPLE_PASSWORD }] },
  });
  assert.equal(simple.receive(bytesOf(F.SIMPLE_B_UP), at(0)), BfdRx.Ok);
  assert.equal(simple.sessionState, Down, 'Down + Up -> Down');
  const wrong = session({ localDiscriminator: 0x196768ea, auth: { type: 1, keys: [{ id: 3, secret: 'moltpX' }] } });
  assert.equal(wrong.receive(bytesOf(F.SIMPLE_B_UP), at(0)), BfdRx.AuthDigest);
});

test('auth: the sequence number is forgotten after twice the Detection Time of silence', () => {
  const peer = session({ localDiscriminator: 2, ...sha1(5) });
  const s = session({ localDiscriminator: 1, ...sha1(5) });
  const p1 = peer.poll(0).transmit!;
  const p2 = peer.poll(1000).transmit!;
  assert.equal(s.receive(p2, at(0)), BfdRx.Ok);
  assert.equal(s.detectionTimeMs, 3000);
  assert.equal(s.receive(p1, at(5999)), BfdRx.AuthSequence);
  assert.equal(s.receive(p1, at(6000)), BfdRx.Ok);
});

test('bad configuration is a ConfigError', () => {
  const bad: Partial<BfdSessionOptions>[] = [
    { localDiscriminator: 0 },
    { desiredMinTxMs: 0 },
    { requiredMinRxMs: -1 },
    { detectMult: 0 },
    { detectMult: 256 },
    { sourcePort: 3784 },
    { auth: { type: 4, keys: [] } },
    { auth: { type: 4, keys: [{ id: 1, secret: 'x'.repeat(21) }] } },
    { auth: { type: 1, keys: [{ id: 1, secret: 'x'.repeat(17) }] } },
    { auth: { type: 2 as 4, keys: [{ id: 1, secret: 'x' }] } },
    { auth: { type: 4, keys: [{ id: 1, secret: 'x' }], sendKeyId: 2 } },
  ];
  for (const o of bad) assert.throws(() => session({ localDiscriminator: 1, ...o }), { name: 'ConfigError' }, JSON.stringify(o));
  const s = session({ localDiscriminator: 1 });
  assert.throws(() => s.setParams({ desiredMinTxMs: -5 }), { name: 'ConfigError' });
});

// ---------------------------------------------------------------------------------------------------------
// Talking to FRR and BIRD through their captured packets.

test('interop: FRR\'s real packets bring a session Up (we play BIRD\'s part)', () => {
  const s = session({ localDiscriminator: 0xdb13cdb6, desiredMinTxMs: 300, requiredMinRxMs: 300 });
  assert.equal(repr(s.poll(0).transmit!).state, Down);
  assert.equal(s.receive(bytesOf(F.FRR_DOWN), at(10)), BfdRx.Ok);
  const init = repr(s.poll(10).transmit!);
  assert.deepEqual([init.state, init.myDiscriminator, init.yourDiscriminator], [Init, 0xdb13cdb6, 0x6d0eaad2]);
  assert.equal(s.receive(bytesOf(F.FRR_UP_POLL), at(11)), BfdRx.Ok);
  assert.equal(s.sessionState, Up);
  const fin = s.poll(11).transmit!;
  // Our Final is, field for field, the one BIRD sent (frame 33) — but for Required Min Echo RX (0 both).
  assert.deepEqual(fin, bytesOf(F.BIRD_UP_FINAL));
  assert.equal(s.receive(bytesOf(F.FRR_UP_FINAL), at(12)), BfdRx.Ok);
  assert.equal(s.receive(bytesOf(F.FRR_UP), at(300)), BfdRx.Ok);
  assert.equal(s.sessionState, Up);
  assert.equal(s.detectionTimeMs, 900);
  assert.equal(s.stats().packetsIn, 4);
});

test('interop: BIRD\'s real packets bring a session Up (we play FRR\'s part), single hop and multihop', () => {
  const s = session({ localDiscriminator: 0x6d0eaad2 });
  s.receive(bytesOf(F.BIRD_DOWN), at(0));
  assert.equal(s.sessionState, Init);
  s.receive(bytesOf(F.BIRD_UP_POLL), at(1));
  assert.equal(s.sessionState, Up);
  const fin = repr(s.poll(1).transmit!);
  assert.deepEqual([fin.state, fin.final, fin.yourDiscriminator], [Up, true, 0xdb13cdb6]);
  s.receive(bytesOf(F.BIRD_UP_FINAL), at(2));
  s.receive(bytesOf(F.BIRD_POLL_150), at(3));
  assert.equal(repr(s.poll(3).transmit!).final, true);
  assert.equal(s.detectionTimeMs, 450);
  // BIRD dropped the session (frame 419: Down, diag 3, Poll) -> we go Down with diag 3.
  s.receive(bytesOf(F.BIRD_DOWN_DIAG3_POLL), at(4));
  assert.equal(s.sessionState, Down);
  assert.equal(s.diag, BfdDiag.NeighborSignaledSessionDown);

  const mh = session({ localDiscriminator: 0xff13ab41, multihop: true });
  mh.receive(bytesOf(F.BIRD_MH_INIT), at(0, 64));
  assert.equal(mh.sessionState, Up);
  mh.receive(bytesOf(F.BIRD_MH_UP_FINAL), at(1, 64));
  assert.equal(mh.isPolling, false);
  mh.receive(bytesOf(F.BIRD_MH_UP), at(2, 64));
  assert.equal(mh.status().state, 'Up');
});

// ---------------------------------------------------------------------------------------------------------
// Roles, demand, contract details.

test('passive role: silent until the peer is heard', () => {
  const s = session({ localDiscriminator: 1, passive: true });
  const r = s.poll(0);
  assert.equal(r.transmit, null);
  assert.equal(r.nextWake, Infinity);
  const peer = session({ localDiscriminator: 2 });
  s.receive(peer.poll(0).transmit!, at(10));
  const out = s.poll(10);
  assert.equal(repr(out.transmit!).state, Init);
});

test('a peer with Required Min RX 0 gets no periodic packets, only state changes and Finals', () => {
  const s = session({ localDiscriminator: 1 });
  const peer = session({ localDiscriminator: 2 });
  const down = repr(peer.poll(0).transmit!);
  assert.equal(s.receive({ ...down, requiredMinRxUs: 0, poll: true }, at(0)), BfdRx.Ok);
  const r = s.poll(0);
  const p = repr(r.transmit!);
  assert.deepEqual([p.state, p.final], [Init, true]);
  assert.equal(r.nextWake, 3000, 'only the detection timer is left');
  assert.equal(s.poll(2999).transmit, null);
});

test('the timer contract: nextWake > now, nothing happens before it, something is due at it', () => {
  const w = pair();
  w.startTogether();
  w.runUntil(1000);
  const now = w.clock.now();
  const r = w.a.poll(now);
  assert.equal(r.transmit, null, 'runUntil already did everything due');
  assert.ok(r.nextWake > now);
  for (let t = now; t < r.nextWake; t += 7) assert.equal(w.a.poll(t).transmit, null);
  assert.ok(r.nextWake <= w.lastFrom('b').at + 300, 'never later than the detection deadline');
  const due = w.a.poll(r.nextWake);
  assert.ok(due.transmit !== null || w.a.sessionState !== Up);
  assert.deepEqual(w.a.status().counters, w.a.stats());
});

test('listeners: unsubscribe works; events come after the session is consistent', () => {
  const s = session({ localDiscriminator: 0xdb13cdb6 });
  const seen: [number, number][] = [];
  const off = s.onStateChange((e) => seen.push([e.to, s.sessionState]));
  s.receive(bytesOf(F.FRR_DOWN), at(0));
  off();
  s.receive(bytesOf(F.FRR_UP_POLL), at(1));
  assert.deepEqual(seen, [[Init, Init]]);
  // A listener may act on the session from inside the callback.
  const t = session({ localDiscriminator: 0xdb13cdb6 });
  t.onStateChange((e) => {
    if (e.to === Up) t.setAdminDown(e.at);
  });
  t.receive(bytesOf(F.FRR_DOWN), at(0));
  t.receive(bytesOf(F.FRR_UP_POLL), at(1));
  assert.equal(t.sessionState, AdminDown);
  assert.deepEqual([t.stats().upCount, t.stats().downCount, t.stats().stateChanges], [1, 1, 3]);
});

test('status() for `moltnet show bfd`', () => {
  const w = pair();
  w.startTogether();
  w.runUntil(1000);
  const st = w.a.status();
  assert.equal(st.state, 'Up');
  assert.equal(st.remoteState, 'Up');
  assert.equal(st.diag, 'No Diagnostic');
  assert.deepEqual(
    [st.localDiscriminator, st.remoteDiscriminator, st.txIntervalMs, st.detectionTimeMs, st.desiredMinTxMs, st.requiredMinRxMs],
    [0xaaaa0001, 0xbbbb0002, 100, 300, 100, 100],
  );
  assert.ok(st.counters.packetsIn > 5 && st.counters.packetsOut > 5);
  assert.equal(JSON.parse(JSON.stringify(st)).state, 'Up');
});

// ---------------------------------------------------------------------------------------------------------
// Discriminators and demux.

test('discriminators: unique, nonzero, random; released ones can come back', () => {
  const t = new BfdSessionTable<string>(seeded(3));
  const seen = new Set<number>();
  for (let i = 0; i < 10_000; i++) {
    const d = t.allocate();
    assert.ok(d > 0 && d <= 0xffffffff && !seen.has(d));
    seen.add(d);
  }
  // A useless RNG still yields unique nonzero values.
  const zero = new BfdSessionTable<string>(() => 0);
  const ds = Array.from({ length: 100 }, () => zero.allocate());
  assert.equal(new Set(ds).size, 100);
  assert.ok(ds.every((d) => d !== 0));
  zero.remove(ds[0]!);
  assert.equal(zero.allocate(), ds[0]);
  const top = new BfdSessionTable<string>(() => 0.9999999999);
  assert.deepEqual([top.allocate(), top.allocate()], [0xffffffff, 1], 'wraps around, skipping 0');
});

test('demux: by Your Discriminator when nonzero, else by (peer, interface); mismatches are refused', () => {
  const t = new BfdSessionTable<string>(seeded(4));
  const d1 = t.allocate();
  const d2 = t.allocate();
  const d3 = t.allocate();
  const k1 = { peer: 'fe80::1', via: 'molt1' };
  const k2 = { peer: 'fe80::1', via: 'molt2' };
  const k3 = { peer: 'fd00:bfd:2::2', via: 'fd00:bfd:1::1', multihop: true };
  t.add(d1, k1, 's1');
  t.add(d2, k2, 's2');
  t.add(d3, k3, 's3');
  assert.equal(t.size, 3);
  assert.deepEqual(t.demux(0, k1), { ok: true, session: 's1' });
  assert.deepEqual(t.demux(0, k2), { ok: true, session: 's2' });
  assert.deepEqual(t.demux(d2, k2), { ok: true, session: 's2' });
  assert.deepEqual(t.demux(d3, k3), { ok: true, session: 's3' });
  assert.deepEqual(t.demux(d1, k2), { ok: false, code: BfdDemuxError.PeerMismatch });
  assert.deepEqual(t.demux(d3, { ...k3, multihop: false }), { ok: false, code: BfdDemuxError.PeerMismatch });
  assert.deepEqual(t.demux(0, { peer: 'fe80::9', via: 'molt1' }), { ok: false, code: BfdDemuxError.UnknownPeer });
  assert.deepEqual(t.demux(12345, k1), { ok: false, code: BfdDemuxError.UnknownDiscriminator });
  assert.throws(() => t.add(d1, { peer: 'fe80::5', via: 'x' }, 'dup'), RangeError);
  assert.throws(() => t.add(t.allocate(), k1, 'same peer'), RangeError);
  assert.throws(() => t.add(999, { peer: 'fe80::5', via: 'x' }, 'not allocated'), RangeError);
  assert.equal(t.get(d1), 's1');
  assert.equal(t.find(k3), 's3');
  t.remove(d1);
  assert.deepEqual(t.demux(0, k1), { ok: false, code: BfdDemuxError.UnknownPeer });
  assert.deepEqual([...t.sessions()].sort(), ['s2', 's3']);
});

test('demux feeds sessions: real packets from two peers reach their own sessions', () => {
  const t = new BfdSessionTable<BfdSession>(seeded(5));
  const mk = (peer: string) => {
    const d = t.allocate();
    const s = session({ localDiscriminator: d });
    t.add(d, { peer, via: 'vA' }, s);
    return s;
  };
  const toFrr = mk(F.FRR_DOWN.src);
  const toBird = mk(F.BIRD_DOWN.src);
  for (const c of [F.FRR_DOWN, F.BIRD_DOWN]) {
    const b = bytesOf(c);
    assert.equal(checkBfdControl(b, 0, b.length), 0);
    const r = t.demux(b.readUInt32BE(8), { peer: c.src, via: 'vA' });
    assert.ok(r.ok);
    assert.equal(r.session.receive(b, at(0, c.hopLimit)), BfdRx.Ok);
  }
  assert.equal(toFrr.remoteDiscriminator, 0x6d0eaad2);
  assert.equal(toBird.remoteDiscriminator, 0xdb13cdb6);
});
