/**
 * The forwarding engine: the batch loop between the host's TUN, the underlay UDP sockets and the links.
 *
 * Ports are where links' packets come and go: underlay UDP sockets (shared by many tunnel links, the link
 * found by the sender's address) and kernel-link TUNs (one link each, no encapsulation).
 *
 * One iteration (step):
 *   1. read a batch of packets from the host's TUN; Forwarder.fromHost decides each; encapsulate in place
 *   2. receive a batch from each port; find the link; decapsulate; Forwarder.fromLink decides each: to
 *      the host, to the control plane (punt), or on to another link
 *   3. flush: one sendmmsg per UDP port, one batched write per TUN (the host's and each kernel link's)
 *
 * All packets live in one slab: a region of `batch` slots per source plus a small region for packets the
 * node makes itself (ICMPv6 errors, ND, control-plane packets). Slots have headroom in front so the outer
 * header is written in place: the only copy is the kernel's.
 */
import { ADDR_RECORD_LEN, type NativeAddon } from './io/native.js';
import { C, L, LINK_COUNTER_STRIDE, type CounterSet } from './counters.js';
import { DECAP_BAD, DECAP_NOT_IPV6, DECAP_REPLY, DECAP_WRONG_MAC, type DataplaneLink } from './link.js';
import { Forwarder, ICMP_OFFSET, V_HOST, V_ICMP, V_PUNT } from './forward.js';

export interface Port {
  fd: number;
  /** 'udp': an underlay socket shared by tunnel links; 'tun': a kernel link's TUN, one link. */
  kind: 'udp' | 'tun';
}

export interface EngineOptions {
  io: NativeAddon;
  tunFd: number;
  /** A link's `port` indexes this list. */
  ports: Port[];
  forwarder: Forwarder;
  counters: CounterSet;
  /** Hand a packet to the control plane (copied out of the slab). */
  punt(linkId: number, packet: Uint8Array): void;
  now(): number;
  batch?: number;
  /** Largest packet a slot holds (inner MTU or underlay MTU, whichever is larger). */
  maxPacket?: number;
}

const HEADROOM = 64;
const GENERATED_SLOTS = 64;

class TxQueue {
  count = 0;
  readonly offsets: Int32Array;
  readonly lengths: Int32Array;
  readonly addrs: Uint8Array;
  constructor(cap: number) {
    this.offsets = new Int32Array(cap);
    this.lengths = new Int32Array(cap);
    this.addrs = new Uint8Array(cap * ADDR_RECORD_LEN);
  }
}

export class Engine {
  private readonly io: NativeAddon;
  private readonly fwd: Forwarder;
  private readonly node: Float64Array;
  private readonly linkCounters: Float64Array;
  private readonly batch: number;
  private readonly stride: number;
  readonly slab: Buffer;
  private readonly tunRegion: Buffer;
  private readonly tunSizes: Int32Array;
  private readonly sockRegions: Buffer[];
  private readonly sockRegionStart: number[];
  private readonly sockSizes: Int32Array[];
  private readonly sockAddrs: Uint8Array[];
  private readonly genStart: number;
  private genNext = 0;
  private readonly sockQueues: TxQueue[];
  private readonly tunQueue: TxQueue;
  private readonly pollFds: Int32Array;
  /** Links by id (sparse), and per socket the links that use it for the sender look-up. */
  private links: (DataplaneLink | undefined)[] = [];
  private linksBySocket: DataplaneLink[][] = [];
  private readonly lastLink: (DataplaneLink | undefined)[];
  private readonly isTun: boolean[];

  constructor(private readonly opts: EngineOptions, extraPollFds: number[] = []) {
    this.io = opts.io;
    this.fwd = opts.forwarder;
    this.node = opts.counters.node;
    this.linkCounters = opts.counters.link;
    this.batch = opts.batch ?? 64;
    const maxPacket = Math.max(opts.maxPacket ?? 1500, 1500);
    this.stride = (HEADROOM + maxPacket + 63) & ~63;
    const nSock = opts.ports.length;
    const slots = this.batch * (1 + nSock) + GENERATED_SLOTS;
    this.slab = Buffer.alloc(slots * this.stride);
    this.tunRegion = this.slab.subarray(0, this.batch * this.stride);
    this.tunSizes = new Int32Array(this.batch);
    this.sockRegions = [];
    this.sockRegionStart = [];
    this.sockSizes = [];
    this.sockAddrs = [];
    for (let s = 0; s < nSock; s++) {
      const start = this.batch * (1 + s) * this.stride;
      this.sockRegionStart.push(start);
      this.sockRegions.push(this.slab.subarray(start, start + this.batch * this.stride));
      this.sockSizes.push(new Int32Array(this.batch));
      this.sockAddrs.push(new Uint8Array(this.batch * ADDR_RECORD_LEN));
    }
    this.genStart = this.batch * (1 + nSock) * this.stride;
    const cap = slots;
    this.sockQueues = opts.ports.map(() => new TxQueue(cap));
    this.tunQueue = new TxQueue(cap);
    this.pollFds = Int32Array.from([opts.tunFd, ...opts.ports.map((p) => p.fd), ...extraPollFds]);
    this.lastLink = opts.ports.map(() => undefined);
    this.isTun = opts.ports.map((p) => p.kind === 'tun');
  }

