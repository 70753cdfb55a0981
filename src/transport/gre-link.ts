/**
 * A GRE-in-UDP link (RFC 8086 on UDP 4754): the UDP payload is a GRE header (RFC 2784) with the RFC 2890
 * key, then the IPv6 packet. The key, derived from both agents' UUIDs, must match on receive: it is how
 * a node tells tunnels apart and drops stray GRE traffic.
 */
import { DECAP_BAD, type DataplaneLink } from '../dataplane/link.js';
import { GRE_KEY_HEADER_LEN, greKey, parseGre, writeGreHeader } from './wire/gre.js';
import type { LinkSpec } from './link-spec.js';

export class GreLink implements DataplaneLink {
  readonly id: number;
  readonly name: string;
  readonly port: number;
  readonly remote: Uint8Array;
  readonly roam: boolean;
  readonly mtu: number;
  readonly overhead = GRE_KEY_HEADER_LEN;
  innerLen = 0;
  readonly reply = Buffer.alloc(0);
  readonly replyOff = 0;
  replyLen = 0;
  private readonly key: number;

  constructor(spec: LinkSpec) {
    this.id = spec.id;
    this.name = spec.name;
    this.port = spec.port;
    this.remote = Buffer.from(spec.remote);
    this.roam = spec.roam === true;
    this.mtu = spec.mtu;
    this.key = spec.greKey ?? 0;
  }

  encap(buf: Buffer, off: number, _len: number, _now: number): number {
    const start = off - GRE_KEY_HEADER_LEN;
    writeGreHeader(buf, start, this.key);
    return start;
  }

  decap(buf: Buffer, off: number, len: number, _now: number): number {
    const hdr = parseGre(buf, off, len);
    if (hdr < 0) return DECAP_BAD;
    if (greKey(buf, off) !== this.key) return DECAP_BAD;
    this.innerLen = len - hdr;
    return off + hdr;
  }
}
