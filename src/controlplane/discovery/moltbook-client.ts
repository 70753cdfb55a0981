/**
 * The Moltbook API client discovery needs (spec §4.2, §7.1): search the #moltnet posts, publish our
 * announcement. Nothing else.
 *
 * Every attempt has a timeout (an AbortController per attempt, covering the body too) and a reply-size
 * bound (the body is streamed and the request aborted past it). 429, 5xx, network errors and timeouts
 * are retried with exponential backoff and jitter, honouring Retry-After; 401/403 and other 4xx are not.
 * Redirects are not followed: fetch drops the Authorization header on a cross-origin redirect (Moltbook
 * redirects moltbook.com to www.moltbook.com), which would turn into a puzzling 401, so the error names
 * the place to configure instead.
 *
 * The API key goes in the Authorization header and nowhere else. Every message and property of every
 * error is built from redacted text, so a server that echoes the key back cannot leak it into a log.
 */
import {
  MoltbookApiKeyError,
  MoltbookAuthError,
  MoltbookHttpError,
  MoltbookNetworkError,
  MoltbookResponseError,
} from './errors.js';
import type { MoltbookPost } from './posts.js';

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
export const DEFAULT_RETRIES = 4;
export const DEFAULT_BACKOFF = { initialMs: 500, maxMs: 30_000 } as const;
export const DISCOVERY_QUERY = 'moltnet';
/** Enough of an error reply to quote; the rest is not read. */
const ERROR_BODY_BYTES = 8 * 1024;
const EXCERPT_CHARS = 200;
/** Printable ASCII only: anything else either cannot go in a header or is a paste accident. */
const HEADER_SAFE = /^[\x21-\x7e]+$/;

export interface MoltbookClientOptions {
  /** e.g. https://www.moltbook.com (config moltbook.baseUrl); a trailing slash is fine. */
  baseUrl: string;
  apiKey: string | undefined;
  /** The environment variable the key came from (config moltbook.apiKeyEnv), named in errors. */
  apiKeyName?: string;
  /** Per attempt, headers and body together. */
  timeoutMs?: number;
  maxResponseBytes?: number;
  /** Retries after the first attempt. */
  retries?: number;
  backoff?: { initialMs?: number; maxMs?: number };
  sleep?: (ms: number) => Promise<void>;
  /** In [0, 1): the jitter. */
  random?: () => number;
  /** Wall-clock ms, for Retry-After given as an HTTP date. */
  now?: () => number;
  fetch?: typeof fetch;
  /** Told before each retry (for the caller's log; nothing in it carries the key). */
  onRetry?: (info: RetryInfo) => void;
}

export interface RetryInfo {
  method: string;
  path: string;
  /** The attempt that failed, from 1. */
  attempt: number;
  delayMs: number;
  reason: string;
}

export interface NewPost {
  submolt: string;
  title: string;
  content: string;
  metadata?: Record<string, unknown>;
}

type Attempt =
  | { kind: 'reply'; status: number; headers: Headers; body: Buffer }
  | { kind: 'failed'; reason: string; timedOut: boolean };

export class MoltbookClient {
  private readonly baseUrl: string;
  private readonly apiKey: string | undefined;
  private readonly apiKeyName: string;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly retries: number;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly fetchFn: typeof fetch;
  private readonly onRetry: ((info: RetryInfo) => void) | undefined;
  /** The spellings of the key a reply could echo: as sent, percent-encoded, JSON-escaped. */
  private readonly secrets: string[];

  constructor(o: MoltbookClientOptions) {
    this.baseUrl = o.baseUrl.replace(/\/+$/, '');
    this.apiKey = o.apiKey?.trim() || undefined;
    this.apiKeyName = o.apiKeyName ?? 'MOLTBOOK_API_KEY';
    this.timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxResponseBytes = o.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.retries = Math.max(0, o.retries ?? DEFAULT_RETRIES);
    this.initialMs = o.backoff?.initialMs ?? DEFAULT_BACKOFF.initialMs;
    this.maxMs = o.backoff?.maxMs ?? DEFAULT_BACKOFF.maxMs;
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.random = o.random ?? Math.random;
    this.now = o.now ?? Date.now;
    this.fetchFn = o.fetch ?? fetch;
    this.onRetry = o.onRetry;
    const raw = o.apiKey ?? '';
    this.secrets = [...new Set([raw, raw.trim(), encodeURIComponent(raw.trim()), JSON.stringify(raw.trim()).slice(1, -1)])]
      .filter((s) => s.length > 0)
      .sort((a, b) => b.length - a.length);
  }

