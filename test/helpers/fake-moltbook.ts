/**
 * A fake Moltbook for tests: node:http on any address (127.0.0.1 and port 0 unless told), posts in
 * memory, the author of a new post taken from the Bearer key as Moltbook does (unknown key: 401).
 *
 *   POST /api/v1/posts                    {submolt, title, content, metadata} -> {success, post: {...}}
 *   GET  /api/v1/posts?q=&limit=          matching posts, newest first -> {success, posts: [...]}
 *   GET  /api/v1/search?q=&type=posts     the same -> {success, results: [...]}
 *
 * `postsListNotFound` makes the posts listing answer 404 (a Moltbook whose listing takes no query), so
 * the client falls back to search. `fault()` queues scripted replies that the next requests get instead
 * (429 with Retry-After, 500, 401, a reply that never comes, an oversize body...). Every request is
 * recorded with all its headers and its body.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeAgent {
  id: string;
  name: string;
}

export interface FakeMoltbookOptions {
  /** API key -> the agent it authenticates. */
  agents: Record<string, FakeAgent>;
  host?: string;
  port?: number;
  /** The posts listing answers 404 (search still works). */
  postsListNotFound?: boolean;
  /** How the posts listing wraps its array (default 'posts'). */
  listShape?: 'posts' | 'data' | 'results' | 'array';
  /** Wall clock for created_at (default Date.now). */
  now?: () => number;
}

export interface FakeFault {
  status?: number;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
  /** Never answer (the connection stays open until close()). */
  hang?: boolean;
  /** Send this many bytes of body, chunked (no content-length), after the status line. */
  streamBytes?: number;
  /** Only for requests whose path starts with this. */
  pathPrefix?: string;
}

export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The raw header lines (names and values), for checks that must see everything. */
  rawHeaders: string[];
  body: string;
}

export interface StoredPost {
  id: string;
  submolt: string;
  title: unknown;
  content: unknown;
  metadata?: unknown;
  author: FakeAgent;
  created_at: string;
}

const MAX_BODY = 1024 * 1024;

export class FakeMoltbook {
  /** Newest last; the listings reverse it. Tests may push raw (even malformed) entries. */
  readonly posts: unknown[] = [];
  readonly requests: RecordedRequest[] = [];
  readonly faults: FakeFault[] = [];
  postsListNotFound: boolean;
  listShape: NonNullable<FakeMoltbookOptions['listShape']>;
  url = '';
  private server: Server | undefined;
  private readonly now: () => number;
  private lastCreated = 0;

  constructor(private readonly o: FakeMoltbookOptions) {
    this.postsListNotFound = o.postsListNotFound ?? false;
    this.listShape = o.listShape ?? 'posts';
    this.now = o.now ?? Date.now;
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.port ?? 0, this.o.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const a = server.address() as AddressInfo;
    this.url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
    return this.url;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }

  /** Queue replies for the next requests (first in, first out). */
  fault(...faults: FakeFault[]): void {
    this.faults.push(...faults);
  }

  /** A post by an agent, as POST would store it (created_at strictly increasing unless given). */
  addPost(author: FakeAgent, p: { title?: unknown; content?: unknown; metadata?: unknown; submolt?: string; created_at?: string; id?: string }): StoredPost {
    const post: StoredPost = {
      id: p.id ?? randomUUID(),
      submolt: p.submolt ?? 'general',
      title: p.title ?? '',
      content: p.content ?? '',
      ...(p.metadata !== undefined ? { metadata: p.metadata } : {}),
      author: { ...author },
      created_at: p.created_at ?? this.nextCreatedAt(),
    };
    this.posts.push(post);
    return post;
  }

  private nextCreatedAt(): string {
    this.lastCreated = Math.max(this.now(), this.lastCreated + 1);
    return new Date(this.lastCreated).toISOString();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: string;
    try {
      body = await readBody(req);
    } catch {
      res.writeHead(413, { 'content-type': 'application/json' }).end(JSON.stringify({ success: false, error: 'body too large' }));
      return;
    }
    const url = req.url ?? '/';
    this.requests.push({ method: req.method ?? '', url, headers: { ...req.headers }, rawHeaders: [...req.rawHeaders], body });
    const i = this.faults.findIndex((f) => f.pathPrefix === undefined || url.startsWith(f.pathPrefix));
    if (i >= 0) {
      this.playFault(this.faults.splice(i, 1)[0]!, res);
      return;
    }
    const json = (status: number, o: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(o));
    const auth = req.headers.authorization ?? '';
    const agent = auth.startsWith('Bearer ') ? this.o.agents[auth.slice(7)] : undefined;
    if (!agent) return void json(401, { success: false, error: 'Invalid or missing API key' });

    const u = new URL(url, 'http://fake');
    if (req.method === 'POST' && u.pathname === '/api/v1/posts') {
      let p: Record<string, unknown>;
      try {
        p = JSON.parse(body) as Record<string, unknown>;
      } catch {
        return void json(400, { success: false, error: 'body is not JSON' });
      }
      if (typeof p['title'] !== 'string' || typeof p['submolt'] !== 'string') return void json(400, { success: false, error: 'title and submolt are required' });
      const post = this.addPost(agent, { title: p['title'], content: p['content'], metadata: p['metadata'], submolt: p['submolt'] });
      return void json(200, { success: true, post });
    }
    if (req.method === 'GET' && u.pathname === '/api/v1/posts') {
      if (this.postsListNotFound) return void json(404, { success: false, error: 'Not found' });
      const list = this.matching(u.searchParams.get('q') ?? '', Number(u.searchParams.get('limit') ?? 25));
      return void json(200, this.listShape === 'array' ? list : { success: true, [this.listShape]: list });
    }
    if (req.method === 'GET' && u.pathname === '/api/v1/search') {
      if (u.searchParams.get('type') !== 'posts') return void json(400, { success: false, error: 'type must be posts here' });
      return void json(200, { success: true, results: this.matching(u.searchParams.get('q') ?? '', 50) });
    }
    json(404, { success: false, error: 'Not found' });
  }

  /** Posts whose title, content or metadata mention q (case-insensitive), newest first. */
  private matching(q: string, limit: number): unknown[] {
    const needle = q.toLowerCase();
    const n = Number.isInteger(limit) && limit > 0 ? Math.min(limit, 100) : 25;
    return [...this.posts].reverse().filter((p) => JSON.stringify(p)?.toLowerCase().includes(needle)).slice(0, n);
  }

  private playFault(f: FakeFault, res: ServerResponse): void {
    if (f.hang) return;
    const status = f.status ?? 200;
    if (f.streamBytes !== undefined) {
      res.writeHead(status, { 'content-type': 'application/json', ...f.headers });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let left = f.streamBytes;
      const pump = (): void => {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          if (!res.write(chunk.subarray(0, n))) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      res.on('error', () => undefined);
      pump();
      return;
    }
    const text = f.body === undefined ? '' : typeof f.body === 'string' ? f.body : JSON.stringify(f.body);
    res.writeHead(status, { 'content-type': typeof f.body === 'string' ? 'text/plain' : 'application/json', ...f.headers }).end(text);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > MAX_BODY) {
        reject(new Error('too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
