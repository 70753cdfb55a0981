/**
 * SPF result -> the route table the daemon programs: next hops become (linkId, the neighbor's link-local
 * address). The address comes from the neighbor's Link-LSA on that link (Link State ID = its Interface ID),
 * else from the source address of its Hellos. Also: a stable text key to tell whether the table changed,
 * and address-conflict detection over the /128s routers advertise.
 */
import { LsType, formatRouterId } from './wire/types.js';
import type { SpfResult } from './spf/graph.js';
import type { OspfNextHop, OspfRoute } from './config.js';
import type { Ctx } from './context.js';
import type { Iface } from './interface.js';
import { formatIpv6 } from '../../common/address.js';

export function toOspfRoutes(ctx: Ctx, result: SpfResult): OspfRoute[] {
  const byInterfaceId = new Map<number, Iface>();
  for (const i of ctx.ifaces.values()) byInterfaceId.set(i.cfg.interfaceId, i);
  // Thousands of routes (external prefixes) share a handful of next hops: look each address up once.
  const addresses = new Map<string, Buffer | undefined>();
  const routes: OspfRoute[] = [];
  for (const r of result.routes) {
    const nexthops: OspfNextHop[] = [];
    for (const nh of r.nexthops) {
      const iface = byInterfaceId.get(nh.interfaceId);
      if (!iface || nh.neighborRouterId === 0) continue;
      const k = `${nh.interfaceId}/${nh.neighborRouterId}/${nh.neighborInterfaceId}`;
      let address = addresses.get(k);
      if (address === undefined && !addresses.has(k)) {
        address = neighborAddress(ctx, iface, nh.neighborRouterId, nh.neighborInterfaceId);
        addresses.set(k, address);
      }
      if (!address) continue;
      if (nexthops.some((x) => x.linkId === iface.cfg.linkId && x.address.equals(address))) continue;
      nexthops.push({ linkId: iface.cfg.linkId, address });
    }
    if (!r.local && nexthops.length === 0) continue;
    const route: OspfRoute = { prefix: Buffer.from(r.prefix), length: r.length, cost: r.cost, type: r.type, nexthops };
    if (r.local) route.local = true;
    routes.push(route);
  }
  return routes;
}

function neighborAddress(ctx: Ctx, iface: Iface, routerId: number, interfaceId: number): Buffer | undefined {
  const e = ctx.lsdb.get(LsType.Link, interfaceId, routerId, iface.cfg.linkId);
  if (e && e.lsa.body.kind === 'link' && e.lsa.header.age < 3600) return Buffer.from(e.lsa.body.linkLocalAddress);
  const nbr = iface.neighbors.get(routerId);
  return nbr ? Buffer.from(nbr.address) : undefined;
}

/** Whether two tables (in buildRoutes' order) are the same: what routesKey compares, without building it. */
export function sameRoutes(a: readonly OspfRoute[], b: readonly OspfRoute[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.length !== y.length || x.type !== y.type || x.cost !== y.cost || (x.local ?? false) !== (y.local ?? false)) return false;
    if (x.nexthops.length !== y.nexthops.length || !x.prefix.equals(y.prefix)) return false;
    for (let j = 0; j < x.nexthops.length; j++) {
      const n = x.nexthops[j]!;
      const m = y.nexthops[j]!;
      if (n.linkId !== m.linkId || !n.address.equals(m.address)) return false;
    }
  }
  return true;
}

/** A text form of the table: equal strings = equal tables. */
export function routesKey(routes: OspfRoute[]): string {
  return routes
    .map(
      (r) =>
        `${r.prefix.toString('hex')}/${r.length} ${r.type} ${r.cost}${r.local ? ' local' : ''} ` +
        r.nexthops.map((n) => `${n.linkId}@${n.address.toString('hex')}`).join(','),
    )
    .join('\n');
}

export interface AddressConflict {
  /** "addr/128". */
  prefix: string;
  /** Dotted Router IDs, sorted. */
  routers: string[];
  /** ms: when it was first seen. */
  since: number;
}

/**
 * Conflicts: a /128 advertised by more than one reachable router. `known` carries state between runs so
 * that each conflict is logged once; returns the current list.
 */
export function detectConflicts(
  ctx: Ctx,
  hostPrefixes: Map<string, Set<number>>,
  reachable: (routerId: number) => boolean,
  known: Map<string, AddressConflict>,
  now: number,
): AddressConflict[] {
  const seen = new Set<string>();
  for (const [hex, routers] of hostPrefixes) {
    if (routers.size < 2) continue;
    const live = [...routers].filter(reachable).sort((a, b) => a - b);
    if (live.length < 2) continue;
    const ids = live.map(formatRouterId);
    const key = `${hex} ${ids.join(',')}`;
    seen.add(key);
    if (!known.has(key)) {
      const prefix = `${formatIpv6(Buffer.from(hex, 'hex'))}/128`;
      known.set(key, { prefix, routers: ids, since: now });
      ctx.log.warn({ prefix, routers: ids }, 'address conflict: a /128 is advertised by more than one router');
    }
  }
  for (const k of [...known.keys()]) if (!seen.has(k)) known.delete(k);
  return [...known.values()];
}
