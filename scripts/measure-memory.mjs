#!/usr/bin/env node
/**
 * Idle memory of one daemon: a star of 4 nodes in network namespaces (the centre has 3 links), OSPF and
 * BFD on every link, services as by default. Once every adjacency is Full and every BFD session Up,
 * it waits (MEASURE_IDLE_S, default 20 s) and prints the centre's VmRSS and Pss (and the others').
 * MEASURE_AFTER_USE=1: then five MCP sessions (every tool and resource) and 300 `show` queries on the
 * centre, the same idle wait, and its figures again.
 *
 *   node scripts/measure-memory.mjs [--keep]        # run it under flock /tmp/moltnet-heavy.lock
 *
 * Run as root after `npm run build`. Namespaces are named mm<pid>n1..n4 and removed at the end.
 */
import { readFile } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/', import.meta.url);
const { buildTopology, destroyChain } = await import(new URL('src/demo/chain.js', dist).href);
const { callDaemon } = await import(new URL('src/cli/control-client.js', dist).href);
const cli = fileURLToPath(new URL('src/cli/main.js', dist));

const idleS = Number(process.env['MEASURE_IDLE_S'] ?? 20);
const prefix = `mm${(process.pid % 10000).toString(36)}`;
const dir = await mkdtemp(join(tmpdir(), 'moltnet-mem-'));

async function proc(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (text, key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return {
    rssMiB: +(kb(status, 'VmRSS') / 1024).toFixed(1),
    pssMiB: +(kb(rollup, 'Pss') / 1024).toFixed(1),
    anonMiB: +(kb(status, 'RssAnon') / 1024).toFixed(1),
    fileMiB: +(kb(status, 'RssFile') / 1024).toFixed(1),
    threads: kb(status, 'Threads'),
  };
}

/** Where the centre's resident memory is, by mapping kind (kB). */
async function breakdown(pid) {
  const smaps = await readFile(`/proc/${pid}/smaps`, 'utf8');
  const groups = new Map();
  let name = '';
  for (const line of smaps.split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const n = head[1] ?? '';
      name = n === '' ? '[anon]' : n.startsWith('/') ? n.replace(/^.*\//, '') : n;
      continue;
    }
    const m = /^Rss:\s+(\d+)/.exec(line);
    if (m) groups.set(name, (groups.get(name) ?? 0) + Number(m[1]));
  }
  return [...groups.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([n, k]) => `${n} ${(k / 1024).toFixed(1)}`).join(', ');
}

const ready = async (socket) => {
  const nb = await callDaemon(socket, 'show', { what: 'ospf neighbors' }, 2000);
  const bfd = await callDaemon(socket, 'show', { what: 'bfd' }, 2000);
  return nb.length > 0 && nb.every((n) => n.state === 'Full') && bfd.length > 0 && bfd.every((s) => s.state === 'Up');
};

/** Anonymous memory by what it likely is: V8 heap chunks, malloc arenas, thread stacks (kB Rss). */
async function anonClasses(pid) {
  const smaps = await readFile(`/proc/${pid}/smaps`, 'utf8');
  const out = { heap: 0, arena64M: 0, stack8M: 0, other: 0 };
  let size = 0;
  let anon = false;
  let name = '';
  for (const line of smaps.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      size = (parseInt(head[2], 16) - parseInt(head[1], 16)) / 1024;
      name = head[3] ?? '';
      anon = name === '' || name === '[heap]' || name.startsWith('[stack');
      continue;
    }
    const m = /^Rss:\s+(\d+)/.exec(line);
    if (!m || !anon) continue;
    const kb = Number(m[1]);
    if (name === '[heap]') out.heap += kb;
    else if (size === 8192 || name.startsWith('[stack')) out.stack8M += kb;
    else if (size >= 1024 && size <= 65536 && (size === 65536 || size % 1024 !== 0 || size > 32768)) out.arena64M += kb;
    else out.other += kb;
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, +(v / 1024).toFixed(1)]));
}

