/**
 * The interface state machine for point-to-point interfaces (RFC 2328 §9.1-9.3): Down and Point-to-point.
 * Every MoltNet link and every kernel link is point-to-point, so there is no DR election (Waiting, DR,
 * Backup, DROther are never entered) and no Network-LSA. Like the neighbor FSM, a table
 * [state][event] -> { action, next } and one change function.
 */
import type { LsaHeader } from './wire/types.js';
import type { OspfInterfaceConfig } from './config.js';
import { DEFAULT_RETRANSMIT_INTERVAL, DEFAULT_TRANSMIT_DELAY } from './config.js';
import type { Neighbor } from './neighbor.js';

export const IfState = {
  Down: 'Down',
  PointToPoint: 'PointToPoint',
} as const;
export type IfState = (typeof IfState)[keyof typeof IfState];

export const IfEvent = {
  InterfaceUp: 'InterfaceUp',
  InterfaceDown: 'InterfaceDown',
} as const;
export type IfEvent = (typeof IfEvent)[keyof typeof IfEvent];

export type IfAction = 'up' | 'down';

export const IF_FSM: Readonly<Record<IfState, Partial<Record<IfEvent, { action: IfAction; next: IfState }>>>> = {
  Down: { InterfaceUp: { action: 'up', next: IfState.PointToPoint } },
  PointToPoint: { InterfaceDown: { action: 'down', next: IfState.Down } },
};

/** The configuration with every default filled in. */
export type IfaceConfig = Required<Omit<OspfInterfaceConfig, 'auth'>> & Pick<OspfInterfaceConfig, 'auth'>;

export function ifaceConfig(cfg: OspfInterfaceConfig): IfaceConfig {
  return {
    linkId: cfg.linkId,
    name: cfg.name,
    interfaceId: cfg.interfaceId >>> 0,
    cost: Math.max(1, Math.min(0xffff, Math.round(cfg.cost))),
    helloInterval: cfg.helloInterval,
    deadInterval: cfg.deadInterval,
    retransmitInterval: cfg.retransmitInterval ?? DEFAULT_RETRANSMIT_INTERVAL,
    transmitDelay: cfg.transmitDelay ?? DEFAULT_TRANSMIT_DELAY,
    instanceId: cfg.instanceId ?? 0,
    mtu: cfg.mtu,
    mtuIgnore: cfg.mtuIgnore ?? false,
    auth: cfg.auth,
  };
}

export interface Iface {
  readonly cfg: IfaceConfig;
  state: IfState;
  /** ms: next Hello. */
  helloDue: number;
  /** By Router ID. */
  readonly neighbors: Map<number, Neighbor>;
  /** LSA headers waiting for a delayed acknowledgment (RFC 2328 §13.5). */
  delayedAcks: LsaHeader[];
  delayedAckDue: number | undefined;
  /** RFC 7166: our Cryptographic Sequence Number for the next packet on this interface. */
  authSeq: bigint;
  /** RFC 7166: the highest Cryptographic Sequence Number received, by "routerId:packetType". */
  readonly authSeqRx: Map<string, bigint>;
}

export function newIface(cfg: IfaceConfig, now: number): Iface {
  return {
    cfg,
    state: IfState.Down,
    helloDue: now,
    neighbors: new Map(),
    delayedAcks: [],
    delayedAckDue: undefined,
    // RFC 7166 §4.1: a 64-bit sequence that never goes backwards across restarts: seed it from the clock.
    authSeq: BigInt(Math.floor(Date.now() / 1000)) << 32n,
    authSeqRx: new Map(),
  };
}

export interface IfaceHooks {
  /** InterfaceUp: start Hellos, originate our Link-LSA and a new Router-LSA. */
  up(iface: Iface, now: number): void;
  /** InterfaceDown: LLDown to every neighbor, drop link-scope LSAs, re-originate. */
  down(iface: Iface, now: number): void;
  log(msg: string, fields: Record<string, unknown>): void;
}

/** Run one interface event through the table and change state in one place. */
export function ifaceEvent(iface: Iface, event: IfEvent, now: number, hooks: IfaceHooks): boolean {
  const tr = IF_FSM[iface.state][event];
  if (!tr) return false;
  const from = iface.state;
  iface.state = tr.next;
  hooks.log('interface state change', { iface: iface.cfg.name, from, to: tr.next, event });
  if (tr.action === 'up') hooks.up(iface, now);
  else hooks.down(iface, now);
  return true;
}

export function rxmtMs(iface: Iface): number {
  return iface.cfg.retransmitInterval * 1000;
}
