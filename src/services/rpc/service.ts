/**
 * Agent RPC on the mesh address, TCP 6800 (spec §6.1): newline-delimited JSON requests, one response
 * line each, in order per connection.
 *
 *   ping, info       answered by the node
 *   anything else    POSTed as JSON ({id, from, method, params}) to the handler the agent configured for
 *                    the method (services.rpcHandlers) or its default (services.rpcDefaultHandler); its
 *                    JSON reply is the result. No handler: method not found.
 *
 * Checked per request: `from` is the address the connection comes from (the mesh routes only what its
 * links authenticated), `to` is this node; a signed request must verify with the MoltID that peering
 * verified for its sender. Bounds: line length (an over-long line is answered with an error and skipped
 * to its end, the connection stays usable), a per-source request rate, connections in all and per
 * source, an idle timeout, the handler's time and reply size.
 *
 * Locked down (serve: 'contacts', the default with the Minima backend, whose contacts are locked down),
 * only the MoltID contacts of the allow list (`moltnet id contacts allow add`) are served, and only on
 * requests they signed: an address alone does not prove who sends.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { LRUCache } from 'lru-cache';
import type { Service, ServiceContext } from '../../controlplane/service.js';
import { TokenBucket } from '../../dataplane/ratelimit.js';
import { parseMoltId, verifySignature } from '../../controlplane/identity/moltid.js';
import { VERSION } from '../../common/version.js';
import { formatIpv6, parseIpv6 } from '../../common/address.js';
import { closeServer, listenOrWhy } from '../listen.js';
import { AllowList } from '../../controlplane/identity/contacts.js';
import { MAX_LINE, RpcErrorCode, parseRequest, signingBytes, type RpcError, type RpcRequest, type RpcResponse } from './messages.js';

export interface RpcSection {
  port: number;
  name: string | undefined;
  /** method -> webhook URL (http://...). */
  handlers: Record<string, string>;
  defaultHandler: string | undefined;
  /** Requests per second from one address; bursts of twice that. */
  ratePerSource: number;
  /** Everyone, or only the allowed MoltID contacts (signed requests). */
  serve: 'everyone' | 'contacts';
}

/** How long the allow list read from stateDir is trusted before it is read again (the CLI edits it). */
const ALLOW_LIST_TTL_MS = 2_000;

const MAX_CONNECTIONS = 256;
const MAX_PER_SOURCE = 16;
const IDLE_MS = 60_000;
const HANDLER_TIMEOUT_MS = 10_000;
const MAX_HANDLER_REPLY = 1024 * 1024;

interface PeerView {
  address: string;
  uuid?: string;
  moltid?: string;
  state: string;
}

export class RpcService implements Service<RpcSection> {
  readonly name = 'rpc';
  private ctx!: ServiceContext<RpcSection>;
  private server: Server | undefined;
  private failure: string | undefined;
  private readonly perSource = new Map<string, number>();
  private readonly rates = new LRUCache<string, TokenBucket>({ max: 4096 });
  private readonly sockets = new Set<Socket>();
  readonly counters = { connections: 0, refused_connections: 0, requests: 0, errors: 0, rate_limited: 0, signed: 0, bad_signatures: 0, not_contacts: 0, forwarded: 0, handler_failures: 0 };
  private allowList: { keys: Set<string>; at: number } | undefined;

  async start(ctx: ServiceContext<RpcSection>): Promise<void> {
    this.ctx = ctx;
    const host = ctx.node.address;
    ctx.queries.register('rpc', () => ({
      listen: `[${host}]:${ctx.config.port}`,
      serving: this.failure === undefined,
      ...(this.failure ? { error: this.failure } : {}),
      methods: ['ping', 'info', ...Object.keys(ctx.config.handlers)],
      defaultHandler: ctx.config.defaultHandler !== undefined,
      serve: ctx.config.serve,
      counters: this.counters,
    }));
    const server = createServer((s) => this.accept(s));
    server.maxConnections = MAX_CONNECTIONS;
    server.on('drop', () => this.counters.refused_connections++);
    this.failure = await listenOrWhy(server, host, ctx.config.port);
    if (this.failure) {
      ctx.log.error({ why: this.failure }, 'agent RPC is not served: its port is taken');
      return;
    }
    this.server = server;
    ctx.log.info({ listen: `[${host}]:${ctx.config.port}` }, 'agent RPC listens');
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    await closeServer(server);
  }

