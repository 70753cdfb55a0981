/**
 * LSDB -> SpfInput (the mapping graph.ts describes). Only usable LSAs go in: not MaxAge; AS-external
 * metrics below LSInfinity; prefixes without the NU bit.
 *
 * Our own vertex is not read from the LSDB but from the live adjacency state (ourRouterLinks) and the
 * configured prefixes: a neighbor that goes down leaves our SPF at once, even while MinLSInterval holds the
 * new Router-LSA back. Every other router's vertex is the union of the links of its Router-LSAs.
 *
 * Also collects, for conflict detection, which routers advertise each /128 in Intra-Area-Prefix-LSAs.
 */
import {
  AsExternalFlag,
  LS_INFINITY,
  LsType,
  OspfOption,
  PrefixOption,
  RouterLinkType,
  RouterLsaFlag,
  type MetricPrefix,
  type RouterLink as LsaRouterLink,
} from './wire/types.js';
import { networkKey, type RouterLink, type RouterVertex, type SpfInput } from './spf/graph.js';
import type { Lsdb } from './lsdb.js';
import { isMaxAge } from './lsdb.js';

export interface SpfInputResult {
  input: SpfInput;
  /** prefix hex (32 chars) -> routers advertising it as a /128. */
  hostPrefixes: Map<string, Set<number>>;
}

function mapLinks(links: LsaRouterLink[]): RouterLink[] {
  const out: RouterLink[] = [];
  for (const l of links) {
    if (l.type === RouterLinkType.PointToPoint || l.type === RouterLinkType.Transit) {
      out.push({
        type: l.type === RouterLinkType.PointToPoint ? 'p2p' : 'transit',
        metric: l.metric,
        interfaceId: l.interfaceId,
        neighborInterfaceId: l.neighborInterfaceId,
        neighborRouterId: l.neighborRouterId,
      });
    }
  }
  return out;
}

export function buildSpfInput(
  lsdb: Lsdb,
  now: number,
  self: { routerId: number; links: LsaRouterLink[]; prefixes: MetricPrefix[] },
): SpfInputResult {
  const routers = new Map<number, RouterVertex>();
  const input: SpfInput = { root: self.routerId, routers, networks: new Map(), intraPrefixes: [], externals: [] };
  const hostPrefixes = new Map<string, Set<number>>();
  const noteHost = (prefix: Buffer, length: number, router: number): void => {
    if (length !== 128) return;
    const k = prefix.toString('hex');
    let s = hostPrefixes.get(k);
    if (!s) hostPrefixes.set(k, (s = new Set()));
    s.add(router);
  };

  routers.set(self.routerId, {
    routerId: self.routerId,
    flags: { border: false, external: false },
    links: mapLinks(self.links),
  });
  for (const p of self.prefixes) {
    input.intraPrefixes.push({ prefix: p.prefix, length: p.length, metric: p.metric, attachedTo: { kind: 'router', routerId: self.routerId } });
    noteHost(p.prefix, p.length, self.routerId);
  }

  for (const e of lsdb.areaEntries()) {
    const h = e.lsa.header;
    if (h.advertisingRouter === self.routerId || isMaxAge(e, now)) continue;
    const body = e.lsa.body;
    if (h.type === LsType.Router && body.kind === 'router') {
      let v = routers.get(h.advertisingRouter);
      if (!v) {
        v = { routerId: h.advertisingRouter, flags: { border: false, external: false }, links: [] };
        routers.set(h.advertisingRouter, v);
      }
      // Several Router-LSAs of one router: their links add up; flags and options from any of them.
      if (body.flags & RouterLsaFlag.B) v.flags.border = true;
      if (body.flags & RouterLsaFlag.E) v.flags.external = true;
      v.options = { v6: (body.options & OspfOption.V6) !== 0, r: (body.options & OspfOption.R) !== 0 };
      for (const l of mapLinks(body.links)) v.links.push(l);
    } else if (h.type === LsType.Network && body.kind === 'network') {
      const key = networkKey(h.advertisingRouter, h.linkStateId);
      input.networks.set(key, {
        key,
        drRouterId: h.advertisingRouter,
        drInterfaceId: h.linkStateId,
        attachedRouters: [...body.attachedRouters],
      });
    } else if (h.type === LsType.IntraAreaPrefix && body.kind === 'intra-area-prefix') {
      let attachedTo: SpfInput['intraPrefixes'][number]['attachedTo'];
      if (body.referencedLsType === LsType.Router) {
        attachedTo = { kind: 'router', routerId: body.referencedAdvertisingRouter };
      } else if (body.referencedLsType === LsType.Network) {
        attachedTo = { kind: 'network', key: networkKey(body.referencedAdvertisingRouter, body.referencedLinkStateId) };
      } else {
        continue;
      }
      for (const p of body.prefixes) {
        if (p.options & PrefixOption.NU) continue;
        input.intraPrefixes.push({ prefix: p.prefix, length: p.length, metric: p.metric, attachedTo });
        noteHost(p.prefix, p.length, h.advertisingRouter);
      }
    }
  }
  for (const e of lsdb.asEntries()) {
    const h = e.lsa.header;
    const body = e.lsa.body;
    if (h.type !== LsType.AsExternal || body.kind !== 'as-external' || isMaxAge(e, now)) continue;
    if (body.metric >= LS_INFINITY || (body.prefix.options & PrefixOption.NU)) continue;
    input.externals.push({
      prefix: body.prefix.prefix,
      length: body.prefix.length,
      metric: body.metric,
      metricType: body.flags & AsExternalFlag.E ? 2 : 1,
      asbr: h.advertisingRouter,
      ...(body.forwardingAddress ? { forwardingAddress: body.forwardingAddress } : {}),
    });
  }
  return { input, hostPrefixes };
}
