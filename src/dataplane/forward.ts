/**
 * The forwarding decision for one IPv6 packet: a pure function of the packet, the FIB, the link MTUs and
 * `now` (for ICMPv6 rate limiting). It does no I/O; the engine acts on the verdict.
 *
 * Packets arrive from two sides:
 *   1. fromHost: read from molt0. This node is part of the host's own IP stack here, so the hop limit is
 *      not decremented (a `ping -t 1` from this host must expire at the next router, as on a real host).
 *   2. fromLink: decapsulated from a tunnel. Ours -> host; link-local/multicast for us -> control plane;
 *      otherwise transit: check hop limit, look up, check MTU, decrement, send on.
 *
 * ICMPv6 errors (Time Exceeded, Destination Unreachable, Packet Too Big) are written into `icmpBuf` at
 * ICMP_OFFSET (headroom in front for the encapsulation) and returned as V_ICMP with `icmpTarget` saying
 * where to send them (a link id, or V_HOST), under the RFC 4443 §2.4(e) rules and a token bucket (§2.4(f)).
 */
import { PORTS } from '../common/ports.js';
import { C, L, LINK_COUNTER_STRIDE, type CounterSet } from './counters.js';
import { Fib, NO_ROUTE } from './fib/fib.js';
export { flowHash } from './fib/flow-hash.js';
import { TokenBucket } from './ratelimit.js';
import { IPV6_HEADER_LEN, IP6_DST, IP6_HOP_LIMIT, IP6_NEXT_HEADER, IP6_SRC, IPPROTO_UDP, addrEquals, checkIpv6 } from './wire/ipv6.js';
import { upperLayer, ulOffset, ulProto } from './wire/exthdr.js';
import { udpDstPort } from './wire/udp.js';
import {
  ICMP6_DST_UNREACH,
  ICMP6_PACKET_TOO_BIG,
  ICMP6_TIME_EXCEEDED,
  emitIcmpv6Error,
  icmpv6ErrorAllowed,
} from './wire/icmpv6.js';

export const V_HOST = -1;
export const V_PUNT = -2;
export const V_DROP = -3;
export const V_ICMP = -4;

/** Room left in front of generated packets for the outer headers. */
export const ICMP_OFFSET = 128;
const ICMP_BUF_LEN = ICMP_OFFSET + 1280;

const BFD_MULTIHOP_PORT = PORTS.bfdMultihop;

export interface ForwarderOptions {
  /** This node's mesh address (16 bytes). */
  meshAddress: Uint8Array;
  /** This node's link-local address on every mesh link (16 bytes). */
  linkLocal: Uint8Array;
  fib: Fib;
  counters: CounterSet;
  /** ICMPv6 errors per second and burst (RFC 4443 §2.4(f)). */
  icmpRate?: number;
  icmpBurst?: number;
}

export class Forwarder {
  readonly fib: Fib;
  readonly icmpBuf = Buffer.alloc(ICMP_BUF_LEN);
  icmpLen = 0;
  icmpTarget = V_DROP;

  private readonly me: Uint8Array;
  private readonly ll: Uint8Array;
  private readonly node: Float64Array;
  private readonly link: Float64Array;
  /** Largest inner packet per link id; 0 = no such link. */
  private readonly linkMtu = new Int32Array(65536);
  private readonly icmpLimiter: TokenBucket;

  constructor(opts: ForwarderOptions) {
    this.me = Buffer.from(opts.meshAddress);
    this.ll = Buffer.from(opts.linkLocal);
    this.fib = opts.fib;
    this.node = opts.counters.node;
    this.link = opts.counters.link;
    this.icmpLimiter = new TokenBucket(opts.icmpRate ?? 100, opts.icmpBurst ?? 50);
  }

  setLinkMtu(linkId: number, mtu: number): void {
    this.linkMtu[linkId] = mtu;
  }

  /** A packet read from the host's TUN. */
  fromHost(buf: Buffer, off: number, len: number, now: number): number {
    if (checkIpv6(buf, off, len) !== 0) return this.drop(C.drop_malformed);
    const d = off + IP6_DST;
    if (buf[d] === 0xff) return this.drop(C.drop_host_multicast);
    if (buf[d] === 0xfe && (buf[d + 1]! & 0xc0) === 0x80) return this.drop(C.drop_link_local);
    if (addrEquals(buf, d, this.me, 0)) return V_HOST;
    const link = this.fib.lookupPacket(buf, off);
    if (link === NO_ROUTE) {
      return this.error(buf, off, len, now, ICMP6_DST_UNREACH, 0, 0, V_HOST, C.drop_no_route);
    }
    const mtu = this.linkMtu[link]!;
    if (mtu === 0) return this.drop(C.drop_link_down);
    if (len > mtu) return this.error(buf, off, len, now, ICMP6_PACKET_TOO_BIG, 0, mtu, V_HOST, C.drop_too_big);
    return link;
  }

