/**
 * GET /events: the dashboard's live feed as Server-Sent Events. One timer for all clients (the
 * snapshot is built once per tick and written to each), running only while someone listens; a new
 * client gets the latest snapshot at once. Bounded: a client cap (the service answers 503 beyond it)
 * and a cap on what may queue for a client that does not read (it is dropped, its EventSource
 * reconnects). close() ends every stream, so the daemon's stop is not held by open dashboards.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import type { Timers } from '../../controlplane/service.js';
import { buildSnapshot, type CounterSample, type DashboardInputs } from './dashboard.js';

export interface DashboardFeedOptions {
  /** The query answers a snapshot is built from. */
  collect: () => Promise<DashboardInputs>;
  clock: Clock;
  timers: Timers;
  log: Logger;
  intervalMs?: number;
  maxClients?: number;
}

export const FEED_INTERVAL_MS = 1000;
export const MAX_FEED_CLIENTS = 16;
/** How long the browser waits before reconnecting a dropped stream (the SSE `retry:` field). */
export const RECONNECT_MS = 2000;
/** Bytes queued for one client beyond which it is dropped rather than buffered without end. */
const MAX_QUEUED_BYTES = 1024 * 1024;

export class DashboardFeed {
  private readonly clients = new Set<ServerResponse>();
  private timer: unknown;
  private running = false;
  private sample: CounterSample | undefined;
  private latest: string | undefined;
  private closed = false;
  readonly counters = { snapshots: 0, refused: 0, dropped: 0 };
  private readonly intervalMs: number;
  readonly maxClients: number;

  constructor(private readonly o: DashboardFeedOptions) {
    this.intervalMs = o.intervalMs ?? FEED_INTERVAL_MS;
    this.maxClients = o.maxClients ?? MAX_FEED_CLIENTS;
  }

  get size(): number {
    return this.clients.size;
  }

  /** True when another client would go over the cap (counted as refused). */
  refuse(): boolean {
    if (this.clients.size < this.maxClients && !this.closed) return false;
    this.counters.refused++;
    return true;
  }

  /** Take a GET /events response and keep it open, writing a snapshot every tick. */
  attach(req: IncomingMessage, res: ServerResponse): void {
    // The server's request timeout bounds receiving the request (done by now); the socket's idle
    // timeout would still cut a quiet stream, so the stream has none.
    req.setTimeout(0);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Content-Type-Options': 'nosniff',
    });
    res.write(`retry: ${RECONNECT_MS}\n\n`);
    this.clients.add(res);
    res.on('close', () => this.detach(res));
    if (this.latest) this.write(res, this.latest);
    // One chain of ticks for all: start it only when none is running or due.
    if (!this.running && this.timer === undefined) void this.tick();
  }

  /** End every stream and stop the timer; later attach() calls are refused by refuse(). */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.o.timers.clearTimeout(this.timer);
    this.timer = undefined;
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private detach(res: ServerResponse): void {
    this.clients.delete(res);
    if (this.clients.size > 0) return;
    if (this.timer !== undefined) this.o.timers.clearTimeout(this.timer);
    this.timer = undefined;
    // Rates after a pause would average over it: start afresh.
    this.sample = undefined;
    this.latest = undefined;
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.closed || this.clients.size === 0) return;
    this.running = true;
    try {
      const inputs = await this.o.collect();
      const { snapshot, sample } = buildSnapshot(inputs, this.sample, this.o.clock.now());
      this.sample = sample;
      this.latest = `event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`;
      this.counters.snapshots++;
      for (const res of [...this.clients]) this.write(res, this.latest);
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'dashboard snapshot failed');
    } finally {
      this.running = false;
    }
    if (!this.closed && this.clients.size > 0) this.timer = this.o.timers.setTimeout(() => void this.tick(), this.intervalMs);
  }

  private write(res: ServerResponse, text: string): void {
    if (res.writableLength > MAX_QUEUED_BYTES) {
      this.counters.dropped++;
      res.destroy();
      this.detach(res);
      return;
    }
    res.write(text);
  }
}
