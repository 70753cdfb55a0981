/**
 * An in-memory NativeAddon: TUN devices and UDP sockets on a virtual network inside one process, so the
 * real Engine (and the forwarding planes around it) run in unit tests with no root, no kernel and no
 * timing. The same contract as native.ts, call for call:
 *
 *   - tunOpen gives a fake TUN (without the vnetHdr option: it reports vnetHdr false, offloads 0). The test plays the host's kernel: inject() puts a packet where the
 *     engine's readBatch finds it, written() takes what the engine's writeBatch wrote.
 *   - udpOpen binds addr:port on the network. sendBatch delivers each datagram to the socket bound at
 *     the record's address and port (or a wildcard "::" / "0.0.0.0" socket on that port), with the
 *     sender's record (its bound address; a wildcard socket sends from ::1 / 127.0.0.1, as on loopback);
 *     nothing bound there: the datagram is lost, as UDP would lose it. recvBatch hands them out.
 *   - pollIn never blocks (there is no other thread to wait for): it reports what is ready now.
 *   - failures on demand: failReads() makes readBatch/recvBatch return -errno, setPollFlags() adds
 *     POLL_ERR/POLL_HUP to what pollIn reports; a closed fd polls POLL_NVAL and reads -EBADF.
 *   - onReadable() tells a listener when an fd gets something to read, so an in-process forwarding
 *     plane can step only when there is work.
 *
 * Copies are made where the kernel would make them (into and out of the caller's slab); the test-side
 * helpers allocate freely. Not for the hot path of a benchmark.
 */
import { constants } from 'node:os';
import { isIP } from 'node:net';
import { ADDR_RECORD_LEN, POLL_IN, POLL_NVAL, type NativeAddon, type TunHandle, type TunOptions } from './native.js';
import { parseIpv6Address } from '../wire/ipv6.js';

const EBADF = constants.errno.EBADF;

export interface Datagram {
  data: Buffer;
  /** The sender as a 20-byte address record. */
  from: Buffer;
}

interface FakeFd {
  fd: number;
  kind: 'tun' | 'udp';
  name: string;
  /** UDP: the bound address (16 bytes, IPv4 as ::ffff:a.b.c.d), port, family; a wildcard binds any. */
  addr: Buffer;
  port: number;
  v4: boolean;
  wildcard: boolean;
  /** What a read on this fd returns next. */
  rx: Datagram[];
  /** TUN only: packets the engine wrote. */
  tx: Buffer[];
  failErrno: number;
  failTimes: number;
  pollFlags: number;
}

export interface MemoryNetworkOptions {
  /** Datagrams a socket (or packets a TUN) holds before new ones are lost, like SO_RCVBUF (default 65536). */
  queueLimit?: number;
}

export class MemoryNetwork implements NativeAddon {
  /** Datagrams lost: nothing bound at the destination, or the receiver's queue full. */
  readonly lost = { noSocket: 0, queueFull: 0 };
  /** The fds given to the last pollIn (a copy), for tests of the poll set. */
  lastPoll = new Int32Array(0);
  /** Reads tried per fd (readBatch and recvBatch calls, whatever they returned), for tests of what is read. */
  readonly readsTried = new Map<number, number>();

  private readonly fds = new Map<number, FakeFd>();
  private readonly bound = new Map<string, FakeFd>();
  private readonly tunNames = new Set<string>();
  private nextFd = 100;
  private nextPort = 49152;
  private readonly listeners = new Set<(fd: number) => void>();
  private readonly queueLimit: number;

  constructor(opts: MemoryNetworkOptions = {}) {
    this.queueLimit = opts.queueLimit ?? 65536;
  }

  // --- NativeAddon ------------------------------------------------------------------------------

  /** A fake TUN carries plain IP packets only: vnetHdr is refused (as on macOS) and nothing is offloaded. */
  tunOpen(name: string, _options?: TunOptions): TunHandle {
    let n = name;
    if (n === '') for (let i = 0; this.tunNames.has((n = `tun${i}`)); i++);
    if (this.tunNames.has(n)) throw sysError('EBUSY', `tunOpen ${n}: ioctl(TUNSETIFF): device or resource busy`, 'ioctl(TUNSETIFF)');
    this.tunNames.add(n);
    const f = this.open('tun', n);
    return { fd: f.fd, name: n, vnetHdr: false, offloads: 0 };
  }