  private accept(s: Socket): void {
    const source = normalize(s.remoteAddress ?? '');
    const n = this.perSource.get(source) ?? 0;
    if (n >= MAX_PER_SOURCE) {
      this.counters.refused_connections++;
      s.destroy();
      return;
    }
    this.perSource.set(source, n + 1);
    this.sockets.add(s);
    this.counters.connections++;
    s.setTimeout(IDLE_MS, () => s.destroy());
    // Request and answer are one small write each: no waiting for Nagle.
    s.setNoDelay(true);
    s.on('error', () => undefined);
    s.once('close', () => {
      this.sockets.delete(s);
      const left = (this.perSource.get(source) ?? 1) - 1;
      if (left <= 0) this.perSource.delete(source);
      else this.perSource.set(source, left);
    });
    let pending = '';
    let skipping = false;
    // Responses leave in request order: each waits for the one before it.
    let queue: Promise<void> = Promise.resolve();
    s.setEncoding('utf8');
    s.on('data', (chunk: string) => {
      pending += chunk;
      for (;;) {
        const nl = pending.indexOf('\n');
        if (nl < 0) {
          if (pending.length > MAX_LINE && !skipping) {
            skipping = true;
            pending = '';
            queue = queue.then(() => this.write(s, this.reply(null, source, { code: RpcErrorCode.InvalidRequest, message: `a request is at most ${MAX_LINE} bytes` })));
          } else if (skipping) pending = '';
          return;
        }
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (skipping) {
          skipping = false;
          continue;
        }
        if (line.trim() === '') continue;
        const answer = this.handle(line, source);
        queue = queue.then(async () => this.write(s, await answer));
      }
    });
  }

  private write(s: Socket, r: RpcResponse): void {
    if (!s.destroyed) s.write(`${JSON.stringify(r)}\n`);
  }

  private reply(id: RpcResponse['id'], to: string, outcome: { result: unknown } | RpcError): RpcResponse {
    const base = { id, from: this.ctx.node.address, to, timestamp: new Date().toISOString() };
    if ('result' in outcome) return { ...base, result: outcome.result };
    this.counters.errors++;
    return { ...base, error: outcome };
  }

  private async handle(line: string, source: string): Promise<RpcResponse> {
    this.counters.requests++;
    if (!this.allowed(source)) return this.reply(null, source, { code: RpcErrorCode.Refused, message: 'too many requests from this address' });
    const p = parseRequest(line);
    if (!p.ok) return this.reply(p.id, source, p.error);
    const r = p.request;
    if (r.from !== source) return this.reply(r.id, source, { code: RpcErrorCode.InvalidRequest, message: `from is ${r.from}, but the request comes from ${source}` });
    if (r.to !== this.ctx.node.address) return this.reply(r.id, source, { code: RpcErrorCode.InvalidRequest, message: `to is ${r.to}, not this node (${this.ctx.node.address})` });
    if (r.signature !== undefined) {
      const why = this.checkSignature(r);
      if (why) return this.reply(r.id, source, { code: RpcErrorCode.Unauthenticated, message: why });
    }
    if (this.ctx.config.serve === 'contacts') {
      const why = r.signature === undefined ? 'this node serves only its MoltID contacts: sign the request with your MoltID' : await this.notContact(r.from);
      if (why) {
        this.counters.not_contacts++;
        return this.reply(r.id, source, { code: RpcErrorCode.Unauthenticated, message: why });
      }
    }
    try {
      return this.reply(r.id, source, { result: await this.call(r) });
    } catch (err) {
      if (err instanceof MethodError) return this.reply(r.id, source, err.rpc);
      this.ctx.log.warn({ method: r.method, err: (err as Error).message }, 'rpc request failed');
      return this.reply(r.id, source, { code: RpcErrorCode.InternalError, message: (err as Error).message });
    }
  }

  private allowed(source: string): boolean {
    let b = this.rates.get(source);
    if (!b) {
      b = new TokenBucket(this.ctx.config.ratePerSource, 2 * this.ctx.config.ratePerSource);
      this.rates.set(source, b);
    }
    if (b.take(this.ctx.clock.now())) return true;
    this.counters.rate_limited++;
    return false;
  }

  /** The sender's MoltID as peering verified it; undefined when it never proved one. */
  private verifiedMoltId(address: string): string | undefined {
    const peers = (this.ctx.queries.get('peers')?.({}) ?? []) as PeerView[];
    const peer = peers.find((p) => p.address === address && p.moltid !== undefined)?.moltid;
    if (peer) return peer;
    // Not a peer: the MoltID its own signed registry record carries (checked at every node it crossed).
    const registry = (this.ctx.queries.get('registry')?.({}) as { nodes?: { address: string; moltid: string }[] } | undefined)?.nodes ?? [];
    return registry.find((n) => n.address === address)?.moltid;
  }

