/**
 * The REST service with a fake context on loopback: queries by path (sub-queries as path segments),
 * /metrics from the registry, HEAD, and what it refuses; a taken port leaves it not serving, said in
 * `show http`, instead of failing the daemon.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { Gauge, Registry } from 'prom-client';
import { HttpService, type HttpSection } from '../../src/services/http/service.js';
import type { QueryHandler, ServiceContext } from '../../src/controlplane/service.js';

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
    config: { listen },
    metrics: { registry },
    queries: { register: (n: string, h: QueryHandler) => void queries.set(n, h), get: (n: string) => queries.get(n), names: () => [...queries.keys()].sort() },
  } as unknown as ServiceContext<HttpSection>;
  return { ctx, queries };
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
