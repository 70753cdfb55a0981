/**
 * The control plane's packet door. The forwarding plane hands up, through one interface, every packet
 * for the control plane (link-scope multicast, our link-local, BFD multihop to our address); this module
 * parses the IPv6 header once and dispatches by protocol:
 *   89 (OSPF)            -> the OSPF instance
 *   UDP 3784 / 4784      -> BFD (single hop / multihop)
 *   ICMPv6 echo request  -> answered here (ping to a node's link-local works on every link)
 * Anything else is counted and dropped. Outgoing control packets are built here as whole IPv6 packets.
 */
import { IPV6_HEADER_LEN, IP6_DST, IP6_HOP_LIMIT, IP6_SRC, IPPROTO_ICMPV6, IPPROTO_OSPF, IPPROTO_UDP, checkIpv6, emitIpv6 } from '../dataplane/wire/ipv6.js';
import { upperLayer, ulOffset, ulProto } from '../dataplane/wire/exthdr.js';
import { ICMP6_ECHO_REQUEST, emitEchoReply, verifyIcmpv6Checksum } from '../dataplane/wire/icmpv6.js';
import { parseUdp, emitUdp, UDP_HEADER_LEN } from '../dataplane/wire/udp.js';
import { PORTS } from '../common/ports.js';

const BFD_SINGLE_HOP_PORT = PORTS.bfdSingleHop;
const BFD_MULTIHOP_PORT = PORTS.bfdMultihop;

export interface ReceivedPacket {
  linkId: number;
  src: Buffer;
  dst: Buffer;
  hopLimit: number;
  /** The upper-layer payload (OSPF packet, or the UDP payload for BFD). */
  payload: Buffer;
  /** UDP only. */
  srcPort?: number;
  dstPort?: number;
}

export interface ControlHandlers {
  ospf?(p: ReceivedPacket): void;
  bfd?(p: ReceivedPacket): void;
}

/** What the door needs of the forwarding plane (ForwardingPlaneHandle has it all). */
export interface DoorPlane {
  send(linkId: number, packet: Uint8Array): void;
  /** Call `done` once the plane has handed up every packet it had received by the call. */
  sync(done: () => void): void;
  /** Have the forwarding thread send `packet` on the link while this thread misses its interval; null ends it. */
  bfdStandIn(linkId: number, packet: Uint8Array | null, intervalMs: number): void;
}

export class ControlPacketIo {
  readonly counters: Record<string, number> = {
    rx_ospf: 0,
    rx_bfd: 0,
    rx_echo: 0,
    drop_malformed: 0,
    drop_unhandled: 0,
    tx_packets: 0,
  };
  handlers: ControlHandlers = {};

  constructor(
    private readonly plane: DoorPlane,
    private readonly linkLocal: Buffer,
  ) {}

  /**
   * Call `done` once every packet the forwarding plane had received by now has come through receive().
   * A timer that fires late (this thread was held) runs before the packets queued meanwhile: BFD asks
   * this before it declares a session Down, so a packet that did arrive in time is not missed.
   */
  caughtUp(done: () => void): void {
    this.plane.sync(done);
  }

  /**
   * The BFD datagram the forwarding thread sends on the link, as sendUdp would, while this thread misses
   * its interval (src/dataplane/bfd-stand-in.ts); data null: none any more.
   */
  standInUdp(linkId: number, dst: Buffer, srcPort: number, dstPort: number, hopLimit: number, data: Buffer | null, intervalMs: number): void {
    this.plane.bfdStandIn(linkId, data === null ? null : this.udpPacket(dst, srcPort, dstPort, hopLimit, data, this.linkLocal), intervalMs);
  }

