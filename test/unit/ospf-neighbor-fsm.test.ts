/**
 * The neighbor state machine table against RFC 2328 §10.3, pair by pair, and the one state-change
 * function. The expectations are written out here independently of the table in neighbor.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ALL_NBR_EVENTS,
  ALL_NBR_STATES,
  NBR_FSM,
  changeState,
  nbrEvent,
  newNeighbor,
  type NbrEvent,
  type NbrState,
  type Neighbor,
  type NeighborHooks,
} from '../../src/controlplane/ospf/neighbor.js';
import { ifaceConfig, newIface } from '../../src/controlplane/ospf/interface.js';

/** RFC 2328 §10.3: the next state, given whether an adjacency should form and whether requests are pending. */
function rfcNext(state: NbrState, event: NbrEvent, adjOk: boolean, requests: boolean): NbrState | 'ignored' {
  if (event === 'KillNbr' || event === 'LLDown' || event === 'InactivityTimer') return 'Down';
  const adjacent = ['ExStart', 'Exchange', 'Loading', 'Full'].includes(state);
  switch (event) {
    case 'Start':
      return state === 'Down' ? 'Attempt' : 'ignored';
    case 'HelloReceived':
      if (state === 'Down' || state === 'Attempt') return 'Init';
      return state;
    case '2-WayReceived':
      if (state === 'Init') return adjOk ? 'ExStart' : '2-Way';
      if (state === '2-Way' || adjacent) return state;
      return 'ignored';
    case '1-Way':
      if (state === 'Init') return 'Init';
      if (state === '2-Way' || adjacent) return 'Init';
      return 'ignored';
    case 'NegotiationDone':
      return state === 'ExStart' ? 'Exchange' : 'ignored';
    case 'ExchangeDone':
      return state === 'Exchange' ? (requests ? 'Loading' : 'Full') : 'ignored';
    case 'LoadingDone':
      return state === 'Loading' ? 'Full' : 'ignored';
    case 'AdjOK?':
      if (state === '2-Way') return adjOk ? 'ExStart' : '2-Way';
      if (adjacent) return adjOk ? state : '2-Way';
      return 'ignored';
    case 'SeqNumberMismatch':
    case 'BadLSReq':
      return state === 'Exchange' || state === 'Loading' || state === 'Full' ? 'ExStart' : 'ignored';
  }
  return 'ignored';
}

interface Recorder {
  hooks: NeighborHooks;
  entered: { from: NbrState; to: NbrState; event: NbrEvent }[];
  cleared: number;
  stopped: number;
  inactivity: number;
  logs: string[];
}

function recorder(adjOk: boolean): Recorder {
  const r: Recorder = {
    entered: [],
    cleared: 0,
    stopped: 0,
    inactivity: 0,
    logs: [],
    hooks: undefined as unknown as NeighborHooks,
  };
  r.hooks = {
    adjacencyWanted: () => adjOk,
    restartInactivity: () => void r.inactivity++,
    clearLists: (nbr) => {
      r.cleared++;
      nbr.requests.clear();
    },
    stopTimers: () => void r.stopped++,
    sendHello: () => {},
    enterState: (nbr, from, event) => void r.entered.push({ from, to: nbr.state, event }),
    log: (msg, fields) => void r.logs.push(`${msg} ${String(fields['from'])}->${String(fields['to'])}`),
  };
  return r;
}

function neighborIn(state: NbrState, requests: boolean): Neighbor {
  const iface = newIface(ifaceConfig({ linkId: 1, name: 't', interfaceId: 1, cost: 10, helloInterval: 10, deadInterval: 40, mtu: 1400 }), 0);
  const nbr = newNeighbor(iface, 2, Buffer.alloc(16), 0);
  nbr.state = state;
  if (requests) nbr.requests.set('x', { age: 0, type: 0x2001, linkStateId: 0, advertisingRouter: 2, sequence: 1, checksum: 0, length: 20 });
  return nbr;
}

test('every (state, event) pair gives the RFC 2328 §10.3 next state', () => {
  let pairs = 0;
  for (const state of ALL_NBR_STATES) {
    for (const event of ALL_NBR_EVENTS) {
      for (const adjOk of [true, false]) {
        for (const requests of [false, true]) {
          const nbr = neighborIn(state, requests);
          const rec = recorder(adjOk);
          const tr = nbrEvent(nbr, event, 1000, rec.hooks);
          const want = rfcNext(state, event, adjOk, requests);
          const where = `${state} + ${event} (adjOK=${adjOk}, requests=${requests})`;
          if (want === 'ignored') {
            assert.equal(tr, undefined, `${where} should be ignored`);
            assert.equal(nbr.state, state, where);
          } else {
            assert.ok(tr, `${where} should be in the table`);
            assert.equal(nbr.state, want, where);
          }
          pairs++;
        }
      }
    }
  }
  assert.equal(pairs, 8 * 13 * 4);
});

test('the table has exactly the RFC pairs (no extras)', () => {
  for (const state of ALL_NBR_STATES) {
    for (const event of ALL_NBR_EVENTS) {
      const inRfc = [true, false].some((a) => [true, false].some((r) => rfcNext(state, event, a, r) !== 'ignored'));
      assert.equal(NBR_FSM[state][event] !== undefined, inRfc, `${state} + ${event}`);
    }
  }
});

test('actions: lists cleared on 1-Way, SeqNumberMismatch, BadLSReq and leaving the adjacency; timers stopped on Down', () => {
  for (const [state, event, cleared] of [
    ['Full', '1-Way', 1],
    ['Full', 'SeqNumberMismatch', 1],
    ['Loading', 'BadLSReq', 1],
    ['Exchange', 'KillNbr', 1],
    ['Init', 'HelloReceived', 0],
    ['2-Way', '2-WayReceived', 0],
  ] as const) {
    const nbr = neighborIn(state, true);
    const rec = recorder(true);
    nbrEvent(nbr, event, 0, rec.hooks);
    assert.equal(rec.cleared, cleared, `${state} + ${event}`);
  }
  const nbr = neighborIn('Full', false);
  const rec = recorder(true);
  nbrEvent(nbr, 'InactivityTimer', 0, rec.hooks);
  assert.equal(rec.stopped, 1);
  assert.equal(nbr.state, 'Down');
  const fresh = neighborIn('Down', false);
  nbrEvent(fresh, 'HelloReceived', 0, rec.hooks);
  assert.equal(rec.inactivity, 1, 'HelloReceived (re)starts the inactivity timer');
});

test('changeState: side effects and a log line only on a real change, once', () => {
  const nbr = neighborIn('Init', false);
  const rec = recorder(true);
  changeState(nbr, 'Init', 'HelloReceived', 5, rec.hooks);
  assert.equal(rec.entered.length, 0);
  assert.equal(rec.logs.length, 0);
  changeState(nbr, 'ExStart', '2-WayReceived', 7, rec.hooks);
  assert.deepEqual(rec.entered, [{ from: 'Init', to: 'ExStart', event: '2-WayReceived' }]);
  assert.deepEqual(rec.logs, ['neighbor state change Init->ExStart']);
  assert.equal(nbr.stateSince, 7);
  // nbrEvent goes through it too: Init -> ExStart via 2-WayReceived is one change.
  const n2 = neighborIn('Init', false);
  const rec2 = recorder(true);
  nbrEvent(n2, '2-WayReceived', 0, rec2.hooks);
  nbrEvent(n2, 'HelloReceived', 0, rec2.hooks);
  assert.equal(rec2.entered.length, 1);
});