  close(fd: number): void {
    const f = this.fds.get(fd);
    if (!f) throw sysError('EBADF', `close fd ${fd}: bad file descriptor`, 'close');
    this.fds.delete(fd);
    if (f.kind === 'tun') this.tunNames.delete(f.name);
    else this.bound.delete(bindKey(f.addr, f.port, f.wildcard, f.v4));
  }

  pollIn(fds: Int32Array, _timeoutMs: number, ready: Uint8Array): number {
    if (ready.length < fds.length) throw new RangeError(`pollIn: ready (${ready.length} bytes) is shorter than fds (${fds.length})`);
    this.lastPoll = Int32Array.from(fds);
    let count = 0;
    for (let i = 0; i < fds.length; i++) {
      const fd = fds[i]!;
      let flags = 0;
      if (fd >= 0) {
        const f = this.fds.get(fd);
        if (!f) flags = POLL_NVAL;
        else flags = (f.rx.length > 0 || f.failTimes > 0 ? POLL_IN : 0) | f.pollFlags;
      }
      ready[i] = flags;
      if (flags !== 0) count++;
    }
    return count;
  }

  readBatch(fd: number, slab: Buffer, stride: number, headroom: number, max: number, sizes: Int32Array): number {
    return this.read(fd, slab, stride, headroom, max, sizes, undefined);
  }

  writeBatch(fd: number, slab: Buffer, offsets: Int32Array, lengths: Int32Array, count: number): number {
    const f = this.fds.get(fd);
    if (!f || f.kind !== 'tun') return 0; // EBADF; a write(2) on an unconnected UDP socket: EDESTADDRREQ
    for (let i = 0; i < count; i++) f.tx.push(Buffer.from(slab.subarray(offsets[i]!, offsets[i]! + lengths[i]!)));
    return count;
  }