  /**
   * The posts matching the query (default "moltnet"), as the API gives them: only non-objects are
   * dropped, nothing else is checked (parsePosts does that). Falls back to the search endpoint when the
   * posts listing does not take a query (404).
   */
  async searchPosts(query = DISCOVERY_QUERY): Promise<MoltbookPost[]> {
    const q = encodeURIComponent(query);
    let reply: unknown;
    try {
      reply = await this.request('GET', `/api/v1/posts?q=${q}&limit=100`);
    } catch (err) {
      if (!(err instanceof MoltbookHttpError) || err.status !== 404) throw err;
      reply = await this.request('GET', `/api/v1/search?q=${q}&type=posts`);
    }
    const list = postList(reply);
    if (!list) {
      throw new MoltbookResponseError(`Moltbook's post list is not {posts|data|results: [...]} or an array: ${this.excerpt(replyText(reply))}`);
    }
    return list.filter((p): p is MoltbookPost => typeof p === 'object' && p !== null && !Array.isArray(p));
  }

  /**
   * Publishes a post and returns its id. A retry after a 5xx or a timeout may publish it twice (the
   * first may have gone through); discovery keeps one candidate per author, so a duplicate is harmless.
   */
  async createPost(post: NewPost): Promise<{ id: string }> {
    const body = { submolt: post.submolt, title: post.title, content: post.content, ...(post.metadata ? { metadata: post.metadata } : {}) };
    const reply = await this.request('POST', '/api/v1/posts', body);
    const id = postId(reply);
    if (id !== undefined) return { id };
    const text = replyText(reply);
    const challenge = text.includes('verification_code') ? ' (it asks for a verification challenge, which this client does not answer)' : '';
    throw new MoltbookResponseError(`Moltbook did not return the new post's id${challenge}: ${this.excerpt(text)}`);
  }

  /** One API call with its retries: the parsed JSON of a 2xx, or a named error. */
  private async request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const key = this.requireKey();
    const payload = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 1; ; attempt++) {
      const a = await this.attempt(method, path, key, payload);
      let retryReason: string;
      let retryAfter: number | undefined;
      if (a.kind === 'failed') {
        if (attempt > this.retries) {
          throw new MoltbookNetworkError(`${method} ${path}: ${a.reason} (${plural(attempt, 'attempt')})`, a.timedOut, attempt);
        }
        retryReason = a.reason;
      } else if (a.status >= 200 && a.status < 300) {
        return this.parseJson(a, method, path);
      } else if (a.status === 401 || a.status === 403) {
        throw new MoltbookAuthError(`Moltbook refused the API key (${a.status}): check the variable ${this.apiKeyName}`, a.status);
      } else if (a.status === 429 || a.status >= 500) {
        const excerpt = this.excerpt(a.body.toString('utf8'));
        if (attempt > this.retries) {
          throw new MoltbookHttpError(`${method} ${path}: Moltbook answered ${a.status} ${plural(attempt, 'time')}${excerpt ? `: ${excerpt}` : ''}`, a.status, excerpt, attempt);
        }
        retryReason = `HTTP ${a.status}`;
        retryAfter = parseRetryAfter(a.headers.get('retry-after'), this.now());
      } else {
        throw this.httpError(method, path, a, attempt);
      }
      const delayMs = retryAfter !== undefined ? Math.min(retryAfter, this.maxMs) : this.backoffMs(attempt);
      this.onRetry?.({ method, path, attempt, delayMs, reason: retryReason });
      await this.sleep(delayMs);
    }
  }

  private async attempt(method: string, path: string, key: string, payload: string | undefined): Promise<Attempt> {
    const ctl = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ctl.abort();
    }, this.timeoutMs);
    try {
      const res = await this.fetchFn(`${this.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          accept: 'application/json',
          ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(payload !== undefined ? { body: payload } : {}),
        redirect: 'manual',
        signal: ctl.signal,
      });
      const ok = res.status >= 200 && res.status < 300;
      const limit = ok ? this.maxResponseBytes : ERROR_BODY_BYTES;
      const read = await readBounded(res, limit, ctl);
      if (read.over && ok) {
        throw new MoltbookResponseError(`${method} ${path}: Moltbook's reply is over the ${this.maxResponseBytes}-byte limit`);
      }
      return { kind: 'reply', status: res.status, headers: res.headers, body: read.bytes };
    } catch (err) {
      if (err instanceof MoltbookResponseError) throw err;
      if (timedOut) return { kind: 'failed', reason: `no answer from ${this.origin()} within ${this.timeoutMs} ms`, timedOut: true };
      return { kind: 'failed', reason: `cannot reach ${this.origin()}: ${this.redact(networkReason(err))}`, timedOut: false };
    } finally {
      clearTimeout(timer);
    }
  }

  private parseJson(a: Extract<Attempt, { kind: 'reply' }>, method: string, path: string): unknown {
    const text = a.body.toString('utf8');
    try {
      return JSON.parse(text);
    } catch {
      throw new MoltbookResponseError(`${method} ${path}: Moltbook answered ${a.status} with something that is not JSON: ${this.excerpt(text)}`);
    }
  }

  private httpError(method: string, path: string, a: Extract<Attempt, { kind: 'reply' }>, attempts: number): MoltbookHttpError {
    const excerpt = this.excerpt(a.body.toString('utf8'));
    if (a.status >= 300 && a.status < 400) {
      const to = this.excerpt(a.headers.get('location') ?? '');
      const hint = to ? ` to ${to}; set moltbook.baseUrl to that origin (a redirect would drop the API key)` : '';
      return new MoltbookHttpError(`${method} ${path}: Moltbook redirected (${a.status})${hint}`, a.status, excerpt, attempts);
    }
    return new MoltbookHttpError(`${method} ${path}: Moltbook answered ${a.status}${excerpt ? `: ${excerpt}` : ''}`, a.status, excerpt, attempts);
  }

  private requireKey(): string {
    const key = this.apiKey;
    if (key === undefined) {
      throw new MoltbookApiKeyError(`no Moltbook API key: set the environment variable ${this.apiKeyName} (config moltbook.apiKeyEnv names it)`);
    }
    if (!HEADER_SAFE.test(key)) {
      throw new MoltbookApiKeyError(`the Moltbook API key in ${this.apiKeyName} has spaces or characters other than printable ASCII`);
    }
    return key;
  }

  /** Exponential, capped, with "equal jitter": at least half the step, so retries still spread out. */
  private backoffMs(attempt: number): number {
    const step = Math.min(this.maxMs, this.initialMs * 2 ** (attempt - 1));
    return Math.round(step / 2 + this.random() * (step / 2));
  }

  private origin(): string {
    try {
      return new URL(this.baseUrl).origin;
    } catch {
      return this.redact(this.baseUrl);
    }
  }

  private redact(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join('[redacted]');
    return out;
  }

  /** Redacted before it is cut, so no prefix of the key survives the cut. */
  private excerpt(text: string): string {
    const clean = this.redact(text).replace(/[\p{Cc}\p{Cf}]+/gu, ' ').replace(/\s+/g, ' ').trim();
    return clean.length > EXCERPT_CHARS ? `${clean.slice(0, EXCERPT_CHARS - 3)}...` : clean;
  }
}