async function measureOnce(variant) {
let chain;
try {
  // MEASURE_WORKERS=2: every node with that many forwarding workers (interface.workers).
  const workers = process.env['MEASURE_WORKERS'];
  chain = await buildTopology({ prefix, nodes: 4, dir, cliPath: cli, edges: [[0, 1], [0, 2], [0, 3]], staticRoutes: 'none', ...(workers ? { extra: { interface: { workers: Number(workers) } } } : {}) });
  const deadline = Date.now() + 90_000;
  for (;;) {
    const all = await Promise.all(chain.nodes.map((n) => ready(n.socket).catch(() => false)));
    if (all.every(Boolean)) break;
    if (Date.now() > deadline) throw new Error('OSPF/BFD did not come up within 90 s');
    await new Promise((r) => setTimeout(r, 500));
  }
  await new Promise((r) => setTimeout(r, idleS * 1000));
  const centre = chain.nodes[0];
  const status = await callDaemon(centre.socket, 'show', { what: 'status' }, 2000);
  const links = status.links;
  const c = await proc(centre.pid);
  const others = await Promise.all(chain.nodes.slice(1).map((n) => proc(n.pid)));
  console.log(JSON.stringify({ variant: variant.name, centre: { links, ...c, showStatusMemory: status.memory }, leaves: others }));
  console.log(`centre map RSS MiB: ${await breakdown(centre.pid)}`);
  console.log(`centre anon MiB: ${JSON.stringify(await anonClasses(centre.pid))}`);
  if (process.env['MEASURE_REPORT']) {
    // Started with NODE_OPTIONS=--report-on-signal --report-signal=SIGUSR2 --report-directory=...
    process.kill(centre.pid, 'SIGUSR2');
    await new Promise((r) => setTimeout(r, 2000));
    const { readdir } = await import('node:fs/promises');
    const rdir = process.env['MEASURE_REPORT'];
    const files = (await readdir(rdir)).filter((f) => f.includes(`.${centre.pid}.`) && f.endsWith('.json'));
    for (const f of files) {
      const rep = JSON.parse(await readFile(join(rdir, f), 'utf8'));
      const heap = (h) => `total ${(h.totalMemory / 1048576).toFixed(1)} used ${(h.usedMemory / 1048576).toFixed(1)} malloced ${(h.mallocedMemory / 1048576).toFixed(1)} | ` + Object.entries(h.heapSpaces).map(([n, v]) => `${n.replace('_space', '')} ${(v.memorySize / 1048576).toFixed(1)}/${(v.used / 1048576).toFixed(1)}`).join(' ');
      console.log(`main heap: ${heap(rep.javascriptHeap)}`);
      for (const w of rep.workers ?? []) console.log(`worker heap: ${heap(w.javascriptHeap)}`);
    }
  }
  if (process.env['MEASURE_AFTER_USE']) {
    // Then use it: the MCP probe (every tool and resource: the SDK loads) from a leaf, and 300 `show`
    // queries; idle again as long, measure again.
    const { spawnSync } = await import('node:child_process');
    const probe = fileURLToPath(new URL('test/helpers/mcp-probe.js', dist));
    const leaf = chain.nodes[1];
    for (let i = 0; i < 5; i++) {
      const r = spawnSync('ip', ['netns', 'exec', leaf.ns, process.execPath, probe, `http://[${centre.address}]:6801/mcp`, leaf.address], { encoding: 'utf8', timeout: 60_000 });
      if (r.status !== 0) throw new Error(`MCP probe failed: ${r.stderr}`);
    }
    for (let i = 0; i < 300; i++) await callDaemon(centre.socket, 'show', { what: ['status', 'routes', 'ospf database', 'links', 'bfd'][i % 5] }, 2000);
    await new Promise((r) => setTimeout(r, idleS * 1000));
    const u = await proc(centre.pid);
    const us = await callDaemon(centre.socket, 'show', { what: 'status' }, 2000);
    console.log(JSON.stringify({ variant: variant.name, afterUse: { ...u, showStatusMemory: us.memory } }));
  }
  if ((process.env['NODE_OPTIONS'] ?? '').includes('--trace-gc')) {
    const gcs = (await readFile(centre.logPath, 'utf8')).split('\n').filter((l) => /Scavenge|Mark-Compact|Mark-sweep/.test(l));
    console.log(`centre GCs: ${gcs.length}; last:\n${gcs.slice(-6).join('\n')}`);
  }
  if (process.argv.includes('--keep')) {
    console.log(`kept: pid ${centre.pid}, socket ${centre.socket}; press Ctrl-C to clean up`);
    await new Promise((r) => process.once('SIGINT', r));
  }
} catch (err) {
  for (const f of ['node1', 'node2', 'node3', 'node4']) {
    const text = await readFile(join(dir, `${f}.log`), 'utf8').catch(() => '');
    console.error(`--- ${f}.log\n${text.split('\n').filter((l) => !/Scavenge|Mark/.test(l)).slice(-8).join('\n')}`);
  }
  throw err;
} finally {
  if (chain) await destroyChain(chain);
}
}

// MEASURE_VARIANTS='[{"name":"arena2","env":{"MALLOC_ARENA_MAX":"2"}}]': one star per variant, the
// daemons started with that environment (NODE_OPTIONS is appended to the report flags when reporting).
const variants = JSON.parse(process.env['MEASURE_VARIANTS'] ?? '[{"name":"default","env":{}}]');
const base = { ...process.env };
for (const v of variants) {
  for (const [k, val] of Object.entries(v.env ?? {})) process.env[k] = k === 'NODE_OPTIONS' && base[k] ? `${base[k]} ${val}` : String(val);
  try {
    await measureOnce(v);
  } finally {
    for (const k of Object.keys(v.env ?? {})) {
      if (base[k] === undefined) delete process.env[k];
      else process.env[k] = base[k];
    }
  }
}
