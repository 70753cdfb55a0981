/**
 * VXLAN (RFC 7348) encapsulation of one IPv6 packet: the UDP payload on port 4789 is the 8-byte VXLAN
 * header, a 14-byte inner Ethernet II header with EtherType 0x86DD, then the IPv6 packet.
 *
 * RFC 7348 §5, followed by the inner Ethernet header (offsets from the start of the VXLAN header):
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |R|R|R|R|I|R|R|R|                  Reserved                     |   0  FLAGS
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |          VXLAN Network Identifier (VNI)       |   Reserved    |   4  VNI
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                 Inner Destination MAC Address                 |   8  INNER_DST
 *   +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                               |                               |  14  INNER_SRC
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 *   |                   Inner Source MAC Address                    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     EtherType = 0x86DD        |  IPv6 packet ...                 20  INNER_TYPE, 22 PAYLOAD
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Receive rules (RFC 7348 §5): the I flag must be 1; every other flag bit and the reserved fields are
 * ignored on receipt (they are set to 0 on transmit).
 *
 * 802.1Q: an inner frame with a VLAN tag (EtherType 0x8100, or 0x88A8 for QinQ) is REJECTED with
 * VxlanError.VlanTagged, not skipped. A MoltNet VXLAN link is one untagged point-to-point segment; a tagged
 * frame belongs to another VLAN on the sender's side, and taking it would merge segments. It also keeps the
 * payload at a fixed offset (off + 22), which the forwarder relies on. A Linux `vxlan` peer configured as in
 * DESIGN.md sends untagged frames.
 *
 * Hot path: writeVxlanEncap and parseVxlan allocate nothing and never throw for bad packets; parseVxlan
 * returns a negative VxlanError code instead. Checking the VNI against the link's and the inner destination
 * MAC against ours is the link's job (vxlanVni, vxlanInnerDstOffset, ethernet.ts macEquals).
 */
import { ETH_HEADER_LEN, ETHERTYPE_IPV6, ETHERTYPE_QINQ, ETHERTYPE_VLAN, MAC_LEN } from './ethernet.js';
import { PORTS } from '../../common/ports.js';

export { ETH_HEADER_LEN, ETHERTYPE_IPV6 } from './ethernet.js';

export const VXLAN_HEADER_LEN = 8;
/** VXLAN header + inner Ethernet header: the headroom a VXLAN link needs in front of an IPv6 packet. */
export const VXLAN_ENCAP_LEN = VXLAN_HEADER_LEN + ETH_HEADER_LEN; // 22
/** "mol" = 7171948, the default VNI (DESIGN.md "Link addressing"). */
export const DEFAULT_VNI = 0x6d6f6c;
/** IANA-assigned VXLAN UDP port (RFC 7348 §5). */
export const VXLAN_PORT = PORTS.vxlan;
/** The I flag: "VNI is valid". */
export const VXLAN_FLAG_I = 0x08;
export const VNI_MAX = 0xffffff;

/** Field offsets from the start of the VXLAN header (see the diagram above). */
export const VxlanField = {
  FLAGS: 0,
  VNI: 4,
  INNER_DST: 8,
  INNER_SRC: 14,
  INNER_TYPE: 20,
  PAYLOAD: 22,
} as const;

/** Negative results of parseVxlan. */
export const VxlanError = {
  /** Fewer than 22 bytes: no room for the VXLAN and inner Ethernet headers. */
  Truncated: -1,
  /** The I flag is clear: the VNI is not valid (RFC 7348 §5). */
  NoIFlag: -2,
  /** The inner frame carries an 802.1Q/802.1ad tag (see the module comment). */
  VlanTagged: -3,
  /** The inner EtherType is not IPv6. */
  NotIpv6: -4,
} as const;
export type VxlanErrorCode = (typeof VxlanError)[keyof typeof VxlanError];

/**
 * Write the 22-byte VXLAN + inner Ethernet header at `off`; the IPv6 packet must already sit at off + 22
 * (read with headroom) and is not touched. The caller guarantees off + 22 <= buf.length. Only the low 24
 * bits of `vni` are used. MACs are read from their first 6 bytes.
 */
export function writeVxlanEncap(
  buf: Uint8Array,
  off: number,
  vni: number,
  dstMac: Uint8Array,
  srcMac: Uint8Array,
): void {
  buf[off] = VXLAN_FLAG_I;
  buf[off + 1] = 0;
  buf[off + 2] = 0;
  buf[off + 3] = 0;
  buf[off + 4] = (vni >>> 16) & 0xff;
  buf[off + 5] = (vni >>> 8) & 0xff;
  buf[off + 6] = vni & 0xff;
  buf[off + 7] = 0;
  const d = off + VxlanField.INNER_DST;
  const s = off + VxlanField.INNER_SRC;
  for (let i = 0; i < MAC_LEN; i++) {
    buf[d + i] = dstMac[i]!;
    buf[s + i] = srcMac[i]!;
  }
  buf[off + VxlanField.INNER_TYPE] = ETHERTYPE_IPV6 >>> 8;
  buf[off + VxlanField.INNER_TYPE + 1] = ETHERTYPE_IPV6 & 0xff;
}

/**
 * Check a VXLAN frame of `len` bytes at `off` (the UDP payload). Returns the VNI (0..0xffffff) when the
 * frame is valid and carries an untagged IPv6 payload at off + 22, else a negative VxlanError code.
 */
export function parseVxlan(buf: Uint8Array, off: number, len: number): number {
  if (off < 0 || len < VXLAN_ENCAP_LEN || off + len > buf.length) return VxlanError.Truncated;
  if ((buf[off]! & VXLAN_FLAG_I) === 0) return VxlanError.NoIFlag;
  const type = vxlanInnerEthertype(buf, off);
  if (type !== ETHERTYPE_IPV6) {
    return type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ ? VxlanError.VlanTagged : VxlanError.NotIpv6;
  }
  return vxlanVni(buf, off);
}

/** The 24-bit VNI. Unchecked: call after parseVxlan (or on a header you wrote). */
export function vxlanVni(buf: Uint8Array, off: number): number {
  return (buf[off + 4]! << 16) | (buf[off + 5]! << 8) | buf[off + 6]!;
}

/** The inner EtherType (big-endian 16 bits at off + 20). Unchecked: needs off + 22 <= buf.length. */
export function vxlanInnerEthertype(buf: Uint8Array, off: number): number {
  return (buf[off + VxlanField.INNER_TYPE]! << 8) | buf[off + VxlanField.INNER_TYPE + 1]!;
}

/** Offset of the inner destination MAC. */
export function vxlanInnerDstOffset(off: number): number {
  return off + VxlanField.INNER_DST;
}

/** Offset of the inner source MAC. */
export function vxlanInnerSrcOffset(off: number): number {
  return off + VxlanField.INNER_SRC;
}

/** Offset of the IPv6 packet. */
export function vxlanPayloadOffset(off: number): number {
  return off + VxlanField.PAYLOAD;
}
