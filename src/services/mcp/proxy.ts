/**
 * The MCP proxy (spec §6.2, phase 3): a local agent that speaks only to localhost reaches any mesh
 * member's MCP server through its own node.
 *
 *   http://[::1]:6801/mcp/<mesh address | name | name.molt>   ->   http://[<address>]:6801/mcp
 *
 * It relays HTTP, not MCP: each request (POST messages, GET streams, DELETE session ends) goes to the
 * target with the headers Streamable HTTP uses, and the answer streams back as it comes (SSE included).
 * So sessions, protocol versions and notifications pass through untouched, whatever the target serves.
 * Requests leave from this node's mesh address, as a mesh member's own would.
 *
 * Names resolve as mesh DNS resolves them (verified registry bindings and the config). Bounded: request
 * bodies (1 MiB), connections, the time to reach the target; an unreachable or unknown target is a
 * JSON-RPC error with a reason, never a hang.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Service, ServiceContext } from '../../controlplane/service.js';
import { formatIpv6, isMeshAddress, parseIpv6 } from '../../common/address.js';
import { parseHostPort } from '../../config/schema.js';
import { closeServer, listenOrWhy } from '../listen.js';

export interface McpProxySection {
  /** host:port the proxy listens on (loopback by default). */
  listen: string;
  /** The MCP port of the targets. */
  targetPort: number;
}

const MAX_BODY = 1024 * 1024;
const MAX_CONNECTIONS = 64;
const CONNECT_TIMEOUT_MS = 5_000;
/** Headers of Streamable HTTP that travel each way; the rest (hop-by-hop, host) do not. */
const REQUEST_HEADERS = ['content-type', 'accept', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id', 'authorization'];
const RESPONSE_HEADERS = ['content-type', 'mcp-session-id', 'mcp-protocol-version', 'cache-control', 'www-authenticate', 'allow'];

export class McpProxyService implements Service<McpProxySection> {
  readonly name = 'mcp-proxy';
  private ctx!: ServiceContext<McpProxySection>;
  private server: Server | undefined;
  private failure: string | undefined;
  readonly counters = { requests: 0, relayed: 0, unknown_target: 0, unreachable: 0, refused: 0 };

  async start(ctx: ServiceContext<McpProxySection>): Promise<void> {
    this.ctx = ctx;
    const { host, port } = parseHostPort(ctx.config.listen);
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/mcp/<address|name>`;
    ctx.queries.register('mcp-proxy', () => ({ url, serving: this.failure === undefined, ...(this.failure ? { error: this.failure } : {}), counters: this.counters }));
    // No request timeout: a relayed GET is a long-lived event stream. Idle sockets are still bounded.
    const server = createServer({ requestTimeout: 0, headersTimeout: 5_000 }, (req, res) => this.handle(req, res));
    server.maxConnections = MAX_CONNECTIONS;
    server.on('clientError', (_e, s) => s.destroy());
    this.failure = await listenOrWhy(server, host, port);
    if (this.failure) {
      ctx.log.error({ why: this.failure }, 'the MCP proxy is not served: its port is taken');
      return;
    }
    this.server = server;
    ctx.log.info({ url }, 'MCP proxy listens');
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await closeServer(server);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.counters.requests++;
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const m = /^\/mcp\/([^/]+)\/?$/.exec(path);
    if (!m) return this.fail(res, 404, `the proxy relays /mcp/<mesh address or name>, not ${path}`);
    const target = this.resolve(decodeURIComponent(m[1]!));
    if ('error' in target) {
      this.counters.unknown_target++;
      return this.fail(res, 404, target.error);
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY) {
      this.counters.refused++;
      return this.fail(res, 413, `request body over ${MAX_BODY} bytes`);
    }
    const headers: Record<string, string> = {};
    for (const h of REQUEST_HEADERS) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    const upstream = request({
      host: target.address,
      port: this.ctx.config.targetPort,
      family: 6,
      localAddress: this.ctx.node.address,
      method: req.method,
      path: '/mcp',
      headers,
      timeout: CONNECT_TIMEOUT_MS,
    });
    upstream.on('socket', (s) => {
      // The timeout bounds reaching the target; once it answers, a stream may stay quiet for long.
      s.once('connect', () => upstream.setTimeout(0));
    });
    upstream.on('timeout', () => upstream.destroy(new Error(`no answer from ${target.address} port ${this.ctx.config.targetPort} within ${CONNECT_TIMEOUT_MS / 1000} s`)));
    upstream.on('error', (err) => {
      this.counters.unreachable++;
      this.ctx.log.debug({ target: target.address, err: err.message }, 'MCP proxy: target unreachable');
      if (!res.headersSent) this.fail(res, 502, `${target.label}: ${err.message}`);
      else res.destroy();
    });
    upstream.on('response', (answer) => {
      this.counters.relayed++;
      const back: Record<string, string> = {};
      for (const h of RESPONSE_HEADERS) {
        const v = answer.headers[h];
        if (typeof v === 'string') back[h] = v;
      }
      res.writeHead(answer.statusCode ?? 502, back);
      answer.pipe(res);
      answer.on('error', () => res.destroy());
    });
    // The client going away ends the relayed request (and a stream the target holds open for it).
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    let n = 0;
    req.on('data', (d: Buffer) => {
      n += d.length;
      if (n > MAX_BODY) {
        this.counters.refused++;
        upstream.destroy();
        if (!res.headersSent) this.fail(res, 413, `request body over ${MAX_BODY} bytes`);
        req.destroy();
      }
    });
    req.pipe(upstream);
  }

  /** A mesh address as given, or a name as mesh DNS knows it. */
  private resolve(input: string): { address: string; label: string } | { error: string } {
    const bytes = parseIpv6(input);
    if (bytes) {
      if (!isMeshAddress(bytes)) return { error: `${input} is not a MoltNet address (fd00:6d6f:6c74::/48)` };
      const address = formatIpv6(bytes);
      return { address, label: address };
    }
    const name = input.toLowerCase().replace(/\.$/, '').replace(/\.molt$/, '');
    const dns = this.ctx.queries.get('dns')?.({ what: 'dns' }) as { names?: { name: string; address: string }[] } | undefined;
    const names = dns?.names ?? [];
    const hit = names.find((x) => x.name === name);
    if (!hit) return { error: `no node named "${name}" is known here (known: ${names.map((x) => x.name).join(', ') || 'none'})` };
    return { address: hit.address, label: `${name} (${hit.address})` };
  }

  private fail(res: ServerResponse, status: number, message: string): void {
    const text = JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null });
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }
}
