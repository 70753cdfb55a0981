/**
 * The forwarding engine: the batch loop between the host's TUN, the underlay ports and the links.
 *
 * Ports are where links' packets come and go, each under a numeric id the control plane chooses:
 * underlay UDP sockets (shared by many tunnel links, the link found by the sender's address) and
 * kernel-link TUNs (one link each, no encapsulation). Ports and links come and go one at a time
 * (addPort/removePort, addLink/removeLink) while traffic flows; no other port or link is touched.
 *
 * One iteration (step):
 *   1. read a batch of packets from the host's TUN; Forwarder.fromHost decides each; encapsulate in place
 *   2. receive a batch from each port; find the link (peer table); decapsulate; Forwarder.fromLink decides
 *      each: to the host, to the control plane (punt queue), or on to another link
 *   3. flush: one sendmmsg per UDP port, one batched write per TUN (the host's and each kernel link's)
 *   4. hand the step's punted packets up in one call, BFD first (punt.ts)
 *
 * All packets live in one slab of equal regions of `batch` slots: region 0 for the host TUN, region 1 for
 * packets the node makes itself (ICMPv6 errors, ND, control-plane packets), one per port after that.
 * A new port takes a free region or grows the slab (a copy that keeps every offset, so nothing queued
 * moves). Slots have headroom in front so the outer header is written in place: the only copy is the
 * kernel's.
 *
 * An fd whose reads fail (-errno) or that poll(2) reports as failed (POLLERR/POLLHUP/POLLNVAL) is counted
 * and left out of reads and of the poll set for a while (10 ms, doubling with each failure to 1 s), so a
 * dead fd cannot make the loop spin. A read that returns packets resets the pause to its shortest.
 */
import { MAX_PORT_ID } from '../common/limits.js';
import {
  ADDR_RECORD_LEN,
  GRO_MERGED,
  GRO_STATE_LEN,
  GRO_STATS,
  GRO_SCRATCH_BYTES,
  GRO_SUPER,
  OS_GRO_MSGS,
  OS_GRO_SEGMENTS,
  OS_GSO_EIO,
  OS_GSO_FAILED,
  OS_GSO_MSGS,
  OS_GSO_SEGMENTS,
  OS_STATS,
  OS_TUN_BAD,
  OS_TUN_SEGMENTS,
  OS_TUN_SUPER,
  POLL_FAILED,
  POLL_IN,
  TUN_SCRATCH_BYTES,
  TUN_STATE_LEN,
  VNET_HDR_LEN,
  type NativeAddon,
  type OffloadIo,
  type OffloadOps,
} from './io/native.js';
import { C, L, LINK_COUNTER_STRIDE, MAX_LINK_ID, zeroLinkCounters, type CounterSet } from './counters.js';
import { DECAP_BAD, DECAP_NOT_IPV6, DECAP_REPLY, DECAP_WRONG_MAC, type DataplaneLink } from './link.js';
import { Forwarder, ICMP_OFFSET, V_HOST, V_ICMP, V_PUNT } from './forward.js';
import { PeerTable } from './peer-table.js';
import { PuntQueue, type PuntBatch, type PuntOptions } from './punt.js';
import { TokenBuckets } from './ratelimit.js';

export interface Port {
  fd: number;
  /** 'udp': an underlay socket shared by tunnel links; 'tun': a kernel link's TUN, one link. */
  kind: 'udp' | 'tun';
  /** UDP: send runs of equal-sized datagrams to one peer as one UDP_SEGMENT message (needs io.sendBatchGso). */
  gso?: boolean;
  /** UDP: the socket has UDP_GRO on, so reads must spread coalesced messages (needs io.recvBatchGro). */
  gro?: boolean;
  /**
   * UDP with gso: where the inner IPv6 source address sits in each datagram (VXLAN 30, GRE-in-UDP 16). A
   * UDP_SEGMENT message then carries one inner flow only, so a receiver that steers datagrams to its workers by
   * inner flow never gets two flows in one message (which its kernel would hand to one worker whole).
   */
  gsoFlowOffset?: number;
  /**
   * Only sent on, never read or polled: a port another forwarding worker reads (a kernel link's TUN has one
   * reader, worker 0; the others write their packets for it to the same fd).
   */
  sendOnly?: boolean;
}

/** The addon, with the offload calls an engine uses when its TUN or ports ask for them. */
export type EngineIo = NativeAddon & Partial<OffloadIo & OffloadOps>;

