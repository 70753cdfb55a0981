/**
 * Runs the daemon's services: builds each one's context, starts them in list order, stops them in
 * reverse, and on reload gives each its new section. A service that cannot take it in place (or is
 * switched on or off) is restarted alone; the others keep running. Queries (`show`) and metrics a
 * service registered go away with it.
 */
import type { Registry } from 'prom-client';
import type { Logger } from '../common/log.js';
import { MoltnetError } from '../common/errors.js';
import type { MoltnetConfig } from '../config/schema.js';
import { scopedMetrics, type QueryHandler, type Service, type ServiceContext } from '../controlplane/service.js';
import type { AnyServiceDefinition } from './services.js';

/** What every service's context shares; the host adds the per-service parts. */
export type SharedContext = Omit<ServiceContext<unknown>, 'log' | 'config' | 'queries' | 'metrics' | 'services'>;

interface Running {
  def: AnyServiceDefinition;
  service: Service<unknown>;
  section: unknown;
  queries: string[];
  removeMetrics(): void;
}

export class ServiceHost {
  private readonly running = new Map<string, Running>();
  /** Query name -> handler, for every source (the daemon's own and the services'). */
  readonly queries = new Map<string, QueryHandler>();

  constructor(
    private readonly defs: readonly AnyServiceDefinition[],
    private readonly shared: SharedContext,
    private readonly log: Logger,
    private readonly registry: Registry,
  ) {}

  get<T>(name: string): T | undefined {
    return this.running.get(name)?.service as T | undefined;
  }

  names(): string[] {
    return [...this.running.keys()];
  }

  async startAll(config: MoltnetConfig): Promise<void> {
    for (const def of this.defs) {
      const section = def.section(config);
      if (def.enabled(section)) await this.start(def, section);
    }
  }

  async stopAll(): Promise<void> {
    for (const name of [...this.running.keys()].reverse()) await this.stop(name);
  }

  /** Give every service its section of the new config; returns what was restarted, started, stopped. */
  async reconfigure(config: MoltnetConfig): Promise<{ restarted: string[]; started: string[]; stopped: string[]; changed: string[] }> {
    const out = { restarted: [] as string[], started: [] as string[], stopped: [] as string[], changed: [] as string[] };
    for (const def of this.defs) {
      const section = def.section(config);
      const cur = this.running.get(def.name);
      const wanted = def.enabled(section);
      if (!cur) {
        if (wanted) {
          await this.start(def, section);
          out.started.push(def.name);
        }
        continue;
      }
      if (!wanted) {
        await this.stop(def.name);
        out.stopped.push(def.name);
        continue;
      }
      if (JSON.stringify(section) === JSON.stringify(cur.section)) continue;
      if (cur.service.reconfigure?.(section)) {
        cur.section = section;
        out.changed.push(def.name);
        continue;
      }
      await this.stop(def.name);
      await this.start(def, section);
      out.restarted.push(def.name);
    }
    return out;
  }

  /** The hint for a `show` whose service is not running, if any. */
  disabledHint(what: string): string | undefined {
    const def = this.defs.find((d) => what === d.name || what.startsWith(`${d.name} `));
    return def && !this.running.has(def.name) ? def.disabledHint : undefined;
  }

  private async start(def: AnyServiceDefinition, section: unknown): Promise<void> {
    const service = def.create() as Service<unknown>;
    const metrics = scopedMetrics(this.registry);
    const run: Running = { def, service, section, queries: [], removeMetrics: () => metrics.removeAll() };
    const ctx: ServiceContext<unknown> = {
      ...this.shared,
      log: this.log.child({ service: def.name }),
      config: section,
      metrics,
      services: { get: <T>(name: string) => this.get<T>(name) },
      queries: {
        register: (name, handler) => {
          if (this.queries.has(name)) throw new MoltnetError(`query "${name}" is registered twice`);
          this.queries.set(name, handler);
          run.queries.push(name);
        },
        get: (name) => this.queries.get(name),
        names: () => [...this.queries.keys()].sort(),
      },
    };
    this.running.set(def.name, run);
    try {
      await service.start(ctx);
    } catch (err) {
      await this.stop(def.name);
      throw err;
    }
  }

  private async stop(name: string): Promise<void> {
    const run = this.running.get(name);
    if (!run) return;
    this.running.delete(name);
    try {
      await run.service.stop();
    } catch (err) {
      this.log.warn({ err, service: name }, 'service failed to stop cleanly');
    }
    for (const q of run.queries) this.queries.delete(q);
    run.removeMetrics();
  }
}
