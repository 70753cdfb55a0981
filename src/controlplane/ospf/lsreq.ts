/**
 * Link State Requests (RFC 2328 §10.7, §10.9; RFC 5340 A.3.4).
 *
 * Requesting: while in Exchange or Loading, the LSAs on the neighbor's request list are asked for in LS
 * Request packets (as many as fit), one packet outstanding at a time, retransmitted every RxmtInterval
 * until the Link State Updates answering it arrive. When the list empties in Loading: LoadingDone.
 *
 * Answering: each requested LSA is looked up (link scope: on the receiving link) and sent in Link State
 * Updates to the neighbor; a request for an LSA we do not have is BadLSReq.
 */
import { PacketType, type LsrEntry, type LsrRepr } from './wire/types.js';
import { count, type Ctx } from './context.js';
import { rxmtMs } from './interface.js';
import { NbrEvent, NbrState, nbrEvent, type Neighbor } from './neighbor.js';
import { bodyBudget, sendPacket } from './rxtx.js';
import type { LsdbEntry } from './lsdb.js';
import { sendLsas } from './rxtx.js';

const LSR_ENTRY_LEN = 12;

function isRequesting(nbr: Neighbor): boolean {
  return nbr.state === NbrState.Exchange || nbr.state === NbrState.Loading;
}

/** Send the next LS Request if none is outstanding and the list is not empty. */
export function sendNextLsr(ctx: Ctx, nbr: Neighbor, now: number): void {
  if (!isRequesting(nbr) || nbr.lsrOutstanding.size > 0 || nbr.requests.size === 0) return;
  const max = Math.max(1, Math.floor(bodyBudget(nbr.iface) / LSR_ENTRY_LEN));
  for (const key of nbr.requests.keys()) {
    if (nbr.lsrOutstanding.size >= max) break;
    nbr.lsrOutstanding.add(key);
  }
  transmitLsr(ctx, nbr, now);
}

function transmitLsr(ctx: Ctx, nbr: Neighbor, now: number): void {
  const requests: LsrEntry[] = [];
  for (const key of nbr.lsrOutstanding) {
    const h = nbr.requests.get(key);
    if (h) requests.push({ lsType: h.type, linkStateId: h.linkStateId, advertisingRouter: h.advertisingRouter });
  }
  if (requests.length === 0) {
    nbr.lsrOutstanding.clear();
    nbr.lsrRxmtDue = undefined;
    return;
  }
  sendPacket(ctx, nbr.iface, nbr.address, { type: PacketType.LinkStateRequest, body: { requests } });
  nbr.lsrRxmtDue = now + rxmtMs(nbr.iface);
}

/** The LS Request retransmission timer fired. */
export function lsrTimer(ctx: Ctx, nbr: Neighbor, now: number): void {
  if (!isRequesting(nbr)) {
    nbr.lsrRxmtDue = undefined;
    return;
  }
  count(ctx, 'lsr_retransmitted');
  if (nbr.lsrOutstanding.size === 0) sendNextLsr(ctx, nbr, now);
  else transmitLsr(ctx, nbr, now);
}

/** An LSA on the request list arrived (or an instance at least as new): take it off the list. */
export function requestSatisfied(ctx: Ctx, nbr: Neighbor, key: string, now: number): void {
  if (!nbr.requests.delete(key)) return;
  if (nbr.lsrOutstanding.delete(key) && nbr.lsrOutstanding.size === 0) {
    nbr.lsrRxmtDue = undefined;
    sendNextLsr(ctx, nbr, now);
  }
  if (nbr.requests.size === 0 && nbr.state === NbrState.Loading) nbrEvent(nbr, NbrEvent.LoadingDone, now, ctx.nbrHooks);
}

/** A received LS Request (RFC 2328 §10.7). */
export function receiveLsr(ctx: Ctx, nbr: Neighbor, body: LsrRepr, now: number): void {
  if (nbr.state !== NbrState.Exchange && nbr.state !== NbrState.Loading && nbr.state !== NbrState.Full) {
    count(ctx, 'drop_lsr_state');
    return;
  }
  const found: LsdbEntry[] = [];
  for (const r of body.requests) {
    const e = ctx.lsdb.get(r.lsType, r.linkStateId, r.advertisingRouter, nbr.iface.cfg.linkId);
    if (!e) {
      count(ctx, 'bad_ls_request');
      nbrEvent(nbr, NbrEvent.BadLSReq, now, ctx.nbrHooks);
      return;
    }
    found.push(e);
  }
  if (found.length > 0) sendLsas(ctx, nbr.iface, nbr.address, found, now);
}
