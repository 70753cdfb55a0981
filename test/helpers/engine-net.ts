/**
 * A MoltNet node's forwarding engine on the in-memory network (src/dataplane/io/memory.ts), and peers to
 * talk to it: the test plays the host (inject into molt0, read what was written back) and the peers
 * (VXLAN/GRE datagrams to and from the node's underlay sockets). A manual clock drives the engine.
 */
import { MemoryNetwork, recordFor } from '../../src/dataplane/io/memory.js';
import { C, L, LINK_COUNTER_STRIDE, createCounters, type CounterSet } from '../../src/dataplane/counters.js';
import { Engine, type EngineIo } from '../../src/dataplane/engine.js';
import { Fib, parsePrefix } from '../../src/dataplane/fib/fib.js';
import { Forwarder } from '../../src/dataplane/forward.js';
import type { PuntBatch, PuntOptions } from '../../src/dataplane/punt.js';
import { createLink } from '../../src/transport/links.js';
import type { LinkSpec } from '../../src/transport/link-spec.js';
import { formatRecord } from '../../src/transport/endpoint.js';
import { meshMac } from '../../src/transport/wire/ethernet.js';
import { DEFAULT_VNI, VXLAN_ENCAP_LEN, writeVxlanEncap } from '../../src/transport/wire/vxlan.js';
import { GRE_KEY_HEADER_LEN, writeGreHeader } from '../../src/transport/wire/gre.js';
import { addr, ipv6Packet, type PacketOptions } from './packets.js';

export const ME = 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268';
export const ME_LL = 'fe80::6e88:46c5:4af7:9268';
export const ME_MAC = meshMac(addr(ME));
/** The node's underlay address on the memory network. */
export const UNDERLAY = 'fd00:1::1';
export const PORT_VX = 0;
export const PORT_GRE = 1;

/** Peer i's mesh address, link-local and underlay address. */
export function peerMesh(i: number): string {
  return `fd00:6d6f:6c74:${(0x1000 + i).toString(16)}:0:0:0:1`;
}
export function peerLl(i: number): string {
  return `fe80::${(0x1000 + i).toString(16)}:0:0:1`;
}
export function peerUnderlay(i: number): string {
  return `fd00:2::${(i + 1).toString(16)}`;
}

export interface Punted {
  linkId: number;
  packet: Buffer;
}

export interface TestNodeOptions {
  batch?: number;
  punts?: PuntOptions;
  maxPacket?: number;
  queueLimit?: number;
  /** The io the engine gets instead of the memory network itself (to add offload calls to it). */
  io?: (net: MemoryNetwork) => EngineIo;
  /** The underlay ports send with sendBatchGso (io must have it). */
  gso?: boolean;
  gsoOff?: (portId: number) => void;
}

export class TestNode {
  readonly net: MemoryNetwork;
  readonly tun: number;
  readonly vxlan: number;
  readonly gre: number;
  readonly counters: CounterSet = createCounters();
  readonly fib = new Fib();
  readonly engine: Engine;
  /** The engine's clock, ms. */
  now = 1000;
  /** Each step's punt batch as it came (copied), in order. */
  readonly puntBatches: Punted[][] = [];

  /** What the engine reported of roaming links: the endpoint their peer sends from, as it changes. */
  readonly roams: { linkId: number; remote: string }[] = [];
  constructor(opts: TestNodeOptions = {}) {
    this.net = new MemoryNetwork({ queueLimit: opts.queueLimit });
    this.tun = this.net.tunOpen('molt0').fd;
    this.vxlan = this.net.udpOpen(UNDERLAY, 4789);
    this.gre = this.net.udpOpen(UNDERLAY, 4754);
    const forwarder = new Forwarder({ meshAddress: addr(ME), linkLocal: addr(ME_LL), fib: this.fib, counters: this.counters });
    this.engine = new Engine({
      io: opts.io ? opts.io(this.net) : this.net,
      ...(opts.gsoOff ? { gsoOff: opts.gsoOff } : {}),
      tunFd: this.tun,
      forwarder,
      counters: this.counters,
      now: () => this.now,
      batch: opts.batch ?? 64,
      maxPacket: opts.maxPacket,
      punts: opts.punts,
      punt: (b: PuntBatch) => {
        const out: Punted[] = [];
        for (let i = 0; i < b.count; i++) {
          out.push({ linkId: b.linkIds[i]!, packet: Buffer.from(b.slab.subarray(b.offsets[i]!, b.offsets[i]! + b.lengths[i]!)) });
        }
        this.puntBatches.push(out);
      },
      roamed: (linkId, remote) => this.roams.push({ linkId, remote: formatRecord(remote) }),
    });
    this.engine.addPort(PORT_VX, { fd: this.vxlan, kind: 'udp', gso: opts.gso === true });
    this.engine.addPort(PORT_GRE, { fd: this.gre, kind: 'udp', gso: opts.gso === true });
  }

  get punts(): Punted[] {
    return this.puntBatches.flat();
  }

