/**
 * The contract of the native addon (native/src/moltnet.c). Everything here is synchronous and thread-safe
 * (no libuv handles), so the forwarding worker can call it; the blocking call (pollIn) is for workers only.
 *
 * Packet buffers are caller-owned "slabs": one Buffer holding `max` slots of `stride` bytes. Batch reads
 * put packet i at slab[i*stride + headroom], leaving `headroom` bytes in front for an outer header to be
 * written in place (no copy on encapsulation).
 *
 * Underlay addresses are 20-byte records: 16 bytes IPv6 address (IPv4 peers as ::ffff:a.b.c.d),
 * 2 bytes port (big-endian), 2 bytes zero.
 */
import { createRequire } from 'node:module';

export const ADDR_RECORD_LEN = 20;

/** pollIn's per-fd flags (one byte each in `ready`). */
export const POLL_IN = 1; // readable: a read will return data (or its error)
export const POLL_ERR = 2; // POLLERR: an error is pending (a TUN whose device went away)
export const POLL_HUP = 4; // POLLHUP
export const POLL_NVAL = 8; // POLLNVAL: not an open fd
/** Flags that say the fd is failing rather than readable. */
export const POLL_FAILED = POLL_ERR | POLL_HUP | POLL_NVAL;

export interface NativeAddon {
  /** Open a Linux TUN (IFF_TUN|IFF_NO_PI), O_NONBLOCK. Throws an Error with `code` (errno name). */
  tunOpen(name: string): { fd: number; name: string };
  /** Close any fd the addon returned. */
  close(fd: number): void;
  /**
   * Wait until one of `fds` is readable or has a condition to report, or `timeoutMs` passes (-1: no
   * limit). Any number of fds; a negative fd is a free slot that poll(2) ignores. Writes ready[i] for
   * every i < fds.length: 0, or POLL_IN | POLL_ERR | POLL_HUP | POLL_NVAL as poll(2) reported them
   * (POLL_NVAL: the fd is not open). Returns how many fds have a nonzero flag, 0 on timeout or EINTR.
   * `ready` must hold at least fds.length bytes. Blocks the calling thread.
   */
  pollIn(fds: Int32Array, timeoutMs: number, ready: Uint8Array): number;
  /**
   * Read up to `max` packets from a non-blocking fd (one read(2) each, stopping at EAGAIN).
   * sizes[i] = length of packet i. Returns the count; errors other than EAGAIN end the batch and, if no
   * packet was read, return -errno.
   */
  readBatch(fd: number, slab: Buffer, stride: number, headroom: number, max: number, sizes: Int32Array): number;
  /**
   * Write `count` packets (packet i = slab[offsets[i] .. +lengths[i]]), one write(2) each. Returns how many
   * were written; a packet that fails (EIO when the TUN is down, EAGAIN, ENOBUFS) is skipped, never thrown.
   */
  writeBatch(fd: number, slab: Buffer, offsets: Int32Array, lengths: Int32Array, count: number): number;
  /**
   * A non-blocking UDP socket bound to addr:port. addr "::" gives a dual-stack AF_INET6 socket; an IPv4
   * literal gives AF_INET. Large SO_RCVBUF/SO_SNDBUF. Throws with `code` on failure (EADDRINUSE...).
   */
  udpOpen(addr: string, port: number): number;
  /** Set the calling thread's nice value (-20..19); throws with `code` (EACCES without root). */
  setThreadPriority(nice: number): void;
  /**
   * The receive and send buffers (SO_RCVBUFFORCE/SO_SNDBUFFORCE) of socket `fd` of process `pid`, through
   * pidfd_getfd (Linux 5.6+, root): for a supervised child that leaves its socket at the system default.
   */
  setSocketBuffers(pid: number, fd: number, bytes: number): void;
  /** The port a UDP socket is bound to (for port 0). */
  udpLocalPort(fd: number): number;
  /** recvmmsg: like readBatch, plus the sender of packet i in addrs[i*20 ..]. */
  recvBatch(
    fd: number,
    slab: Buffer,
    stride: number,
    headroom: number,
    max: number,
    sizes: Int32Array,
    addrs: Uint8Array,
  ): number;
  /** sendmmsg: packet i to the address record addrs[i*20 ..]. Returns how many were sent; never throws. */
  sendBatch(
    fd: number,
    slab: Buffer,
    offsets: Int32Array,
    lengths: Int32Array,
    addrs: Uint8Array,
    count: number,
  ): number;
}

let cached: NativeAddon | undefined;

/** Load the addon built by `npm install` (native/build/Release/moltnet.node). */
export function loadNative(): NativeAddon {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const candidates = [
    '../../../../native/build/Release/moltnet.node', // from dist/src/dataplane/io
    '../../../native/build/Release/moltnet.node', // from src/dataplane/io (ts runners)
  ];
  let lastError: unknown;
  for (const rel of candidates) {
    try {
      cached = require(new URL(rel, import.meta.url).pathname) as NativeAddon;
      return cached;
    } catch (err) {
      lastError = err;
    }
  }
  throw new Error(
    `the native addon is not built (run "npm install" or "npm run build:native"): ${String(lastError)}`,
  );
}
