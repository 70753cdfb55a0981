/**
 * Database Description exchange (RFC 2328 §10.6, §10.8; RFC 5340 A.3.3).
 *
 *   ExStart   both sides claim master: empty DD with I|M|MS, retransmitted every RxmtInterval. The higher
 *             Router ID is master: the lower one answers the master's I|M|MS packet with its sequence
 *             number (NegotiationDone as slave), the master sees that answer (NegotiationDone as master).
 *   Exchange  the master sends, the slave echoes the sequence number in its answer; each side describes
 *             its database summary list (LSA headers) and sets M while it has more. The master
 *             retransmits its last packet every RxmtInterval; the slave resends its last answer when the
 *             master's packet comes again (duplicate), and keeps it for RouterDeadInterval after the
 *             exchange. Headers newer than our copy go on the LS request list (lsreq.ts).
 *   Done      master: when its last packet had M clear and the answer has M clear; slave: when it answers
 *             a packet with M clear with one with M clear. Then Loading (requests pending) or Full.
 *
 * The Interface MTU in the neighbor's DD must equal ours unless the interface has mtuIgnore (FRR's check;
 * RFC 2328 §10.6 only rejects a larger MTU, but a smaller one means our packets may not reach it).
 */
import { DdFlag, PacketType, formatRouterId, lsaKeyString, type DdRepr } from './wire/types.js';
import { count, type Ctx } from './context.js';
import { rxmtMs } from './interface.js';
import { Lsdb, entryHeader, isMaxAge, type LsdbEntry } from './lsdb.js';
import { NbrEvent, NbrState, nbrEvent, type Neighbor } from './neighbor.js';
import { bodyBudget, ourOptions, sendPacket } from './rxtx.js';
import { compareLsa } from './codec.js';
import { addRxmt } from './flood.js';
import { sendNextLsr } from './lsreq.js';

const DD_FIXED_LEN = 12;
const LSA_HEADER_LEN = 20;

/** Entering ExStart: a new sequence number, claim master, send the first (empty) DD. */
export function ddStart(ctx: Ctx, nbr: Neighbor, now: number): void {
  if (!nbr.ddSeqInitialized) {
    // Any unique value will do (RFC 2328 §10.8); derive one from the time so restarts differ.
    nbr.ddSeq = (Math.floor(now) + ctx.routerId) >>> 0;
    nbr.ddSeqInitialized = true;
  } else {
    nbr.ddSeq = (nbr.ddSeq + 1) >>> 0;
  }
  nbr.master = true;
  nbr.lastRxDd = undefined;
  nbr.summary = [];
  transmitDd(ctx, nbr, {
    options: ourOptions(nbr.iface),
    interfaceMtu: nbr.iface.cfg.mtu,
    flags: DdFlag.I | DdFlag.M | DdFlag.MS,
    ddSequence: nbr.ddSeq,
    lsaHeaders: [],
  });
  nbr.moreSent = true;
  nbr.ddRxmtDue = now + rxmtMs(nbr.iface);
}

/**
 * Entering Exchange: the database summary list is every LSA the neighbor may see; those at MaxAge go on
 * its retransmission list instead (RFC 2328 §10.3, NegotiationDone).
 */
export function ddStartExchange(ctx: Ctx, nbr: Neighbor, now: number): void {
  nbr.summary = [];
  for (const e of ctx.lsdb.entriesForLink(nbr.iface.cfg.linkId)) {
    if (isMaxAge(e, now)) addRxmt(nbr, e, now);
    else nbr.summary.push(e);
  }
}

function transmitDd(ctx: Ctx, nbr: Neighbor, dd: DdRepr): void {
  nbr.lastTxDd = dd;
  sendPacket(ctx, nbr.iface, nbr.address, { type: PacketType.DatabaseDescription, body: dd });
}