export interface EngineOptions {
  io: EngineIo;
  tunFd: number;
  /**
   * The host TUN was opened with vnetHdr: its reads are (super)packets behind a virtio header, split here into
   * segments (io.tunReadSplit); its writes are coalesced into superpackets (io.groCoalesce). Default false.
   */
  tunOffload?: boolean;
  /** A port's UDP_SEGMENT sends were refused with EIO (its route cannot do GSO): GSO is off for it from now. */
  gsoOff?(portId: number): void;
  forwarder: Forwarder;
  counters: CounterSet;
  /**
   * The step's packets for the control plane, at most once per step, at its end: BFD first, then the
   * rest in arrival order. The batch views the slab: copy what you keep before returning.
   */
  punt(batch: PuntBatch): void;
  /**
   * Where a roaming link's peer sends from: on its first packet, and whenever its UDP port changes (its NAT
   * chose a new mapping). `remote` is the link's record as it is now (copy it). Not called per packet.
   */
  roamed?(linkId: number, remote: Uint8Array): void;
  now(): number;
  batch?: number;
  /** Largest packet a slot holds (inner MTU or underlay MTU, whichever is larger). */
  maxPacket?: number;
  /** The punt queue's size and per-kind policers (punt.ts). */
  punts?: PuntOptions;
  /** An fd that only wakes wait() (the worker's loopback wake socket): polled, and drained by wait(). */
  wakeFd?: number;
  /** Back-off of a failing fd: first pause and longest pause, ms (default 10 and 1000). */
  backoffMinMs?: number;
  backoffMaxMs?: number;
}

/** Port ids are chosen by the control plane: integers 0..MAX_PORT_ID. */
export { MAX_PORT_ID };

const HEADROOM = 64;
/**
 * Link-layer replies (Neighbor Advertisements) per link: a peer resolving us or probing reachability
 * sends a few Solicitations a second; anything far above that is a flood, answered at this rate only.
 */
export const LINK_REPLY_RATE = 100;
export const LINK_REPLY_BURST = 50;

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

/** Read health of one fd: consecutive failures, and until when it is left alone (ms on the engine clock). */
class FdHealth {
  streak = 0;
  until = 0;
}

class PortState {
  readonly isTun: boolean;
  readonly sendOnly: boolean;
  /** Byte offset of this port's region in the slab, and a view of it for the batch reads. */
  base: number;
  region: Buffer;
  readonly sizes: Int32Array;
  /** Senders of the last batch; never written for a TUN port, so always zeros there (see findLink). */
  readonly addrs: Uint8Array;
  readonly queue: TxQueue;
  lastLink: DataplaneLink | undefined = undefined;
  readonly health = new FdHealth();
  gso: boolean;
  readonly gsoFlowOffset: number;
  /** With UDP_GRO: the coalesced messages not yet spread into slots, and where the spreading is. */
  readonly groScratch: Uint8Array | undefined;
  readonly groState: Int32Array | undefined;

  constructor(
    readonly id: number,
    readonly fd: number,
    kind: 'udp' | 'tun',
    readonly regionIndex: number,
    base: number,
    region: Buffer,
    batch: number,
    offload: { gso?: boolean; gro?: boolean; sendOnly?: boolean; gsoFlowOffset?: number },
  ) {
    this.isTun = kind === 'tun';
    this.sendOnly = offload.sendOnly === true;
    this.gsoFlowOffset = offload.gsoFlowOffset ?? -1;
    this.gso = !this.isTun && offload.gso === true;
    if (!this.isTun && offload.gro === true) {
      // Not zero-filled: only the pages a burst touches become resident.
      this.groScratch = Buffer.allocUnsafeSlow(GRO_SCRATCH_BYTES);
      this.groState = new Int32Array(GRO_STATE_LEN);
    }
    this.base = base;
    this.region = region;
    this.sizes = new Int32Array(batch);
    this.addrs = new Uint8Array(batch * ADDR_RECORD_LEN);
    this.queue = new TxQueue(batch * 4);
  }
}

export class Engine {
  private readonly io: EngineIo;
  private readonly fwd: Forwarder;
  private readonly counters: CounterSet;
  private readonly node: Float64Array;
  private readonly linkCounters: Float64Array;
  private readonly batch: number;
  private readonly stride: number;
  private readonly regionBytes: number;
  private _slab: Buffer;
  private hostRegion: Buffer;
  private readonly hostSizes: Int32Array;
  private readonly hostHealth = new FdHealth();
  private readonly hostQueue: TxQueue;
  private readonly genStart: number;
  private genNext = 0;
  private regionCount = 2;
  private readonly freeRegions: number[] = [];

  /** Ports in the order they were added (the read order), and by id. */
  private portList: PortState[] = [];
  private readonly portsById: (PortState | undefined)[];
  /** Links by id (0..MAX_LINK_ID), and the sender look-up (port id, peer address) -> link id. */
  private readonly links: (DataplaneLink | undefined)[];
  private readonly peers = new PeerTable();
  /** Senders that are configured peers still to be authenticated (peering): dropped, but counted apart. */
  private readonly pendingPeers = new PeerTable();
  private readonly punts: PuntQueue;
  /** Per link: the budget for link-layer replies to its peer (ND); full when the link is added. */
  private readonly replyBudget = new TokenBuckets(LINK_REPLY_RATE, LINK_REPLY_BURST);
  /** Per link id: 1 once a roaming link heard from its peer (the first packet is reported, then changes). */
  private readonly roamHeard: number[] = [];

