/**
 * A client of agent RPC (TCP 6800 on a node's mesh address): what `moltnet rpc` uses, and what an agent
 * imports (`import { RpcClient } from 'moltnet'`). One connection per call target, requests matched to
 * responses by id; every call has a deadline.
 */
import { connect, type Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { PORTS } from '../../common/ports.js';
import { MoltnetError } from '../../common/errors.js';
import { formatIpv6, isMeshAddress, parseIpv6 } from '../../common/address.js';
import { MAX_LINE, signingBytes, type RpcResponse } from './messages.js';

export class RpcCallError extends MoltnetError {
  constructor(
    message: string,
    /** The remote error's code; undefined for a transport failure or a timeout. */
    readonly code?: number,
  ) {
    super(message);
  }
}

export interface RpcClientOptions {
  /** This node's mesh address: the requests' `from`, and the connections' source. */
  from: string;
  timeoutMs?: number;
  port?: number;
  /** Sign requests with the sender's MoltID key (returns the raw signature). */
  sign?: (data: Buffer) => Promise<Uint8Array> | Uint8Array;
}

interface Waiting {
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class RpcClient {
  private readonly from: string;
  private readonly conns = new Map<string, { socket: Socket; ready: Promise<void>; waiting: Map<string, Waiting> }>();

  constructor(private readonly opts: RpcClientOptions) {
    if (!isMeshAddress(opts.from)) throw new RpcCallError(`from must be a MoltNet address, got ${opts.from}`);
    this.from = formatIpv6(parseIpv6(opts.from)!);
  }

  /** Call `method` on the node at mesh address `to`; resolves with its result, rejects with RpcCallError. */
  async call(to: string, method: string, params?: Record<string, unknown>, extra: { signature?: string } = {}): Promise<unknown> {
    if (!isMeshAddress(to)) throw new RpcCallError(`not a MoltNet address: ${to}`);
    const target = formatIpv6(parseIpv6(to)!);
    const id = randomUUID();
    const request: Record<string, unknown> = { id, from: this.from, to: target, method, ...(params ? { params } : {}), timestamp: new Date().toISOString() };
    if (extra.signature !== undefined) request['signature'] = extra.signature;
    else if (this.opts.sign) {
      const sig = await this.opts.sign(signingBytes({ id, from: this.from, to: target, method, params, timestamp: request['timestamp'] as string }));
      request['signature'] = `0x${Buffer.from(sig).toString('hex')}`;
    }
    const c = this.connection(target);
    await c.ready;
    const timeoutMs = this.opts.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        c.waiting.delete(id);
        reject(new RpcCallError(`no answer from ${target} to "${method}" within ${timeoutMs} ms`));
      }, timeoutMs);
      c.waiting.set(id, { resolve, reject, timer });
      c.socket.write(`${JSON.stringify(request)}\n`);
    });
  }

  close(): void {
    for (const [k, c] of this.conns) {
      c.socket.destroy();
      this.conns.delete(k);
    }
  }

  private connection(to: string) {
    const have = this.conns.get(to);
    if (have && !have.socket.destroyed) return have;
    const socket = connect({ host: to, port: this.opts.port ?? PORTS.rpc, localAddress: this.from, noDelay: true });
    const waiting = new Map<string, Waiting>();
    const failAll = (err: Error) => {
      for (const w of waiting.values()) {
        clearTimeout(w.timer);
        w.reject(err);
      }
      waiting.clear();
      this.conns.delete(to);
    };
    const ready = new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', (err) => reject(new RpcCallError(`cannot reach ${to} port ${this.opts.port ?? PORTS.rpc}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
    });
    ready.catch(() => undefined);
    socket.on('error', (err) => failAll(new RpcCallError(`connection to ${to}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
    socket.on('close', () => failAll(new RpcCallError(`${to} closed the connection`)));
    let pending = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      pending += chunk;
      if (pending.length > MAX_LINE * 16) return socket.destroy(new Error('an answer too long'));
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        let r: RpcResponse;
        try {
          r = JSON.parse(line) as RpcResponse;
        } catch {
          continue;
        }
        const w = r && typeof r.id === 'string' ? waiting.get(r.id) : undefined;
        if (!w) {
          // An answer without our id (a request it could not read): the oldest call gets it.
          const first = waiting.entries().next().value as [string, Waiting] | undefined;
          if (!first || !r?.error) continue;
          waiting.delete(first[0]);
          clearTimeout(first[1].timer);
          first[1].reject(new RpcCallError(r.error.message, r.error.code));
          continue;
        }
        waiting.delete(r.id as string);
        clearTimeout(w.timer);
        if (r.error) w.reject(new RpcCallError(r.error.message, r.error.code));
        else w.resolve(r.result);
      }
    });
    const c = { socket, ready, waiting };
    this.conns.set(to, c);
    return c;
  }
}
