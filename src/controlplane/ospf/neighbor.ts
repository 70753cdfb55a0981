/**
 * The neighbor state machine (RFC 2328 §10.1-10.3, unchanged by RFC 5340), as an explicit table
 * [state][event] -> { action, next }, FRR-style. `next: null` means "decided by the action" (the RFC's
 * "depends upon action routine" cases: AdjOK?, 2-WayReceived in Init, ExchangeDone). A (state, event) pair
 * missing from the table is ignored (the RFC lists no transition for it).
 *
 * Every state change goes through changeState(), which logs, records the change, and hands the side effects
 * (DD start, list clearing, Router-LSA origination, SPF, subscribers) to the owner through NeighborHooks.
 * This module keeps the neighbor's data; the protocol work lives in dbdesc.ts, lsreq.ts, lsupd.ts, flood.ts.
 */
import type { DdRepr, LsaHeader } from './wire/types.js';
import type { LsdbEntry } from './lsdb.js';
import type { Iface } from './interface.js';

export const NbrState = {
  Down: 'Down',
  Attempt: 'Attempt',
  Init: 'Init',
  TwoWay: '2-Way',
  ExStart: 'ExStart',
  Exchange: 'Exchange',
  Loading: 'Loading',
  Full: 'Full',
} as const;
export type NbrState = (typeof NbrState)[keyof typeof NbrState];

/** Numeric order of the states, for "state >= Exchange" tests. */
export const NBR_STATE_ORDER: Record<NbrState, number> = {
  Down: 0,
  Attempt: 1,
  Init: 2,
  '2-Way': 3,
  ExStart: 4,
  Exchange: 5,
  Loading: 6,
  Full: 7,
};

export function stateAtLeast(s: NbrState, min: NbrState): boolean {
  return NBR_STATE_ORDER[s] >= NBR_STATE_ORDER[min];
}

export const NbrEvent = {
  HelloReceived: 'HelloReceived',
  Start: 'Start',
  TwoWayReceived: '2-WayReceived',
  NegotiationDone: 'NegotiationDone',
  ExchangeDone: 'ExchangeDone',
  BadLSReq: 'BadLSReq',
  LoadingDone: 'LoadingDone',
  AdjOK: 'AdjOK?',
  SeqNumberMismatch: 'SeqNumberMismatch',
  OneWay: '1-Way',
  KillNbr: 'KillNbr',
  InactivityTimer: 'InactivityTimer',
  LLDown: 'LLDown',
} as const;
export type NbrEvent = (typeof NbrEvent)[keyof typeof NbrEvent];

export const ALL_NBR_STATES: readonly NbrState[] = Object.values(NbrState);
export const ALL_NBR_EVENTS: readonly NbrEvent[] = Object.values(NbrEvent);

/** What a transition does before the state is set (RFC 2328 §10.3 action descriptions). */
export type NbrAction =
  /** Nothing beyond the state change. */
  | 'none'
  /** Start (NBMA): send a Hello, start the inactivity timer. */
  | 'start'
  /** (Re)start the inactivity timer. */
  | 'restartInactivity'
  /** Init + 2-WayReceived: ExStart if an adjacency should form, else 2-Way. */
  | 'twoWayReceived'
  /** 2-Way + AdjOK?: ExStart if an adjacency should form, else stay. */
  | 'adjOkFromTwoWay'
  /** ExStart..Full + AdjOK?: stay if the adjacency should continue, else clear lists and go to 2-Way. */
  | 'adjOkFromAdjacent'
  /** ExchangeDone: Loading when the request list is not empty, else Full. */
  | 'exchangeDone'
  /** Clear the summary, request and retransmission lists (the new state's entry then restarts ExStart). */
  | 'clearLists'
  /** Clear all lists and stop every timer (the neighbor goes Down). */
  | 'kill';

export interface Transition {
  action: NbrAction;
  /** null: the action decides. */
  next: NbrState | null;
}

const T = (action: NbrAction, next: NbrState | null): Transition => ({ action, next });

const ADJACENT_STATES = [NbrState.ExStart, NbrState.Exchange, NbrState.Loading, NbrState.Full] as const;

