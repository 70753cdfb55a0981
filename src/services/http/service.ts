/**
 * The REST API and Prometheus endpoint (spec §6, DESIGN: TCP 8080 on [::1] unless configured):
 *
 *   GET /api/                  the names of what can be asked
 *   GET /api/<name>[/<sub>]    what `moltnet show <name> [sub]` answers, as JSON (status, links, routes,
 *                              ospf/neighbors, ospf/database, bfd, peers, peering, discovery, ...)
 *   GET /metrics               Prometheus text exposition (prom-client), every metric named moltnet_*
 *
 * Read only: any other method is 405, a body is refused (413), unknown paths are 404 with the list of
 * what exists, all as JSON errors. Bounded: header size and time (Node's limits, shortened), a request
 * timeout, a connection cap. It binds only where it is told (loopback by default).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Service, ServiceContext } from '../../controlplane/service.js';
import { parseHostPort } from '../../config/schema.js';
import { closeServer, listenOrWhy } from '../listen.js';

export interface HttpSection {
  /** host:port to bind, e.g. "[::1]:8080". */
  listen: string;
}

const MAX_CONNECTIONS = 256;
const REQUEST_TIMEOUT_MS = 10_000;
const HEADERS_TIMEOUT_MS = 5_000;
const MAX_HEADER_BYTES = 8 * 1024;

export class HttpService implements Service<HttpSection> {
  readonly name = 'http';
  private ctx!: ServiceContext<HttpSection>;
  private server: Server | undefined;
  readonly counters = { requests: 0, errors: 0 };
  /** Why it does not serve (its address taken or missing). */
  private failure: string | undefined;
  /** Where it listens, once it does. */
  address: { host: string; port: number } | undefined;

  async start(ctx: ServiceContext<HttpSection>): Promise<void> {
    this.ctx = ctx;
    const { host, port } = parseHostPort(ctx.config.listen);
    const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: HEADERS_TIMEOUT_MS }, (req, res) => {
      void this.handle(req, res);
    });
    server.maxConnections = MAX_CONNECTIONS;
    server.on('clientError', (_err, socket) => socket.destroy());
    this.server = server;
    ctx.queries.register('http', () => ({ listen: ctx.config.listen, serving: this.failure === undefined, ...(this.failure ? { error: this.failure } : {}), ...this.address, counters: this.counters }));
    this.failure = await listenOrWhy(server, host, port);
    if (this.failure) {
      ctx.log.error({ why: this.failure }, 'the REST API is not served: its address is taken or missing');
      this.server = undefined;
      return;
    }
    server.on('error', (err) => ctx.log.error({ err: err.message }, 'http server error'));
    const a = server.address();
    this.address = a && typeof a === 'object' ? { host: a.address, port: a.port } : undefined;
    ctx.log.info({ listen: ctx.config.listen }, 'REST API and /metrics listen');
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await closeServer(server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.counters.requests++;
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return this.error(res, 405, `${req.method ?? '?'} is not served: the API is read only (GET)`, { Allow: 'GET, HEAD' });
      if (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') return this.error(res, 413, 'a GET carries no body');
      const path = new URL(req.url ?? '/', 'http://x').pathname.replace(/\/+$/, '') || '/';
      if (path === '/metrics') {
        const text = await this.ctx.metrics.registry.metrics();
        return this.send(res, 200, this.ctx.metrics.registry.contentType, text, req.method === 'HEAD');
      }
      if (path === '/api') return this.json(res, 200, { queries: this.ctx.queries.names().map((n) => `/api/${n.replace(/ /g, '/')}`) }, req.method === 'HEAD');
      if (path.startsWith('/api/')) {
        const name = decodeURIComponent(path.slice(5)).split('/').filter(Boolean).join(' ');
        const handler = this.ctx.queries.get(name);
        if (!handler) return this.error(res, 404, `nothing named "${name}": try ${this.ctx.queries.names().map((n) => `/api/${n.replace(/ /g, '/')}`).join(', ')}`);
        return this.json(res, 200, await handler({ what: name }), req.method === 'HEAD');
      }
      return this.error(res, 404, `no page at ${path}: the API is under /api/, metrics at /metrics`);
    } catch (err) {
      this.counters.errors++;
      this.ctx.log.warn({ url: req.url, err: (err as Error).message }, 'http request failed');
      if (!res.headersSent) this.error(res, 500, (err as Error).message);
      else res.destroy();
    }
  }

  private json(res: ServerResponse, status: number, body: unknown, head = false): void {
    this.send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(body, jsonValue, 1)}\n`, head);
  }

  private error(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    this.json(res, status, { error: message });
  }

  private send(res: ServerResponse, status: number, type: string, body: string, head: boolean): void {
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
    res.end(head ? undefined : body);
  }
}

/** Buffers and bigints as the control socket's JSON shows them. */
function jsonValue(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
    return `0x${Buffer.from((v as { data: number[] }).data).toString('hex')}`;
  }
  return v;
}
