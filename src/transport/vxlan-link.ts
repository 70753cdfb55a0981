/**
 * A VXLAN link (RFC 7348, UDP 4789): VXLAN header, an Ethernet header (EtherType 0x86DD), the IPv6
 * packet. The link behaves like a two-host Ethernet segment, so a Linux `vxlan` device with the same VNI
 * is a working peer:
 *   - our MAC is 02: + the last 5 bytes of our mesh address;
 *   - frames must be for our MAC or a multicast MAC (33:33:..., RFC 2464 §7);
 *   - the peer's MAC is learned from every frame it sends (the underlay address already identifies it),
 *     starting from the MoltNet rule's guess (02: + its mesh address) and confirmed by Neighbor Discovery:
 *     until a frame from the peer confirms it, we solicit the peer's mesh address once a second;
 *   - we answer Neighbor Solicitations for our link-local and mesh addresses (RFC 4861 §7.2.4).
 * ND is handled here, inside the link, as an Ethernet NIC driver's neighbor cache would be: it is the
 * link's own address resolution, not routing.
 */
import {
  DECAP_BAD,
  DECAP_CONSUMED,
  DECAP_NOT_IPV6,
  DECAP_REPLY,
  DECAP_WRONG_MAC,
  type DataplaneLink,
} from '../dataplane/link.js';
import { IP6_DST, IP6_NEXT_HEADER, IP6_SRC, IPV6_HEADER_LEN, checkIpv6 } from '../dataplane/wire/ipv6.js';
import { ND_NEIGHBOR_ADVERT, ND_NEIGHBOR_SOLICIT } from '../dataplane/wire/icmpv6.js';
import {
  DEFAULT_VNI,
  ETHERTYPE_IPV6,
  VXLAN_ENCAP_LEN,
  VXLAN_HEADER_LEN,
  parseVxlan,
  writeVxlanEncap,
} from './wire/vxlan.js';
import { macEquals, meshMac } from './wire/ethernet.js';
import { createNdMessage, emitNeighborAdvertisement, emitNeighborSolicitation, parseNd } from './wire/nd.js';
import type { LinkSpec } from './link-spec.js';

const SOLICIT_INTERVAL_MS = 1000;
const REPLY_OFF = 64;

export class VxlanLink implements DataplaneLink {
  readonly id: number;
  readonly name: string;
  readonly port: number;
  readonly remote: Uint8Array;
  readonly roam: boolean;
  readonly mtu: number;
  readonly overhead = VXLAN_ENCAP_LEN;
  innerLen = 0;
  readonly reply = Buffer.alloc(REPLY_OFF + 256);
  readonly replyOff = REPLY_OFF;
  replyLen = 0;

  private readonly vni: number;
  private readonly localMac: Buffer;
  /** The peer's MAC: guessed from its mesh address until a frame from it says otherwise. */
  readonly remoteMac: Buffer;
  confirmed = false;
  private lastSolicit = Number.NEGATIVE_INFINITY;
  private readonly mcastMac = Buffer.from([0x33, 0x33, 0, 0, 0, 0]);
  private readonly localMesh: Buffer;
  private readonly localLl: Buffer;
  private readonly peerMesh: Buffer;
  private readonly nd = createNdMessage();

  constructor(spec: LinkSpec) {
    this.id = spec.id;
    this.name = spec.name;
    this.port = spec.port;
    this.remote = Buffer.from(spec.remote);
    this.roam = spec.roam === true;
    this.mtu = spec.mtu;
    this.vni = spec.vni ?? DEFAULT_VNI;
    this.localMesh = Buffer.from(spec.localMesh);
    this.localLl = Buffer.from(spec.localLinkLocal);
    this.peerMesh = Buffer.from(spec.peerMesh);
    this.localMac = meshMac(this.localMesh);
    this.remoteMac = meshMac(this.peerMesh);
  }

  encap(buf: Buffer, off: number, _len: number, now: number): number {
    const start = off - VXLAN_ENCAP_LEN;
    const d = off + IP6_DST;
    let dstMac: Uint8Array = this.remoteMac;
    if (buf[d] === 0xff) {
      const m = this.mcastMac;
      m[2] = buf[d + 12]!;
      m[3] = buf[d + 13]!;
      m[4] = buf[d + 14]!;
      m[5] = buf[d + 15]!;
      dstMac = m;
    } else if (!this.confirmed && now - this.lastSolicit >= SOLICIT_INTERVAL_MS) {
      this.lastSolicit = now;
      this.replyLen = emitNeighborSolicitation(this.reply, REPLY_OFF, {
        src: this.localLl,
        target: this.peerMesh,
        srcMac: this.localMac,
      });
    }
    writeVxlanEncap(buf, start, this.vni, dstMac, this.localMac);
    return start;
  }

  decap(buf: Buffer, off: number, len: number, _now: number): number {
    const vni = parseVxlan(buf, off, len);
    if (vni !== this.vni) return DECAP_BAD;
    const eth = off + VXLAN_HEADER_LEN;
    if (((buf[eth + 12]! << 8) | buf[eth + 13]!) !== ETHERTYPE_IPV6) return DECAP_NOT_IPV6;
    if ((buf[eth]! & 1) === 0 && !macEquals(buf, eth, this.localMac)) return DECAP_WRONG_MAC;
    const inner = off + VXLAN_ENCAP_LEN;
    const innerLen = len - VXLAN_ENCAP_LEN;
    this.innerLen = innerLen;
    // The frame came from the peer's underlay address, so its source MAC is the peer's MAC; learn it only
    // from frames that carry a valid IPv6 packet, so that junk cannot redirect the link.
    if ((!this.confirmed || !macEquals(buf, eth + 6, this.remoteMac)) && checkIpv6(buf, inner, innerLen) === 0 && (buf[eth + 6]! & 1) === 0) {
      buf.copy(this.remoteMac, 0, eth + 6, eth + 12);
      this.confirmed = true;
    }
    if (innerLen >= IPV6_HEADER_LEN + 24 && buf[inner + IP6_NEXT_HEADER] === 58) {
      const t = buf[inner + IPV6_HEADER_LEN]!;
      if (t === ND_NEIGHBOR_SOLICIT || t === ND_NEIGHBOR_ADVERT) return this.neighborDiscovery(buf, inner, innerLen, t);
    }
    return inner;
  }

  private neighborDiscovery(buf: Buffer, ip: number, len: number, type: number): number {
    const nd = this.nd;
    if (parseNd(buf, ip, len, nd) < 0) return DECAP_BAD;
    if (type === ND_NEIGHBOR_ADVERT) return DECAP_CONSUMED; // the frame's source MAC was learned above
    const target = buf.subarray(nd.targetOff, nd.targetOff + 16);
    const ours = target.equals(this.localLl) || target.equals(this.localMesh);
    if (!ours) return DECAP_CONSUMED;
    const fromUnspecified = nd.fromUnspecified;
    this.replyLen = emitNeighborAdvertisement(this.reply, REPLY_OFF, {
      src: target,
      dst: fromUnspecified ? ALL_NODES : buf.subarray(ip + IP6_SRC, ip + IP6_SRC + 16),
      target,
      targetMac: this.localMac,
      router: true,
      solicited: !fromUnspecified,
      override: true,
    });
    return DECAP_REPLY;
  }
}

const ALL_NODES = Buffer.from('ff020000000000000000000000000001', 'hex');
