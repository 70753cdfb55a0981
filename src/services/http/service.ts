/**
 * The REST API, Prometheus endpoint and web dashboard (spec §6, DESIGN: TCP 8080 on [::1] unless configured):
 *
 *   GET /                      the dashboard (dashboard-page.ts): mesh graph, links and traffic, OSPF
 *                              neighbors, BFD, routes; its files under /assets/ (cytoscape from node_modules)
 *   GET /events                the dashboard's live feed, Server-Sent Events, a snapshot a second
 *                              (dashboard-events.ts; built from the queries below by dashboard.ts)
 *   GET /api/                  the names of what can be asked
 *   GET /api/<name>[/<sub>]    what `moltnet show <name> [sub]` answers, as JSON (status, links, routes,
 *                              ospf/neighbors, ospf/database, bfd, peers, peering, discovery, ...)
 *   GET /metrics               Prometheus text exposition (prom-client), every metric named moltnet_*
 *
 * Read only: any other method is 405, a body is refused (413), unknown paths are 404 with the list of
 * what exists, all as JSON errors. Bounded: header size and time (Node's limits, shortened), a request
 * timeout, a connection cap, a cap on open /events streams (503 beyond it). It binds only where it is
 * told (loopback by default); stop() ends the open streams first.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Service, ServiceContext } from '../../controlplane/service.js';
import { parseHostPort } from '../../config/schema.js';
import { MoltnetError } from '../../common/errors.js';
import { closeServer, listenOrWhy } from '../listen.js';
import type { DashboardInputs } from './dashboard.js';
import { DashboardFeed } from './dashboard-events.js';
import { DASHBOARD_CSP, DASHBOARD_CSS, DASHBOARD_HTML, DASHBOARD_JS } from './dashboard-page.js';

export interface HttpSection {
  /** host:port to bind, e.g. "[::1]:8080". */
  listen: string;
}

const MAX_CONNECTIONS = 256;
const REQUEST_TIMEOUT_MS = 10_000;
const HEADERS_TIMEOUT_MS = 5_000;
const MAX_HEADER_BYTES = 8 * 1024;

/** The queries a dashboard snapshot is built from, by the field of DashboardInputs each fills. */
const DASHBOARD_QUERIES: [keyof Omit<DashboardInputs, 'errors'>, string][] = [
  ['status', 'status'],
  ['links', 'links'],
  ['routes', 'routes'],
  ['neighbors', 'ospf neighbors'],
  ['topology', 'ospf topology'],
  ['bfd', 'bfd'],
  ['registry', 'registry'],
  ['peers', 'peers'],
];

/** The dashboard's graph library is not where the daemon runs (installed without its dependencies). */
export class DashboardAssetMissingError extends MoltnetError {
  constructor(why: string) {
    super(`cytoscape is not installed where the daemon runs, so the dashboard has no graph: ${why}`);
  }
}

type Asset = { type: string; body: () => Promise<string | Buffer> };

/** cytoscape's browser build, read once from node_modules when first asked. */
let cytoscapeText: Promise<Buffer> | undefined;
const cytoscapeBuild = (): Promise<Buffer> => {
  cytoscapeText ??= readFile(createRequire(import.meta.url).resolve('cytoscape/dist/cytoscape.min.js')).catch((err: Error) => {
    cytoscapeText = undefined;
    throw new DashboardAssetMissingError(err.message);
  });
  return cytoscapeText;
};

const ASSETS: Record<string, Asset> = {
  '/assets/dashboard.js': { type: 'text/javascript; charset=utf-8', body: async () => DASHBOARD_JS },
  '/assets/dashboard.css': { type: 'text/css; charset=utf-8', body: async () => DASHBOARD_CSS },
  '/assets/cytoscape.min.js': { type: 'text/javascript; charset=utf-8', body: cytoscapeBuild },
};

