import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.js';
import { planReload } from '../../src/daemon/reload.js';
import { ConfigError } from '../../src/common/errors.js';

const base = `
uuid: daa46e88-46c5-4af7-9268-1482c54c1922
peers:
  - { name: b, uuid: 88833763-60b7-47db-8703-349c6b2c70ff, endpoint: "[fd00:1::2]:4789" }
  - { name: c, uuid: f8a9ce03-f512-4311-8792-b8a3e3ac0b6f, endpoint: "[fd00:1::3]:4789", cost: 20 }
routes:
  - { prefix: "fd00:6d6f:6c74:f8a9::/64", via: b }
`;

test('an identical config plans nothing', () => {
  const plan = planReload(parseConfig(base), parseConfig(base));
  assert.equal(plan.empty, true);
  assert.deepEqual(plan.peers, { add: [], remove: [], remake: [], cost: [] });
  assert.equal(plan.routesChanged, false);
});

test('peers: added, removed, re-made on an endpoint change, cost changed in place', () => {
  const next = parseConfig(`
uuid: daa46e88-46c5-4af7-9268-1482c54c1922
peers:
  - { name: b, uuid: 88833763-60b7-47db-8703-349c6b2c70ff, endpoint: "[fd00:1::9]:4789" }
  - { name: d, uuid: 11111111-2222-4333-8444-555555555555, endpoint: "192.0.2.7" }
  - { name: c, uuid: f8a9ce03-f512-4311-8792-b8a3e3ac0b6f, endpoint: "[fd00:1::3]:4789", cost: 5 }
routes:
  - { prefix: "fd00:6d6f:6c74:f8a9::/64", via: c }
`);
  const plan = planReload(parseConfig(base), next);
  assert.deepEqual(plan.peers.add.map((p) => p.name), ['d']);
  assert.deepEqual(plan.peers.remove, []);
  assert.deepEqual(plan.peers.remake.map((p) => p.name), ['b']);
  assert.deepEqual(plan.peers.cost, [{ name: 'c', cost: 5 }]);
  assert.equal(plan.routesChanged, true);
  const fewer = planReload(parseConfig(base), parseConfig('uuid: daa46e88-46c5-4af7-9268-1482c54c1922\n'));
  assert.deepEqual(fewer.peers.remove, ['b', 'c']);
});

test('identity, interface and underlay changes are refused, naming the keys', () => {
  const next = parseConfig(base.replace('daa46e88-46c5-4af7-9268-1482c54c1922', '12345678-1234-4234-8234-123456789abc') + 'interface: { mtu: 1400 }\n');
  assert.throws(
    () => planReload(parseConfig(base), next, '/etc/moltnet.yaml'),
    (err: unknown) =>
      err instanceof ConfigError &&
      /\/etc\/moltnet\.yaml: uuid: changed/.test(err.message) &&
      /interface: changed .*restart the daemon/.test(err.message),
  );
});

test('kernel links diff by name like peers', () => {
  const a = parseConfig(base + 'kernelLinks:\n  - { name: k0, netns: gw }\n');
  const b = parseConfig(base + 'kernelLinks:\n  - { name: k0, netns: gw2 }\n  - { name: k1, cost: 3 }\n');
  const plan = planReload(a, b);
  assert.deepEqual(plan.kernelLinks.remake.map((k) => k.name), ['k0']);
  assert.deepEqual(plan.kernelLinks.add.map((k) => k.name), ['k1']);
});
