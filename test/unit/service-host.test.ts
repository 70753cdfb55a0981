import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { ServiceHost, type SharedContext } from '../../src/daemon/service-host.js';
import type { AnyServiceDefinition } from '../../src/daemon/services.js';
import type { Service, ServiceContext } from '../../src/controlplane/service.js';
import { silentLogger } from '../../src/common/log.js';
import { parseConfig } from '../../src/config/load.js';

type Section = { enabled: boolean; level: number; live?: number };

function definitions(log: string[]): AnyServiceDefinition[] {
  const make = (name: string): AnyServiceDefinition => ({
    name,
    section: (c) => (c as unknown as Record<string, Section>)[name === 'a' ? 'bfd' : 'ospf'] as never,
    enabled: (s: { enabled: boolean }) => s.enabled,
    disabledHint: `${name} is off`,
    create: (): Service<Section> => {
      let ctx: ServiceContext<Section>;
      return {
        name,
        start(c) {
          ctx = c;
          log.push(`start ${name}`);
          c.queries.register(`${name} state`, () => ({ name, other: c.services.get<{ name: string }>('a')?.name ?? null }));
          c.metrics.gauge({ name: `moltnet_test_${name}`, help: 'test' }).set(1);
        },
        reconfigure(s) {
          // Only helloInterval-like changes are live in this fake.
          const live = JSON.stringify({ ...s, helloInterval: 0 }) === JSON.stringify({ ...ctx.config, helloInterval: 0 });
          log.push(`reconfigure ${name} ${live}`);
          return live;
        },
        stop() {
          log.push(`stop ${name}`);
        },
      };
    },
  });
  return [make('a'), make('b')];
}

const shared = {} as SharedContext;
const base = 'uuid: daa46e88-46c5-4af7-9268-1482c54c1922\n';

test('services start in list order, stop in reverse; queries and metrics go with them', async () => {
  const log: string[] = [];
  const registry = new Registry();
  const host = new ServiceHost(definitions(log), shared, silentLogger(), registry);
  await host.startAll(parseConfig(base));
  assert.deepEqual(log, ['start a', 'start b']);
  assert.deepEqual(host.queries.get('b state')!({}), { name: 'b', other: 'a' });
  assert.match(await registry.metrics(), /moltnet_test_a 1/);
  await host.stopAll();
  assert.deepEqual(log.slice(2), ['stop b', 'stop a']);
  assert.equal(host.queries.size, 0);
  assert.equal(await registry.metrics(), '\n');
});

test('reload: unchanged sections are left alone, live changes in place, others restart alone, off stops', async () => {
  const log: string[] = [];
  const host = new ServiceHost(definitions(log), shared, silentLogger(), new Registry());
  await host.startAll(parseConfig(base));
  log.length = 0;
  let r = await host.reconfigure(parseConfig(base));
  assert.deepEqual(log, []);
  assert.deepEqual(r, { restarted: [], started: [], stopped: [], changed: [] });
  r = await host.reconfigure(parseConfig(base + 'ospf: { helloInterval: 2, deadInterval: 8 }\n'));
  assert.deepEqual(log, ['reconfigure b false', 'stop b', 'start b']);
  assert.deepEqual(r.restarted, ['b']);
  log.length = 0;
  r = await host.reconfigure(parseConfig(base + 'ospf: { helloInterval: 3, deadInterval: 8 }\n'));
  assert.deepEqual(log, ['reconfigure b true']);
  assert.deepEqual(r.changed, ['b']);
  log.length = 0;
  r = await host.reconfigure(parseConfig(base + 'bfd: { enabled: false }\nospf: { helloInterval: 3, deadInterval: 8 }\n'));
  assert.deepEqual(log, ['stop a']);
  assert.equal(host.disabledHint('a state'), 'a is off');
  assert.equal(host.disabledHint('b state'), undefined);
  log.length = 0;
  r = await host.reconfigure(parseConfig(base + 'ospf: { helloInterval: 3, deadInterval: 8 }\n'));
  assert.deepEqual(log, ['start a']);
  assert.deepEqual(r.started, ['a']);
});
