/**
 * A kernel link: a TUN device handed to the host or moved into a network namespace, where a kernel
 * routing daemon (BIRD, FRR) sees an ordinary point-to-point interface. Whole IPv6 packets in both
 * directions, no encapsulation and no link-layer resolution (a TUN has none).
 */
import type { DataplaneLink } from '../dataplane/link.js';
import type { LinkSpec } from './link-spec.js';

export class KernelLink implements DataplaneLink {
  readonly id: number;
  readonly name: string;
  readonly port: number;
  readonly remote: Uint8Array;
  readonly roam: boolean;
  readonly mtu: number;
  readonly overhead = 0;
  innerLen = 0;
  readonly reply = Buffer.alloc(0);
  readonly replyOff = 0;
  replyLen = 0;

  constructor(spec: LinkSpec) {
    this.id = spec.id;
    this.name = spec.name;
    this.port = spec.port;
    this.remote = Buffer.from(spec.remote);
    this.roam = spec.roam === true;
    this.mtu = spec.mtu;
  }

  encap(_buf: Buffer, off: number, _len: number, _now: number): number {
    return off;
  }

  decap(_buf: Buffer, off: number, len: number, _now: number): number {
    this.innerLen = len;
    return off;
  }
}
