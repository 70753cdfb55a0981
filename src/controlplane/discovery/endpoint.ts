/**
 * The endpoint a node announces (spec §4.1 `endpoint`): `moltbook.endpoint` when set, else the
 * underlay listen address when it is not a wildcard, else the address of the interface that holds the
 * default route (IPv6 first, then IPv4), on the VXLAN port.
 */
import { ip } from '../../daemon/host-interface.js';
import { formatHostPort, parseHostPort } from '../../config/schema.js';
import { PORTS } from '../../common/ports.js';

export interface EndpointInputs {
  configured: string | undefined;
  /** underlay.listen, e.g. "[::]:4789" or "192.0.2.7:4789". */
  underlayListen: string;
  /** The address on the default route's interface, if any. */
  defaultRouteAddress(): Promise<string | undefined>;
}

/** Pure but for the default-route look-up; undefined when nothing is known to announce. */
export async function announcedEndpoint(i: EndpointInputs): Promise<string | undefined> {
  if (i.configured) return i.configured;
  const listen = parseHostPort(i.underlayListen, PORTS.vxlan);
  const port = listen.port ?? PORTS.vxlan;
  if (listen.host !== '::' && listen.host !== '0.0.0.0') return formatHostPort({ host: listen.host, port });
  const addr = await i.defaultRouteAddress();
  return addr ? formatHostPort({ host: addr, port }) : undefined;
}

interface IpRoute {
  dev?: string;
  prefsrc?: string;
}
interface IpAddr {
  addr_info?: { local?: string; scope?: string; family?: string; deprecated?: boolean }[];
}

/** The first global address of the interface that holds the default route, IPv6 first. */
export async function defaultRouteAddress(): Promise<string | undefined> {
  for (const family of ['-6', '-4'] as const) {
    let routes: IpRoute[];
    try {
      routes = JSON.parse(await ip(['-j', family, 'route', 'show', 'default'])) as IpRoute[];
    } catch {
      continue;
    }
    const r = routes.find((x) => x.dev);
    if (!r?.dev) continue;
    if (r.prefsrc) return r.prefsrc;
    try {
      const addrs = JSON.parse(await ip(['-j', family, 'addr', 'show', 'dev', r.dev, 'scope', 'global'])) as IpAddr[];
      const a = addrs.flatMap((x) => x.addr_info ?? []).find((x) => x.local && !x.deprecated);
      if (a?.local) return a.local;
    } catch {
      continue;
    }
  }
  return undefined;
}