/** Send the next DD of the exchange: as many headers from the summary list as fit. */
function sendNextDd(ctx: Ctx, nbr: Neighbor, now: number): void {
  const max = Math.max(1, Math.floor((bodyBudget(nbr.iface) - DD_FIXED_LEN) / LSA_HEADER_LEN));
  const headers = [];
  while (headers.length < max && nbr.summary.length > 0) {
    let e: LsdbEntry | undefined = nbr.summary.shift()!;
    // Describe the instance we hold now (it may have been replaced or removed since the list was made).
    if (!ctx.lsdb.isCurrent(e)) e = ctx.lsdb.getHeader(e.lsa.header, nbr.iface.cfg.linkId);
    if (!e || isMaxAge(e, now)) continue;
    headers.push(entryHeader(e, now));
  }
  const more = nbr.summary.length > 0;
  transmitDd(ctx, nbr, {
    options: ourOptions(nbr.iface),
    interfaceMtu: nbr.iface.cfg.mtu,
    flags: (nbr.master ? DdFlag.MS : 0) | (more ? DdFlag.M : 0),
    ddSequence: nbr.ddSeq,
    lsaHeaders: headers,
  });
  nbr.moreSent = more;
}

function isDuplicate(nbr: Neighbor, dd: DdRepr): boolean {
  const l = nbr.lastRxDd;
  return l !== undefined && l.seq === dd.ddSequence && l.flags === dd.flags && l.options === dd.options;
}

function resendLast(ctx: Ctx, nbr: Neighbor): void {
  if (!nbr.lastTxDd) return;
  count(ctx, 'dd_resent');
  transmitDd(ctx, nbr, nbr.lastTxDd);
}

/** A received Database Description packet (RFC 2328 §10.6). */
export function receiveDd(ctx: Ctx, nbr: Neighbor, dd: DdRepr, now: number): void {
  const iface = nbr.iface;
  if (!iface.cfg.mtuIgnore && dd.interfaceMtu !== iface.cfg.mtu) {
    count(ctx, 'drop_dd_mtu_mismatch');
    ctx.log.debug(
      { iface: iface.cfg.name, from: formatRouterId(nbr.routerId), theirs: dd.interfaceMtu, ours: iface.cfg.mtu },
      'DD MTU mismatch',
    );
    return;
  }
  const flags = dd.flags;
  const I = (flags & DdFlag.I) !== 0;
  const M = (flags & DdFlag.M) !== 0;
  const MS = (flags & DdFlag.MS) !== 0;
  // Init: the DD shows the neighbor sees us (2-WayReceived); then it is processed as in ExStart.
  if (nbr.state === NbrState.Init) {
    nbrEvent(nbr, NbrEvent.TwoWayReceived, now, ctx.nbrHooks);
  }
  const state = nbr.state as NbrState;
  switch (state) {
    case NbrState.Down:
    case NbrState.Attempt:
    case NbrState.Init:
    case NbrState.TwoWay:
      count(ctx, 'drop_dd_state');
      return;
    case NbrState.ExStart: {
      if (I && M && MS && dd.lsaHeaders.length === 0 && nbr.routerId > ctx.routerId) {
        nbr.master = false;
        nbr.ddSeq = dd.ddSequence >>> 0;
        nbr.ddOptions = dd.options;
        nbr.ddRxmtDue = undefined;
        nbrEvent(nbr, NbrEvent.NegotiationDone, now, ctx.nbrHooks);
        accept(ctx, nbr, dd, now);
      } else if (!I && !MS && dd.ddSequence >>> 0 === nbr.ddSeq && nbr.routerId < ctx.routerId) {
        nbr.master = true;
        nbr.ddOptions = dd.options;
        nbrEvent(nbr, NbrEvent.NegotiationDone, now, ctx.nbrHooks);
        accept(ctx, nbr, dd, now);
      } else {
        count(ctx, 'drop_dd_exstart');
      }
      return;
    }
    case NbrState.Exchange: {
      if (isDuplicate(nbr, dd)) {
        if (!nbr.master) resendLast(ctx, nbr);
        return;
      }
      const expected = nbr.master ? nbr.ddSeq : (nbr.ddSeq + 1) >>> 0;
      const why =
        MS === nbr.master
          ? 'MS bit'
          : I
            ? 'I bit'
            : dd.options !== nbr.ddOptions
              ? 'options changed'
              : dd.ddSequence >>> 0 !== expected
                ? 'sequence number'
                : undefined;
      if (why) {
        mismatch(ctx, nbr, why, now);
        return;
      }
      accept(ctx, nbr, dd, now);
      return;
    }
    case NbrState.Loading:
    case NbrState.Full:
      if (isDuplicate(nbr, dd)) {
        if (!nbr.master) resendLast(ctx, nbr);
        return;
      }
      mismatch(ctx, nbr, I ? 'I bit (neighbor restarted the exchange)' : 'unexpected DD', now);
      return;
  }
}

