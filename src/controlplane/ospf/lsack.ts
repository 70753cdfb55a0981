/**
 * Link State Acknowledgments (RFC 2328 §13.5, §13.7; RFC 5340 A.3.6).
 *
 * Sending: direct acknowledgments (duplicates, MaxAge LSAs we do not hold) go at the end of the current
 * call to the neighbor; delayed acknowledgments (newly installed LSAs) collect per interface and go to
 * AllSPFRouters DELAYED_ACK_MS after the first one, several headers per packet.
 * Receiving: an acknowledgment for the instance on the neighbor's retransmission list removes it.
 */
import { PacketType, type LsAckRepr, type LsaHeader } from './wire/types.js';
import { DELAYED_ACK_MS } from './config.js';
import { count, type Ctx } from './context.js';
import { IfState, type Iface } from './interface.js';
import { entryHeader } from './lsdb.js';
import { NbrState, stateAtLeast, type Neighbor } from './neighbor.js';
import { compareLsa } from './codec.js';
import { ALL_SPF, bodyBudget, sendPacket } from './rxtx.js';
import { removeRxmt } from './flood.js';
import { lsaKeyString } from './wire/types.js';

const LSA_HEADER_LEN = 20;

export function queueDirectAck(ctx: Ctx, nbr: Neighbor, h: LsaHeader): void {
  let q = ctx.out.directAcks.get(nbr);
  if (!q) {
    q = [];
    ctx.out.directAcks.set(nbr, q);
  }
  q.push(h);
}

export function queueDelayedAck(iface: Iface, h: LsaHeader, now: number): void {
  iface.delayedAcks.push(h);
  if (iface.delayedAckDue === undefined) iface.delayedAckDue = now + DELAYED_ACK_MS;
}

function sendAcks(ctx: Ctx, iface: Iface, dst: Buffer, headers: LsaHeader[]): void {
  const max = Math.max(1, Math.floor(bodyBudget(iface) / LSA_HEADER_LEN));
  for (let i = 0; i < headers.length; i += max) {
    sendPacket(ctx, iface, dst, { type: PacketType.LinkStateAck, body: { lsaHeaders: headers.slice(i, i + max) } });
  }
}

/** Send the direct acknowledgments queued during this call. */
export function flushDirectAcks(ctx: Ctx): void {
  if (ctx.out.directAcks.size === 0) return;
  const acks = [...ctx.out.directAcks];
  ctx.out.directAcks.clear();
  for (const [nbr, headers] of acks) {
    if (nbr.iface.state === IfState.Down || !nbr.iface.neighbors.has(nbr.routerId)) continue;
    count(ctx, 'ack_direct', headers.length);
    sendAcks(ctx, nbr.iface, nbr.address, headers);
  }
}

/** The delayed-ack timer of an interface. */
export function delayedAckTimer(ctx: Ctx, iface: Iface, now: number): void {
  if (iface.delayedAckDue === undefined || iface.delayedAckDue > now) return;
  const headers = iface.delayedAcks;
  iface.delayedAcks = [];
  iface.delayedAckDue = undefined;
  if (headers.length === 0 || iface.state === IfState.Down) return;
  count(ctx, 'ack_delayed', headers.length);
  sendAcks(ctx, iface, ALL_SPF, headers);
}

/** A received Link State Acknowledgment (RFC 2328 §13.7). */
export function receiveLsAck(ctx: Ctx, nbr: Neighbor, body: LsAckRepr, now: number): void {
  if (!stateAtLeast(nbr.state, NbrState.Exchange)) {
    count(ctx, 'drop_lsack_state');
    return;
  }
  for (const h of body.lsaHeaders) {
    const key = lsaKeyString(h);
    const item = nbr.rxmt.get(key);
    if (!item) continue;
    if (compareLsa(h, entryHeader(item.entry, now)) === 0) removeRxmt(ctx, nbr, key, now);
    else count(ctx, 'ack_questionable');
  }
}
