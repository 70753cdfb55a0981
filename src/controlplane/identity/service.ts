/**
 * MoltID as a service of the daemon: it answers `show identity` with the node's identity card, and
 * with the Minima backend it re-applies the contacts lockdown (no unsolicited contacts, the allow list
 * from stateDir) when the daemon starts, since Maxima keeps its allow list in RAM only. A Minima node
 * that is not reachable yet is retried with backoff on the service's timers; the daemon does not wait.
 */
import type { MoltnetConfig } from '../../config/schema.js';
import type { Service, ServiceContext } from '../service.js';
import type { MoltIdBackend } from './backend.js';
import { BuiltinBackend } from './builtin.js';
import { AllowList, applyLockdown } from './contacts.js';
import { MinimaBackend } from './minima.js';
import { MinimaClient } from './minima-rpc.js';

export interface IdentitySection {
  identity: MoltnetConfig['identity'];
  name: string | undefined;
}

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 60_000;

export class IdentityService implements Service<IdentitySection> {
  readonly name = 'identity';
  private ctx!: ServiceContext<IdentitySection>;
  private moltid!: MoltIdBackend;
  private timer: unknown;
  private retryMs = FIRST_RETRY_MS;
  private stopped = false;
  /** The lockdown's state for `show identity`. */
  private lockdown: { applied: boolean; allowed: number; lastError?: string } | undefined;

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  start(ctx: ServiceContext<IdentitySection>): void {
    this.ctx = ctx;
    const { identity, name } = ctx.config;
    this.moltid =
      identity.backend === 'minima'
        ? new MinimaBackend(new MinimaClient({ url: identity.minima.url, password: this.env[identity.minima.passwordEnv], startAttempts: 1 }))
        : new BuiltinBackend({ stateDir: ctx.node.stateDir, ...(name !== undefined ? { name } : {}) });
    ctx.queries.register('identity', async () => ({
      backend: identity.backend,
      ...(await this.moltid.info().catch((err: Error) => ({ error: err.message }))),
      ...(this.lockdown ? { lockdown: this.lockdown } : {}),
    }));
    if (this.moltid instanceof MinimaBackend) {
      this.lockdown = { applied: false, allowed: 0 };
      void this.applyLockdown();
    }
  }

  /** The node's MoltID key, for those that sign with it (peering). */
  get backend(): MoltIdBackend {
    return this.moltid;
  }

  /** Any change of backend, URL, password variable or name: a new backend. */
  reconfigure(): boolean {
    return false;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.ctx.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async applyLockdown(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    try {
      const keys = await new AllowList(this.ctx.node.stateDir).list();
      await applyLockdown(this.moltid as MinimaBackend, keys);
      if (this.stopped) return;
      this.lockdown = { applied: true, allowed: keys.length };
      this.ctx.log.info({ allowed: keys.length }, 'MoltID contacts lockdown applied to the Minima node');
    } catch (err) {
      if (this.stopped) return;
      const message = (err as Error).message;
      // Said once at warn; the retries that follow are debug until one succeeds.
      if (this.lockdown?.lastError === undefined) this.ctx.log.warn({ err: message, retryMs: this.retryMs }, 'MoltID contacts lockdown not applied yet; retrying');
      else this.ctx.log.debug({ err: message, retryMs: this.retryMs }, 'MoltID contacts lockdown retry failed');
      this.lockdown = { applied: false, allowed: 0, lastError: message };
      this.timer = this.ctx.timers.setTimeout(() => void this.applyLockdown(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    }
  }
}
