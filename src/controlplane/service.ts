/**
 * The contract every part of the daemon that runs on its own implements: OSPF, BFD, and later the
 * peering, discovery, RPC, MCP, DNS and HTTP services. Modelled on BIRD's protocol hooks: a service
 * is made from its own config section, starts with a context, says whether it can take a new section
 * in place (reconfigure), and stops. The daemon registers them in one list (daemon/services.ts) and
 * restarts only the ones that cannot take a reload in place.
 *
 * The context gives a service everything it may touch, so it never reaches into the daemon:
 *   log, clock, timers  its logger; time and timers it must use instead of Date.now()/setTimeout
 *   config              its own section (reconfigure() brings the next one)
 *   node                who this node is
 *   queries             answers for `show` and the REST API, by name ("ospf neighbors")
 *   metrics             a prom-client registry scoped to the service (removed at stop)
 *   links, rib, packets the link manager, the RIB, the control-plane packet door
 *   services            other running services, by name (OSPF asks BFD for sessions)
 *   lookupRoute         the FIB's answer for a destination
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/log.js';
import type { LinkManager } from './link-manager.js';
import type { ControlPacketIo } from './packet-io.js';
import type { Rib } from './rib.js';

export interface NodeIdentity {
  uuid: string;
  /** RFC 5952 text. */
  address: string;
  /** 16 bytes each. */
  meshAddress: Buffer;
  linkLocal: Buffer;
  stateDir: string;
  mtu: number;
  /** This node's WireGuard public key (32 bytes) and UDP port, offered to peers in the handshake. */
  wireguard?: { publicKey: Uint8Array; port: number };
}

/** Timers a service uses, so tests and simulations can run it on a manual clock. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export type QueryHandler = (params: Record<string, unknown>) => unknown;

/** `show` answers by name: registered by the services that own them, read by those that serve them (REST). */
export interface QueryRegistry {
  register(name: string, handler: QueryHandler): void;
  /** Any service's (or the daemon's) query by name, as `show <name>` runs it. */
  get(name: string): QueryHandler | undefined;
  names(): string[];
}

export interface ScopedMetrics {
  readonly registry: Registry;
  counter<T extends string>(cfg: ConstructorParameters<typeof Counter<T>>[0]): Counter<T>;
  gauge<T extends string>(cfg: ConstructorParameters<typeof Gauge<T>>[0]): Gauge<T>;
  histogram<T extends string>(cfg: ConstructorParameters<typeof Histogram<T>>[0]): Histogram<T>;
}

export interface ServiceLookup {
  get<T>(name: string): T | undefined;
}

export interface ServiceContext<S> {
  log: Logger;
  clock: Clock;
  timers: Timers;
  config: S;
  node: NodeIdentity;
  queries: QueryRegistry;
  metrics: ScopedMetrics;
  links: LinkManager;
  rib: Rib;
  packets: ControlPacketIo;
  services: ServiceLookup;
  /** The link a packet to `dst` leaves on by the FIB (control-plane packets such as multihop BFD). */
  lookupRoute(dst: Uint8Array): number | undefined;
}

export interface Service<S> {
  readonly name: string;
  start(ctx: ServiceContext<S>): Promise<void> | void;
  /** Take a changed config section in place; false: the daemon restarts the service with it. */
  reconfigure?(section: S): boolean;
  stop(): Promise<void> | void;
}

/** An entry of the daemon's service list. */
export interface ServiceDefinition<C, S> {
  name: string;
  /** This service's section of the whole config. */
  section(config: C): S;
  enabled(section: S): boolean;
  create(): Service<S>;
  /** For `show <name> ...` when the service is not running. */
  disabledHint: string;
}

/** A prom-client registry that remembers what a service made, so it can all go when it stops. */
export function scopedMetrics(registry: Registry): ScopedMetrics & { removeAll(): void } {
  const names: string[] = [];
  const track = <M>(name: string, m: M): M => {
    names.push(name);
    return m;
  };
  return {
    registry,
    counter: (cfg) => track(cfg.name, new Counter({ ...cfg, registers: [registry] })),
    gauge: (cfg) => track(cfg.name, new Gauge({ ...cfg, registers: [registry] })),
    histogram: (cfg) => track(cfg.name, new Histogram({ ...cfg, registers: [registry] })),
    removeAll() {
      for (const n of names.splice(0)) registry.removeSingleMetric(n);
    },
  };
}
