/**
 * The REST service with a fake context on loopback: queries by path (sub-queries as path segments),
 * /metrics from the registry, HEAD, and what it refuses; a taken port leaves it not serving, said in
 * `show http`, instead of failing the daemon. The dashboard: the page, its assets, the /events stream
 * (headers, a snapshot, the client cap, ended by stop()).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { Gauge, Registry } from 'prom-client';
import { HttpService, type HttpSection } from '../../src/services/http/service.js';
import { systemTimers, type QueryHandler, type ServiceContext } from '../../src/controlplane/service.js';
import { systemClock } from '../../src/common/clock.js';

function context(listen: string) {
  const queries = new Map<string, QueryHandler>([
    ['peers', () => [{ name: 'carlotta', moltid: Buffer.from([1, 2]) }]],
    ['ospf neighbors', (p) => ({ asked: p['what'] })],
  ]);
  const registry = new Registry();
  new Gauge({ name: 'moltnet_test_value', help: 'a value', registers: [registry] }).set(7);
  const silent = { info() {}, warn() {}, error() {}, debug() {} };
  const ctx = {
    log: silent,
    clock: systemClock,
    timers: systemTimers,
    config: { listen },
    metrics: { registry },
    queries: { register: (n: string, h: QueryHandler) => void queries.set(n, h), get: (n: string) => queries.get(n), names: () => [...queries.keys()].sort() },
  } as unknown as ServiceContext<HttpSection>;
  return { ctx, queries };
}

async function freePort(): Promise<number> {
  const free = createServer();
  await new Promise<void>((r) => free.listen(0, '::1', () => r()));
  const port = (free.address() as { port: number }).port;
  await new Promise((r) => free.close(r));
  return port;
}

test('GET /api/<name>[/<sub>] runs the query; /metrics is the registry; HEAD has no body; the rest is refused', async () => {
  const free = createServer();
  await new Promise<void>((r) => free.listen(0, '::1', () => r()));
  const port = (free.address() as { port: number }).port;
  await new Promise((r) => free.close(r));
  const { ctx } = context(`[::1]:${port}`);
  const http = new HttpService();
  await http.start(ctx);
  const base = `http://[::1]:${http.address!.port}`;
  try {
    assert.deepEqual(await (await fetch(`${base}/api/`)).json(), { queries: ['/api/http', '/api/ospf/neighbors', '/api/peers'] });
    assert.deepEqual(await (await fetch(`${base}/api/peers`)).json(), [{ name: 'carlotta', moltid: '0x0102' }]);
    assert.deepEqual(await (await fetch(`${base}/api/ospf/neighbors/`)).json(), { asked: 'ospf neighbors' });
    const m = await fetch(`${base}/metrics`);
    assert.match(m.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
    assert.match(await m.text(), /^moltnet_test_value 7$/m);
    const head = await fetch(`${base}/api/peers`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    const del = await fetch(`${base}/api/peers`, { method: 'DELETE' });
    assert.equal(del.status, 405);
    assert.equal(del.headers.get('allow'), 'GET, HEAD');
    const missing = await fetch(`${base}/api/nothing`);
    assert.equal(missing.status, 404);
    assert.match(((await missing.json()) as { error: string }).error, /try \/api\/http, \/api\/ospf\/neighbors, \/api\/peers/);
  } finally {
    await http.stop();
  }
});

test('a taken port: not serving, said in show http, and start() still resolves', async () => {
  const holder = createServer();
  await new Promise<void>((r) => holder.listen(0, '::1', () => r()));
  const port = (holder.address() as { port: number }).port;
  const { ctx, queries } = context(`[::1]:${port}`);
  const http = new HttpService();
  try {
    await http.start(ctx);
    const shown = queries.get('http')!({}) as { serving: boolean; error?: string };
    assert.equal(shown.serving, false);
    assert.match(shown.error!, /EADDRINUSE/);
  } finally {
    await http.stop();
    holder.close();
  }
});

test('the dashboard: / with a strict CSP, its assets (cytoscape from node_modules), unknown assets 404', { timeout: 10_000 }, async () => {
  const { ctx } = context(`[::1]:${await freePort()}`);
  const http = new HttpService();
  await http.start(ctx);
  const base = `http://[::1]:${http.address!.port}`;
  try {
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type')!, /^text\/html/);
    assert.match(page.headers.get('content-security-policy')!, /script-src 'self';/);
    const html = await page.text();
    assert.match(html, /<script src="\/assets\/cytoscape\.min\.js"><\/script>/);
    assert.doesNotMatch(html, /<script>/, 'no inline script');
    assert.doesNotMatch(html, /https?:\/\//, 'nothing from elsewhere');
    const js = await fetch(`${base}/assets/dashboard.js`);
    assert.match(js.headers.get('content-type')!, /^text\/javascript/);
    assert.match(await js.text(), /new EventSource\('\/events'\)/);
    assert.match((await fetch(`${base}/assets/dashboard.css`)).headers.get('content-type')!, /^text\/css/);
    const cy = await fetch(`${base}/assets/cytoscape.min.js`);
    assert.equal(cy.status, 200);
    assert.ok((await cy.text()).length > 100_000);
    const head = await fetch(`${base}/`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    const missing = await fetch(`${base}/assets/nope.js`);
    assert.equal(missing.status, 404);
    assert.match(((await missing.json()) as { error: string }).error, /no asset \/assets\/nope\.js: there are \/assets\/dashboard\.js/);
    assert.match(((await (await fetch(`${base}/elsewhere`)).json()) as { error: string }).error, /the dashboard is at \//);
  } finally {
    await http.stop();
  }
});

test('/events: an event stream with a snapshot at once; 503 beyond the cap; stop() ends open streams promptly', { timeout: 10_000 }, async () => {
  const { ctx, queries } = context(`[::1]:${await freePort()}`);
  queries.set('status', () => ({ name: 'carlotta', address: 'fd00::c' }));
  queries.set('links', () => {
    throw new Error('links are away');
  });
  const http = new HttpService();
  await http.start(ctx);
  const base = `http://[::1]:${http.address!.port}`;
  const open: AbortController[] = [];
  try {
    const head = await fetch(`${base}/events`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.match(head.headers.get('content-type')!, /^text\/event-stream/);
    const ac = new AbortController();
    open.push(ac);
    const res = await fetch(`${base}/events`, { signal: ac.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/event-stream/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('event: snapshot\ndata: ') || !text.endsWith('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
    assert.match(text, /^retry: 2000\n\n/);
    const snapshot = JSON.parse(text.split('\ndata: ')[1]!) as { self: { name: string }; errors: Record<string, string> };
    assert.equal(snapshot.self.name, 'carlotta');
    assert.deepEqual(snapshot.errors, { links: 'links are away' });
    // Fill up to the cap (16 in all), then one more is refused. The responses are kept: undici cancels the
    // body of a response the garbage collector takes, and the server would count one client fewer.
    const kept: Response[] = [];
    for (let i = 1; i < 16; i++) {
      const c = new AbortController();
      open.push(c);
      const r = await fetch(`${base}/events`, { signal: c.signal });
      kept.push(r);
      assert.equal(r.status, 200);
    }
    assert.equal((queries.get('http')!({}) as { dashboard: { clients: number } }).dashboard.clients, 16);
    const refused = await fetch(`${base}/events`);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '10');
    assert.match(((await refused.json()) as { error: string }).error, /already 16 dashboards open/);
    const shown = queries.get('http')!({}) as { dashboard: { clients: number; refused: number } };
    assert.equal(shown.dashboard.clients, 16, `${kept.length + 1} streams are open`);
    assert.equal(shown.dashboard.refused, 1);
    // stop() ends the streams: the reader sees the end, and stop does not wait on them.
    const t0 = Date.now();
    await http.stop();
    assert.ok(Date.now() - t0 < 1000, `stop took ${Date.now() - t0} ms`);
    for (;;) if ((await reader.read().catch(() => ({ done: true }))).done) break;
  } finally {
    for (const c of open) c.abort();
    await http.stop();
  }
});
