import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimNet, meshAddressOf } from '../helpers/ospf-net.js';

test('two routers back to back reach Full and exchange routes', () => {
  const net = new SimNet({ record: true });
  net.addRouter(1);
  net.addRouter(2);
  net.connect(1, 2, 10);
  net.advance(20_000);
  const n1 = net.routers.get(1)!.inst.neighbors();
  const n2 = net.routers.get(2)!.inst.neighbors();
  assert.equal(n1.length, 1);
  assert.equal(n1[0]!.state, 'Full');
  assert.equal(n2[0]!.state, 'Full');
  assert.equal(net.areaDatabase(1), net.areaDatabase(2));
  const r1 = net.routers.get(1)!.inst.routes();
  const to2 = r1.find((r) => r.prefix.equals(meshAddressOf(2)));
  assert.ok(to2, 'route to router 2');
  assert.equal(to2.cost, 10);
});
