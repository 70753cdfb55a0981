/**
 * What the web dashboard shows, built from the same `show` answers the REST API serves. Pure: the
 * inputs are the query results (any of them may be missing, when its service is off or failed), the
 * previous link-counter sample and the time; the output is one snapshot the page draws as it is.
 *
 *   graph      routers from the OSPF topology (named from the registry, peers and status), one edge per
 *              adjacency; this node's own links laid over it (their state, BFD, traffic). Without OSPF,
 *              this node and the far ends of its links.
 *   neighbors  OSPF neighbors; routes; bfd sessions, trimmed to what a table shows
 *   links      per-link counters and rates (per second) from two successive samples
 *
 * Edge states: "up" (an adjacency both ways, or a link that is up when there is no OSPF), "half" (one
 * side still lists the other: an adjacency going or coming, or a stale LSA of a router cut off), "down"
 * (this node's link or its BFD session is down).
 */

export interface DashboardInputs {
  status?: unknown;
  links?: unknown;
  routes?: unknown;
  neighbors?: unknown;
  topology?: unknown;
  bfd?: unknown;
  registry?: unknown;
  peers?: unknown;
  /** Queries that threw, by name: shown on the page instead of silently empty tables. */
  errors?: Record<string, string>;
}

/** The counters of every link at one moment (clock milliseconds). */
export interface CounterSample {
  at: number;
  links: Record<string, LinkCounters>;
}

export interface LinkCounters {
  rx_packets: number;
  rx_bytes: number;
  tx_packets: number;
  tx_bytes: number;
  rx_drops: number;
  tx_drops: number;
}

export interface LinkRates {
  rxPps: number;
  txPps: number;
  rxBps: number;
  txBps: number;
}

export type EdgeState = 'up' | 'half' | 'down';

export interface GraphNode {
  id: string;
  label: string;
  address?: string;
  routerId?: string;
  self: boolean;
  /** False when a far router is in the LSDB but no route reaches it (cut off, its LSA not yet aged out). */
  reachable: boolean;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  state: EdgeState;
  metric?: number;
  /** This node's link on this edge, with its BFD state and traffic. */
  link?: string;
  bfd?: string;
  rates?: LinkRates;
}

export interface DashboardLink {
  name: string;
  kind?: string;
  state: string;
  peer?: string;
  counters: LinkCounters;
  /** Undefined on the first sample, or when a counter went backwards (the link was made anew). */
  rates?: LinkRates;
}

