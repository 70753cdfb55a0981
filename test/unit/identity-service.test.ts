import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { ServiceHost, type SharedContext } from '../../src/daemon/service-host.js';
import { SERVICES } from '../../src/daemon/services.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/common/log.js';
import { MinimaStub } from '../helpers/minima-stub.js';
import type { Timers } from '../../src/controlplane/service.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
const other = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).toString('hex');

/** Timers the test fires by hand. */
function manualTimers(): Timers & { fire(): void; pending(): number } {
  const queue = new Map<number, () => void>();
  let next = 0;
  return {
    setTimeout: (fn) => (queue.set(++next, fn), next),
    clearTimeout: (h) => void queue.delete(h as number),
    fire: () => {
      const fns = [...queue.values()];
      queue.clear();
      for (const f of fns) f();
    },
    pending: () => queue.size,
  };
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('with the Minima backend the daemon re-applies the contacts lockdown at start, retrying until Minima answers', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'moltnet-idsvc-'));
  const stub = new MinimaStub({ privateKey: rsa.privateKey, p2pIdentity: 'MxSELF@127.0.0.1:9001' });
  const url = await stub.start();
  await writeFile(join(dir, 'moltid-allowed.json'), JSON.stringify({ allowed: [`0x${other}`] }), { mode: 0o600 });
  const timers = manualTimers();
  const host = new ServiceHost(
    SERVICES.filter((d) => d.name === 'identity'),
    { timers, node: { stateDir: dir } } as unknown as SharedContext,
    silentLogger(),
    new Registry(),
  );
  try {
    stub.setStarting(1000); // Maxima still starting: the first tries fail
    await host.startAll(parseConfig(`uuid: daa46e88-46c5-4af7-9268-1482c54c1922\nstateDir: ${dir}\nidentity: { backend: minima, minima: { url: "${url}" } }\n`));
    await until(() => timers.pending() === 1);
    const before = (await host.queries.get('identity')!({})) as { lockdown: { applied: boolean; lastError?: string } };
    assert.equal(before.lockdown.applied, false);
    assert.ok(before.lockdown.lastError);
    stub.setStarting(0);
    stub.allowAll = true;
    timers.fire();
    await until(() => !stub.allowAll && stub.allowed.length === 1);
    assert.deepEqual(stub.allowed.map((k) => k.toLowerCase()), [`0x${other}`]);
    const card = (await host.queries.get('identity')!({})) as { backend: string; lockdown: { applied: boolean; allowed: number } };
    assert.equal(card.backend, 'minima');
    assert.deepEqual(card.lockdown, { applied: true, allowed: 1 });
  } finally {
    await host.stopAll();
    await stub.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('with the built-in backend `show identity` names the missing key until `moltnet id init`', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'moltnet-idsvc-'));
  const host = new ServiceHost(SERVICES.filter((d) => d.name === 'identity'), { timers: manualTimers(), node: { stateDir: dir } } as unknown as SharedContext, silentLogger(), new Registry());
  try {
    await host.startAll(parseConfig(`uuid: daa46e88-46c5-4af7-9268-1482c54c1922\nstateDir: ${dir}\n`));
    const card = (await host.queries.get('identity')!({})) as { backend: string; error?: string };
    assert.equal(card.backend, 'builtin');
    assert.match(card.error ?? '', /moltnet id init/);
  } finally {
    await host.stopAll();
    await rm(dir, { recursive: true, force: true });
  }
});
