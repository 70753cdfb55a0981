/**
 * The daemon's control socket: a Unix socket (mode 0600, root only) speaking JSON lines.
 *   request:  {"id": 1, "method": "show", "params": {"what": "routes"}}
 *   response: {"id": 1, "result": ...} or {"id": 1, "error": {"message": "..."}}
 * A bad request gets an error response; it never takes the daemon down.
 */
import { createServer, createConnection, type Server, type Socket } from 'node:net';
import { chmod, mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { MoltnetError } from '../common/errors.js';
import type { Logger } from '../common/log.js';

export type ControlHandler = (method: string, params: Record<string, unknown>) => Promise<unknown> | unknown;

const MAX_LINE = 64 * 1024;

export class ControlServer {
  private server: Server | undefined;

  constructor(
    private readonly path: string,
    private readonly handler: ControlHandler,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    if (await isListening(this.path)) {
      throw new MoltnetError(`another moltnet daemon is already serving ${this.path}`);
    }
    await unlink(this.path).catch(() => undefined);
    const server = createServer((sock) => this.serve(sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => resolve());
    });
    await chmod(this.path, 0o600);
    this.server = server;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    await unlink(this.path).catch(() => undefined);
  }

  private serve(sock: Socket): void {
    let buffered = '';
    sock.setEncoding('utf8');
    sock.on('error', () => undefined);
    sock.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_LINE && !buffered.includes('\n')) {
        sock.end(JSON.stringify({ id: null, error: { message: 'request too long' } }) + '\n');
        return;
      }
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim()) void this.answer(sock, line);
      }
    });
  }

  private async answer(sock: Socket, line: string): Promise<void> {
    let id: unknown = null;
    let reply: unknown;
    try {
      const req = JSON.parse(line) as unknown;
      if (typeof req !== 'object' || req === null || typeof (req as { method?: unknown }).method !== 'string') {
        throw new MoltnetError('request must be a JSON object with a string "method"');
      }
      const r = req as { id?: unknown; method: string; params?: unknown };
      id = r.id ?? null;
      const params = (typeof r.params === 'object' && r.params !== null ? r.params : {}) as Record<string, unknown>;
      reply = { id, result: await this.handler(r.method, params) };
    } catch (err) {
      const known = err instanceof MoltnetError || err instanceof SyntaxError;
      if (!known) this.log.warn({ err }, 'control request failed');
      const exitCode = err instanceof MoltnetError ? err.exitCode : 1;
      reply = { id, error: { message: err instanceof SyntaxError ? `bad JSON: ${err.message}` : String((err as Error).message), exitCode } };
    }
    if (!sock.destroyed) sock.write(JSON.stringify(reply) + '\n');
  }
}

function isListening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}
