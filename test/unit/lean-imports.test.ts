/**
 * The daemon stays resident, so what it imports stays resident (issue 12: idle memory). These modules
 * load only when used: the MCP SDK (when the MCP service starts, not with the module), execa
 * (wireguard-go, resolvectl, MCP ping), pino-pretty (a terminal), the demo and the identity tools (their
 * commands). A module hook in a child process records every module that `moltnet up` and the daemon's
 * modules load, and the forwarding worker's.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const dist = new URL('../../', import.meta.url);

/** Every module URL loaded by importing `entries` (hooks record each resolved URL in a file). */
async function loadedBy(entries: string[]): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'moltnet-imports-'));
  try {
    const log = join(dir, 'urls');
    const hooks = `import { appendFileSync } from 'node:fs';
export async function resolve(spec, ctx, next) { const r = await next(spec, ctx); appendFileSync(${JSON.stringify(log)}, r.url + '\\n'); return r; }`;
    const register = `import { register } from 'node:module'; register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));`;
    const main = entries.map((e) => `await import(${JSON.stringify(new URL(e, dist).href)});`).join('\n');
    const r = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', main], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    return (await readFile(log, 'utf8')).split('\n').filter((l) => l.length > 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const HEAVY = [/@modelcontextprotocol/, /node_modules\/execa\//, /node_modules\/pino-pretty\//, /\/src\/demo\//, /\/src\/cli\/commands\/(?!up\.js)/, /\/src\/services\/mcp\/sdk-server\.js/];

describe('lean imports', () => {
  it('moltnet up and the daemon load no module that only a used feature needs', async () => {
    const urls = await loadedBy(['src/cli/commands/up.js', 'src/daemon/daemon.js', 'src/daemon/services.js', 'src/daemon/forwarding-plane.js']);
    assert.ok(urls.some((u) => u.endsWith('/src/services/mcp/service.js')), 'the MCP service itself is loaded');
    for (const re of HEAVY) assert.deepEqual(urls.filter((u) => re.test(u)), [], `nothing matching ${re}`);
  });

  it('the forwarding worker loads the data plane only', async () => {
    const urls = await loadedBy(['src/daemon/forwarding-core.js', 'src/daemon/forwarding-messages.js', 'src/dataplane/io/native.js']);
    const ours = urls.filter((u) => u.startsWith('file:') && !u.includes('/node_modules/'));
    const outside = ours.filter((u) => !/\/src\/(dataplane|transport\/(wire\/|links|gre-link|vxlan-link|kernel-link)|common|daemon\/forwarding-)/.test(u));
    assert.deepEqual(outside, []);
    assert.deepEqual(urls.filter((u) => u.includes('/node_modules/')), [], 'no npm package in the worker');
  });
});
