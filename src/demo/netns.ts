/**
 * Network namespaces and veth pairs for the demo and the integration tests: real hosts on one machine.
 * Every wait is bounded; teardown tolerates half-built state.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { execa } from 'execa';
import { callDaemon } from '../cli/control-client.js';
import { SystemCommandError } from '../common/errors.js';

export async function sh(cmd: string, args: string[], timeoutMs = 15_000): Promise<string> {
  try {
    const r = await execa(cmd, args, { timeout: timeoutMs });
    return r.stdout;
  } catch (err) {
    const e = err as { stderr?: string; shortMessage?: string };
    throw new SystemCommandError(`${cmd} ${args.join(' ')}: ${(e.stderr || e.shortMessage || String(err)).trim()}`);
  }
}

export function inNs(ns: string, cmd: string, args: string[], timeoutMs = 15_000): Promise<string> {
  return sh('ip', ['netns', 'exec', ns, cmd, ...args], timeoutMs);
}

export async function createNamespace(ns: string): Promise<void> {
  await sh('ip', ['netns', 'add', ns]);
  await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
}

export async function deleteNamespace(ns: string): Promise<void> {
  await sh('ip', ['netns', 'del', ns]).catch(() => undefined);
}

export async function listNamespaces(): Promise<string[]> {
  const out = await sh('ip', ['netns', 'list']).catch(() => '');
  return out
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter(Boolean);
}

/** A veth pair from nsA to nsB with an address on each end (IPv4 "a.b.c.d/n" or IPv6 ".../n"). */
export async function connectVeth(
  nsA: string,
  ifA: string,
  addrA: string,
  nsB: string,
  ifB: string,
  addrB: string,
): Promise<void> {
  await sh('ip', ['link', 'add', ifA, 'netns', nsA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB]);
  for (const [ns, ifn, addr] of [
    [nsA, ifA, addrA],
    [nsB, ifB, addrB],
  ] as const) {
    const v6 = addr.includes(':');
    await sh('ip', ['-n', ns, ...(v6 ? ['-6'] : []), 'addr', 'add', addr, 'dev', ifn, ...(v6 ? ['nodad'] : [])]);
    await sh('ip', ['-n', ns, 'link', 'set', ifn, 'up']);
  }
}

/** Start `moltnet up` inside a namespace, detached, logging to a file. Returns its pid. */
export function startDaemon(ns: string, cliPath: string, configPath: string, logPath: string, detached = false): number {
  const out = openSync(logPath, 'a');
  // MOLTNET_PROF=<dir>: each daemon writes V8 CPU profiles of its threads there (how a test's load is profiled).
  const prof = process.env['MOLTNET_PROF'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['MOLTNET_PROF']}`] : [];
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...prof, cliPath, 'up', '--config', configPath], {
    stdio: ['ignore', out, out],
    detached,
    env: { ...process.env, MOLTNET_LOG_LEVEL: process.env['MOLTNET_LOG_LEVEL'] ?? 'info' },
  });
  closeSync(out);
  if (detached) child.unref();
  if (child.pid === undefined) throw new SystemCommandError(`could not start the daemon in ${ns}`);
  return child.pid;
}

/** Wait until the daemon answers on its control socket and says it is up (forwarding). */
export async function waitForDaemon(socket: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const s = (await callDaemon(socket, 'show', { what: 'status' }, 1000)) as { state?: string };
      if (s && typeof s === 'object' && s.state === 'up') return;
      last = `state ${s?.state}`;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new SystemCommandError(`daemon on ${socket} did not come up within ${timeoutMs} ms: ${String(last)}`);
}

/** Wait until every peer that authenticates has an established peering session (its link exists). */
export async function waitForPeers(socket: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const peers = (await callDaemon(socket, 'show', { what: 'peers' }, 1000)) as { name: string; state: string; reason?: string; origin?: string }[];
      // Configured and added peers only: discovered ones come and go on their own.
      const waiting = peers.filter((p) => p.origin !== 'discovered' && p.state !== 'established' && p.state !== 'unauthenticated');
      if (waiting.length === 0) return;
      last = waiting.map((p) => `${p.name}: ${p.state}${p.reason ? ` (${p.reason})` : ''}`).join('; ');
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new SystemCommandError(`peers of the daemon on ${socket} not authenticated within ${timeoutMs} ms: ${String(last)}`);
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL. */
export async function stopProcess(pid: number, graceMs = 5000): Promise<void> {
  if (!alive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && alive(pid)) await new Promise((r) => setTimeout(r, 50));
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}
