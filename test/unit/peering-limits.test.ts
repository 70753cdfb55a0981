import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SourceLimiter } from '../../src/controlplane/peering/limits.js';
import { PinStore, PinStoreError } from '../../src/controlplane/peering/pins.js';

test('per-source limits: open connections, connection rate (refilled over time), handshakes in progress', () => {
  const l = new SourceLimiter({ maxPerSource: 2, perMinute: 6, maxHandshakes: 3 });
  assert.equal(l.admit('fd00:1::2', 0), undefined);
  assert.equal(l.admit('fd00:1::2', 0), undefined);
  assert.match(l.admit('fd00:1::2', 0)!, /2 connections from fd00:1::2 already open/);
  // Another source is not affected by the first one's flood.
  assert.equal(l.admit('fd00:1::3', 0), undefined);
  assert.match(l.admit('fd00:1::4', 0)!, /3 handshakes already in progress/);
  l.handshakeDone();
  l.handshakeDone();
  l.handshakeDone();
  l.release('fd00:1::2');
  l.release('fd00:1::2');
  // Six per minute, a burst of six: four more now, then one every ten seconds.
  for (let i = 0; i < 4; i++) {
    assert.equal(l.admit('fd00:1::2', 1), undefined, `attempt ${i}`);
    l.handshakeDone();
    l.release('fd00:1::2');
  }
  assert.match(l.admit('fd00:1::2', 2)!, /connection rate from fd00:1::2 over 6 per minute/);
  assert.equal(l.admit('fd00:1::2', 10_002), undefined);
});

test('the limiter forgets idle sources first when it holds too many', () => {
  const l = new SourceLimiter({ maxPerSource: 1, perMinute: 1, maxHandshakes: 1000, maxSources: 3 });
  for (const a of ['a', 'b', 'c']) {
    l.admit(a, 0);
    l.handshakeDone();
    l.release(a);
  }
  assert.match(l.admit('a', 0)!, /rate/);
  l.admit('d', 0);
  // 'a' was used last but has no open connection, like the others: the least recently used go first.
  assert.match(l.admit('a', 0)!, /rate/);
});

test('pins: saved 0600, loaded back lowercased; a corrupt file is an error, not an empty list', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'moltnet-pins-'));
  const store = new PinStore(dir);
  assert.deepEqual([...(await store.load())], []);
  await store.save([['daa46e88-46c5-4af7-9268-1482c54c1922', 'MOLTID:0x302a']]);
  assert.equal((await stat(store.path)).mode & 0o777, 0o600);
  assert.deepEqual([...(await store.load())], [['daa46e88-46c5-4af7-9268-1482c54c1922', 'MOLTID:0x302a']]);
  await writeFile(store.path, '{"daa46e88-46c5-4af7-9268-1482c54c1922": "MOLTID:0xAB"}');
  assert.deepEqual([...(await store.load())], [['daa46e88-46c5-4af7-9268-1482c54c1922', 'MOLTID:0xab']]);
  await writeFile(store.path, '{ not json');
  await assert.rejects(store.load(), PinStoreError);
  await writeFile(store.path, '{"u": 5}');
  await assert.rejects(store.load(), /expected a MoltID/);
  assert.ok((await readFile(store.path, 'utf8')).length > 0);
  // Saves made together (two handshakes at once) all land, the last one last.
  await Promise.all([1, 2, 3, 4].map((i) => store.save([[`daa46e88-46c5-4af7-9268-00000000000${i}`, `MOLTID:0x0${i}`]])));
  assert.deepEqual([...(await store.load())], [['daa46e88-46c5-4af7-9268-000000000004', 'MOLTID:0x04']]);
});