function buildTable(): Record<NbrState, Partial<Record<NbrEvent, Transition>>> {
  const t: Record<NbrState, Partial<Record<NbrEvent, Transition>>> = {
    Down: {
      [NbrEvent.Start]: T('start', NbrState.Attempt),
      [NbrEvent.HelloReceived]: T('restartInactivity', NbrState.Init),
    },
    Attempt: {
      [NbrEvent.HelloReceived]: T('restartInactivity', NbrState.Init),
    },
    Init: {
      [NbrEvent.HelloReceived]: T('restartInactivity', NbrState.Init),
      [NbrEvent.TwoWayReceived]: T('twoWayReceived', null),
      [NbrEvent.OneWay]: T('none', NbrState.Init),
    },
    '2-Way': {
      [NbrEvent.HelloReceived]: T('restartInactivity', NbrState.TwoWay),
      [NbrEvent.TwoWayReceived]: T('none', NbrState.TwoWay),
      [NbrEvent.AdjOK]: T('adjOkFromTwoWay', null),
      [NbrEvent.OneWay]: T('clearLists', NbrState.Init),
    },
    ExStart: {
      [NbrEvent.NegotiationDone]: T('none', NbrState.Exchange),
    },
    Exchange: {
      [NbrEvent.ExchangeDone]: T('exchangeDone', null),
    },
    Loading: {
      [NbrEvent.LoadingDone]: T('none', NbrState.Full),
    },
    Full: {},
  };
  for (const s of ADJACENT_STATES) {
    t[s][NbrEvent.HelloReceived] = T('restartInactivity', s);
    t[s][NbrEvent.TwoWayReceived] = T('none', s);
    t[s][NbrEvent.AdjOK] = T('adjOkFromAdjacent', null);
    t[s][NbrEvent.OneWay] = T('clearLists', NbrState.Init);
  }
  for (const s of [NbrState.Exchange, NbrState.Loading, NbrState.Full] as const) {
    t[s][NbrEvent.SeqNumberMismatch] = T('clearLists', NbrState.ExStart);
    t[s][NbrEvent.BadLSReq] = T('clearLists', NbrState.ExStart);
  }
  for (const s of ALL_NBR_STATES) {
    t[s][NbrEvent.KillNbr] = T('kill', NbrState.Down);
    t[s][NbrEvent.LLDown] = T('kill', NbrState.Down);
    t[s][NbrEvent.InactivityTimer] = T('kill', NbrState.Down);
  }
  return t;
}

/** The neighbor FSM: NBR_FSM[state][event] -> transition; absent = the event is ignored in that state. */
export const NBR_FSM: Readonly<Record<NbrState, Readonly<Partial<Record<NbrEvent, Transition>>>>> = buildTable();

/** One LSA on a neighbor's retransmission list. */
export interface RxmtItem {
  entry: LsdbEntry;
  /** ms: when it was last sent to this neighbor. */
  sentAt: number;
}

/** The last DD packet received from the neighbor (duplicate detection, RFC 2328 §10.6). */
export interface LastDd {
  flags: number;
  options: number;
  seq: number;
}

export interface Neighbor {
  readonly iface: Iface;
  readonly routerId: number;
  /** The source address of its Hellos (its link-local). */
  address: Buffer;
  /** Its Interface ID on the link (from its Hello). */
  interfaceId: number;
  priority: number;
  /** Options from its Hello. */
  options: number;
  state: NbrState;
  /** ms: when the inactivity timer fires. */
  inactivityDue: number;
  /** When the state last changed (ms). */
  stateSince: number;

  // Database exchange (dbdesc.ts).
  master: boolean;
  /** Unsigned 32 bits. */
  ddSeq: number;
  ddSeqInitialized: boolean;
  lastRxDd: LastDd | undefined;
  /** Options from its DD packets (checked for changes during Exchange). */
  ddOptions: number;
  /** The last DD packet we sent, for retransmission (master) or duplicate replies (slave). */
  lastTxDd: DdRepr | undefined;
  /** ms: master (or ExStart) retransmission of lastTxDd. */
  ddRxmtDue: number | undefined;
  /** ms: the slave drops lastTxDd after RouterDeadInterval in Loading/Full. */
  ddHoldUntil: number | undefined;
  /** The LSAs still to describe (the database summary list), in order. */
  summary: LsdbEntry[];
  /** The last DD we sent had the M bit set. */
  moreSent: boolean;

  // LS requests (lsreq.ts).
  /** key -> the header the neighbor described. */
  requests: Map<string, LsaHeader>;
  /** Keys of the last LS Request sent and not yet answered. */
  lsrOutstanding: Set<string>;
  lsrRxmtDue: number | undefined;