  private pollFds = new Int32Array(0);
  private pollReady = new Uint8Array(0);
  private pollDirty = true;
  /**
   * pollReady holds what the last wait() saw and no step has used it yet: the next step reads only the fds
   * poll(2) reported (and those with packets left in a scratch buffer) instead of trying each one. On an idle
   * or lightly loaded link that saves a failed read per quiet fd per step, which on a VM costs more than the
   * packet's own work.
   */
  private readyValid = false;
  /** Whether the last step filled a whole batch from some source: more is likely waiting, so skip the poll. */
  private _full = false;
  /** Earliest time a backed-off fd is due back (0: none is backed off). */
  private nextRetry = 0;
  private readonly wakeFd: number;
  private readonly wakeScratch = Buffer.alloc(64 * 64);
  private readonly wakeSizes = new Int32Array(64);
  private readonly wakeAddrs = new Uint8Array(64 * ADDR_RECORD_LEN);
  private readonly backoffMin: number;
  private readonly backoffMax: number;
  /** Host TUN offloads: the read scratch and its state, the coalescing output, and the calls' counters. */
  private readonly tunOffload: boolean;
  private readonly tunScratch: Uint8Array | undefined;
  private readonly tunState = new Int32Array(TUN_STATE_LEN);
  private readonly groOut: Buffer | undefined;
  private readonly groOffsets: Int32Array | undefined;
  private readonly groLengths: Int32Array | undefined;
  private readonly groStats = new Int32Array(GRO_STATS);
  private readonly offloadStats = new Int32Array(OS_STATS);

  constructor(private readonly opts: EngineOptions) {
    this.io = opts.io;
    this.fwd = opts.forwarder;
    this.counters = opts.counters;
    this.node = opts.counters.node;
    this.linkCounters = opts.counters.link;
    this.batch = opts.batch ?? 64;
    if (!Number.isInteger(this.batch) || this.batch < 1) throw new RangeError(`batch must be a positive integer, got ${String(opts.batch)}`);
    const maxPacket = Math.max(opts.maxPacket ?? 1500, 1500);
    this.stride = (HEADROOM + maxPacket + 63) & ~63;
    this.regionBytes = this.batch * this.stride;
    this._slab = Buffer.alloc(4 * this.regionBytes); // host, generated, room for two ports before growing
    this.hostRegion = this._slab.subarray(0, this.regionBytes);
    this.hostSizes = new Int32Array(this.batch);
    this.hostQueue = new TxQueue(this.batch * 4);
    this.genStart = this.regionBytes;
    this.freeRegions.push(3, 2);
    this.regionCount = 4;
    this.portsById = Array.from({ length: MAX_PORT_ID + 1 }, () => undefined);
    this.links = Array.from({ length: MAX_LINK_ID + 1 }, () => undefined);
    this.punts = new PuntQueue(this.node, opts.punts);
    this.wakeFd = opts.wakeFd ?? -1;
    this.backoffMin = opts.backoffMinMs ?? 10;
    this.backoffMax = opts.backoffMaxMs ?? 1000;
    this.tunOffload = opts.tunOffload === true;
    if (this.tunOffload) {
      if (typeof opts.io.tunReadSplit !== 'function' || typeof opts.io.groCoalesce !== 'function') {
        throw new TypeError('tunOffload needs an io with tunReadSplit and groCoalesce (the native addon)');
      }
      this.tunScratch = Buffer.allocUnsafeSlow(TUN_SCRATCH_BYTES);
      const cap = this.hostQueue.offsets.length;
      this.groOut = Buffer.allocUnsafeSlow(cap * (this.stride + VNET_HDR_LEN));
      this.groOffsets = new Int32Array(cap);
      this.groLengths = new Int32Array(cap);
    }
  }

  /** The packet slab (replaced when a port needs a region and none is free). */
  get slab(): Buffer {
    return this._slab;
  }

  // --- ports and links (control plane, between steps) ------------------------------------------

  /**
   * Add port `id` (or replace it: same region, new fd and kind). Links name their port by this id and
   * may be added before it; until it exists their packets count drop_link_down.
   */
  addPort(id: number, port: Port): void {
    checkId('port id', id, MAX_PORT_ID);
    if (!Number.isInteger(port?.fd) || port.fd < 0) throw new RangeError(`port ${id}: fd must be a non-negative integer, got ${String(port?.fd)}`);
    if (port.kind !== 'udp' && port.kind !== 'tun') throw new RangeError(`port ${id}: kind must be 'udp' or 'tun', got ${String(port.kind)}`);
    if (port.gso === true && typeof this.io.sendBatchGso !== 'function') throw new TypeError(`port ${id}: gso needs an io with sendBatchGso`);
    if (port.gro === true && typeof this.io.recvBatchGro !== 'function') throw new TypeError(`port ${id}: gro needs an io with recvBatchGro`);
    if (port.gsoFlowOffset !== undefined && (!Number.isInteger(port.gsoFlowOffset) || port.gsoFlowOffset < 0 || port.gsoFlowOffset > 4096)) {
      throw new RangeError(`port ${id}: gsoFlowOffset must be an integer 0..4096, got ${String(port.gsoFlowOffset)}`);
    }
    const old = this.portsById[id];
    let ps: PortState;
    if (old !== undefined) {
      this.flushPort(old);
      ps = new PortState(id, port.fd, port.kind, old.regionIndex, old.base, old.region, this.batch, port);
      this.portList[this.portList.indexOf(old)] = ps;
    } else {
      const r = this.allocRegion();
      const base = r * this.regionBytes;
      ps = new PortState(id, port.fd, port.kind, r, base, this._slab.subarray(base, base + this.regionBytes), this.batch, port);
      this.portList.push(ps);
    }
    this.portsById[id] = ps;
    this.pollDirty = true;
  }

