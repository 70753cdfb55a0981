#!/usr/bin/env node
// Installs whatever is missing for `npm test` / `npm run demo` on a fresh Debian machine, then builds.
// Plain JavaScript with no dependencies: it runs before node_modules exists.
import { execSync, spawnSync } from 'node:child_process';
import { existsSync, statSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const demoOnly = process.argv.includes('--demo');
const forBench = process.argv.includes('--bench');

function log(msg) {
  process.stderr.write(`setup: ${msg}\n`);
}
function run(cmd, opts = {}) {
  log(cmd);
  const r = spawnSync('sh', ['-c', cmd], { stdio: 'inherit', cwd: root, ...opts });
  if (r.status !== 0) {
    log(`failed (exit ${r.status}): ${cmd}`);
    process.exit(r.status ?? 1);
  }
}
function has(bin) {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

// Debian packages: binary -> package. The demo needs only the first two.
const demoPackages = { ip: 'iproute2', ping: 'iputils-ping' };
const testPackages = {
  ...demoPackages,
  iperf3: 'iperf3',
  tshark: 'tshark',
  'wireguard-go': 'wireguard-go',
  wg: 'wireguard-tools',
  nft: 'nftables',
  tcpdump: 'tcpdump',
  dig: 'dnsutils',
  curl: 'curl',
  // test/integration/mesh30.test.ts pings every pair of 30 nodes.
  fping: 'fping',
  bird: 'bird2',
  '/usr/lib/frr/ospf6d': 'frr',
  'node-gyp-build-deps:make': 'make',
  'node-gyp-build-deps:g++': 'g++',
  'node-gyp-build-deps:python3': 'python3',
  // The dashboard test drives Debian's Chromium through playwright-core.
  '/usr/bin/chromium': 'chromium',
};
// The benchmarks also measure against reference servers.
const benchPackages = { ...testPackages, dnsperf: 'dnsperf', '/usr/sbin/unbound': 'unbound' };
const wanted = demoOnly ? { ...demoPackages, make: 'make', 'g++': 'g++', python3: 'python3' } : forBench ? benchPackages : testPackages;
const missing = new Set();
for (const [bin, pkg] of Object.entries(wanted)) {
  const name = bin.includes(':') ? bin.split(':')[1] : bin;
  const present = name.startsWith('/') ? existsSync(name) : has(name);
  if (!present) missing.add(pkg);
}
if (missing.size > 0) {
  if (process.platform !== 'linux' || !has('apt-get')) {
    log(`missing packages ${[...missing].join(' ')} and no apt-get here: install them by hand`);
  } else if (process.getuid?.() !== 0) {
    log(`missing packages ${[...missing].join(' ')}: run as root (sudo) so they can be installed`);
    process.exit(1);
  } else {
    const env = 'DEBIAN_FRONTEND=noninteractive';
    run(`${env} apt-get update -qq`);
    run(`${env} apt-get install -y -qq --no-install-recommends ${[...missing].join(' ')}`);
  }
}

// npm packages (npm ci also builds the native addon through the "install" script and tsc through "prepare").
const lock = join(root, 'package-lock.json');
const marker = join(root, 'node_modules', '.package-lock.json');
if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs) {
  run('npm ci --no-audit --no-fund');
}
if (!existsSync(join(root, 'native', 'build', 'Release', 'moltnet.node'))) {
  run('npm run build:native');
}

// TypeScript: rebuild when any source is newer than the last build.
function newest(dir) {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}
const stamp = join(root, 'dist', '.build-stamp');
const srcTime = Math.max(newest(join(root, 'src')), newest(join(root, 'test')), newest(join(root, 'bench')),
  statSync(join(root, 'tsconfig.json')).mtimeMs);
if (!existsSync(stamp) || statSync(stamp).mtimeMs < srcTime) {
  run('npx tsc -p tsconfig.json && touch dist/.build-stamp');
}
void execSync;
