/** Shared pieces of the namespace integration tests. */
import { fileURLToPath } from 'node:url';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { callDaemon } from '../../src/cli/control-client.js';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** A short prefix unique to this run (namespace and interface names are at most 15 bytes). */
export function runPrefix(tag: string): string {
  return `m${tag}${(process.pid % 10000).toString(36)}`;
}

export function tempDir(tag: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `moltnet-${tag}-`));
}

export async function counters(socket: string): Promise<Record<string, number>> {
  const s = (await callDaemon(socket, 'show', { what: 'status' })) as { counters: Record<string, number> };
  return s.counters;
}

/** The daemon logs, for a failing test's message. */
export async function logs(paths: string[]): Promise<string> {
  const parts = await Promise.all(paths.map(async (p) => `--- ${p}\n${(await readFile(p, 'utf8').catch(() => '')).slice(-3000)}`));
  return parts.join('\n');
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command with a hard time limit; never throws for a non-zero exit. */
export function run(cmd: string, args: string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export function inNs(ns: string, cmd: string, args: string[], timeoutMs = 15_000): Promise<RunResult> {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], timeoutMs);
}

/** From inside `ns`, send `count` UDP datagrams of `payload` from [bind]:any to [to]:port. */
export async function sendUdpFrom(ns: string, o: { bind: string; to: string; port: number; payload: Buffer; count: number }): Promise<RunResult> {
  const script = `
    const s = require('node:dgram').createSocket(${JSON.stringify(o.bind.includes(':') ? 'udp6' : 'udp4')});
    const frame = Buffer.from('${o.payload.toString('hex')}', 'hex');
    s.bind(0, '${o.bind}', () => {
      let i = 0;
      const next = () => { if (i++ >= ${o.count}) { s.close(); return; } s.send(frame, ${o.port}, '${o.to}', next); };
      next();
    });`;
  return inNs(ns, process.execPath, ['-e', script], 20_000);
}

/**
 * Write a node's config (stateDir and controlSocket filled in under `dir`), start `moltnet up` in `ns`
 * and wait until it forwards. Returns its pid and control socket.
 */
export async function startNode(
  ns: string,
  dir: string,
  name: string,
  config: Record<string, unknown>,
): Promise<{ pid: number; socket: string; logPath: string }> {
  const { writeFile } = await import('node:fs/promises');
  const { stringify } = await import('yaml');
  const { startDaemon, waitForDaemon } = await import('../../src/demo/netns.js');
  const socket = join(dir, `${name}.sock`);
  const logPath = join(dir, `${name}.log`);
  const configPath = join(dir, `${name}.yaml`);
  await writeFile(configPath, stringify({ stateDir: join(dir, `${name}-state`), controlSocket: socket, ...config }));
  const pid = startDaemon(ns, CLI, configPath, logPath);
  await waitForDaemon(socket, 20_000);
  return { pid, socket, logPath };
}

/** True when every node's `show routes` has every other node's /128. */
export async function everyNodeRoutesAll(nodes: readonly { socket: string; address: string }[]): Promise<boolean> {
  for (const n of nodes) {
    const routes = (await callDaemon(n.socket, 'show', { what: 'routes' })) as { prefix: string }[];
    for (const m of nodes) if (m !== n && !routes.some((r) => r.prefix === `${m.address}/128`)) return false;
  }
  return true;
}
