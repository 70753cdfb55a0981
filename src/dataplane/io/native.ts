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

/** TUNSETOFFLOAD flags (linux/if_tun.h TUN_F_*), for TunOptions.offloads and TunHandle.offloads. */
export const TUN_F_CSUM = 0x01; // the kernel may hand us packets with a partial L4 checksum
export const TUN_F_TSO4 = 0x02; // TCP/IPv4 superpackets (needs CSUM)
export const TUN_F_TSO6 = 0x04; // TCP/IPv6 superpackets (needs CSUM)
export const TUN_F_TSO_ECN = 0x08; // superpackets of ECN flows (gso_type | ECN); not asked for by default
export const TUN_F_USO4 = 0x20; // UDP/IPv4 superpackets (Linux 6.2+; the kernel takes USO4 and USO6 only together)
export const TUN_F_USO6 = 0x40; // UDP/IPv6 superpackets
/** What `{ vnetHdr: true }` asks for when `offloads` is not given. */
export const TUN_F_DEFAULT = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6;

export interface TunOptions {
  /**
   * Open with IFF_VNET_HDR: every packet read or written carries a VNET_HDR_LEN-byte virtio_net_hdr in front
   * (read superpackets with gsoSplit, write coalesced ones from groCoalesce). Default false: plain IP packets.
   */
  vnetHdr?: boolean;
  /** TUN_F_* mask to ask TUNSETOFFLOAD for (default TUN_F_DEFAULT); the kernel may accept less. */
  offloads?: number;
  /**
   * IFF_MULTI_QUEUE (Linux): each open of the same name adds a queue to the device, one per forwarding worker.
   * Every open of the device must ask it. EOPNOTSUPP on macOS.
   */
  multiQueue?: boolean;
}

export interface TunHandle {
  fd: number;
  name: string;
  /** True when every packet on fd carries a virtio_net_hdr; false when not asked for or unsupported (macOS). */
  vnetHdr?: boolean;
  /**
   * The TUN_F_* flags the kernel accepted: it tries the mask asked for, then without USO (kernels before
   * 6.2), without TSO, checksum only, none. 0 without vnetHdr.
   */
  offloads?: number;
}

/** The virtio_net_hdr (legacy, host byte order): flags, gso_type, hdr_len, gso_size, csum_start, csum_offset. */
export const VNET_HDR_LEN = 10;
export const VNET_F_NEEDS_CSUM = 1;
export const GSO_NONE = 0;
export const GSO_TCPV4 = 1;
export const GSO_TCPV6 = 4;
export const GSO_UDP_L4 = 5;
export const GSO_ECN = 0x80;

/** gsoSplit's negative results: what is wrong with the packet (native/src/moltnet.h MN_OFF_E*). */
export const OFFLOAD_ETRUNC = -1; // shorter than the headers it has or claims
export const OFFLOAD_EGSOTYPE = -2; // gso_type unknown, or not the packet's IP version
export const OFFLOAD_EGSOSIZE = -3; // gso_size 0
export const OFFLOAD_ECSUM = -4; // NEEDS_CSUM missing on a GSO packet, or csum_start/csum_offset wrong or out of range
export const OFFLOAD_EHDR = -5; // IP/TCP fields disagree with the packet (lengths, version, data offset, fragment)
export const OFFLOAD_EPROTO = -6; // IP protocol is not what gso_type says (IPv6 extension headers included)
export const OFFLOAD_ENOSPACE = -7; // more segments than max, or a segment longer than stride
export const OFFLOAD_ERRORS: Readonly<Record<number, string>> = {
  [OFFLOAD_ETRUNC]: 'truncated',
  [OFFLOAD_EGSOTYPE]: 'bad gso_type',
  [OFFLOAD_EGSOSIZE]: 'bad gso_size',
  [OFFLOAD_ECSUM]: 'bad csum_start/csum_offset',
  [OFFLOAD_EHDR]: 'bad IP/TCP header',
  [OFFLOAD_EPROTO]: 'unsupported protocol',
  [OFFLOAD_ENOSPACE]: 'output too small',
};

/** groCoalesce's counters: indexes into its `stats` (added to, never reset). */
export const GRO_IN = 0; // packets given
export const GRO_OUT = 1; // packets written out
export const GRO_MERGED = 2; // segments appended to an earlier one
export const GRO_SUPER = 3; // superpackets made (2+ segments)
export const GRO_PASSED = 4; // IPv6/TCP that cannot merge (no payload, SYN/FIN/RST/URG, no ACK)
export const GRO_BAD_CSUM = 5; // a segment that would have merged, with a wrong checksum: passed on unchanged
export const GRO_MALFORMED = 6; // IPv6/TCP whose lengths disagree with the buffer: passed on unchanged
export const GRO_OTHER = 7; // not IPv6/TCP: passed on unchanged
export const GRO_STATS = 8;
/** Packets groCoalesce considers together; a longer batch is coalesced window by window. */
export const GRO_WINDOW = 256;