  udpOpen(addr: string, port: number): number {
    const fam = isIP(addr);
    if (fam === 0) throw new TypeError(`udpOpen: addr must be an IPv4 or IPv6 literal, got '${addr}'`);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`udpOpen: port must be in [0, 65535], got ${port}`);
    const rec = addressBytes(addr);
    const v4 = fam === 4;
    const wildcard = rec.subarray(v4 ? 12 : 0, 16).every((b) => b === 0);
    let p = port;
    if (p === 0) {
      do p = this.nextPort++;
      while (this.isBound(rec, p, wildcard, v4));
    } else if (this.isBound(rec, p, wildcard, v4)) {
      throw sysError('EADDRINUSE', `udpOpen ${v4 ? addr : `[${addr}]`}:${p}: bind: address already in use (EADDRINUSE)`, 'bind');
    }
    const f = this.open('udp', `${addr}:${p}`);
    f.addr = rec;
    f.port = p;
    f.v4 = v4;
    f.wildcard = wildcard;
    this.bound.set(bindKey(rec, p, wildcard, v4), f);
    return f.fd;
  }

  setThreadPriority(_nice: number): void {}
  setSocketBuffers(_pid: number, _fd: number, _bytes: number): void {}

  udpLocalPort(fd: number): number {
    const f = this.fds.get(fd);
    if (!f || f.kind !== 'udp') throw sysError('EBADF', `udpLocalPort fd ${fd}: getsockname: bad file descriptor`, 'getsockname');
    return f.port;
  }

  recvBatch(fd: number, slab: Buffer, stride: number, headroom: number, max: number, sizes: Int32Array, addrs: Uint8Array): number {
    return this.read(fd, slab, stride, headroom, max, sizes, addrs);
  }

  sendBatch(fd: number, slab: Buffer, offsets: Int32Array, lengths: Int32Array, addrs: Uint8Array, count: number): number {
    const f = this.fds.get(fd);
    if (!f || f.kind !== 'udp') return 0;
    let sent = 0;
    for (let i = 0; i < count; i++) {
      const to = addrs.subarray(i * ADDR_RECORD_LEN, i * ADDR_RECORD_LEN + ADDR_RECORD_LEN);
      if (f.v4 && !isV4Mapped(to)) continue; // an IPv6 peer on an IPv4 socket: unreachable, not sent
      sent++;
      this.deliver(f, to, Buffer.from(slab.subarray(offsets[i]!, offsets[i]! + lengths[i]!)));
    }
    return sent;
  }

  // --- the test's side --------------------------------------------------------------------------

  /** As if the host's kernel sent `packet` into the TUN: the engine reads it next. */
  inject(tunFd: number, packet: Uint8Array): void {
    const f = this.fake(tunFd, 'tun');
    this.enqueue(f, { data: Buffer.from(packet), from: Buffer.alloc(ADDR_RECORD_LEN) });
  }

  /** The fd of the open TUN named `name`, or undefined. */
  tunFd(name: string): number | undefined {
    for (const f of this.fds.values()) if (f.kind === 'tun' && f.name === name) return f.fd;
    return undefined;
  }

  /** Take the packets the engine wrote to a TUN, oldest first. */
  written(tunFd: number): Buffer[] {
    const f = this.fake(tunFd, 'tun');
    return f.tx.splice(0);
  }

  /** Send one datagram from socket `fd` to the address record `to` (or "host:port" / "[v6]:port"). */
  sendTo(fd: number, data: Uint8Array, to: Uint8Array | string): void {
    const rec = typeof to === 'string' ? recordFor(to) : to;
    const f = this.fake(fd, 'udp');
    this.deliver(f, rec, Buffer.from(data));
  }

  /** Take the datagrams waiting on socket `fd`, oldest first. */
  receive(fd: number): Datagram[] {
    return this.fake(fd, 'udp').rx.splice(0);
  }

  /** Packets or datagrams waiting to be read on `fd`. */
  pending(fd: number): number {
    return this.fds.get(fd)?.rx.length ?? 0;
  }

  /** Make the next `times` reads of `fd` fail with -errno (e.g. constants.errno.EIO); 0 times stops it. */
  failReads(fd: number, errno: number, times = Infinity): void {
    const f = this.fake(fd);
    f.failErrno = errno;
    f.failTimes = times;
    if (times > 0) this.notify(fd);
  }

  /** Extra pollIn flags for `fd` (POLL_ERR, POLL_HUP) until set back to 0. */
  setPollFlags(fd: number, flags: number): void {
    this.fake(fd).pollFlags = flags;
    if (flags !== 0) this.notify(fd);
  }

  /** Call `listener(fd)` whenever an fd gets something to report to pollIn. Returns the unsubscribe. */
  onReadable(listener: (fd: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // --- inside -----------------------------------------------------------------------------------

  private open(kind: 'tun' | 'udp', name: string): FakeFd {
    const f: FakeFd = {
      fd: this.nextFd++,
      kind,
      name,
      addr: Buffer.alloc(16),
      port: 0,
      v4: false,
      wildcard: false,
      rx: [],
      tx: [],
      failErrno: 0,
      failTimes: 0,
      pollFlags: 0,
    };
    this.fds.set(f.fd, f);
    return f;
  }

  private fake(fd: number, kind?: 'tun' | 'udp'): FakeFd {
    const f = this.fds.get(fd);
    if (!f || (kind && f.kind !== kind)) throw new Error(`MemoryNetwork: fd ${fd} is not an open ${kind ?? 'fd'}`);
    return f;
  }

  private read(fd: number, slab: Buffer, stride: number, headroom: number, max: number, sizes: Int32Array, addrs: Uint8Array | undefined): number {
    this.readsTried.set(fd, (this.readsTried.get(fd) ?? 0) + 1);
    const f = this.fds.get(fd);
    if (!f) return -EBADF;
    if (max * stride > slab.length) throw new RangeError(`slab (${slab.length} bytes) is smaller than max * stride (${max} * ${stride})`);
    if (f.failTimes > 0) {
      f.failTimes--;
      return -f.failErrno;
    }
    const cap = stride - headroom;
    let n = 0;
    while (n < max && f.rx.length > 0) {
      const d = f.rx.shift()!;
      // Cut to the slot, as the kernel does (MSG_TRUNC / a short TUN read).
      const len = Math.min(d.data.length, cap);
      d.data.copy(slab, n * stride + headroom, 0, len);
      sizes[n] = len;
      if (addrs) addrs.set(d.from, n * ADDR_RECORD_LEN);
      n++;
    }
    return n;
  }

  private deliver(from: FakeFd, to: Uint8Array, data: Buffer): void {
    const port = (to[16]! << 8) | to[17]!;
    const addr = Buffer.from(to.subarray(0, 16));
    const v4 = isV4Mapped(to);
    const dest =
      this.bound.get(bindKey(addr, port, false, v4)) ??
      this.bound.get(bindKey(addr, port, true, false)) ??
      (v4 ? this.bound.get(bindKey(addr, port, true, true)) : undefined);
    if (!dest) {
      this.lost.noSocket++;
      return;
    }
    const rec = Buffer.alloc(ADDR_RECORD_LEN);
    if (from.wildcard) {
      if (from.v4 || v4) rec.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1]);
      else rec[15] = 1;
    } else {
      rec.set(from.addr);
    }
    rec.writeUInt16BE(from.port, 16);
    this.enqueue(dest, { data, from: rec });
  }

  private enqueue(f: FakeFd, d: Datagram): void {
    if (f.rx.length >= this.queueLimit) {
      this.lost.queueFull++;
      return;
    }
    f.rx.push(d);
    if (f.rx.length === 1) this.notify(f.fd);
  }

  private notify(fd: number): void {
    for (const l of this.listeners) l(fd);
  }

  private isBound(addr: Buffer, port: number, wildcard: boolean, v4: boolean): boolean {
    if (this.bound.has(bindKey(addr, port, wildcard, v4))) return true;
    // A wildcard socket owns its port on every address of its family (and "::" the IPv4 ones too).
    if (this.bound.has(bindKey(addr, port, true, false))) return true;
    if (v4 && this.bound.has(bindKey(addr, port, true, true))) return true;
    if (wildcard) for (const f of this.bound.values()) if (f.port === port && (!v4 || f.v4)) return true;
    return false;
  }
}

