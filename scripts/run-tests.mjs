#!/usr/bin/env node
// Runs the compiled node:test suites: unit tests in parallel, then integration tests one file at a time
// (they build network namespaces and bind fixed ports). Usage: run-tests.mjs [unit|integration] [filter]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const which = process.argv[2] ?? 'all';
const filter = process.argv[3] ?? '';

function files(kind) {
  const dir = join(root, 'dist', 'test', kind);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.test.js') && f.includes(filter))
    .sort()
    .map((f) => join(dir, f));
}

let failed = false;
function runSuite(kind, extra) {
  const list = files(kind);
  if (list.length === 0) return;
  process.stdout.write(`\n# ${kind} tests (${list.length} files)\n`);
  const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...extra, ...list], {
    stdio: 'inherit',
    cwd: root,
  });
  if (r.status !== 0) failed = true;
}

if (which === 'all' || which === 'unit') runSuite('unit', ['--test-timeout=120000']);
if (which === 'all' || which === 'integration') {
  if (process.getuid?.() !== 0) {
    process.stdout.write('# integration tests need root (network namespaces, TUN): skipped\n');
  } else {
    runSuite('integration', ['--test-concurrency=1', '--test-timeout=600000']);
  }
}
process.exit(failed ? 1 : 0);