  // Flooding (flood.ts).
  /** key -> LSA instance waiting for its acknowledgment. */
  rxmt: Map<string, RxmtItem>;
}

export function newNeighbor(iface: Iface, routerId: number, address: Buffer, now: number): Neighbor {
  return {
    iface,
    routerId,
    address: Buffer.from(address),
    interfaceId: 0,
    priority: 0,
    options: 0,
    state: NbrState.Down,
    inactivityDue: now,
    stateSince: now,
    master: false,
    ddSeq: 0,
    ddSeqInitialized: false,
    lastRxDd: undefined,
    ddOptions: 0,
    lastTxDd: undefined,
    ddRxmtDue: undefined,
    ddHoldUntil: undefined,
    summary: [],
    moreSent: false,
    requests: new Map(),
    lsrOutstanding: new Set(),
    lsrRxmtDue: undefined,
    rxmt: new Map(),
  };
}

/**
 * What the FSM needs from its owner: the one place where neighbor changes touch the rest of the protocol.
 */
export interface NeighborHooks {
  /** Should an adjacency form with this neighbor? (Point-to-point: always.) */
  adjacencyWanted(nbr: Neighbor): boolean;
  /** Restart the inactivity timer. */
  restartInactivity(nbr: Neighbor, now: number): void;
  /** Empty the summary, request and retransmission lists and forget the DD exchange. */
  clearLists(nbr: Neighbor, now: number): void;
  /** Stop every timer of the neighbor (it is going Down). */
  stopTimers(nbr: Neighbor): void;
  /** NBMA Start: send a Hello. Unused on point-to-point links. */
  sendHello(nbr: Neighbor, now: number): void;
  /** Side effects of entering a state (ExStart: start the DD exchange; Exchange: the summary list; ...). */
  enterState(nbr: Neighbor, from: NbrState, event: NbrEvent, now: number): void;
  /** Log line sink. */
  log(msg: string, fields: Record<string, unknown>): void;
}

/** Run one event through the table. Returns the transition taken, or undefined if the event was ignored. */
export function nbrEvent(nbr: Neighbor, event: NbrEvent, now: number, hooks: NeighborHooks): Transition | undefined {
  const tr = NBR_FSM[nbr.state][event];
  if (!tr) return undefined;
  const decided = runAction(nbr, tr.action, now, hooks);
  const next = tr.next ?? decided ?? nbr.state;
  changeState(nbr, next, event, now, hooks);
  return tr;
}

function runAction(nbr: Neighbor, action: NbrAction, now: number, hooks: NeighborHooks): NbrState | undefined {
  switch (action) {
    case 'none':
      return undefined;
    case 'start':
      hooks.sendHello(nbr, now);
      hooks.restartInactivity(nbr, now);
      return undefined;
    case 'restartInactivity':
      hooks.restartInactivity(nbr, now);
      return undefined;
    case 'twoWayReceived':
      return hooks.adjacencyWanted(nbr) ? NbrState.ExStart : NbrState.TwoWay;
    case 'adjOkFromTwoWay':
      return hooks.adjacencyWanted(nbr) ? NbrState.ExStart : NbrState.TwoWay;
    case 'adjOkFromAdjacent':
      if (hooks.adjacencyWanted(nbr)) return nbr.state;
      hooks.clearLists(nbr, now);
      return NbrState.TwoWay;
    case 'exchangeDone':
      return nbr.requests.size > 0 ? NbrState.Loading : NbrState.Full;
    case 'clearLists':
      hooks.clearLists(nbr, now);
      return undefined;
    case 'kill':
      hooks.clearLists(nbr, now);
      hooks.stopTimers(nbr);
      return undefined;
  }
}

/**
 * The one state-change function: every transition (also to the same state) passes here. A real change is
 * logged and its side effects run through hooks.enterState; staying in the same state does nothing more.
 */
export function changeState(nbr: Neighbor, next: NbrState, event: NbrEvent, now: number, hooks: NeighborHooks): void {
  const from = nbr.state;
  if (from === next) return;
  nbr.state = next;
  nbr.stateSince = now;
  hooks.log('neighbor state change', {
    iface: nbr.iface.cfg.name,
    routerId: nbr.routerId,
    from,
    to: next,
    event,
  });
  hooks.enterState(nbr, from, event, now);
}
