/**
 * Real routers for interop tests: BIRD 2 and FRR (zebra + ospf6d / bfdd) started inside a test's
 * network namespace, with every file (config, pid, control sockets) in the test's own directory so
 * nothing collides with a system instance or another test. Every wait is bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './integration.js';

export interface RouterHandle {
  /** Run a show command (birdc / vtysh) and return its output. */
  cli(command: string): Promise<string>;
  stop(): Promise<void>;
  logPath: string;
}

function startProcess(ns: string, argv: string[], logPath: string): ChildProcess {
  const out = openSync(logPath, 'a');
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', out, out] });
  closeSync(out);
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

export async function startBird(ns: string, dir: string, name: string, config: string): Promise<RouterHandle> {
  const conf = join(dir, `${name}.conf`);
  const sock = join(dir, `${name}.ctl`);
  const logPath = join(dir, `${name}.log`);
  await writeFile(conf, config);
  const child = startProcess(ns, ['bird', '-f', '-c', conf, '-s', sock, '-P', join(dir, `${name}.pid`)], logPath);
  const handle: RouterHandle = {
    logPath,
    cli: async (command) => (await run('birdc', ['-s', sock, ...command.split(' ')], 10_000)).stdout,
    stop: () => kill(child),
  };
  await waitFor(async () => (await handle.cli('show status')).includes('Daemon is up'), 10_000, `BIRD ${name} did not start`);
  return handle;
}

export interface FrrOptions {
  ospf6?: string;
  bfd?: string;
  /** Extra zebra config (interfaces, static routes). */
  zebra?: string;
}

export async function startFrr(ns: string, dir: string, name: string, o: FrrOptions): Promise<RouterHandle> {
  const base = join(dir, name);
  const zserv = `${base}-zserv.api`;
  const logPath = `${base}.log`;
  const children: ChildProcess[] = [];
  // FRR drops privileges to frr:frr and wants its vty group: give it the directory.
  await run('chown', ['frr:frr', dir], 5000);
  const common = ['--vty_socket', dir, '-z', zserv, '-u', 'frr', '-g', 'frr'];
  const daemon = async (d: string, config: string) => {
    const conf = `${base}-${d}.conf`;
    await writeFile(conf, config);
    await run('chown', ['frr:frr', conf], 5000);
    children.push(startProcess(ns, [`/usr/lib/frr/${d}`, '-f', conf, '-i', `${base}-${d}.pid`, ...common, '--log', `file:${logPath}`], logPath));
  };
  await daemon('zebra', o.zebra ?? 'hostname zebra\n');
  await waitFor(async () => (await run('ls', [zserv], 2000)).code === 0, 10_000, 'zebra did not start');
  if (o.ospf6) await daemon('ospf6d', o.ospf6);
  if (o.bfd) await daemon('bfdd', o.bfd);
  const handle: RouterHandle = {
    logPath,
    cli: async (command) => (await run('ip', ['netns', 'exec', ns, 'vtysh', '--vty_socket', dir, '-c', command], 10_000)).stdout,
    stop: async () => {
      for (const c of children.reverse()) await kill(c);
    },
  };
  const want = o.ospf6 ? 'show ipv6 ospf6' : 'show version';
  await waitFor(async () => (await handle.cli(want)).length > 0, 10_000, `FRR ${name} did not answer "${want}"`);
  return handle;
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} within ${timeoutMs} ms`);
}