  setLinks(links: DataplaneLink[]): void {
    this.links = [];
    this.linksBySocket = this.opts.ports.map(() => []);
    for (const l of links) {
      this.links[l.id] = l;
      this.linksBySocket[l.port]!.push(l);
      this.fwd.setLinkMtu(l.id, l.mtu);
    }
    this.lastLink.fill(undefined);
  }

  /** Forget a link: the forwarder then counts packets routed to it as drop_link_down. */
  removeLinkMtu(id: number): void {
    this.fwd.setLinkMtu(id, 0);
  }

  /** One pass over all sources; returns the number of packets handled. */
  step(): number {
    const now = this.opts.now();
    this.genNext = 0;
    let work = 0;

    const n = this.io.readBatch(this.opts.tunFd, this.tunRegion, this.stride, HEADROOM, this.batch, this.tunSizes);
    if (n > 0) {
      work += n;
      for (let i = 0; i < n; i++) {
        const off = i * this.stride + HEADROOM;
        const len = this.tunSizes[i]!;
        this.node[C.host_rx_packets]!++;
        this.node[C.host_rx_bytes]! += len;
        const v = this.fwd.fromHost(this.slab, off, len, now);
        if (v >= 0) this.toLink(v, off, len, now);
        else if (v === V_ICMP) this.sendIcmp(now);
        else if (v === V_HOST) this.toHost(off, len);
      }
    }

    const ports = this.opts.ports;
    for (let s = 0; s < ports.length; s++) {
      const region = this.sockRegions[s]!;
      const sizes = this.sockSizes[s]!;
      const addrs = this.sockAddrs[s]!;
      const m = this.isTun[s]
        ? this.io.readBatch(ports[s]!.fd, region, this.stride, HEADROOM, this.batch, sizes)
        : this.io.recvBatch(ports[s]!.fd, region, this.stride, HEADROOM, this.batch, sizes, addrs);
      if (m <= 0) continue;
      work += m;
      const base = this.sockRegionStart[s]!;
      for (let i = 0; i < m; i++) this.fromUnderlay(s, base + i * this.stride + HEADROOM, sizes[i]!, addrs, i, now);
    }

    this.flush();
    return work;
  }

  /** Block until a source is readable or timeoutMs passes. Worker threads only. */
  wait(timeoutMs: number): number {
    return this.io.pollIn(this.pollFds, timeoutMs);
  }

  /** Send a packet made by the control plane (an inner IPv6 packet) on a link. */
  sendFromControlPlane(linkId: number, packet: Uint8Array): boolean {
    const off = this.allocGenerated();
    if (off < 0 || packet.length > this.stride - HEADROOM) return false;
    this.slab.set(packet, off);
    this.toLink(linkId, off, packet.length, this.opts.now());
    this.flush();
    return true;
  }

  private fromUnderlay(s: number, off: number, len: number, addrs: Uint8Array, i: number, now: number): void {
    this.node[C.underlay_rx_packets]!++;
    this.node[C.underlay_rx_bytes]! += len;
    const link = this.isTun[s] ? this.linksBySocket[s]![0] : this.findLink(s, addrs, i * ADDR_RECORD_LEN);
    if (link === undefined) {
      this.node[C.drop_unknown_peer]!++;
      return;
    }
    const lc = link.id * LINK_COUNTER_STRIDE;
    this.linkCounters[lc + L.rx_packets]!++;
    this.linkCounters[lc + L.rx_bytes]! += len;
    const inner = link.decap(this.slab, off, len, now);
    if (inner < 0) {
      if (inner === DECAP_REPLY) this.sendLinkReply(link, now);
      else if (inner === DECAP_BAD) this.dropRx(lc, C.drop_bad_encap);
      else if (inner === DECAP_WRONG_MAC) this.dropRx(lc, C.drop_wrong_mac);
      else if (inner === DECAP_NOT_IPV6) this.dropRx(lc, C.drop_not_ipv6);
      return;
    }
    const innerLen = link.innerLen;
    const v = this.fwd.fromLink(link.id, this.slab, inner, innerLen, now);
    if (v >= 0) this.toLink(v, inner, innerLen, now);
    else if (v === V_HOST) this.toHost(inner, innerLen);
    else if (v === V_PUNT) this.opts.punt(link.id, this.slab.subarray(inner, inner + innerLen));
    else if (v === V_ICMP) this.sendIcmp(now);
  }

