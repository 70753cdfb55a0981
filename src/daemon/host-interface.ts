/**
 * The host side of the mesh: molt0 gets the node's mesh address as a /128 and one route for the mesh
 * prefix, nothing else. The device is the addon's TUN; closing its fd removes it, and the address and
 * route go with it.
 */
import { execFile } from 'node:child_process';
import { SystemCommandError } from '../common/errors.js';

const IP_TIMEOUT_MS = 10_000;

/**
 * Run `ip` (with `-n netns`), resolve with its stdout less the last newline. node:child_process, not
 * execa: the daemon runs a handful of these at start, and execa's module graph stays resident (MiBs).
 */
export function ip(args: string[], opts: { netns?: string } = {}): Promise<string> {
  const argv = opts.netns ? ['-n', opts.netns, ...args] : args;
  return new Promise((resolve, reject) => {
    execFile('ip', argv, { timeout: IP_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout.replace(/\r?\n$/, ''));
      const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null };
      const why =
        stderr.trim() ||
        (e.killed && e.signal ? `timed out after ${IP_TIMEOUT_MS} ms` : typeof e.code === 'number' ? `exit code ${e.code}` : e.message);
      reject(new SystemCommandError(`ip ${argv.join(' ')}: ${why.trim()}`));
    });
  });
}

/** Packets a TUN we make may queue toward its reader (Linux's default for Ethernet; TUNs get 500). */
export const TUN_TX_QUEUE = 1000;

export interface HostInterfaceOptions {
  name: string;
  mtu: number;
  address: string;
  meshPrefix: string;
}

/** Bring molt0 up with the mesh address and the mesh route. */
export async function configureHostInterface(o: HostInterfaceOptions): Promise<void> {
  // No kernel link-local on molt0: the mesh links carry link-local traffic, molt0 is only the host's door.
  await ip(['link', 'set', 'dev', o.name, 'addrgenmode', 'none']).catch(() => undefined);
  // A TUN's queue is 500 packets: a sender outruns the forwarding thread for a moment and TCP loses
  // packets at the source (2,400 retransmissions in 5 s of iperf3 over a WireGuard link, 14 with 1000).
  await ip(['link', 'set', 'dev', o.name, 'mtu', String(o.mtu), 'txqueuelen', String(TUN_TX_QUEUE), 'up']);
  await ip(['-6', 'addr', 'add', `${o.address}/128`, 'dev', o.name, 'nodad', 'noprefixroute']);
  await ip(['-6', 'route', 'replace', o.meshPrefix, 'dev', o.name, 'src', o.address]);
}

export interface KernelLinkOptions {
  name: string;
  mtu: number;
  /** Move the device into this network namespace (from `ip netns`). */
  netns?: string | undefined;
  /** The kernel side's address, e.g. fe80::1/64; without it the kernel makes a random link-local. */
  address?: string | undefined;
}

/** Hand a kernel link's TUN to the kernel: into its namespace, up, with the kernel router's address. */
export async function configureKernelLink(o: KernelLinkOptions): Promise<void> {
  const where = o.netns ? { netns: o.netns } : {};
  if (o.netns) await ip(['link', 'set', 'dev', o.name, 'netns', o.netns]);
  await ip(['link', 'set', 'dev', o.name, 'addrgenmode', o.address ? 'none' : 'random'], where).catch(() => undefined);
  await ip(['link', 'set', 'dev', o.name, 'mtu', String(o.mtu), 'up'], where);
  if (o.address) await ip(['-6', 'addr', 'add', o.address, 'dev', o.name, 'nodad'], where);
}

/** The system calls the daemon makes on the host's network, behind one seam so tests can fake them. */
export interface HostNet {
  configureHostInterface(o: HostInterfaceOptions): Promise<void>;
  configureKernelLink(o: KernelLinkOptions): Promise<void>;
}

export const linuxHostNet: HostNet = { configureHostInterface, configureKernelLink };
