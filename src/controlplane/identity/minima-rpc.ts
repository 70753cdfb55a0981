/**
 * A client of a local Minima node's RPC (default http://127.0.0.1:9005).
 *
 * A command is one line (`maxsign data:0x...`), sent as the whole path of a GET, fully percent-encoded
 * (a raw `#` in `MAX#...` would end the path and start a fragment). Optional Basic auth as user `minima`.
 * Replies are `{command, status, pending, response | error}`. While Maxima is starting, commands answer
 * status:false with a message saying so: those are retried with exponential backoff (bounded), then
 * MinimaNotReadyError. Every request has a timeout and a reply-size bound.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  MinimaAuthError,
  MinimaCommandError,
  MinimaNotReadyError,
  MinimaReplyError,
  MinimaUnreachableError,
} from './errors.js';

export const DEFAULT_MINIMA_URL = 'http://127.0.0.1:9005';

export interface MinimaReply {
  command: string;
  status: boolean;
  pending: boolean;
  response?: unknown;
  error?: string;
}

export interface MinimaClientOptions {
  url?: string;
  /** Basic auth password (user "minima"); none = no Authorization header. */
  password?: string | undefined;
  timeoutMs?: number;
  maxReplyBytes?: number;
  /** Tries while Maxima says it is starting (first try included). */
  startAttempts?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** status:false messages that mean "not ready yet, ask again". */
const STARTING = /starting|not (yet )?(started|ready|running|initiali[sz]ed)|initiali[sz]ing|please wait|try again/i;

/** Every character but the unreserved ones (RFC 3986 §2.3) as %XX. */
export function percentEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A parameter value goes into a command as one token: no spaces, nothing that is not printable. */
export function param(name: string, value: string): string {
  if (!/^[\x21-\x7e]{1,8192}$/.test(value)) throw new MinimaCommandError(`${name}: ${JSON.stringify(value.slice(0, 40))} cannot be sent (empty, spaces or control characters)`);
  return `${name}:${value}`;
}

export class MinimaClient {
  readonly url: string;
  private readonly o: Required<Omit<MinimaClientOptions, 'password' | 'url'>> & { password: string | undefined };

  constructor(opts: MinimaClientOptions = {}) {
    this.url = (opts.url ?? DEFAULT_MINIMA_URL).replace(/\/+$/, '');
    this.o = {
      password: opts.password,
      timeoutMs: opts.timeoutMs ?? 10_000,
      maxReplyBytes: opts.maxReplyBytes ?? 4 * 1024 * 1024,
      startAttempts: opts.startAttempts ?? 8,
      backoffMs: opts.backoffMs ?? 250,
      maxBackoffMs: opts.maxBackoffMs ?? 4_000,
      sleep: opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    };
  }

  /** Runs one command; resolves with a status:true reply, or throws a named error. */
  async command(line: string): Promise<MinimaReply> {
    let delay = this.o.backoffMs;
    let last = '';
    for (let attempt = 1; attempt <= this.o.startAttempts; attempt++) {
      const reply = await this.once(line);
      if (reply.status) return reply;
      last = reply.error ?? (typeof reply.response === 'string' ? reply.response : '');
      if (!STARTING.test(last)) throw new MinimaCommandError(`minima: ${verb(line)}: ${last || 'failed (status false, no message)'}`);
      if (attempt < this.o.startAttempts) {
        await this.o.sleep(delay);
        delay = Math.min(delay * 2, this.o.maxBackoffMs);
      }
    }
    throw new MinimaNotReadyError(`minima at ${this.url} is still starting after ${this.o.startAttempts} tries (${verb(line)}: ${last})`);
  }

  /** The reply's `response` as an object (a command whose response is not one is a reply error). */
  async response(line: string): Promise<Record<string, unknown>> {
    const r = await this.command(line);
    if (typeof r.response !== 'object' || r.response === null || Array.isArray(r.response)) {
      throw new MinimaReplyError(`minima: ${verb(line)}: the reply has no response object`);
    }
    return r.response as Record<string, unknown>;
  }

  private once(line: string): Promise<MinimaReply> {
    const target = new URL(`${this.url}/${percentEncode(line)}`);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.o.password !== undefined && this.o.password !== '') {
      headers['authorization'] = `Basic ${Buffer.from(`minima:${this.o.password}`).toString('base64')}`;
    }
    const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<MinimaReply>((resolveOnce, rejectOnce) => {
      let settled = false;
      const resolve = (r: MinimaReply) => {
        if (!settled) (settled = true), resolveOnce(r);
      };
      const reject = (e: unknown) => {
        if (!settled) (settled = true), rejectOnce(e);
      };
      // One connection per command (agent: false): nothing pooled outlives the call.
      const req = request(target, { method: 'GET', headers, timeout: this.o.timeoutMs, agent: false }, (res) => {
        const status = res.statusCode ?? 0;
        if (status === 401 || status === 403) {
          res.resume();
          reject(new MinimaAuthError(`minima at ${this.url} refused the credentials (HTTP ${status}); set the password in the environment variable of identity.minima.passwordEnv`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > this.o.maxReplyBytes) {
            reject(new MinimaReplyError(`minima: ${verb(line)}: reply longer than ${this.o.maxReplyBytes} bytes`));
            res.destroy();
            req.destroy();
            return;
          }
          chunks.push(c);
        });
        res.on('error', (e) => reject(new MinimaUnreachableError(`minima at ${this.url}: the reply broke off (${e.message})`)));
        res.on('end', () => {
          if (size > this.o.maxReplyBytes) return;
          if (status < 200 || status >= 300) {
            reject(new MinimaReplyError(`minima: ${verb(line)}: HTTP ${status}`));
            return;
          }
          try {
            resolve(parseReply(Buffer.concat(chunks).toString('utf8'), line));
          } catch (err) {
            reject(err);
          }
        });
      });
      req.on('timeout', () => req.destroy(new MinimaUnreachableError(`minima at ${this.url}: no answer to ${verb(line)} in ${this.o.timeoutMs} ms`)));
      req.on('error', (err) => {
        if (err instanceof MinimaReplyError || err instanceof MinimaUnreachableError) reject(err);
        else reject(new MinimaUnreachableError(`minima at ${this.url} is not reachable: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
      });
      req.end();
    });
  }
}

function parseReply(text: string, line: string): MinimaReply {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new MinimaReplyError(`minima: ${verb(line)}: the reply is not JSON`);
  }
  // Some commands answer a list of replies (one per command of a chain); we send one command.
  if (Array.isArray(v) && v.length === 1) v = v[0];
  if (typeof v !== 'object' || v === null || typeof (v as { status?: unknown }).status !== 'boolean') {
    throw new MinimaReplyError(`minima: ${verb(line)}: the reply has no status`);
  }
  const o = v as Record<string, unknown>;
  return {
    command: typeof o['command'] === 'string' ? o['command'] : '',
    status: o['status'] as boolean,
    pending: o['pending'] === true,
    ...('response' in o ? { response: o['response'] } : {}),
    ...(typeof o['error'] === 'string' ? { error: o['error'] } : {}),
  };
}

/** The command without its parameter values, for messages (no signatures or passwords in logs). */
function verb(line: string): string {
  return line
    .split(' ')
    .map((t) => (t.includes(':') && !t.startsWith('action:') ? `${t.slice(0, t.indexOf(':'))}:...` : t))
    .join(' ');
}