  /** Remove port `id` after sending what is queued on it. Its links stay (drop_link_down until it is back). */
  removePort(id: number): boolean {
    checkId('port id', id, MAX_PORT_ID);
    const ps = this.portsById[id];
    if (ps === undefined) return false;
    this.flushPort(ps);
    this.portsById[id] = undefined;
    this.portList = this.portList.filter((p) => p !== ps);
    this.freeRegions.push(ps.regionIndex);
    this.pollDirty = true;
    return true;
  }

  hasPort(id: number): boolean {
    return this.portsById[id] !== undefined;
  }

  /**
   * Add a link, or replace the link with its id. No other link is touched (a VXLAN link keeps its
   * learned MAC and ND state). The id's counters start from zero. Throws RangeError for an id outside
   * 0..MAX_LINK_ID, a port id outside 0..MAX_PORT_ID or a bad MTU, and Error when another link already
   * has this port and peer address (the receive side could not tell them apart).
   */
  addLink(link: DataplaneLink): void {
    checkId('link id', link.id, MAX_LINK_ID);
    checkId(`link ${link.id}: port id`, link.port, MAX_PORT_ID);
    if (!Number.isInteger(link.mtu) || link.mtu < 1 || link.mtu > 65535) {
      throw new RangeError(`link ${link.id}: mtu must be an integer 1..65535, got ${String(link.mtu)}`);
    }
    if (!(link.remote instanceof Uint8Array) || link.remote.length !== ADDR_RECORD_LEN) {
      throw new RangeError(`link ${link.id}: remote must be an address record of ${ADDR_RECORD_LEN} bytes`);
    }
    const holder = this.peers.get(link.port, link.remote, 0);
    if (holder >= 0 && holder !== link.id) {
      throw new Error(`link ${link.id} (${link.name}): link ${holder} already has port ${link.port} and the same peer address`);
    }
    const old = this.links[link.id];
    if (old !== undefined) this.detach(old);
    this.links[link.id] = link;
    this.peers.set(link.port, link.remote, link.id);
    zeroLinkCounters(this.counters, link.id);
    this.punts.resetLink(link.id);
    this.replyBudget.reset(link.id);
    this.roamHeard[link.id] = 0;
    this.fwd.setLinkMtu(link.id, link.mtu);
  }

  /** Remove a link: packets routed or sent to it count drop_link_down, its peer's packets drop_unknown_peer. */
  removeLink(id: number): boolean {
    checkId('link id', id, MAX_LINK_ID);
    const link = this.links[id];
    if (link === undefined) return false;
    this.detach(link);
    this.links[id] = undefined;
    this.fwd.setLinkMtu(id, 0);
    return true;
  }

  link(id: number): DataplaneLink | undefined {
    return this.links[id];
  }

  /**
   * A roaming link's peer was heard from another UDP port by another forwarding worker: send there too.
   * Only the port (record bytes 16-17) is taken; the address is the link's. Returns whether the link exists.
   */
  peerMoved(linkId: number, remote: Uint8Array): boolean {
    checkId('link id', linkId, MAX_LINK_ID);
    const link = this.links[linkId];
    if (link === undefined || !link.roam || remote.length !== ADDR_RECORD_LEN) return false;
    learnPort(link.remote, remote, 0);
    this.roamHeard[linkId] = 1;
    return true;
  }

  /**
   * A configured peer whose handshake has not succeeded (or whose session was lost): until a link takes
   * its place, its packets are dropped as drop_unauthenticated rather than drop_unknown_peer.
   */
  addPendingPeer(port: number, remote: Uint8Array): void {
    checkId('port id', port, MAX_PORT_ID);
    this.pendingPeers.set(port, remote, 0);
  }

  removePendingPeer(port: number, remote: Uint8Array): void {
    checkId('port id', port, MAX_PORT_ID);
    this.pendingPeers.delete(port, remote);
  }

  /** Whether reads of a port (or the host TUN, 'host') are paused after failures. */
  backedOff(port: number | 'host'): boolean {
    const h = port === 'host' ? this.hostHealth : this.portsById[port]?.health;
    return h !== undefined && h.until > this.opts.now();
  }

