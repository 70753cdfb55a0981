import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdAllocator, LinkError, LinkManager, type LinkDriver, type LinkPlane, type LinkRequest } from '../../src/controlplane/link-manager.js';
import type { LinkSpec } from '../../src/transport/link-spec.js';
import type { Port } from '../../src/dataplane/engine.js';

class FakePlane implements LinkPlane {
  readonly calls: string[] = [];
  readonly links = new Map<number, LinkSpec>();
  readonly ports = new Map<number, Port>();
  addPort(id: number, port: Port): void {
    this.calls.push(`addPort ${id}`);
    this.ports.set(id, port);
  }
  removePort(id: number): void {
    this.calls.push(`removePort ${id}`);
    this.ports.delete(id);
  }
  addLink(spec: LinkSpec): void {
    this.calls.push(`addLink ${spec.id} ${spec.name} port ${spec.port}`);
    this.links.set(spec.id, spec);
  }
  removeLink(id: number): void {
    this.calls.push(`removeLink ${id}`);
    this.links.delete(id);
  }
}

const closed: string[] = [];
function driver(kind: 'vxlan' | 'kernel', fail?: string): LinkDriver {
  return {
    kind,
    async prepare(req: LinkRequest) {
      if (req.name === fail) throw new Error(`cannot resolve ${req.name}`);
      const spec = {
        name: req.name,
        kind,
        remote: new Uint8Array(20),
        mtu: 1380,
        localMesh: new Uint8Array(16),
        localLinkLocal: new Uint8Array(16),
        peerMesh: Uint8Array.from({ length: 16 }, (_, i) => (i === 15 ? req.name.length : 0)),
        ...(kind === 'vxlan' ? { port: 0 } : {}),
        ...((req.params as { roam?: boolean }).roam ? { roam: true } : {}),
      };
      return {
        spec,
        ...(kind === 'kernel' ? { ownPort: { fd: 100 + req.name.length, kind: 'tun' as const } } : {}),
        describe: { endpoint: 'x' },
        close: () => void closed.push(req.name),
      };
    },
  };
}

function manager(opts: { maxLinkId?: number; fail?: string } = {}) {
  const plane = new FakePlane();
  const links = new LinkManager(plane, [driver('vxlan', opts.fail), driver('kernel')], opts);
  const events: string[] = [];
  for (const e of ['added', 'up', 'down', 'changed', 'removed'] as const) {
    links.on(e, ((l: { name: string; id: number }, reason?: string) => events.push(`${e} ${l.name}#${l.id}${reason ? ` ${reason}` : ''}`)) as never);
  }
  return { plane, links, events };
}

const req = (name: string, kind: 'vxlan' | 'kernel' = 'vxlan', cost = 10): LinkRequest => ({ name, kind, origin: 'config', cost, params: {} });

test('ids are stable, count up and are not reused while others are free', async () => {
  const { links, plane } = manager();
  const a = await links.add(req('a'));
  const b = await links.add(req('b'));
  await links.remove('a');
  const c = await links.add(req('c'));
  assert.deepEqual([a.id, b.id, c.id], [0, 1, 2]);
  assert.equal(links.get(1), b, 'b keeps its id across the others changing');
  assert.deepEqual([...plane.links.keys()].sort(), [1, 2]);
});

test('events come in order: added, up; down, removed; the plane hears before the listeners', async () => {
  const { links, events, plane } = manager();
  const order: string[] = [];
  links.on('added', (l) => order.push(`listener sees ${l.id} in plane: ${plane.links.has(l.id)}`));
  links.on('removed', (l) => order.push(`listener sees ${l.id} in plane: ${plane.links.has(l.id)}`));
  const a = await links.add(req('a'));
  links.setDown(a.id, 'bfd', true);
  links.setDown(a.id, 'ospf', true); // already down: no second event
  links.setDown(a.id, 'bfd', false); // ospf still holds it down
  links.setDown(a.id, 'ospf', false);
  links.setCost(a.id, 20);
  links.setCost(a.id, 20);
  await links.remove(a.id);
  assert.deepEqual(events, ['added a#0', 'up a#0 added', 'down a#0 bfd', 'up a#0 ospf', 'changed a#0', 'down a#0 removed', 'removed a#0']);
  assert.deepEqual(order, ['listener sees 0 in plane: true', 'listener sees 0 in plane: false']);
  assert.ok(closed.includes('a'));
});

