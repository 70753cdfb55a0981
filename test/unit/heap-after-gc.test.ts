/**
 * HeapAfterFullGc in a child node with --expose-gc, so the test decides when the full collections happen.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const heapModule = fileURLToPath(new URL('../../src/daemon/heap.js', import.meta.url));

const child = `
import { HeapAfterFullGc } from ${JSON.stringify(heapModule)};
const tick = () => new Promise((r) => setTimeout(r, 50));
const h = new HeapAfterFullGc();
h.start();
const out = { before: h.figures() };
let garbage = [];
for (let i = 0; i < 20000; i++) garbage.push({ i, s: 'x'.repeat(200) + i });
out.withGarbage = process.memoryUsage().heapUsed / 1048576;
garbage = null;
globalThis.gc();
await tick();
out.afterOne = h.figures();
globalThis.gc();
await tick();
out.afterTwo = h.figures();
h.stop();
globalThis.gc();
await tick();
out.afterStop = h.figures();
console.log(JSON.stringify(out));
`;

test('records the heap after each full collection, and nothing once stopped', () => {
  const got = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', child], { encoding: 'utf8', timeout: 20_000 }));
  assert.deepEqual(got.before, { heapAfterFullGc: null, fullGcs: 0 });
  assert.equal(got.afterOne.fullGcs, 1);
  assert.equal(typeof got.afterOne.heapAfterFullGc, 'number');
  // The collected garbage is about 5 MiB: what is left after the collection is well under the heap that held it.
  assert.ok(got.afterOne.heapAfterFullGc < got.withGarbage - 2, `${got.afterOne.heapAfterFullGc} MiB after the collection, ${got.withGarbage} MiB with the garbage`);
  assert.equal(got.afterTwo.fullGcs, 2);
  assert.equal(got.afterStop.fullGcs, 2);
  assert.equal(got.afterStop.heapAfterFullGc, got.afterTwo.heapAfterFullGc);
});
