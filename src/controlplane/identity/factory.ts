/** The backend a config names (identity.backend), with the Minima password from its environment variable. */
import type { IdentityBackendKind, MoltnetConfig } from '../../config/schema.js';
import type { MoltIdBackend } from './backend.js';
import { BuiltinBackend } from './builtin.js';
import { MinimaBackend } from './minima.js';
import { MinimaClient } from './minima-rpc.js';

export function makeBackend(cfg: MoltnetConfig, kind: IdentityBackendKind = cfg.identity.backend, env = process.env): MoltIdBackend {
  if (kind === 'minima') {
    return new MinimaBackend(new MinimaClient({ url: cfg.identity.minima.url, password: env[cfg.identity.minima.passwordEnv] }));
  }
  return new BuiltinBackend({ stateDir: cfg.stateDir, name: cfg.name });
}