  /** Add a link from a spec; returns the spec. */
  add(spec: LinkSpec): LinkSpec {
    this.engine.addLink(createLink(spec));
    return spec;
  }

  route(prefix: string, nexthops: number[]): void {
    const p = parsePrefix(prefix);
    this.fib.insert(p.prefix, p.length, nexthops);
  }

  /** Step until a step does no work (at most `max` steps); returns the number of steps that worked. */
  run(max = 100): number {
    let k = 0;
    while (k < max && this.engine.step() > 0) k++;
    return k;
  }

  /** A host packet into molt0. */
  fromHost(o: PacketOptions): Buffer {
    const p = ipv6Packet(o);
    const pkt = p.buf.subarray(p.off, p.off + p.len);
    this.net.inject(this.tun, pkt);
    return Buffer.from(pkt);
  }

  /** What the engine wrote to molt0. */
  toHost(): Buffer[] {
    return this.net.written(this.tun);
  }

  node(name: keyof typeof C): number {
    return this.counters.node[C[name]]!;
  }
}

export function linkCounter(node: TestNode, id: number, name: keyof typeof L): number {
  return node.counters.link[id * LINK_COUNTER_STRIDE + L[name]]!;
}

export function vxlanSpec(id: number, peer: number, port = PORT_VX, mtu = 1400): LinkSpec {
  return {
    id,
    name: `vx${id}`,
    kind: 'vxlan',
    port,
    remote: recordFor(`[${peerUnderlay(peer)}]:4789`),
    mtu,
    localMesh: addr(ME),
    localLinkLocal: addr(ME_LL),
    peerMesh: addr(peerMesh(peer)),
    vni: DEFAULT_VNI,
  };
}

export function greSpec(id: number, peer: number, key: number, port = PORT_GRE): LinkSpec {
  return {
    id,
    name: `gre${id}`,
    kind: 'gre',
    port,
    remote: recordFor(`[${peerUnderlay(peer)}]:4754`),
    mtu: 1400,
    localMesh: addr(ME),
    localLinkLocal: addr(ME_LL),
    peerMesh: addr(peerMesh(peer)),
    greKey: key,
  };
}

export function kernelSpec(id: number, port: number): LinkSpec {
  return {
    id,
    name: `k${id}`,
    kind: 'kernel',
    port,
    remote: new Uint8Array(20),
    mtu: 1400,
    localMesh: addr(ME),
    localLinkLocal: addr(ME_LL),
    peerMesh: new Uint8Array(16),
  };
}

/** A VXLAN frame (the UDP payload) carrying `inner`, from srcMac to dstMac. */
export function vxlanFrame(inner: Uint8Array, srcMac: Uint8Array, dstMac: Uint8Array = ME_MAC, vni = DEFAULT_VNI): Buffer {
  const f = Buffer.alloc(VXLAN_ENCAP_LEN + inner.length);
  writeVxlanEncap(f, 0, vni, dstMac, srcMac);
  f.set(inner, VXLAN_ENCAP_LEN);
  return f;
}

export function greFrame(inner: Uint8Array, key: number): Buffer {
  const f = Buffer.alloc(GRE_KEY_HEADER_LEN + inner.length);
  writeGreHeader(f, 0, key);
  f.set(inner, GRE_KEY_HEADER_LEN);
  return f;
}

/** An IPv6 packet as one Buffer. */
export function packet(o: PacketOptions): Buffer {
  const p = ipv6Packet(o);
  return Buffer.from(p.buf.subarray(p.off, p.off + p.len));
}

/** An IPv6/UDP packet to `dstPort` (checksum left zero: the engine does not check it). */
export function udpPacket(src: string, dst: string, dstPort: number, hopLimit = 255, payload = 24): Buffer {
  const u = Buffer.alloc(8 + payload);
  u.writeUInt16BE(49152, 0);
  u.writeUInt16BE(dstPort, 2);
  u.writeUInt16BE(u.length, 4);
  return packet({ src, dst, nextHeader: 17, hopLimit, payload: u });
}

/** A peer on the memory network: a socket at peerUnderlay(i):port. */
export class TestPeer {
  readonly fd: number;
  readonly mac: Buffer;
  constructor(
    readonly node: TestNode,
    readonly index: number,
    readonly port = 4789,
  ) {
    this.fd = node.net.udpOpen(peerUnderlay(index), port);
    this.mac = meshMac(addr(peerMesh(index)));
  }

  /** Send a VXLAN frame with `inner` to the node's VXLAN socket. */
  sendVxlan(inner: Uint8Array, srcMac: Uint8Array = this.mac): void {
    this.node.net.sendTo(this.fd, vxlanFrame(inner, srcMac), `[${UNDERLAY}]:4789`);
  }

  sendGre(inner: Uint8Array, key: number): void {
    this.node.net.sendTo(this.fd, greFrame(inner, key), `[${UNDERLAY}]:4754`);
  }

  /** The datagrams that reached this peer. */
  receive(): Buffer[] {
    return this.node.net.receive(this.fd).map((d) => d.data);
  }
}