  /** Why a sender whose signature verified is not served when locked down; undefined when it is a contact. */
  private async notContact(from: string): Promise<string | undefined> {
    const moltid = this.verifiedMoltId(from)!;
    const now = this.ctx.clock.now();
    if (!this.allowList || now - this.allowList.at > ALLOW_LIST_TTL_MS) {
      try {
        this.allowList = { keys: new Set(await new AllowList(this.ctx.node.stateDir).list()), at: now };
      } catch (err) {
        // A broken list serves no one (locked down means closed), and says why in the log.
        this.ctx.log.warn({ err: (err as Error).message }, 'the contacts allow list is unreadable: serving no one');
        this.allowList = { keys: new Set(), at: now };
      }
    }
    const key = parseMoltId(moltid).hex;
    return this.allowList.keys.has(key) ? undefined : `this node serves only its MoltID contacts, and ${from} (${moltid.slice(0, 24)}...) is not one`;
  }

  private checkSignature(r: RpcRequest): string | undefined {
    this.counters.signed++;
    const moltid = this.verifiedMoltId(r.from);
    if (!moltid) {
      this.counters.bad_signatures++;
      return `a signed request from ${r.from}, which has no verified MoltID here`;
    }
    let ok = false;
    try {
      ok = verifySignature(signingBytes(r), parseMoltId(moltid), Buffer.from(r.signature!.slice(2), 'hex'));
    } catch {
      ok = false;
    }
    if (ok) return undefined;
    this.counters.bad_signatures++;
    return `the signature does not verify with ${r.from}'s MoltID`;
  }

  private async call(r: RpcRequest): Promise<unknown> {
    if (r.method === 'ping') return { pong: true, time: new Date().toISOString() };
    if (r.method === 'info') {
      const status = (this.ctx.queries.get('status')?.({}) ?? {}) as Record<string, unknown>;
      const identity = (await Promise.resolve(this.ctx.queries.get('peering')?.({}))) as { moltid?: string | null } | undefined;
      return {
        name: this.ctx.config.name ?? null,
        uuid: this.ctx.node.uuid,
        address: this.ctx.node.address,
        version: VERSION,
        moltid: identity?.moltid ?? null,
        uptimeSeconds: status['uptimeSeconds'] ?? null,
        methods: ['ping', 'info', ...Object.keys(this.ctx.config.handlers)],
        services: this.ctx.queries.names().filter((n) => ['rpc', 'dns', 'http'].includes(n)),
      };
    }
    const url = this.ctx.config.handlers[r.method] ?? this.ctx.config.defaultHandler;
    if (!url) throw new MethodError({ code: RpcErrorCode.MethodNotFound, message: `no method "${r.method}" on this node (it has ping, info${Object.keys(this.ctx.config.handlers).map((m) => `, ${m}`).join('')})` });
    return this.forward(url, r);
  }

  /** POST the request to the agent's webhook; its JSON body is the result. */
  private async forward(url: string, r: RpcRequest): Promise<unknown> {
    this.counters.forwarded++;
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: r.id, from: r.from, method: r.method, params: r.params ?? {}, signed: r.signature !== undefined }),
        signal: AbortSignal.timeout(HANDLER_TIMEOUT_MS),
      });
    } catch (err) {
      this.counters.handler_failures++;
      throw new MethodError({ code: RpcErrorCode.HandlerFailed, message: `the handler for "${r.method}" did not answer: ${(err as Error).message}` });
    }
    const text = await readBounded(res, MAX_HANDLER_REPLY).catch((err: Error) => {
      this.counters.handler_failures++;
      throw new MethodError({ code: RpcErrorCode.HandlerFailed, message: `the handler for "${r.method}": ${err.message}` });
    });
    if (!res.ok) {
      this.counters.handler_failures++;
      throw new MethodError({ code: RpcErrorCode.HandlerFailed, message: `the handler for "${r.method}" answered HTTP ${res.status}` });
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      this.counters.handler_failures++;
      throw new MethodError({ code: RpcErrorCode.HandlerFailed, message: `the handler for "${r.method}" answered something that is not JSON` });
    }
  }
}

class MethodError extends Error {
  constructor(readonly rpc: RpcError) {
    super(rpc.message);
  }
}

async function readBounded(res: Response, max: number): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const parts: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > max) {
      await reader.cancel();
      throw new Error(`its reply is over ${max} bytes`);
    }
    parts.push(value);
  }
  return Buffer.concat(parts).toString('utf8');
}

/** The connection's address as the messages spell it (RFC 5952). */
function normalize(a: string): string {
  const v4 = a.startsWith('::ffff:') && a.includes('.');
  if (v4) return a.slice(7);
  const b = parseIpv6(a);
  return b ? formatIpv6(b) : a;
}