  private dropRx(lc: number, reason: number): void {
    this.linkCounters[lc + L.rx_drops]!++;
    this.node[reason]!++;
  }

  private findLink(s: number, addrs: Uint8Array, a: number): DataplaneLink | undefined {
    const last = this.lastLink[s];
    if (last !== undefined && sameRecord(last.remote, addrs, a)) return last;
    const list = this.linksBySocket[s]!;
    for (let k = 0; k < list.length; k++) {
      const l = list[k]!;
      if (sameRecord(l.remote, addrs, a)) {
        this.lastLink[s] = l;
        return l;
      }
    }
    return undefined;
  }

  private toLink(linkId: number, off: number, len: number, now: number): void {
    const link = this.links[linkId];
    if (link === undefined) {
      this.node[C.drop_link_down]!++;
      return;
    }
    const start = link.encap(this.slab, off, len, now);
    if (start < 0) {
      this.node[C.drop_nd_unresolved]!++;
      this.linkCounters[link.id * LINK_COUNTER_STRIDE + L.tx_drops]!++;
      if (link.replyLen > 0) this.sendLinkReply(link, now);
      return;
    }
    const q = this.sockQueues[link.port]!;
    if (q.count >= q.offsets.length) this.flush();
    const j = q.count++;
    q.offsets[j] = start;
    q.lengths[j] = len + (off - start);
    q.addrs.set(link.remote, j * ADDR_RECORD_LEN);
    const lc = link.id * LINK_COUNTER_STRIDE;
    this.linkCounters[lc + L.tx_packets]!++;
    this.linkCounters[lc + L.tx_bytes]! += len + (off - start);
  }

  private toHost(off: number, len: number): void {
    const q = this.tunQueue;
    if (q.count >= q.offsets.length) this.flush();
    const j = q.count++;
    q.offsets[j] = off;
    q.lengths[j] = len;
  }

  private allocGenerated(): number {
    if (this.genNext >= GENERATED_SLOTS) return -1;
    return this.genStart + this.genNext++ * this.stride + HEADROOM;
  }

  private sendIcmp(now: number): void {
    const off = this.allocGenerated();
    if (off < 0) return;
    const len = this.fwd.icmpLen;
    this.fwd.icmpBuf.copy(this.slab, off, ICMP_OFFSET, ICMP_OFFSET + len);
    const target = this.fwd.icmpTarget;
    if (target === V_HOST) this.toHost(off, len);
    else if (target >= 0) this.toLink(target, off, len, now);
  }

  private sendLinkReply(link: DataplaneLink, now: number): void {
    const len = link.replyLen;
    link.replyLen = 0;
    const off = this.allocGenerated();
    if (off < 0) return;
    link.reply.copy(this.slab, off, link.replyOff, link.replyOff + len);
    this.toLink(link.id, off, len, now);
  }

  private flush(): void {
    const ports = this.opts.ports;
    for (let s = 0; s < ports.length; s++) {
      const q = this.sockQueues[s]!;
      if (q.count === 0) continue;
      const fd = ports[s]!.fd;
      const sent = this.isTun[s]
        ? this.io.writeBatch(fd, this.slab, q.offsets, q.lengths, q.count)
        : this.io.sendBatch(fd, this.slab, q.offsets, q.lengths, q.addrs, q.count);
      let bytes = 0;
      for (let j = 0; j < sent; j++) bytes += q.lengths[j]!;
      this.node[C.underlay_tx_packets]! += sent;
      this.node[C.underlay_tx_bytes]! += bytes;
      this.node[C.underlay_tx_errors]! += q.count - sent;
      q.count = 0;
    }
    const t = this.tunQueue;
    if (t.count > 0) {
      const written = this.io.writeBatch(this.opts.tunFd, this.slab, t.offsets, t.lengths, t.count);
      let bytes = 0;
      for (let j = 0; j < written; j++) bytes += t.lengths[j]!;
      this.node[C.host_tx_packets]! += written;
      this.node[C.host_tx_bytes]! += bytes;
      this.node[C.host_tx_errors]! += t.count - written;
      t.count = 0;
    }
  }
}

function sameRecord(remote: Uint8Array, addrs: Uint8Array, a: number): boolean {
  // The address only: VXLAN (RFC 7348 §5) and GRE-in-UDP (RFC 8086 §3.2) senders vary the source port
  // per flow for ECMP in the underlay, so the port says nothing about the peer.
  for (let i = 15; i >= 0; i--) if (remote[i] !== addrs[a + i]) return false;
  return true;
}