function mismatch(ctx: Ctx, nbr: Neighbor, why: string, now: number): void {
  count(ctx, 'dd_seq_mismatch');
  ctx.log.debug({ iface: nbr.iface.cfg.name, from: formatRouterId(nbr.routerId), why }, 'DD SeqNumberMismatch');
  nbrEvent(nbr, NbrEvent.SeqNumberMismatch, now, ctx.nbrHooks);
}

/** An accepted DD packet: note its headers, then continue the exchange as master or slave. */
function accept(ctx: Ctx, nbr: Neighbor, dd: DdRepr, now: number): void {
  nbr.lastRxDd = { flags: dd.flags, options: dd.options, seq: dd.ddSequence >>> 0 };
  const linkId = nbr.iface.cfg.linkId;
  for (const h of dd.lsaHeaders) {
    if (Lsdb.scopeOf(h.type) === undefined) {
      count(ctx, 'dd_reserved_scope');
      continue;
    }
    const db = ctx.lsdb.getHeader(h, linkId);
    if (db && compareLsa(h, entryHeader(db, now)) <= 0) continue;
    const key = lsaKeyString(h);
    const req = nbr.requests.get(key);
    if (!req || compareLsa(h, req) > 0) nbr.requests.set(key, h);
  }
  const theirMore = (dd.flags & DdFlag.M) !== 0;
  if (nbr.master) {
    nbr.ddSeq = (nbr.ddSeq + 1) >>> 0;
    if (!nbr.moreSent && !theirMore) {
      nbr.ddRxmtDue = undefined;
      nbrEvent(nbr, NbrEvent.ExchangeDone, now, ctx.nbrHooks);
    } else {
      sendNextDd(ctx, nbr, now);
      nbr.ddRxmtDue = now + rxmtMs(nbr.iface);
    }
  } else {
    nbr.ddSeq = dd.ddSequence >>> 0;
    sendNextDd(ctx, nbr, now);
    if (!theirMore && !nbr.moreSent) {
      nbr.ddHoldUntil = now + nbr.iface.cfg.deadInterval * 1000;
      nbrEvent(nbr, NbrEvent.ExchangeDone, now, ctx.nbrHooks);
    }
  }
  sendNextLsr(ctx, nbr, now);
}

/** DD timers: the master's (and ExStart's) retransmission; the slave's hold of its last packet. */
export function ddTimer(ctx: Ctx, nbr: Neighbor, now: number): void {
  if (nbr.ddRxmtDue !== undefined && nbr.ddRxmtDue <= now) {
    if (nbr.state === NbrState.ExStart || (nbr.state === NbrState.Exchange && nbr.master)) {
      count(ctx, 'dd_retransmitted');
      resendLast(ctx, nbr);
      nbr.ddRxmtDue = now + rxmtMs(nbr.iface);
    } else {
      nbr.ddRxmtDue = undefined;
    }
  }
  if (nbr.ddHoldUntil !== undefined && nbr.ddHoldUntil <= now) {
    nbr.ddHoldUntil = undefined;
    if (nbr.state === NbrState.Loading || nbr.state === NbrState.Full) nbr.lastTxDd = undefined;
  }
}
