import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PeerCache } from '../../src/controlplane/discovery/cache.js';
import { announcedEndpoint } from '../../src/controlplane/discovery/endpoint.js';

test('the announced endpoint: configured, else a non-wildcard listen address, else the default route\'s', async () => {
  const route = async () => 'fdff:6d62::1';
  const none = async () => undefined;
  assert.equal(await announcedEndpoint({ configured: 'agent.example.com:4789', underlayListen: '[::]:4789', defaultRouteAddress: route }), 'agent.example.com:4789');
  assert.equal(await announcedEndpoint({ configured: undefined, underlayListen: '192.0.2.7:14789', defaultRouteAddress: route }), '192.0.2.7:14789');
  assert.equal(await announcedEndpoint({ configured: undefined, underlayListen: '[2001:db8::7]:4789', defaultRouteAddress: route }), '[2001:db8::7]:4789');
  assert.equal(await announcedEndpoint({ configured: undefined, underlayListen: '[::]:4789', defaultRouteAddress: route }), '[fdff:6d62::1]:4789');
  assert.equal(await announcedEndpoint({ configured: undefined, underlayListen: '0.0.0.0:4789', defaultRouteAddress: async () => '198.51.100.4' }), '198.51.100.4:4789');
  assert.equal(await announcedEndpoint({ configured: undefined, underlayListen: '[::]:4789', defaultRouteAddress: none }), undefined);
});

test('the peer cache: bounded (least recently seen out first), saved 0600, bad entries and bad files skipped', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'moltnet-cache-'));
  const c = new PeerCache(dir, 3);
  const uuid = (i: number) => `00000000-0000-4000-8000-00000000000${i}`;
  for (let i = 1; i <= 4; i++) c.put({ uuid: uuid(i), endpoint: { host: `fdff::${i}`, port: 4789 }, source: 'moltbook', lastSeen: i });
  assert.deepEqual(c.list().map((p) => p.uuid), [uuid(2), uuid(3), uuid(4)]);
  c.put({ uuid: uuid(2), endpoint: { host: 'fdff::2', port: 4789 }, source: 'lan', lastSeen: 9 });
  assert.deepEqual(c.list().map((p) => p.uuid), [uuid(3), uuid(4), uuid(2)]);
  await c.save();
  assert.equal((await stat(c.path)).mode & 0o777, 0o600);
  const again = new PeerCache(dir, 3);
  assert.equal(await again.load(), undefined);
  assert.deepEqual(again.list(), c.list());
  await writeFile(c.path, JSON.stringify([{ uuid: 'nope', endpoint: { host: 'x', port: 1 }, source: 'lan' }, { uuid: uuid(5), endpoint: { host: 'fdff::5', port: 4789 }, source: 'exchange', lastSeen: 1 }]));
  const mixed = new PeerCache(dir);
  assert.equal(await mixed.load(), undefined);
  assert.deepEqual(mixed.list().map((p) => p.uuid), [uuid(5)]);
  await writeFile(c.path, '{ broken');
  assert.match((await new PeerCache(dir).load())!, /discovered-peers.json/);
  assert.ok((await readFile(c.path, 'utf8')).length > 0);
});
