/**
 * What a reload changes: the difference between the running config and a new one, as a plan the
 * daemon carries out. Pure.
 *
 *   peers, kernel links  by name: added, removed, re-made (anything but the cost changed: a new
 *                        link under a new id), or a cost change taken in place
 *   static routes        replaced as a set (the RIB turns that into FIB differences)
 *   services             each gets its section; the service host decides in place or restart
 *   identity, interface, underlay sockets, state and control paths: not changed by a reload (they
 *                        are what the running node is); a new value is refused, naming the key
 */
import type { KernelLinkConfig, MoltnetConfig, PeerConfig } from '../config/schema.js';
import { ConfigError } from '../common/errors.js';

export interface LinkDiff<T> {
  add: T[];
  remove: string[];
  /** Changed beyond the cost: removed and added again. */
  remake: T[];
  cost: { name: string; cost: number }[];
}

export interface ReloadPlan {
  peers: LinkDiff<PeerConfig>;
  kernelLinks: LinkDiff<KernelLinkConfig>;
  routesChanged: boolean;
  /** Nothing at all differs. */
  empty: boolean;
}

/** Keys a running node cannot take without a restart. */
const FIXED_KEYS = ['uuid', 'stateDir', 'controlSocket', 'interface', 'underlay'] as const;

/** The plan, or a ConfigError naming every key that would need a restart. */
export function planReload(running: MoltnetConfig, next: MoltnetConfig, source = 'config'): ReloadPlan {
  const fixed = FIXED_KEYS.filter((k) => JSON.stringify(running[k]) !== JSON.stringify(next[k]));
  if (fixed.length > 0) {
    throw new ConfigError(
      fixed.map((k) => `${source}: ${k}: changed from ${JSON.stringify(running[k])} to ${JSON.stringify(next[k])}; a reload cannot change it (restart the daemon)`).join('\n'),
    );
  }
  const peers = diffByName(running.peers, next.peers);
  const kernelLinks = diffByName(running.kernelLinks, next.kernelLinks);
  const routesChanged = JSON.stringify(running.routes) !== JSON.stringify(next.routes);
  const empty = JSON.stringify(running) === JSON.stringify(next);
  return { peers, kernelLinks, routesChanged, empty };
}

function diffByName<T extends { name: string; cost: number }>(before: readonly T[], after: readonly T[]): LinkDiff<T> {
  const out: LinkDiff<T> = { add: [], remove: [], remake: [], cost: [] };
  const old = new Map(before.map((x) => [x.name.toLowerCase(), x]));
  for (const n of after) {
    const o = old.get(n.name.toLowerCase());
    old.delete(n.name.toLowerCase());
    if (!o) out.add.push(n);
    else if (JSON.stringify({ ...o, cost: 0 }) !== JSON.stringify({ ...n, cost: 0 })) out.remake.push(n);
    else if (o.cost !== n.cost) out.cost.push({ name: n.name, cost: n.cost });
  }
  for (const o of old.values()) out.remove.push(o.name);
  return out;
}