/**
 * The per-byte half of TUN offloads (native/src/offload.c): pure functions over caller-owned buffers, no fds.
 * Arguments that escape their buffers throw (RangeError/TypeError); bad packets never throw.
 */
export interface OffloadOps {
  /**
   * The Internet checksum (RFC 1071) of buf[off .. off+len), with `initial` (a partial sum, e.g. a
   * pseudo-header's, default 0) added in: the value to store, or 0 when verifying a packet that has one.
   */
  checksum(buf: Uint8Array, off: number, len: number, initial?: number): number;
  /**
   * Segment one packet read from a vnetHdr TUN: pkt[off .. off+len) = virtio_net_hdr + IP packet.
   * A GSO superpacket (TCPV6, TCPV4, UDP_L4) becomes gso_size-payload segments, each with its own lengths,
   * sequence number (TCP: FIN/PSH on the last only, CWR on the first only, as Linux's tcp_gso_segment), IPv4
   * ID and checksum, and a full checksum; GSO_NONE is copied, its checksum finished if NEEDS_CSUM.
   * Segment i goes to out[outOff + i*stride ..], sizes[i] = its length (no virtio header). Returns the
   * segment count, or an OFFLOAD_E* code (< 0) for a bad packet. hdr_len is not trusted (derived instead).
   */
  gsoSplit(
    pkt: Uint8Array,
    off: number,
    len: number,
    out: Uint8Array,
    outOff: number,
    stride: number,
    max: number,
    sizes: Int32Array,
  ): number;
  /**
   * Coalesce IPv6 packets for a vnetHdr TUN write: packet i = src[offsets[i] .. +lengths[i]] (no virtio
   * header). Contiguous TCP segments of one flow with equal headers (ACK, same options, hop limit, traffic
   * class; PSH ends a superpacket; checksums verified) become one superpacket up to 64 KiB with a virtio
   * header (GSO_TCPV6, gso_size = first payload, NEEDS_CSUM, pseudo-header sum in the checksum field), as
   * the kernel's own GRO would make. Everything else is passed on unchanged behind a zero header (GSO_NONE).
   * Output packet k (virtio_net_hdr + packet) is dst[outOffsets[k] .. +outLengths[k]], packed from dstOff,
   * ready for writeBatch; dst must hold sum(lengths) + VNET_HDR_LEN * count bytes there. Order is kept within
   * every flow; a superpacket stands where its first segment stood. Returns the output count; counts into
   * stats (GRO_*, at least GRO_STATS entries) when given.
   */
  groCoalesce(
    src: Uint8Array,
    offsets: Int32Array,
    lengths: Int32Array,
    count: number,
    dst: Uint8Array,
    dstOff: number,
    outOffsets: Int32Array,
    outLengths: Int32Array,
    stats?: Int32Array,
  ): number;
}