/** The body, read up to `limit` bytes; past it the request is aborted and `over` set. */
async function readBounded(res: Response, limit: number, ctl: AbortController): Promise<{ bytes: Buffer; over: boolean }> {
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit) {
    ctl.abort();
    return { bytes: Buffer.alloc(0), over: true };
  }
  if (!res.body) return { bytes: Buffer.alloc(0), over: false };
  const reader = res.body.getReader();
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (total + value.byteLength > limit) {
      chunks.push(Buffer.from(value.buffer, value.byteOffset, limit - total));
      ctl.abort();
      return { bytes: Buffer.concat(chunks), over: true };
    }
    total += value.byteLength;
    chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  }
  return { bytes: Buffer.concat(chunks), over: false };
}

/**
 * A parsed reply as JSON text, to quote in an error. JSON.parse takes nesting that JSON.stringify cannot
 * (it throws RangeError past a few thousand levels): such a reply is described instead.
 */
function replyText(reply: unknown): string {
  try {
    return JSON.stringify(reply) ?? '';
  } catch {
    return '(a reply nested too deep to quote)';
  }
}

/** The post array of any reply shape Moltbook (or a proxy of it) is known to use. */
function postList(reply: unknown): unknown[] | undefined {
  if (Array.isArray(reply)) return reply;
  if (typeof reply !== 'object' || reply === null) return undefined;
  const r = reply as Record<string, unknown>;
  for (const k of ['posts', 'data', 'results']) if (Array.isArray(r[k])) return r[k];
  return undefined;
}

function postId(reply: unknown): string | undefined {
  const idOf = (o: unknown): string | undefined => {
    if (typeof o !== 'object' || o === null) return undefined;
    const id = (o as Record<string, unknown>)['id'];
    if (typeof id === 'string' && id.length > 0) return id;
    if (typeof id === 'number' && Number.isFinite(id)) return String(id);
    return undefined;
  };
  if (typeof reply !== 'object' || reply === null) return undefined;
  const r = reply as Record<string, unknown>;
  return idOf(r) ?? idOf(r['post']) ?? idOf(r['data']);
}

/** Retry-After as ms from now: delta-seconds or an HTTP date (RFC 9110 §10.2.3); undefined if neither. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^[0-9]{1,10}$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (!Number.isFinite(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** undici says "fetch failed" and puts the reason (ECONNREFUSED, ENOTFOUND, ...) in the cause. */
function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