export class HttpService implements Service<HttpSection> {
  readonly name = 'http';
  private ctx!: ServiceContext<HttpSection>;
  private server: Server | undefined;
  private feed: DashboardFeed | undefined;
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
    this.feed = new DashboardFeed({ collect: () => this.dashboardInputs(), clock: ctx.clock, timers: ctx.timers, log: ctx.log });
    const feed = this.feed;
    ctx.queries.register('http', () => ({
      listen: ctx.config.listen,
      serving: this.failure === undefined,
      ...(this.failure ? { error: this.failure } : {}),
      ...this.address,
      counters: this.counters,
      dashboard: { clients: feed.size, maxClients: feed.maxClients, ...feed.counters },
    }));
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
    // Open /events streams would keep the daemon's stop waiting on their timers and sockets.
    this.feed?.close();
    await closeServer(server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.counters.requests++;
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return this.error(res, 405, `${req.method ?? '?'} is not served: the API is read only (GET)`, { Allow: 'GET, HEAD' });
      if (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') return this.error(res, 413, 'a GET carries no body');
      const path = new URL(req.url ?? '/', 'http://x').pathname.replace(/\/+$/, '') || '/';
      const head = req.method === 'HEAD';
      if (path === '/metrics') {
        const text = await this.ctx.metrics.registry.metrics();
        return this.send(res, 200, this.ctx.metrics.registry.contentType, text, head);
      }
      if (path === '/') return this.send(res, 200, 'text/html; charset=utf-8', DASHBOARD_HTML, head, { 'Content-Security-Policy': DASHBOARD_CSP });
      if (path === '/events') return this.events(req, res, head);
      if (path.startsWith('/assets/')) {
        const asset = ASSETS[path];
        if (!asset) return this.error(res, 404, `no asset ${path}: there are ${Object.keys(ASSETS).join(', ')}`);
        return this.send(res, 200, asset.type, await asset.body(), head);
      }
      if (path === '/api') return this.json(res, 200, { queries: this.ctx.queries.names().map((n) => `/api/${n.replace(/ /g, '/')}`) }, head);
      if (path.startsWith('/api/')) {
        const name = decodeURIComponent(path.slice(5)).split('/').filter(Boolean).join(' ');
        const handler = this.ctx.queries.get(name);
        if (!handler) return this.error(res, 404, `nothing named "${name}": try ${this.ctx.queries.names().map((n) => `/api/${n.replace(/ /g, '/')}`).join(', ')}`);
        return this.json(res, 200, await handler({ what: name }), head);
      }
      return this.error(res, 404, `no page at ${path}: the dashboard is at /, the API under /api/, metrics at /metrics`);
    } catch (err) {
      this.counters.errors++;
      this.ctx.log.warn({ url: req.url, err: (err as Error).message }, 'http request failed');
      if (!res.headersSent) this.error(res, 500, (err as Error).message);
      else res.destroy();
    }
  }

  private events(req: IncomingMessage, res: ServerResponse, head: boolean): void {
    const feed = this.feed!;
    if (head) {
      res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end();
      return;
    }
    if (feed.refuse()) return this.error(res, 503, `already ${feed.maxClients} dashboards open on this node: close one`, { 'Retry-After': '10' });
    feed.attach(req, res);
  }

  /** The query answers a dashboard snapshot is built from; a query that throws is named, not fatal. */
  private async dashboardInputs(): Promise<DashboardInputs> {
    const inputs: DashboardInputs = { errors: {} };
    await Promise.all(
      DASHBOARD_QUERIES.map(async ([field, name]) => {
        const handler = this.ctx.queries.get(name);
        if (!handler) return;
        try {
          inputs[field] = await handler({ what: name });
        } catch (err) {
          inputs.errors![name] = (err as Error).message;
        }
      }),
    );
    return inputs;
  }

  private json(res: ServerResponse, status: number, body: unknown, head = false): void {
    this.send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(body, jsonValue, 1)}\n`, head);
  }

  private error(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    this.json(res, status, { error: message });
  }

  private send(res: ServerResponse, status: number, type: string, body: string | Buffer, head: boolean, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', ...headers });
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