  /** When the earliest backed-off fd is due to be read again (engine clock), or 0 if none is backed off. */
  retryAt(): number {
    const now = this.opts.now();
    let next = this.hostHealth.until > now ? this.hostHealth.until : 0;
    for (const ps of this.portList) {
      const u = ps.health.until;
      if (u > now && (next === 0 || u < next)) next = u;
    }
    return next;
  }

  // --- the loop ---------------------------------------------------------------------------------

  /**
   * One pass over the sources; returns the number of packets handled. Right after wait() it reads only the
   * fds poll reported readable; otherwise (the first step, a step after another, a changed port set) each.
   */
  step(): number {
    const now = this.opts.now();
    let work = 0;
    const io = this.io;
    // Sources poll(2) did not report hold nothing: anything that arrived since makes the next poll return.
    const known = this.readyValid && !this.pollDirty;
    this.readyValid = false;
    this._full = false;
    const ready = this.pollReady;

    if (this.hostHealth.until <= now && (!known || ready[0] !== 0 || this.tunState[0]! > 0)) {
      const n = this.tunOffload
        ? io.tunReadSplit!(this.opts.tunFd, this.hostRegion, this.stride, HEADROOM, this.batch, this.hostSizes, this.tunScratch!, this.tunState, this.offloadStats)
        : io.readBatch(this.opts.tunFd, this.hostRegion, this.stride, HEADROOM, this.batch, this.hostSizes);
      if (n < 0) this.readFailed(this.hostHealth, C.host_rx_errors, now);
      if (n > 0) {
        this.hostHealth.streak = 0;
        work += n;
        if (n >= this.batch) this._full = true;
        for (let i = 0; i < n; i++) {
          const off = i * this.stride + HEADROOM;
          const len = this.hostSizes[i]!;
          this.node[C.host_rx_packets]!++;
          this.node[C.host_rx_bytes]! += len;
          const v = this.fwd.fromHost(this._slab, off, len, now);
          if (v >= 0) this.toLink(v, off, len, now);
          else if (v === V_ICMP) this.sendIcmp(now);
          else if (v === V_HOST) this.toHost(off, len);
        }
      }
    }

    const ports = this.portList;
    for (let s = 0; s < ports.length; s++) {
      const ps = ports[s]!;
      if (ps.health.until > now || ps.sendOnly) continue;
      if (known && ready[1 + s] === 0 && !(ps.groState !== undefined && ps.groState[1]! < ps.groState[0]!)) continue;
      const m = ps.isTun
        ? io.readBatch(ps.fd, ps.region, this.stride, HEADROOM, this.batch, ps.sizes)
        : ps.groState !== undefined
          ? io.recvBatchGro!(ps.fd, ps.region, this.stride, HEADROOM, this.batch, ps.sizes, ps.addrs, ps.groScratch!, ps.groState, this.offloadStats)
          : io.recvBatch(ps.fd, ps.region, this.stride, HEADROOM, this.batch, ps.sizes, ps.addrs);
      if (m < 0) {
        this.readFailed(ps.health, C.underlay_rx_errors, now);
        continue;
      }
      if (m === 0) continue;
      ps.health.streak = 0;
      work += m;
      if (m >= this.batch) this._full = true;
      const base = ps.base;
      for (let i = 0; i < m; i++) this.fromUnderlay(ps, base + i * this.stride + HEADROOM, ps.sizes[i]!, i, now);
    }

    this.flush();
    if (this.punts.length > 0) this.opts.punt(this.punts.take(this._slab));
    this.takeOffloadStats();
    return work;
  }

  /**
   * Whether the last step read a whole batch from some source. A worker under load then steps again at once
   * (each source tried, as a poll would mostly say "all readable" and cost a call more); otherwise it polls.
   */
  get full(): boolean {
    return this._full;
  }

  /** Whether a read left packets behind in a scratch buffer (a superpacket or coalesced message only partly taken). */
  hasPending(): boolean {
    if (this.tunState[0]! > 0) return true;
    for (const ps of this.portList) {
      const g = ps.groState;
      if (g !== undefined && g[1]! < g[0]!) return true;
    }
    return false;
  }

  /** Move the offload calls' counts into the node counters; turn GSO off on a port whose route refused it. */
  private takeOffloadStats(): void {
    const o = this.offloadStats;
    const node = this.node;
    if (o[OS_GSO_EIO]! > 0) {
      // The route's device cannot checksum for GSO: every later message would be refused too.
      for (const ps of this.portList) {
        if (ps.gso) {
          ps.gso = false;
          this.opts.gsoOff?.(ps.id);
        }
      }
    }
    node[C.tun_superpackets]! += o[OS_TUN_SUPER]!;
    node[C.tun_segments]! += o[OS_TUN_SEGMENTS]!;
    node[C.drop_bad_offload]! += o[OS_TUN_BAD]!;
    node[C.gso_messages]! += o[OS_GSO_MSGS]!;
    node[C.gso_segments]! += o[OS_GSO_SEGMENTS]!;
    node[C.gso_refused]! += o[OS_GSO_EIO]! + o[OS_GSO_FAILED]!;
    node[C.gro_messages]! += o[OS_GRO_MSGS]!;
    node[C.gro_segments]! += o[OS_GRO_SEGMENTS]!;
    o.fill(0);
  }

