/**
 * What the forwarding engine needs of a tunnel link. Implementations live in src/transport (VXLAN,
 * GRE-in-UDP); the engine knows only this contract, so the data plane never imports a transport.
 *
 * Every link is point-to-point and carries whole IPv6 packets. Packets sit in the engine's slab with
 * headroom in front; `encap` writes the outer header into that headroom and `decap` finds the inner packet.
 */

/** decap results below zero. */
export const DECAP_BAD = -1; // header does not parse / wrong VNI or key
export const DECAP_WRONG_MAC = -2; // VXLAN frame for another MAC
export const DECAP_NOT_IPV6 = -3; // VXLAN frame with another EtherType
/** The link consumed the packet itself (an ND advertisement it learned from). */
export const DECAP_CONSUMED = -4;
/** The link consumed the packet and wrote a reply in `reply` (length `replyLen`) to send back on it. */
export const DECAP_REPLY = -5;

/** encap results below zero. */
export const ENCAP_UNRESOLVED = -1; // no link-layer address for the peer yet; a solicitation may be in `reply`

export interface DataplaneLink {
  readonly id: number;
  readonly name: string;
  /** Id of the engine port (underlay socket or kernel-link TUN, Engine.addPort) it sends and receives on. */
  readonly port: number;
  /**
   * The peer's underlay address as a 20-byte record (see io/native.ts): the engine finds the link of a
   * received datagram by (port, the record's 16 address bytes). Zeros on a TUN port, whose reads carry
   * no sender.
   */
  readonly remote: Uint8Array;
  /** Learn the remote's UDP port from the packets that arrive (a peer behind NAT). */
  readonly roam: boolean;
  /** Largest inner IPv6 packet. */
  readonly mtu: number;
  /** Bytes the encapsulation adds in front of the inner packet. */
  readonly overhead: number;
  /** After decap: the inner packet's length. */
  innerLen: number;
  /** A control packet the link wants sent (ND reply or solicitation), inner IPv6 packet at replyOff. */
  readonly reply: Buffer;
  readonly replyOff: number;
  replyLen: number;

  /** Write the outer header in front of buf[off..off+len); returns where the frame starts, or < 0. */
  encap(buf: Buffer, off: number, len: number, now: number): number;
  /** Validate the encapsulation of an underlay payload; returns the inner packet's offset, or < 0. */
  decap(buf: Buffer, off: number, len: number, now: number): number;
}
