/**
 * What each forwarding worker reads: its own queue of the host TUN (IFF_MULTI_QUEUE) and its own socket of
 * each underlay port (an SO_REUSEPORT group). The kernel spreads host flows over the TUN queues itself; the
 * underlay groups are steered by a hash of the inner flow (udpSteer), because every datagram from a peer
 * has the same outer addresses and ports (one socket each side), so the kernel's own hash would put all of
 * one peer's traffic on one worker.
 */
import { availableParallelism } from 'node:os';
import { MoltnetError } from '../common/errors.js';
import type { NativeAddon, OffloadIo, TunHandle } from '../dataplane/io/native.js';
import { VXLAN_ENCAP_LEN } from '../transport/wire/vxlan.js';
import { GRE_KEY_HEADER_LEN } from '../transport/wire/gre.js';

/** Most workers 'auto' chooses: beyond this a host's forwarding is bound by its NIC and memory, not cores. */
export const MAX_AUTO_WORKERS = 8;

/**
 * 'auto': half the cores, 1..MAX_AUTO_WORKERS. The other half is the control plane's (BFD must get the CPU
 * first), the kernel's (softirq: the underlay's and the TUN's own work is as large as ours) and the agent's.
 */
export function resolveWorkers(setting: number | 'auto', cores = availableParallelism(), platform: NodeJS.Platform = process.platform): number {
  if (setting !== 'auto') return setting;
  // Only Linux has multi-queue TUNs and steerable socket groups: elsewhere 'auto' is one, without a warning.
  if (platform !== 'linux') return 1;
  return Math.min(MAX_AUTO_WORKERS, Math.max(1, Math.floor(cores / 2)));
}

/** Where the inner IPv6 source address sits in a VXLAN or GRE-in-UDP datagram's payload. */
export const INNER_SOURCE_OFFSET = {
  vxlan: VXLAN_ENCAP_LEN + 8,
  gre: GRE_KEY_HEADER_LEN + 8,
} as const;

/**
 * Open the host TUN once per worker. With one worker, the plain open of before; with more, every open asks
 * IFF_MULTI_QUEUE. On failure, closes what it opened and throws the addon's error.
 */
export function openTunQueues(io: Pick<NativeAddon, 'tunOpen' | 'close'>, name: string, vnetHdr: boolean, workers: number): TunHandle[] {
  if (workers === 1) return [io.tunOpen(name, vnetHdr ? { vnetHdr: true } : undefined)];
  const queues: TunHandle[] = [];
  try {
    // The first open may pick the name (name ''): the others attach to what it got.
    for (let i = 0; i < workers; i++) queues.push(io.tunOpen(i === 0 ? name : queues[0]!.name, { vnetHdr, multiQueue: true }));
  } catch (err) {
    for (const q of queues) io.close(q.fd);
    throw err;
  }
  return queues;
}

export interface UdpGroup {
  /** One socket per worker, bound to the same address and port. */
  fds: number[];
  /** Whether the group is steered by the inner flow; false: by the kernel's hash of the outer addresses. */
  steered: boolean;
  /** Why steering is off, for the log. */
  steerError?: string;
}

/**
 * Bind host:port once per worker. With more than one, the port is first bound alone and released: a port
 * another process holds fails with EADDRINUSE as it does with one worker, instead of being shared through
 * SO_REUSEPORT (which a second root daemon could otherwise join). Throws MoltnetError naming the port.
 */
export function openUdpGroup(io: Pick<NativeAddon, 'udpOpen' | 'udpLocalPort' | 'close'> & Partial<Pick<OffloadIo, 'udpSteer'>>, host: string, port: number, workers: number, innerSourceOffset: number): UdpGroup {
  const fds: number[] = [];
  try {
    if (workers === 1) return { fds: [io.udpOpen(host, port)], steered: false };
    if (port !== 0) io.close(io.udpOpen(host, port));
    fds.push(io.udpOpen(host, port, { reusePort: true }));
    // Port 0: the kernel's choice for the first socket is the group's port.
    const bound = port !== 0 ? port : io.udpLocalPort(fds[0]!);
    for (let i = 1; i < workers; i++) fds.push(io.udpOpen(host, bound, { reusePort: true }));
  } catch (err) {
    for (const fd of fds) io.close(fd);
    throw new MoltnetError(`cannot listen on UDP [${host}]:${port}: ${(err as Error).message}`);
  }
  if (typeof io.udpSteer !== 'function') return { fds, steered: false, steerError: 'the addon has no udpSteer' };
  try {
    io.udpSteer(fds[0]!, innerSourceOffset, workers);
    return { fds, steered: true };
  } catch (err) {
    return { fds, steered: false, steerError: (err as Error).message };
  }
}