test('a link held down from the start: added without up until its reason clears', async () => {
  const { links, events } = manager();
  const a = await links.add({ ...req('punched'), holdDown: ['bfd'] });
  assert.equal(a.up, false);
  assert.deepEqual([...a.downReasons], ['bfd']);
  links.setDown(a.id, 'bfd', false);
  assert.equal(a.up, true);
  assert.deepEqual(events, ['added punched#0', 'up punched#0 bfd']);
});

test('observe: a roaming link reports where its peer sends from, once per change; other links ignore it', async () => {
  const { links } = manager();
  const seen: string[] = [];
  links.on('roamed', (l, ep) => seen.push(`${l.name} ${ep}`));
  const plain = await links.add(req('plain'));
  const r = await links.add({ ...req('nat'), params: { roam: true } });
  const rec = (a: number, port: number) => Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, a, port >> 8, port & 0xff);
  links.observe(r.id, rec(2, 45789));
  links.observe(r.id, rec(2, 45789));
  links.observe(r.id, rec(2, 40001));
  links.observe(plain.id, rec(9, 1));
  links.observe(99, rec(9, 1));
  assert.deepEqual(seen, ['nat 198.51.100.2:45789', 'nat 198.51.100.2:40001']);
  assert.equal(r.observed, '198.51.100.2:40001');
  assert.equal(plain.observed, undefined);
});

test('a kernel link gets a port of its own, added before the link and removed after it', async () => {
  const { links, plane } = manager();
  const k = await links.add(req('k0', 'kernel'));
  assert.equal(k.spec.port, 2);
  await links.add(req('k1', 'kernel'));
  await links.remove('k0');
  assert.deepEqual(plane.calls, ['addPort 2', 'addLink 0 k0 port 2', 'addPort 3', 'addLink 1 k1 port 3', 'removeLink 0', 'removePort 2']);
});

test('names are unique (case-insensitive), also while a link is being prepared', async () => {
  const { links } = manager();
  const first = links.add(req('peer'));
  await assert.rejects(links.add(req('PEER')), LinkError);
  await first;
  await assert.rejects(links.add(req('Peer')), /already exists/);
  await assert.rejects(links.remove('nobody'), /no link named "nobody"/);
});

test('a driver failure adds nothing and takes no id', async () => {
  const { links, plane } = manager({ fail: 'bad' });
  await assert.rejects(links.add(req('bad')), /cannot resolve bad/);
  assert.equal(plane.calls.length, 0);
  const ok = await links.add(req('ok'));
  assert.equal(ok.id, 0);
});

test('the id space: freed ids come back oldest first only when it is used up, then a clear error', async () => {
  const { links } = manager({ maxLinkId: 2 });
  for (const n of ['a', 'b', 'c']) await links.add(req(n));
  await links.remove('b');
  await links.remove('a');
  assert.equal((await links.add(req('d'))).id, 1);
  assert.equal((await links.add(req('e'))).id, 0);
  await assert.rejects(links.add(req('f')), /no free link id: all 3 are in use/);
  const ids = new IdAllocator(0, 65534, 'link');
  for (let i = 0; i < 65535; i++) ids.take();
  assert.throws(() => ids.take(), LinkError);
});

test('remove during traffic: counters and other links untouched', async () => {
  const { links, plane } = manager();
  const names = Array.from({ length: 50 }, (_, i) => `p${i}`);
  for (const n of names) await links.add(req(n));
  const before = plane.links.get(7);
  await Promise.all(names.filter((_, i) => i % 2 === 0).map((n) => links.remove(n)));
  assert.equal(plane.links.get(7), before);
  assert.equal(links.size, 25);
  assert.deepEqual(links.list().map((l) => l.id), names.map((_, i) => i).filter((i) => i % 2 === 1));
});