export interface NativeAddon {
  /**
   * Open a Linux TUN (IFF_TUN|IFF_NO_PI), O_NONBLOCK; with options.vnetHdr, also IFF_VNET_HDR and
   * TUNSETOFFLOAD (TunHandle says what was granted). Throws an Error with `code` (errno name).
   */
  tunOpen(name: string, options?: TunOptions): TunHandle;
  /** Close any fd the addon returned. */
  close(fd: number): void;
  /**
   * Wait until one of `fds` is readable or has a condition to report, or `timeoutMs` passes (-1: no
   * limit). Any number of fds; a negative fd is a free slot that poll(2) ignores. Writes ready[i] for
   * every i < fds.length: 0, or POLL_IN | POLL_ERR | POLL_HUP | POLL_NVAL as poll(2) reported them
   * (POLL_NVAL: the fd is not open). Returns how many fds have a nonzero flag, 0 on timeout or EINTR.
   * `ready` must hold at least fds.length bytes. Blocks the calling thread. With spinUs > 0 and a timeout
   * that is not 0, it first polls without sleeping for up to spinUs µs (at most the timeout), yielding the
   * CPU between tries (busy polling, for a worker in a dense stream), then sleeps as without it.
   */
  pollIn(fds: Int32Array, timeoutMs: number, ready: Uint8Array, spinUs?: number): number;
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
   * `reusePort`: SO_REUSEPORT, one socket of a group sharing addr:port (a forwarding worker's).
   */
  udpOpen(addr: string, port: number, options?: { reusePort?: boolean }): number;
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

/** Offload I/O counters: indexes into the `stats` of tunReadSplit, sendBatchGso, recvBatchGro (added to). */
export const OS_TUN_READS = 0; // packets read from a vnetHdr TUN
export const OS_TUN_SUPER = 1; // of them, GSO superpackets
export const OS_TUN_SEGMENTS = 2; // segments made of superpackets
export const OS_TUN_BAD = 3; // packets the split refused (dropped)
export const OS_TUN_LAST_ERROR = 4; // the last refusal's OFFLOAD_E* code (set, not added)
export const OS_GSO_MSGS = 5; // UDP_SEGMENT messages sent (2+ datagrams each)
export const OS_GSO_SEGMENTS = 6; // datagrams in them
export const OS_GSO_EIO = 7; // messages refused with EIO (no GSO on that route): sent one by one; stop asking
export const OS_GSO_FAILED = 8; // messages refused otherwise (EMSGSIZE, EINVAL): sent one by one
export const OS_GRO_MSGS = 9; // coalesced messages received (2+ datagrams each)
export const OS_GRO_SEGMENTS = 10; // datagrams in them
export const OS_STATS = 11;
/** Scratch and state sizes the offload reads need (native/src/moltnet.h). */
export const TUN_SCRATCH_BYTES = VNET_HDR_LEN + 65535;
export const TUN_STATE_LEN = 2;
export const GRO_SCRATCH_BYTES = 8 * (ADDR_RECORD_LEN + 65536);
export const GRO_STATE_LEN = 3 + 2 * 8;

/** Batch I/O with offloads (native/src/offload_io.c). Synchronous and thread-safe like the rest. */
export interface OffloadIo {
  /**
   * readBatch for a vnetHdr TUN: packets land one per slot without the virtio header, superpackets split into
   * segments (gsoSplit). A superpacket that does not fit the slots left waits in `scratch` (TUN_SCRATCH_BYTES)
   * with its progress in `state` (TUN_STATE_LEN, zeros at first) for the next call. Refused packets are
   * counted in stats[OS_TUN_BAD] and dropped. Returns the count, or -errno when the read failed with none.
   */
  tunReadSplit(
    fd: number,
    slab: Buffer,
    stride: number,
    headroom: number,
    max: number,
    sizes: Int32Array,
    scratch: Uint8Array,
    state: Int32Array,
    stats: Int32Array,
  ): number;
  /**
   * sendBatch, with each run of equal-sized datagrams to one address (the last may be shorter) as one UDP_SEGMENT
   * message. With `flowOffset` (>= 0), a run is also one inner flow: the 36 bytes of inner IPv6 source,
   * destination and ports at that offset into each datagram match (a receiver steering by flow, udpSteer, sends a
   * whole message to the worker of its first datagram).
   */
  sendBatchGso(
    fd: number,
    slab: Buffer,
    offsets: Int32Array,
    lengths: Int32Array,
    addrs: Uint8Array,
    count: number,
    stats: Int32Array,
    flowOffset?: number,
  ): number;
  /**
   * recvBatch on a socket with UDP_GRO on: a coalesced message is spread into one datagram per slot, each with
   * its sender. What does not fit waits in `scratch` (GRO_SCRATCH_BYTES) and `state` (GRO_STATE_LEN, zeros).
   */
  recvBatchGro(
    fd: number,
    slab: Buffer,
    stride: number,
    headroom: number,
    max: number,
    sizes: Int32Array,
    addrs: Uint8Array,
    scratch: Uint8Array,
    state: Int32Array,
    stats: Int32Array,
  ): number;
  /** UDP_GRO on or off; false when the kernel has none (then recvBatch is the call to use). */
  udpSetGro(fd: number, on: boolean): boolean;
  /**
   * Spread the datagrams of fd's SO_REUSEPORT group over its `n` sockets (in the order they were bound) by a
   * hash of the inner flow: the inner IPv6 source and destination and the first 4 bytes after the IPv6
   * header (ports), the source address at `offset` bytes into the UDP payload. One flow, one socket.
   * Throws with `code` where the kernel has no SO_ATTACH_REUSEPORT_CBPF.
   */
  udpSteer(fd: number, offset: number, n: number): void;
}

let cached: (NativeAddon & OffloadOps & OffloadIo) | undefined;

/** Load the addon built by `npm install` (native/build/Release/moltnet.node). */
export function loadNative(): NativeAddon & OffloadOps & OffloadIo {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const candidates = [
    '../../../../native/build/Release/moltnet.node', // from dist/src/dataplane/io
    '../../../native/build/Release/moltnet.node', // from src/dataplane/io (ts runners)
  ];
  let lastError: unknown;
  for (const rel of candidates) {
    try {
      cached = require(new URL(rel, import.meta.url).pathname) as NativeAddon & OffloadOps & OffloadIo;
      return cached;
    } catch (err) {
      lastError = err;
    }
  }
  throw new Error(
    `the native addon is not built (run "npm install" or "npm run build:native"): ${String(lastError)}`,
  );
}