  /**
   * Block until a source is readable or timeoutMs passes (shortened to when a backed-off fd is due).
   * Drains the wake fd. An fd that poll(2) reports failed and not readable is backed off. Workers only
   * with the native addon: it blocks the thread. Returns how many fds poll reported. spinUs: busy-poll for
   * up to that long first (pollIn's spinUs).
   */
  wait(timeoutMs: number, spinUs = 0): number {
    const now = this.opts.now();
    if (this.pollDirty || (this.nextRetry !== 0 && now >= this.nextRetry)) this.buildPollSet(now);
    let timeout = timeoutMs;
    if (this.nextRetry !== 0) timeout = Math.max(0, Math.min(timeout < 0 ? Infinity : timeout, Math.ceil(this.nextRetry - now)));
    const fds = this.pollFds;
    const ready = this.pollReady;
    if (this.hasPending()) timeout = 0; // packets are waiting in a scratch buffer, not in any fd
    const n = this.io.pollIn(fds, timeout, ready, spinUs);
    this.readyValid = true;
    if (n <= 0) return n;
    const after = this.opts.now(); // poll may have slept: pauses start from now
    const nPorts = this.portList.length;
    for (let i = 0; i < fds.length; i++) {
      const f = ready[i]!;
      if (f === 0) continue;
      if (i > nPorts) {
        // The wake fd: its datagrams carry nothing; the message queue is read by the caller.
        while (this.io.recvBatch(this.wakeFd, this.wakeScratch, 64, 0, 64, this.wakeSizes, this.wakeAddrs) > 0);
        continue;
      }
      if ((f & POLL_IN) !== 0 || (f & POLL_FAILED) === 0) continue;
      if (i === 0) this.readFailed(this.hostHealth, C.host_rx_errors, after);
      else this.readFailed(this.portList[i - 1]!.health, C.underlay_rx_errors, after);
    }
    return n;
  }

  /**
   * Queue a packet made by the control plane (an inner IPv6 packet) on a link; it leaves at the next
   * flush() (or the end of the next step). Never dropped silently: a packet larger than a slot counts
   * drop_control_tx, one for a missing link drop_link_down. Returns whether it was queued.
   */
  sendFromControlPlane(linkId: number, packet: Uint8Array): boolean {
    if (packet.length > this.stride - HEADROOM) {
      this.node[C.drop_control_tx]!++;
      return false;
    }
    const off = this.allocGenerated();
    this._slab.set(packet, off);
    return this.toLink(linkId, off, packet.length, this.opts.now());
  }

  /** Send everything queued: one batch per port and one to the host TUN. All generated slots are free after. */
  flush(): void {
    const ports = this.portList;
    for (let s = 0; s < ports.length; s++) {
      const ps = ports[s]!;
      if (ps.queue.count !== 0) this.flushPort(ps);
    }
    const t = this.hostQueue;
    if (t.count > 0) {
      if (this.tunOffload) this.flushHostCoalesced(t);
      else {
        const written = this.io.writeBatch(this.opts.tunFd, this._slab, t.offsets, t.lengths, t.count);
        let bytes = 0;
        for (let j = 0; j < written; j++) bytes += t.lengths[j]!;
        this.node[C.host_tx_packets]! += written;
        this.node[C.host_tx_bytes]! += bytes;
        this.node[C.host_tx_errors]! += t.count - written;
      }
      t.count = 0;
    }
    // Nothing queued refers to a generated slot any more.
    this.genNext = 0;
  }

  /**
   * To a vnetHdr TUN: segments of one TCP flow coalesced into superpackets (the kernel's own GRO rules), every
   * packet behind its virtio header. Packets are counted as given (a superpacket counts its segments).
   */
  private flushHostCoalesced(t: TxQueue): void {
    const g = this.groStats;
    g.fill(0);
    const k = this.io.groCoalesce!(this._slab, t.offsets, t.lengths, t.count, this.groOut!, 0, this.groOffsets!, this.groLengths!, g);
    const written = this.io.writeBatch(this.opts.tunFd, this.groOut!, this.groOffsets!, this.groLengths!, k);
    let bytes = 0;
    for (let j = 0; j < t.count; j++) bytes += t.lengths[j]!;
    if (written === k) {
      this.node[C.host_tx_packets]! += t.count;
      this.node[C.host_tx_bytes]! += bytes;
    } else {
      // Which writes failed is not worth finding out per segment: the failed ones are counted as packets.
      this.node[C.host_tx_packets]! += written;
      this.node[C.host_tx_errors]! += k - written;
    }
    this.node[C.host_tx_superpackets]! += g[GRO_SUPER]!;
    this.node[C.host_tx_coalesced]! += g[GRO_MERGED]!;
  }

  // --- per packet -------------------------------------------------------------------------------