  /** An inner IPv6 packet decapsulated from link `inLink`. */
  fromLink(inLink: number, buf: Buffer, off: number, len: number, now: number): number {
    if (checkIpv6(buf, off, len) !== 0) {
      this.link[inLink * LINK_COUNTER_STRIDE + L.rx_drops]!++;
      return this.drop(C.drop_malformed);
    }
    const d = off + IP6_DST;
    const b0 = buf[d]!;
    if (b0 === 0xff) {
      // Link-scope multicast (OSPF ff02::5/6, all-nodes) belongs to the control plane; wider scopes are
      // not routed by this version.
      if ((buf[d + 1]! & 0x0f) === 0x02) return this.punt();
      return this.drop(C.drop_link_local);
    }
    if (b0 === 0xfe && (buf[d + 1]! & 0xc0) === 0x80) {
      if (addrEquals(buf, d, this.ll, 0)) return this.punt();
      return this.drop(C.drop_link_local);
    }
    if (addrEquals(buf, d, this.me, 0)) {
      // BFD multihop (RFC 5883) to our address is the control plane's; everything else is the host's.
      if (isUdpToPort(buf, off, len, BFD_MULTIHOP_PORT)) return this.punt();
      return V_HOST;
    }
    // Transit.
    if (buf[off + IP6_HOP_LIMIT]! <= 1) {
      return this.error(buf, off, len, now, ICMP6_TIME_EXCEEDED, 0, 0, inLink, C.drop_hop_limit);
    }
    const link = this.fib.lookupPacket(buf, off);
    if (link === NO_ROUTE) {
      return this.error(buf, off, len, now, ICMP6_DST_UNREACH, 0, 0, inLink, C.drop_no_route);
    }
    const mtu = this.linkMtu[link]!;
    if (mtu === 0) return this.drop(C.drop_link_down);
    if (len > mtu) return this.error(buf, off, len, now, ICMP6_PACKET_TOO_BIG, 0, mtu, inLink, C.drop_too_big);
    buf[off + IP6_HOP_LIMIT]!--;
    this.node[C.forwarded_packets]!++;
    return link;
  }

  private drop(reason: number): number {
    this.node[reason]!++;
    return V_DROP;
  }

  private punt(): number {
    this.node[C.punted_packets]!++;
    return V_PUNT;
  }

  /**
   * Count the drop, and build an ICMPv6 error for the packet's source if the rules allow it. Errors for
   * packets from the mesh go back toward their source by the FIB, falling back to the link they came in on.
   */
  private error(
    buf: Buffer,
    off: number,
    len: number,
    now: number,
    type: number,
    code: number,
    param: number,
    replyVia: number,
    reason: number,
  ): number {
    this.node[reason]!++;
    const s = off + IP6_SRC;
    if (!icmpv6ErrorAllowed(buf, off, len, type, code)) return V_DROP;
    if (!this.icmpLimiter.take(now)) {
      this.node[C.icmp_errors_ratelimited]!++;
      return V_DROP;
    }
    let target = replyVia;
    if (replyVia !== V_HOST) {
      const back = this.fib.lookup(buf, s, 0);
      if (back !== NO_ROUTE) target = back;
    }
    // The error comes from our mesh address, so `ping -t 1` and traceroute show this node.
    this.icmpLen = emitIcmpv6Error(this.icmpBuf, ICMP_OFFSET, type, code, param, this.me, 0, buf, s, buf, off, len);
    this.icmpTarget = target;
    this.node[C.icmp_errors_sent]!++;
    return V_ICMP;
  }
}

function isUdpToPort(buf: Uint8Array, off: number, len: number, port: number): boolean {
  // Most packets for the host are TCP or ICMPv6 straight after the IPv6 header: no chain to walk.
  const nh = buf[off + IP6_NEXT_HEADER]!;
  if (nh === IPPROTO_UDP) return len >= IPV6_HEADER_LEN + 8 && udpDstPort(buf, off + IPV6_HEADER_LEN) === port;
  // Only an extension header (hop-by-hop, routing, fragment, destination options, AH) can hide UDP.
  if (nh !== 0 && nh !== 43 && nh !== 44 && nh !== 60 && nh !== 51) return false;
  const ul = upperLayer(buf, off, len);
  if (ul < 0 || ulProto(ul) !== IPPROTO_UDP) return false;
  const l4 = ulOffset(ul);
  return l4 + 8 <= off + len && udpDstPort(buf, l4) === port;
}
