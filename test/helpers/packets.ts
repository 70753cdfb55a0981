/** Build test packets: an IPv6 header plus an upper-layer payload, checksums right. */
import { upperLayerChecksum } from '../../src/dataplane/wire/checksum.js';
import { parseIpv6Address } from '../../src/dataplane/wire/ipv6.js';

export function addr(text: string): Buffer {
  return parseIpv6Address(text);
}

export interface PacketOptions {
  src: string;
  dst: string;
  hopLimit?: number;
  nextHeader?: number;
  payload?: Uint8Array;
  flowLabel?: number;
  /** Leave this much headroom in front (the packet starts at `headroom`). */
  headroom?: number;
}

/** An IPv6 packet; with nextHeader 58 and no payload, an ICMPv6 echo request with 56 bytes of data. */
export function ipv6Packet(o: PacketOptions): { buf: Buffer; off: number; len: number } {
  const nh = o.nextHeader ?? 58;
  let payload: Buffer | undefined = o.payload ? Buffer.from(o.payload) : undefined;
  if (!payload) {
    payload = Buffer.alloc(64);
    payload[0] = 128; // echo request
    payload.writeUInt16BE(0x1234, 4);
    payload.writeUInt16BE(1, 6);
    for (let i = 8; i < 64; i++) payload[i] = i;
  }
  const off = o.headroom ?? 0;
  const len = 40 + payload.length;
  const buf = Buffer.alloc(off + len);
  const fl = o.flowLabel ?? 0;
  buf.writeUInt32BE((6 << 28) | fl, off);
  buf.writeUInt16BE(payload.length, off + 4);
  buf[off + 6] = nh;
  buf[off + 7] = o.hopLimit ?? 64;
  addr(o.src).copy(buf, off + 8);
  addr(o.dst).copy(buf, off + 24);
  buf.set(payload, off + 40);
  if (nh === 58 && !o.payload) {
    buf.writeUInt16BE(0, off + 42);
    buf.writeUInt16BE(upperLayerChecksum(buf, off, off + 40, payload.length, 58), off + 42);
  }
  return { buf, off, len };
}