function bindKey(addr: Uint8Array, port: number, wildcard: boolean, v4: boolean): string {
  if (wildcard) return `${v4 ? '0.0.0.0' : '::'}/${port}`;
  return `${Buffer.from(addr.subarray(0, 16)).toString('hex')}/${port}`;
}

function isV4Mapped(rec: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (rec[i] !== 0) return false;
  return rec[10] === 0xff && rec[11] === 0xff;
}

/** 16 bytes for an IP literal, IPv4 as ::ffff:a.b.c.d. */
function addressBytes(ip: string): Buffer {
  if (isIP(ip) === 4) {
    const b = Buffer.alloc(16);
    b[10] = 0xff;
    b[11] = 0xff;
    ip.split('.').forEach((p, i) => (b[12 + i] = Number(p)));
    return b;
  }
  return parseIpv6Address(ip);
}

/** The 20-byte record for "a.b.c.d:port" or "[v6]:port". */
export function recordFor(hostPort: string): Buffer {
  const m = /^\[(.+)\]:(\d+)$/.exec(hostPort) ?? /^([^:]+):(\d+)$/.exec(hostPort);
  if (!m) throw new Error(`recordFor: expected "a.b.c.d:port" or "[v6]:port", got "${hostPort}"`);
  const rec = Buffer.alloc(ADDR_RECORD_LEN);
  rec.set(addressBytes(m[1]!));
  rec.writeUInt16BE(Number(m[2]), 16);
  return rec;
}

function sysError(code: string, message: string, syscall: string): Error {
  const errno = (constants.errno as Record<string, number>)[code] ?? 0;
  return Object.assign(new Error(message), { code, errno: -errno, syscall });
}