export interface DashboardSnapshot {
  /** Wall-clock time, for the page's "updated at". */
  time: string;
  self: { name?: string; address?: string; uptimeSeconds?: number };
  graph: { nodes: GraphNode[]; edges: GraphEdge[]; source: 'ospf' | 'links' };
  neighbors: { interface: string; routerId: string; state: string; address?: string; uptime?: number }[];
  routes: { prefix: string; via: string[]; source?: string }[];
  bfd: { link: string; peer?: string; state: string; remoteState?: string; diag?: string; detectionTimeMs?: number }[];
  links: DashboardLink[];
  errors: Record<string, string>;
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

const COUNTER_KEYS = ['rx_packets', 'rx_bytes', 'tx_packets', 'tx_bytes', 'rx_drops', 'tx_drops'] as const;

/** The link counters out of `show links`, for the next call's rates. */
export function sampleCounters(links: unknown, at: number): CounterSample {
  const out: Record<string, LinkCounters> = {};
  for (const l of arr(links)) {
    const name = str(l['name']);
    if (name) out[name] = countersOf(l['counters']);
  }
  return { at, links: out };
}

function countersOf(v: unknown): LinkCounters {
  const c = isObj(v) ? v : {};
  const out = {} as LinkCounters;
  for (const k of COUNTER_KEYS) out[k] = num(c[k]) ?? 0;
  return out;
}

/** Per-second rates between two samples; undefined when there is no earlier sample, no time between, or a counter went back. */
export function linkRates(prev: LinkCounters | undefined, cur: LinkCounters, dtMs: number): LinkRates | undefined {
  if (!prev || !(dtMs > 0)) return undefined;
  for (const k of COUNTER_KEYS) if (cur[k] < prev[k]) return undefined;
  const per = (a: number, b: number) => ((b - a) * 1000) / dtMs;
  return {
    rxPps: per(prev.rx_packets, cur.rx_packets),
    txPps: per(prev.tx_packets, cur.tx_packets),
    rxBps: per(prev.rx_bytes, cur.rx_bytes),
    txBps: per(prev.tx_bytes, cur.tx_bytes),
  };
}

/** Mesh address -> name, from everything that knows names: the registry, the peers, this node's status. */
function namesByAddress(i: DashboardInputs): Map<string, string> {
  const names = new Map<string, string>();
  const add = (address: unknown, name: unknown) => {
    if (typeof address === 'string' && typeof name === 'string' && name) names.set(address, name);
  };
  for (const n of arr(isObj(i.registry) ? i.registry['nodes'] : undefined)) add(n['address'], n['name']);
  for (const p of arr(i.peers)) add(p['address'], p['name']);
  for (const l of arr(i.links)) add(l['peer'], l['name']);
  if (isObj(i.status)) add(i.status['address'], i.status['name']);
  return names;
}

/** The /128 of a router's prefixes that is a node's mesh address (the first /128, else the first prefix). */
function addressOf(prefixes: unknown): string | undefined {
  const list = Array.isArray(prefixes) ? prefixes.filter((p): p is string => typeof p === 'string') : [];
  const host = list.find((p) => p.endsWith('/128')) ?? list[0];
  return host?.replace(/\/\d+$/, '');
}

const pairId = (a: string, b: string) => (a < b ? `${a}|${b}` : `${b}|${a}`);

export function buildSnapshot(i: DashboardInputs, prev: CounterSample | undefined, now: number, wallTime = new Date()): { snapshot: DashboardSnapshot; sample: CounterSample } {
  const sample = sampleCounters(i.links, now);
  const dt = prev ? now - prev.at : 0;
  const links: DashboardLink[] = arr(i.links).map((l) => {
    const name = str(l['name']) ?? '?';
    const counters = sample.links[name] ?? countersOf(undefined);
    const rates = linkRates(prev?.links[name], counters, dt);
    return { name, kind: str(l['kind']), state: str(l['state']) ?? 'unknown', peer: str(l['peer']), counters, ...(rates ? { rates } : {}) };
  });
  const bfd = arr(i.bfd).map((s) => ({
    link: str(s['link']) ?? '?',
    peer: str(s['peer']),
    state: str(s['state']) ?? 'unknown',
    remoteState: str(s['remoteState']),
    diag: str(s['diag']),
    detectionTimeMs: num(s['detectionTimeMs']),
  }));
  const neighbors = arr(i.neighbors).map((n) => ({
    interface: str(n['interface']) ?? '?',
    routerId: str(n['routerId']) ?? '?',
    state: str(n['state']) ?? 'unknown',
    address: str(n['address']),
    uptime: num(n['uptime']),
  }));
  const routes = arr(i.routes).map((r) => ({
    prefix: str(r['prefix']) ?? '?',
    via: Array.isArray(r['via']) ? r['via'].filter((v): v is string => typeof v === 'string') : [],
    source: str(r['source']),
  }));
  const status = isObj(i.status) ? i.status : {};
  const self = { name: str(status['name']), address: str(status['address']), uptimeSeconds: num(status['uptimeSeconds']) };
  const graph = buildGraph(i, self, links, bfd, routes);
  return { snapshot: { time: wallTime.toISOString(), self, graph, neighbors, routes, bfd, links, errors: { ...i.errors } }, sample };
}

function buildGraph(
  i: DashboardInputs,
  self: DashboardSnapshot['self'],
  links: DashboardLink[],
  bfd: DashboardSnapshot['bfd'],
  routes: DashboardSnapshot['routes'],
): DashboardSnapshot['graph'] {
  const names = namesByAddress(i);
  const routed = new Set(routes.map((r) => r.prefix.replace(/\/\d+$/, '')));
  const bfdByLink = new Map(bfd.map((s) => [s.link, s.state]));
  const linkState = (l: DashboardLink): EdgeState => (l.state !== 'up' || (bfdByLink.has(l.name) && bfdByLink.get(l.name) !== 'Up') ? 'down' : 'up');
  const overlay = (l: DashboardLink) => ({ link: l.name, ...(bfdByLink.has(l.name) ? { bfd: bfdByLink.get(l.name) } : {}), ...(l.rates ? { rates: l.rates } : {}) });
  const topo = isObj(i.topology) ? i.topology : undefined;
  const routers = arr(topo?.['routers']);

  if (!topo || routers.length === 0) {
    // No OSPF (or not yet an LSDB): this node and the far end of each of its links.
    const me = self.address ?? 'self';
    const nodes: GraphNode[] = [{ id: me, label: self.name ?? me, ...(self.address ? { address: self.address } : {}), self: true, reachable: true }];
    const edges: GraphEdge[] = [];
    for (const l of links) {
      const far = l.peer ?? `link:${l.name}`;
      if (!nodes.some((n) => n.id === far)) nodes.push({ id: far, label: names.get(far) ?? l.name, ...(l.peer ? { address: l.peer } : {}), self: false, reachable: routed.has(far) });
      edges.push({ id: pairId(me, far), source: me, target: far, state: linkState(l), ...overlay(l) });
    }
    return { nodes, edges, source: 'links' };
  }

  const nodes: GraphNode[] = [];
  const byAddress = new Map<string, string>();
  let selfId: string | undefined;
  for (const r of routers) {
    const id = str(r['routerId']);
    if (!id || nodes.some((n) => n.id === id)) continue;
    const address = addressOf(r['prefixes']);
    const isSelf = r['self'] === true;
    if (isSelf) selfId = id;
    if (address) byAddress.set(address, id);
    nodes.push({
      id,
      routerId: id,
      label: (address && names.get(address)) ?? (isSelf ? self.name : undefined) ?? id,
      ...(address ? { address } : {}),
      self: isSelf,
      reachable: isSelf || (address !== undefined && routed.has(address)),
    });
  }
  // Both directions of an adjacency make one edge; one direction alone is "half".
  const directed = new Map<string, { metric?: number; dirs: Set<string> }>();
  for (const e of arr(topo['edges'])) {
    const from = str(e['from']);
    const to = str(e['to']);
    if (!from || !to || from === to || !nodes.some((n) => n.id === from) || !nodes.some((n) => n.id === to)) continue;
    const id = pairId(from, to);
    const d = directed.get(id) ?? { dirs: new Set<string>() };
    d.dirs.add(from);
    d.metric = Math.min(d.metric ?? Infinity, num(e['metric']) ?? Infinity);
    directed.set(id, d);
  }
  const edges = new Map<string, GraphEdge>();
  for (const [id, d] of directed) {
    const [source, target] = id.split('|') as [string, string];
    edges.set(id, { id, source, target, state: d.dirs.size === 2 ? 'up' : 'half', ...(Number.isFinite(d.metric) ? { metric: d.metric } : {}) });
  }
  // This node's links: their state wins over the LSDB's (BFD sees a cut before OSPF floods it).
  if (selfId) {
    for (const l of links) {
      const far = l.peer ? byAddress.get(l.peer) : undefined;
      if (!far || far === selfId) continue;
      const id = pairId(selfId, far);
      const e = edges.get(id);
      const state = linkState(l) === 'down' ? 'down' : (e?.state ?? 'half');
      edges.set(id, { ...(e ?? { id, source: selfId, target: far }), state, ...overlay(l) });
    }
  }
  return { nodes, edges: [...edges.values()], source: 'ospf' };
}
