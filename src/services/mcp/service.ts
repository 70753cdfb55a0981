/**
 * MCP over MoltNet (spec §6.2): the official SDK's server on Streamable HTTP at
 * http://[<mesh address>]:6801/mcp, stateless (a server and transport per request, as the SDK's
 * stateless mode is meant to be used), so a client anywhere in the mesh can inspect this node.
 *
 *   tools       network_diagnosis {address}   reachability, the path (route, next hop) and the RTT to a
 *                                             mesh address from this node (three pings)
 *               rfc_lookup {rfc?}             the RFCs of the spec's Appendix A: title, relevance, and
 *                                             what this node implements of each
 *               topology_map                  the mesh graph from the OSPF LSDB
 *   resources   moltnet://routing_table, moltnet://neighbor_state, moltnet://interface_stats
 *
 * Bounded: request bodies (1 MiB), connections, one diagnosis at a time per node, and only mesh
 * addresses are pinged.
 *
 * This file is the listener; the SDK (with zod and its own dependencies: 9 MiB of heap, some 15 MiB
 * resident) is in sdk-server.ts, loaded at the first request, so a node nobody asks carries none of it.
 * Evaluating the SDK's modules holds the event loop for 0.2-0.7 s on a busy 2-core host, longer than
 * BFD's 300 ms detection time; BFD rides that out: the forwarding thread stands in for this thread's
 * packets (src/dataplane/bfd-stand-in.ts) and a late detection timer waits for the packets queued behind
 * it (bfd service, caughtUp) before it declares a session down.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Service, ServiceContext } from '../../controlplane/service.js';
import { formatIpv6, isMeshAddress, parseIpv6 } from '../../common/address.js';
import { closeServer, listenOrWhy } from '../listen.js';
import type { McpTools } from './sdk-server.js';

type SdkServer = typeof import('./sdk-server.js');

export interface McpSection {
  port: number;
}

const MAX_BODY = 1024 * 1024;
const MAX_CONNECTIONS = 64;

export class McpService implements Service<McpSection>, McpTools {
  readonly name = 'mcp';
  private ctx!: ServiceContext<McpSection>;
  private server: Server | undefined;
  private sdk: Promise<SdkServer> | undefined;
  private failure: string | undefined;
  private diagnosing = false;
  readonly counters = { requests: 0, tool_calls: 0, resource_reads: 0, errors: 0 };

  async start(ctx: ServiceContext<McpSection>): Promise<void> {
    this.ctx = ctx;
    const host = ctx.node.address;
    const url = `http://[${host}]:${ctx.config.port}/mcp`;
    ctx.queries.register('mcp', () => ({ url, serving: this.failure === undefined, ...(this.failure ? { error: this.failure } : {}), counters: this.counters }));
    const server = createServer({ requestTimeout: 30_000, headersTimeout: 5_000 }, (req, res) => void this.handle(req, res));
    server.maxConnections = MAX_CONNECTIONS;
    server.on('clientError', (_e, s) => s.destroy());
    this.failure = await listenOrWhy(server, host, ctx.config.port);
    if (this.failure) {
      ctx.log.error({ why: this.failure }, 'MCP is not served: its port is taken');
      return;
    }
    this.server = server;
    ctx.log.info({ url }, 'MCP listens');
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await closeServer(server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.counters.requests++;
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== '/mcp') return this.plain(res, 404, { error: `MCP is at /mcp, not ${path}` });
    // Stateless: no sessions to resume or end, so only POST carries messages.
    if (req.method !== 'POST') return this.plain(res, 405, { jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: this server is stateless, POST /mcp' }, id: null }, { Allow: 'POST' });
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req, MAX_BODY));
    } catch (err) {
      this.counters.errors++;
      return this.plain(res, 400, { jsonrpc: '2.0', error: { code: -32700, message: `Parse error: ${(err as Error).message}` }, id: null });
    }
    try {
      const sdk = await (this.sdk ??= import('./sdk-server.js'));
      const mcp = sdk.mcpServer(this);
      const transport = new sdk.StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => {
        void transport.close();
        void mcp.close();
      });
      await mcp.connect(transport);
      await transport.handleRequest(req, res, body);
    } catch (err) {
      this.counters.errors++;
      this.ctx.log.warn({ err: (err as Error).message }, 'MCP request failed');
      if (!res.headersSent) this.plain(res, 500, { jsonrpc: '2.0', error: { code: -32603, message: 'Internal error' }, id: null });
    }
  }

  private plain(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  /** A query's answer (null when nothing registered it). */
  async query(name: string): Promise<unknown> {
    return (await Promise.resolve(this.ctx.queries.get(name)?.({ what: name }))) ?? null;
  }

  async diagnose(input: string): Promise<Record<string, unknown>> {
    const bytes = parseIpv6(input);
    if (!bytes || !isMeshAddress(bytes)) return { address: input, error: 'not a MoltNet address (fd00:6d6f:6c74::/48): only mesh addresses are diagnosed' };
    const address = formatIpv6(bytes);
    const linkId = this.ctx.lookupRoute(bytes);
    const route = linkId === undefined ? null : { link: this.ctx.links.nameOf(linkId), self: false };
    const self = address === this.ctx.node.address;
    if (!self && linkId === undefined) return { address, reachable: false, route: null, reason: 'no route to it' };
    if (this.diagnosing) return { address, error: 'another diagnosis is running; try again in a few seconds' };
    this.diagnosing = true;
    try {
      const { execa } = await import('execa');
      const r = await execa('ping', ['-6', '-c', '3', '-i', '0.2', '-W', '1', '-q', address], { reject: false, timeout: 5000 });
      const loss = /(\d+(?:\.\d+)?)% packet loss/.exec(r.stdout)?.[1];
      const rtt = /= ([\d.]+)\/([\d.]+)\/([\d.]+)/.exec(r.stdout);
      return {
        address,
        reachable: r.exitCode === 0,
        route: self ? { link: 'this node', self: true } : route,
        lossPercent: loss !== undefined ? Number(loss) : null,
        rttMs: rtt ? { min: Number(rtt[1]), avg: Number(rtt[2]), max: Number(rtt[3]) } : null,
      };
    } finally {
      this.diagnosing = false;
    }
  }
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let n = 0;
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => {
      n += d.length;
      if (n > max) {
        reject(new Error(`body over ${max} bytes`));
        req.destroy();
        return;
      }
      parts.push(d);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}