  /** A packet the forwarding plane punted. */
  receive(linkId: number, pkt: Buffer): void {
    if (checkIpv6(pkt, 0, pkt.length) !== 0) {
      this.counters['drop_malformed']!++;
      return;
    }
    const ul = upperLayer(pkt, 0, pkt.length);
    if (ul < 0) {
      this.counters['drop_malformed']!++;
      return;
    }
    const proto = ulProto(ul);
    const l4 = ulOffset(ul);
    const end = IPV6_HEADER_LEN + pkt.readUInt16BE(4);
    const src = pkt.subarray(IP6_SRC, IP6_SRC + 16);
    const dst = pkt.subarray(IP6_DST, IP6_DST + 16);
    const hopLimit = pkt[IP6_HOP_LIMIT]!;
    if (proto === IPPROTO_OSPF && this.handlers.ospf) {
      this.counters['rx_ospf']!++;
      this.handlers.ospf({ linkId, src, dst, hopLimit, payload: pkt.subarray(l4, end) });
      return;
    }
    if (proto === IPPROTO_UDP) {
      const u = parseUdp(pkt, 0, l4, end - l4);
      if (!u.ok) {
        this.counters['drop_malformed']!++;
        return;
      }
      const { dstPort, srcPort, payloadLength } = u.repr;
      if ((dstPort === BFD_SINGLE_HOP_PORT || dstPort === BFD_MULTIHOP_PORT) && this.handlers.bfd) {
        this.counters['rx_bfd']!++;
        const data = pkt.subarray(l4 + UDP_HEADER_LEN, l4 + UDP_HEADER_LEN + payloadLength);
        this.handlers.bfd({ linkId, src, dst, hopLimit, payload: data, srcPort, dstPort });
        return;
      }
    }
    if (proto === IPPROTO_ICMPV6 && pkt[l4] === ICMP6_ECHO_REQUEST && dst.equals(this.linkLocal)) {
      if (!verifyIcmpv6Checksum(pkt, 0, l4, end - l4)) {
        this.counters['drop_malformed']!++;
        return;
      }
      const out = Buffer.alloc(end);
      const len = emitEchoReply(pkt, 0, l4, end - l4, out, 0, 64);
      if (len > 0) {
        this.counters['rx_echo']!++;
        this.transmit(linkId, out.subarray(0, len));
      }
      return;
    }
    this.counters['drop_unhandled']!++;
  }

  /** Send an upper-layer payload as an IPv6 packet from our link-local. */
  sendIpv6(linkId: number, dst: Buffer, nextHeader: number, hopLimit: number, payload: Buffer, src: Buffer = this.linkLocal): void {
    const pkt = Buffer.alloc(IPV6_HEADER_LEN + payload.length);
    emitIpv6(
      { src, dst, nextHeader, hopLimit, payloadLength: payload.length, trafficClass: 0xc0, flowLabel: 0 },
      pkt,
      0,
    );
    payload.copy(pkt, IPV6_HEADER_LEN);
    this.transmit(linkId, pkt);
  }

  /** Send a UDP datagram (BFD) from our link-local (or `src`). */
  sendUdp(linkId: number, dst: Buffer, srcPort: number, dstPort: number, hopLimit: number, data: Buffer, src: Buffer = this.linkLocal): void {
    this.transmit(linkId, this.udpPacket(dst, srcPort, dstPort, hopLimit, data, src));
  }

  private udpPacket(dst: Buffer, srcPort: number, dstPort: number, hopLimit: number, data: Buffer, src: Buffer): Buffer {
    const pkt = Buffer.alloc(IPV6_HEADER_LEN + UDP_HEADER_LEN + data.length);
    emitIpv6(
      { src, dst, nextHeader: IPPROTO_UDP, hopLimit, payloadLength: UDP_HEADER_LEN + data.length, trafficClass: 0xc0, flowLabel: 0 },
      pkt,
      0,
    );
    data.copy(pkt, IPV6_HEADER_LEN + UDP_HEADER_LEN);
    emitUdp({ srcPort, dstPort, payloadLength: data.length }, pkt, IPV6_HEADER_LEN, src, 0, dst, 0);
    return pkt;
  }

  private transmit(linkId: number, pkt: Buffer): void {
    this.counters['tx_packets']!++;
    this.plane.send(linkId, pkt);
  }
}