  private fromUnderlay(ps: PortState, off: number, len: number, i: number, now: number): void {
    this.node[C.underlay_rx_packets]!++;
    this.node[C.underlay_rx_bytes]! += len;
    const link = this.findLink(ps, i * ADDR_RECORD_LEN);
    if (link === undefined) {
      this.node[this.pendingPeers.size > 0 && this.pendingPeers.get(ps.id, ps.addrs, i * ADDR_RECORD_LEN) >= 0 ? C.drop_unauthenticated : C.drop_unknown_peer]!++;
      return;
    }
    const lc = link.id * LINK_COUNTER_STRIDE;
    this.linkCounters[lc + L.rx_packets]!++;
    this.linkCounters[lc + L.rx_bytes]! += len;
    const inner = link.decap(this._slab, off, len, now);
    if (inner < 0) {
      if (inner === DECAP_REPLY) {
        // Answering costs a send: a peer soliciting at line rate would spend the thread on replies.
        if (this.replyBudget.take(link.id, now)) this.sendLinkReply(link, now);
        else this.dropRx(lc, C.drop_nd_policed);
      }
      else if (inner === DECAP_BAD) this.dropRx(lc, C.drop_bad_encap);
      else if (inner === DECAP_WRONG_MAC) this.dropRx(lc, C.drop_wrong_mac);
      else if (inner === DECAP_NOT_IPV6) this.dropRx(lc, C.drop_not_ipv6);
      return;
    }
    if (link.roam && (learnPort(link.remote, ps.addrs, i * ADDR_RECORD_LEN) || this.roamHeard[link.id] !== 1)) {
      this.roamHeard[link.id] = 1;
      this.opts.roamed?.(link.id, link.remote);
    }
    const innerLen = link.innerLen;
    const v = this.fwd.fromLink(link.id, this._slab, inner, innerLen, now);
    if (v >= 0) this.toLink(v, inner, innerLen, now);
    else if (v === V_HOST) this.toHost(inner, innerLen);
    else if (v === V_PUNT) this.punts.offer(link.id, this._slab, inner, innerLen, now);
    else if (v === V_ICMP) this.sendIcmp(now);
  }

  private dropRx(lc: number, reason: number): void {
    this.linkCounters[lc + L.rx_drops]!++;
    this.node[reason]!++;
  }

  /**
   * The link of the sender of packet `a / ADDR_RECORD_LEN` of the batch: the port's last link if the
   * address matches (a bulk flow is one peer), else the peer table. On a TUN port the record is zeros,
   * which is the kernel link's remote.
   */
  private findLink(ps: PortState, a: number): DataplaneLink | undefined {
    const addrs = ps.addrs;
    const last = ps.lastLink;
    if (last !== undefined && sameRecord(last.remote, addrs, a)) return last;
    const id = this.peers.get(ps.id, addrs, a);
    if (id < 0) return undefined;
    const link = this.links[id];
    ps.lastLink = link;
    return link;
  }

  /** Encapsulate and queue on the link's port; returns whether it was queued (drops are counted). */
  private toLink(linkId: number, off: number, len: number, now: number): boolean {
    const link = this.links[linkId];
    if (link === undefined) {
      this.node[C.drop_link_down]!++;
      return false;
    }
    const lc = link.id * LINK_COUNTER_STRIDE;
    const ps = this.portsById[link.port];
    if (ps === undefined) {
      this.node[C.drop_link_down]!++;
      this.linkCounters[lc + L.tx_drops]!++;
      return false;
    }
    const start = link.encap(this._slab, off, len, now);
    if (start < 0) {
      this.node[C.drop_nd_unresolved]!++;
      this.linkCounters[lc + L.tx_drops]!++;
      if (link.replyLen > 0) this.sendLinkReply(link, now);
      return false;
    }
    const q = ps.queue;
    if (q.count >= q.offsets.length) this.flush();
    const j = q.count++;
    const frameLen = len + (off - start);
    q.offsets[j] = start;
    q.lengths[j] = frameLen;
    q.addrs.set(link.remote, j * ADDR_RECORD_LEN);
    this.linkCounters[lc + L.tx_packets]!++;
    this.linkCounters[lc + L.tx_bytes]! += frameLen;
    // The link may want a control packet of its own sent too (a VXLAN link solicits an unconfirmed peer).
    if (link.replyLen > 0) this.sendLinkReply(link, now);
    return true;
  }

  private toHost(off: number, len: number): void {
    const q = this.hostQueue;
    if (q.count >= q.offsets.length) this.flush();
    const j = q.count++;
    q.offsets[j] = off;
    q.lengths[j] = len;
  }

  /** A slot for a packet the node makes. When all are taken, flush: then none is in use any more. */
  private allocGenerated(): number {
    if (this.genNext >= this.batch) this.flush();
    return this.genStart + this.genNext++ * this.stride + HEADROOM;
  }

