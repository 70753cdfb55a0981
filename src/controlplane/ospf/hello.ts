/**
 * Hello protocol on point-to-point interfaces (RFC 2328 §9.5, §10.5; RFC 5340 §4.2.2.1, A.3.2).
 * Sending: every HelloInterval to AllSPFRouters, listing the neighbors we have heard (state >= Init).
 * Receiving: HelloInterval, RouterDeadInterval and the E bit must match ours; the neighbor is identified
 * by its Router ID (RFC 5340: on every link type); then HelloReceived and 2-WayReceived or 1-Way.
 * A point-to-point link has one router at the far end: a Hello from a new Router ID at the address of a
 * neighbor we know under another Router ID means that router changed its Router ID (duplicate router ID
 * resolution): the old neighbor goes at once (KillNbr), not a RouterDeadInterval later.
 *
 * sendFarewellHello: the last Hello under a Router ID we are leaving, listing no neighbor, so that every
 * neighbor takes 1-Way at once and drops us from its Router-LSA (RFC 2328 §10.5).
 */
import { OspfOption, PacketType, formatRouterId, type HelloRepr } from './wire/types.js';
import { ROUTER_PRIORITY } from './config.js';
import { count, type Ctx } from './context.js';
import type { Iface } from './interface.js';
import { NbrEvent, NbrState, nbrEvent, newNeighbor, stateAtLeast } from './neighbor.js';
import { ALL_SPF, ourOptions, sendPacket } from './rxtx.js';

export function buildHello(ctx: Ctx, iface: Iface): HelloRepr {
  const neighbors: number[] = [];
  for (const n of iface.neighbors.values()) if (stateAtLeast(n.state, NbrState.Init)) neighbors.push(n.routerId);
  neighbors.sort((a, b) => a - b);
  return {
    interfaceId: iface.cfg.interfaceId,
    priority: ROUTER_PRIORITY,
    options: ourOptions(iface),
    helloInterval: iface.cfg.helloInterval,
    deadInterval: iface.cfg.deadInterval,
    designatedRouter: 0,
    backupDesignatedRouter: 0,
    neighbors,
  };
}

export function sendFarewellHello(ctx: Ctx, iface: Iface): void {
  sendPacket(ctx, iface, ALL_SPF, { type: PacketType.Hello, body: { ...buildHello(ctx, iface), neighbors: [] } });
}

export function sendHello(ctx: Ctx, iface: Iface, now: number): void {
  sendPacket(ctx, iface, ALL_SPF, { type: PacketType.Hello, body: buildHello(ctx, iface) });
  iface.helloDue = now + iface.cfg.helloInterval * 1000;
}

export function receiveHello(ctx: Ctx, iface: Iface, src: Buffer, routerId: number, hello: HelloRepr, now: number): void {
  if (hello.helloInterval !== iface.cfg.helloInterval || hello.deadInterval !== iface.cfg.deadInterval) {
    count(ctx, 'drop_hello_timers_mismatch');
    ctx.log.debug(
      {
        iface: iface.cfg.name,
        from: formatRouterId(routerId),
        hello: hello.helloInterval,
        dead: hello.deadInterval,
        ourHello: iface.cfg.helloInterval,
        ourDead: iface.cfg.deadInterval,
      },
      'Hello timers mismatch',
    );
    return;
  }
  if ((hello.options & OspfOption.E) !== (ourOptions(iface) & OspfOption.E)) {
    count(ctx, 'drop_hello_options_mismatch');
    return;
  }
  let nbr = iface.neighbors.get(routerId);
  const isNew = !nbr;
  if (!nbr) {
    for (const old of [...iface.neighbors.values()]) {
      if (!old.address.equals(src)) continue;
      count(ctx, 'nbr_renumbered');
      ctx.log.info(
        { iface: iface.cfg.name, from: formatRouterId(old.routerId), to: formatRouterId(routerId) },
        'OSPF neighbor changed its router ID',
      );
      nbrEvent(old, NbrEvent.KillNbr, now, ctx.nbrHooks);
      iface.neighbors.delete(old.routerId);
    }
    nbr = newNeighbor(iface, routerId, src, now);
    iface.neighbors.set(routerId, nbr);
  }
  nbr.address = Buffer.from(src);
  if (nbr.interfaceId !== hello.interfaceId && nbr.state === NbrState.Full) ctx.originateSoon();
  nbr.interfaceId = hello.interfaceId;
  nbr.priority = hello.priority;
  nbr.options = hello.options;
  nbrEvent(nbr, NbrEvent.HelloReceived, now, ctx.nbrHooks);
  const seesUs = hello.neighbors.includes(ctx.routerId);
  nbrEvent(nbr, seesUs ? NbrEvent.TwoWayReceived : NbrEvent.OneWay, now, ctx.nbrHooks);
  // A new neighbor that does not list us yet learns of us now rather than a HelloInterval later.
  if (isNew && !seesUs) sendHello(ctx, iface, now);
}
