/**
 * MoltNet nodes in network namespaces joined by veths carrying the underlay, one tunnel link (VXLAN or
 * GRE-in-UDP) per edge. buildChain: n1 - n2 - ... - nN with static routes toward the far nodes;
 * buildTopology: any edges, routing left to OSPF or given per node.
 * Used by `moltnet demo` and by the integration tests (with a prefix unique to the run).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { stringify } from 'yaml';
import { uuidToMeshAddress } from '../common/address.js';
import { PORTS } from '../common/ports.js';
import { connectVeth, createNamespace, deleteNamespace, startDaemon, stopProcess, waitForDaemon, waitForPeers } from './netns.js';

/** The spec's three agents come first, so the demo shows the addresses the spec talks about. */
export const SPEC_AGENTS = [
  { name: 'agenticmesh', uuid: 'daa46e88-46c5-4af7-9268-1482c54c1922' },
  { name: 'clawdboy', uuid: '88833763-60b7-47db-8703-349c6b2c70ff' },
  { name: 'carlotta', uuid: 'f8a9ce03-f512-4311-8792-519109168903' },
];

export interface ChainNode {
  index: number;
  name: string;
  uuid: string;
  address: string;
  ns: string;
  configPath: string;
  socket: string;
  logPath: string;
  pid?: number;
}

export interface Chain {
  prefix: string;
  dir: string;
  link: 'vxlan' | 'gre' | 'wireguard';
  underlay: 'ipv4' | 'ipv6';
  nodes: ChainNode[];
  /** The veth on node i's side toward node i+1 is `${prefix}v${i}a`, the other end `${prefix}v${i}b`. */
  veths: string[];
  /** Per edge: its nodes and the underlay address of each end. */
  edges: { a: number; b: number; addrA: string; addrB: string; port: number }[];
}

export interface ChainOptions {
  /** Namespace and interface name prefix (short: interface names are at most 15 bytes). */
  prefix: string;
  nodes: number;
  link?: 'vxlan' | 'gre' | 'wireguard';
  underlay?: 'ipv4' | 'ipv6';
  dir: string;
  cliPath: string;
  detached?: boolean;
  /** Extra config for every node. */
  extra?: Record<string, unknown>;
  /** Per-node extra config (merged over `extra`). */
  perNode?: (index: number) => Record<string, unknown>;
}

/** Underlay address of node `side` (0 = left end, 1 = right end) of hop i. */
function underlayAddr(kind: 'ipv4' | 'ipv6', hop: number, side: 0 | 1): string {
  // 198.18.0.0/15 is set aside for benchmarking (RFC 2544); fdff:6d6e:... is a ULA of our own. Both exist
  // only inside the namespaces the chain creates.
  return kind === 'ipv4' ? `198.18.${hop}.${side + 1}` : `fdff:6d6e:${hop.toString(16)}::${side + 1}`;
}

function endpoint(kind: 'ipv4' | 'ipv6', hop: number, side: 0 | 1, port: number): string {
  const a = underlayAddr(kind, hop, side);
  return kind === 'ipv4' ? `${a}:${port}` : `[${a}]:${port}`;
}

export function agentFor(i: number): { name: string; uuid: string } {
  return SPEC_AGENTS[i] ?? { name: `agent${i + 1}`, uuid: randomUUID() };
}

/** The edges of a ring of n nodes: 0-1, 1-2, ..., (n-1)-0. */
export function ringEdges(n: number): [number, number][] {
  return Array.from({ length: n }, (_, i): [number, number] => [i, (i + 1) % n]);
}

export async function buildChain(o: ChainOptions): Promise<Chain> {
  const edges: [number, number][] = [];
  for (let i = 0; i + 1 < o.nodes; i++) edges.push([i, i + 1]);
  return buildTopology({ ...o, edges, staticRoutes: 'chain' });
}

export interface TopologyOptions extends ChainOptions {
  /** Node index pairs; one veth and one tunnel link each. */
  edges: [number, number][];
  /** 'chain': static routes toward the far nodes of a chain; 'none': leave routing to OSPF. */
  staticRoutes: 'chain' | 'none';
  /** Called right after the daemons are spawned (benchmarks time from here); with startConcurrency, the first. */
  onDaemonsStarted?: () => void;
  /**
   * Start the daemons at most this many at a time (each waited for until it is up before the next is
   * spawned); default all at once. A daemon's start is CPU-bound (~1 s of CPU): dozens at once on a small
   * machine take longer than the start timeout.
   */
  startConcurrency?: number;
  /** Edge indexes that get their veth but no peer entries (for peers added at run time). */
  unconfiguredEdges?: number[];
  /** The agents (name, UUID) of the nodes, in order; default: the spec's, then random. */
  agents?: { name: string; uuid: string }[];
}