  private sendIcmp(now: number): void {
    const off = this.allocGenerated();
    const len = this.fwd.icmpLen;
    this.fwd.icmpBuf.copy(this._slab, off, ICMP_OFFSET, ICMP_OFFSET + len);
    const target = this.fwd.icmpTarget;
    if (target === V_HOST) this.toHost(off, len);
    else if (target >= 0) this.toLink(target, off, len, now);
  }

  private sendLinkReply(link: DataplaneLink, now: number): void {
    const len = link.replyLen;
    link.replyLen = 0;
    const off = this.allocGenerated();
    link.reply.copy(this._slab, off, link.replyOff, link.replyOff + len);
    this.toLink(link.id, off, len, now);
  }

  private flushPort(ps: PortState): void {
    const q = ps.queue;
    if (q.count === 0) return;
    const sent = ps.isTun
      ? this.io.writeBatch(ps.fd, this._slab, q.offsets, q.lengths, q.count)
      : ps.gso
        ? this.io.sendBatchGso!(ps.fd, this._slab, q.offsets, q.lengths, q.addrs, q.count, this.offloadStats, ps.gsoFlowOffset)
        : this.io.sendBatch(ps.fd, this._slab, q.offsets, q.lengths, q.addrs, q.count);
    let bytes = 0;
    for (let j = 0; j < sent; j++) bytes += q.lengths[j]!;
    this.node[C.underlay_tx_packets]! += sent;
    this.node[C.underlay_tx_bytes]! += bytes;
    this.node[C.underlay_tx_errors]! += q.count - sent;
    q.count = 0;
  }

  // --- fd health and the poll set ---------------------------------------------------------------

  private readFailed(h: FdHealth, counter: number, now: number): void {
    this.node[counter]!++;
    this.node[C.rx_backoffs]!++;
    h.streak++;
    const pause = Math.min(this.backoffMax, this.backoffMin * 2 ** Math.min(h.streak - 1, 20));
    h.until = now + pause;
    this.pollDirty = true;
  }

  /** [host TUN, ports in read order, wake fd]; backed-off fds as -1, which poll(2) skips. */
  private buildPollSet(now: number): void {
    const n = 1 + this.portList.length + (this.wakeFd >= 0 ? 1 : 0);
    if (this.pollFds.length !== n) {
      this.pollFds = new Int32Array(n);
      this.pollReady = new Uint8Array(n);
    }
    let next = 0;
    const slot = (i: number, fd: number, h: FdHealth): void => {
      if (h.until > now) {
        this.pollFds[i] = -1;
        if (next === 0 || h.until < next) next = h.until;
      } else {
        this.pollFds[i] = fd;
      }
    };
    slot(0, this.opts.tunFd, this.hostHealth);
    this.portList.forEach((ps, k) => {
      if (ps.sendOnly) this.pollFds[1 + k] = -1;
      else slot(1 + k, ps.fd, ps.health);
    });
    if (this.wakeFd >= 0) this.pollFds[n - 1] = this.wakeFd;
    this.nextRetry = next;
    this.pollDirty = false;
  }

  // --- slab regions -----------------------------------------------------------------------------

  private allocRegion(): number {
    const free = this.freeRegions.pop();
    if (free !== undefined) return free;
    // Grow: a bigger slab with the old one copied in, so every offset (queues, views) stays valid.
    const count = this.regionCount * 2;
    const slab = Buffer.alloc(count * this.regionBytes);
    slab.set(this._slab);
    this._slab = slab;
    this.hostRegion = slab.subarray(0, this.regionBytes);
    for (const ps of this.portList) ps.region = slab.subarray(ps.base, ps.base + this.regionBytes);
    for (let r = count - 1; r > this.regionCount; r--) this.freeRegions.push(r);
    const r = this.regionCount;
    this.regionCount = count;
    return r;
  }

  /** Drop a link's receive-side state: its peer-table entry and any port's last-link cache. */
  private detach(link: DataplaneLink): void {
    this.peers.delete(link.port, link.remote, link.id);
    for (const ps of this.portList) if (ps.lastLink === link) ps.lastLink = undefined;
  }
}

function checkId(what: string, id: number, max: number): void {
  if (!Number.isInteger(id) || id < 0 || id > max) throw new RangeError(`${what} must be an integer 0..${max}, got ${String(id)}`);
}

/** A roaming link's remote takes the UDP port (record bytes 16-17) its last good packet came from. */
/** Take the sender's port into the link's record; true when it changed. */
function learnPort(remote: Uint8Array, addrs: Uint8Array, a: number): boolean {
  if (remote[16] === addrs[a + 16] && remote[17] === addrs[a + 17]) return false;
  remote[16] = addrs[a + 16]!;
  remote[17] = addrs[a + 17]!;
  return true;
}

function sameRecord(remote: Uint8Array, addrs: Uint8Array, a: number): boolean {
  // The address only: VXLAN (RFC 7348 §5) and GRE-in-UDP (RFC 8086 §3.2) senders vary the source port
  // per flow for ECMP in the underlay, so the port says nothing about the peer.
  for (let i = 15; i >= 0; i--) if (remote[i] !== addrs[a + i]) return false;
  return true;
}
