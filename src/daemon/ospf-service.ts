/**
 * OSPFv3 in the daemon: one instance, one interface per link (tunnel links and kernel links), packets
 * through the control-plane door, one timer driven by the instance's own next-wake time, and its routes
 * into the route table.
 */
import type { Logger } from '../common/log.js';
import type { MoltnetConfig } from '../config/schema.js';
import { IPPROTO_OSPF } from '../dataplane/wire/ipv6.js';
import { parseDottedQuad } from '../controlplane/ospf/wire/types.js';
import { deriveRouterId } from '../controlplane/ospf/router-id.js';
import { OspfInstance, type OspfRoute } from '../controlplane/ospf/instance.js';
import type { ControlPacketIo } from '../controlplane/packet-io.js';
import type { LinkSpec } from '../transport/link-spec.js';

/** OSPFv3 packets are link-local: hop limit 1 (RFC 5340 §2.2 via §A.1). */
const OSPF_HOP_LIMIT = 1;

/**
 * The default router ID: 32 bits of SHA-256 over the whole UUID (controlplane/ospf/router-id.ts), never
 * bits of the mesh address, which UUIDs assigned in a pattern share.
 */
export function routerIdFor(uuid: string): number {
  return deriveRouterId(uuid);
}

export class OspfService {
  readonly instance: OspfInstance;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly cfg: MoltnetConfig,
    meshAddress: Buffer,
    linkLocal: Buffer,
    private readonly packetIo: ControlPacketIo,
    private readonly log: Logger,
    onRoutes: (routes: OspfRoute[]) => void,
  ) {
    const routerId = cfg.ospf.routerId ? parseDottedQuad(cfg.ospf.routerId)! : routerIdFor(cfg.uuid);
    this.instance = new OspfInstance({
      routerId,
      areaId: parseDottedQuad(cfg.ospf.area) ?? 0,
      linkLocal,
      prefixes: [{ prefix: meshAddress, length: 128, metric: 0 }],
      io: { send: (linkId, dst, packet) => this.packetIo.sendIpv6(linkId, dst, IPPROTO_OSPF, OSPF_HOP_LIMIT, packet) },
      log: log.child({ proto: 'ospf' }),
      now: performance.now(),
    });
    this.instance.onRoutes(onRoutes);
    packetIo.handlers.ospf = (p) => {
      this.instance.receive(p.linkId, p.src, p.dst, p.hopLimit, p.payload, performance.now());
      this.reschedule();
    };
  }

  addLink(link: LinkSpec): void {
    const cost =
      link.kind === 'kernel'
        ? (this.cfg.kernelLinks.find((k) => k.name === link.name)?.cost ?? 10)
        : (this.cfg.peers.find((p) => p.name === link.name)?.cost ?? 10);
    const auth = this.cfg.ospf.authentication;
    this.instance.addInterface(
      {
        linkId: link.id,
        name: link.name,
        interfaceId: link.id + 1,
        cost,
        helloInterval: this.cfg.ospf.helloInterval,
        deadInterval: this.cfg.ospf.deadInterval,
        mtu: link.mtu,
        mtuIgnore: this.cfg.ospf.mtuIgnore,
        ...(auth ? { auth: { keyId: auth.keyId, key: Buffer.from(auth.key, 'utf8') } } : {}),
      },
      performance.now(),
    );
    this.reschedule();
  }

  /** BFD says the neighbor on this link is gone. */
  neighborDown(linkId: number): void {
    this.instance.neighborDown(linkId, undefined, performance.now());
    this.reschedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private reschedule(): void {
    if (this.stopped) return;
    let next: number;
    try {
      next = this.instance.tick(performance.now());
    } catch (err) {
      this.log.error({ err }, 'ospf timer failed');
      next = performance.now() + 1000;
    }
    if (this.timer) clearTimeout(this.timer);
    const delay = Math.max(0, Math.min(next - performance.now(), 60_000));
    this.timer = setTimeout(() => this.reschedule(), delay);
  }
}