/** Nodes joined by the given edges (hop i of `edges` gets underlay subnet i). */
export async function buildTopology(o: TopologyOptions): Promise<Chain> {
  const link = o.link ?? 'vxlan';
  const underlay = o.underlay ?? 'ipv6';
  const port = link === 'gre' ? PORTS.greInUdp : link === 'wireguard' ? PORTS.wireguard : PORTS.vxlan;
  await mkdir(o.dir, { recursive: true, mode: 0o700 });
  const nodes: ChainNode[] = [];
  for (let i = 0; i < o.nodes; i++) {
    const a = o.agents?.[i] ?? agentFor(i);
    nodes.push({
      index: i,
      name: a.name,
      uuid: a.uuid,
      address: uuidToMeshAddress(a.uuid),
      ns: `${o.prefix}n${i + 1}`,
      configPath: join(o.dir, `node${i + 1}.yaml`),
      socket: join(o.dir, `node${i + 1}.sock`),
      logPath: join(o.dir, `node${i + 1}.log`),
    });
  }
  const chain: Chain = { prefix: o.prefix, dir: o.dir, link, underlay, nodes, veths: [], edges: [] };
  try {
    for (const n of nodes) await createNamespace(n.ns);
    const peers: Record<string, unknown>[][] = nodes.map(() => []);
    for (const [h, [i, j]] of o.edges.entries()) {
      const len = underlay === 'ipv4' ? 24 : 64;
      const a = `${o.prefix}v${h}a`;
      const b = `${o.prefix}v${h}b`;
      await connectVeth(nodes[i]!.ns, a, `${underlayAddr(underlay, h, 0)}/${len}`, nodes[j]!.ns, b, `${underlayAddr(underlay, h, 1)}/${len}`);
      chain.veths.push(a);
      chain.edges.push({ a: i, b: j, addrA: underlayAddr(underlay, h, 0), addrB: underlayAddr(underlay, h, 1), port });
      if (o.unconfiguredEdges?.includes(h)) continue;
      peers[i]!.push({ name: nodes[j]!.name, uuid: nodes[j]!.uuid, endpoint: endpoint(underlay, h, 1, port), link });
      peers[j]!.push({ name: nodes[i]!.name, uuid: nodes[i]!.uuid, endpoint: endpoint(underlay, h, 0, port), link });
    }
    for (const n of nodes) {
      const i = n.index;
      const routes =
        o.staticRoutes === 'chain'
          ? nodes
              .filter((m) => Math.abs(m.index - i) > 1)
              .map((m) => ({ prefix: `${m.address}/128`, via: nodes[m.index < i ? i - 1 : i + 1]!.name }))
          : [];
      const config = {
        uuid: n.uuid,
        name: n.name,
        stateDir: join(o.dir, `state${i + 1}`),
        controlSocket: n.socket,
        peers: peers[i],
        routes,
        // Topologies are built edge by edge: LAN beacons would join the unconfigured ones. Tests that
        // want LAN discovery turn it on.
        discovery: { lan: false },
        ...o.extra,
        ...o.perNode?.(i),
      };
      // MOLTNET_WORKERS=2 runs every node of every topology with that many forwarding workers (the whole
      // integration suite over multi-queue molt0 and steered socket groups); a test's own interface keys win.
      const workers = process.env['MOLTNET_WORKERS'];
      if (workers) {
        const own = config as { interface?: Record<string, unknown> };
        own.interface = { workers: Number(workers), ...own.interface };
      }
      await writeFile(n.configPath, stringify(config), { mode: 0o600 });
    }
    const spawn = (n: ChainNode) => (n.pid = startDaemon(n.ns, o.cliPath, n.configPath, n.logPath, o.detached ?? false));
    if (o.startConcurrency === undefined) {
      for (const n of nodes) spawn(n);
      o.onDaemonsStarted?.();
      await Promise.all(nodes.map((n) => waitForDaemon(n.socket, 20_000)));
    } else {
      // At most startConcurrency daemons starting (spawned, not yet up) at a time.
      let next = 0;
      const worker = async () => {
        while (next < nodes.length) {
          const n = nodes[next++]!;
          spawn(n);
          if (next === 1) o.onDaemonsStarted?.();
          // Longer than all at once: the daemons already up keep a loaded machine busier still.
          await waitForDaemon(n.socket, 60_000);
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, o.startConcurrency) }, worker));
    }
    await Promise.all(nodes.map((n) => waitForPeers(n.socket, 20_000)));
  } catch (err) {
    await destroyChain(chain);
    throw err;
  }
  return chain;
}

export async function destroyChain(chain: Chain, removeDir = true): Promise<void> {
  await Promise.all(chain.nodes.map((n) => (n.pid !== undefined ? stopProcess(n.pid) : undefined)));
  for (const n of chain.nodes) await deleteNamespace(n.ns);
  if (removeDir) await rm(chain.dir, { recursive: true, force: true });
}
