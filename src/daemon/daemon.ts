/**
 * The daemon: the one place that wires the parts together.
 *
 *   config -> molt0 (TUN + address + mesh route) -> underlay sockets -> links and routes
 *          -> forwarding worker -> control socket; SIGINT/SIGTERM undo it all.
 */
import { mkdir } from 'node:fs/promises';
import { MESH_PREFIX, MESH_PREFIX_LEN, formatIpv6, linkLocalFor, meshAddressBytes } from '../common/address.js';
import { ConfigError, MoltnetError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { parseHostPort, type MoltnetConfig } from '../config/schema.js';
import { loadNative, type NativeAddon } from '../dataplane/io/native.js';
import { linkCountersObject, nodeCountersObject } from '../dataplane/counters.js';
import { parseIpv6Address } from '../dataplane/wire/ipv6.js';
import { DEFAULT_VNI } from '../transport/wire/vxlan.js';
import { deriveGreKey } from '../transport/wire/gre.js';
import { PORT_FIRST_KERNEL, PORT_GRE, PORT_VXLAN, type LinkSpec } from '../transport/link-spec.js';
import type { Port } from '../dataplane/engine.js';
import { formatRecord, resolveEndpoint } from '../transport/endpoint.js';
import { ControlServer } from './control-server.js';
import { ControlPacketIo } from '../controlplane/packet-io.js';
import { BfdService } from './bfd-service.js';
import { OspfService } from './ospf-service.js';
import type { OspfRoute } from '../controlplane/ospf/instance.js';
import { formatDottedQuad } from '../controlplane/ospf/wire/types.js';
import { ForwardingPlane } from './forwarding-plane.js';
import { diffRoutes, type RouteSpec } from './forwarding-messages.js';
import { configureHostInterface, configureKernelLink } from './host-interface.js';
import { RouteTable, prefixEntry } from './route-table.js';
import { Fib, NO_ROUTE } from '../dataplane/fib/fib.js';

const VERSION = '0.1.0';
const CONTROL_PLANE_NICE = -10;

export class Daemon {
  private io: NativeAddon | undefined;
  private tun: { fd: number; name: string } | undefined;
  private sockets: number[] = [];
  private kernelTuns: { fd: number; name: string }[] = [];
  private plane: ForwardingPlane | undefined;
  private packetIo: ControlPacketIo | undefined;
  private bfd: BfdService | undefined;
  private ospf: OspfService | undefined;
  /** Links whose OSPF adjacency was Full and was lost (their connected routes are withdrawn too). */
  private readonly adjacencyLost = new Set<number>();
  /** Links that BFD (or a lost OSPF adjacency) says are down: their connected and static routes are withdrawn. */
  private readonly downLinks = new Set<number>();
  private control: ControlServer | undefined;
  private links: LinkSpec[] = [];
  private readonly routeTable = new RouteTable();
  /** The same routes as the forwarding worker's FIB, for packets the control plane sends itself. */
  private readonly controlFib = new Fib();
  /** The routes the forwarding plane holds, to send it differences. */
  private planeRoutes: RouteSpec[] = [];
  /** `show` answers from services (OSPF, BFD), by name. */
  private readonly extraShows = new Map<string, () => unknown>();
  private readonly startedAt = Date.now();
  private stopping: Promise<void> | undefined;
  private state: 'starting' | 'up' | 'stopping' = 'starting';

  constructor(
    private readonly config: MoltnetConfig,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const cfg = this.config;
    for (const p of cfg.peers) {
      if (p.link === 'wireguard') {
        throw new ConfigError(`peers "${p.name}": link wireguard is not implemented yet; use vxlan or gre`);
      }
    }
    this.io = loadNative();
    const io = this.io;
    // The control plane (this thread: BFD timers, OSPF) outranks the forwarding worker and bulk traffic
    // for the CPU, so a saturated node still sends and answers BFD in time. The worker stays at 0.
    try {
      io.setThreadPriority(CONTROL_PLANE_NICE);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not raise the control-plane thread priority');
    }
    await mkdir(cfg.stateDir, { recursive: true, mode: 0o700 });

    this.control = new ControlServer(cfg.controlSocket, (m, p) => this.handle(m, p), this.log);
    await this.control.start();

    try {
      this.tun = io.tunOpen(cfg.interface.name);
    } catch (err) {
      throw new MoltnetError(`cannot create ${cfg.interface.name}: ${(err as Error).message}`);
    }
    await configureHostInterface({
      name: this.tun.name,
      mtu: cfg.interface.mtu,
      address: cfg.address,
      meshPrefix: `${MESH_PREFIX}/${MESH_PREFIX_LEN}`,
    });

    const vx = parseHostPort(cfg.underlay.listen);
    const gre = parseHostPort(cfg.underlay.greListen);
    this.sockets[PORT_VXLAN] = openSocket(io, vx.host, vx.port);
    this.sockets[PORT_GRE] = openSocket(io, gre.host, gre.port);
    for (const kl of cfg.kernelLinks) {
      let t: { fd: number; name: string };
      try {
        t = io.tunOpen(kl.name);
      } catch (err) {
        throw new MoltnetError(`cannot create kernel link ${kl.name}: ${(err as Error).message}`);
      }
      this.kernelTuns.push(t);
      await configureKernelLink({ name: t.name, mtu: cfg.interface.mtu, netns: kl.netns, address: kl.address });
    }
    const ports: Port[] = [
      ...this.sockets.map((fd): Port => ({ fd, kind: 'udp' })),
      ...this.kernelTuns.map((t): Port => ({ fd: t.fd, kind: 'tun' })),
    ];

    const me = meshAddressBytes(cfg.address);
    const ll = parseIpv6Address(linkLocalFor(cfg.address));
    this.links = await Promise.all(
      cfg.peers.map(async (p, id): Promise<LinkSpec> => {
        const kind = p.link === 'gre' ? 'gre' : 'vxlan';
        const spec: LinkSpec = {
          id,
          name: p.name,
          kind,
          port: kind === 'gre' ? PORT_GRE : PORT_VXLAN,
          remote: await resolveEndpoint(p.endpoint),
          mtu: cfg.interface.mtu,
          localMesh: me,
          localLinkLocal: ll,
          peerMesh: meshAddressBytes(p.address),
        };
        if (kind === 'vxlan') spec.vni = p.vni ?? DEFAULT_VNI;
        else spec.greKey = deriveGreKey(cfg.uuid, p.uuid!); // the config requires a gre peer's uuid
        return spec;
      }),
    );
    cfg.kernelLinks.forEach((kl, k) => {
      this.links.push({
        id: cfg.peers.length + k,
        name: kl.name,
        kind: 'kernel',
        port: PORT_FIRST_KERNEL + k,
        remote: new Uint8Array(20),
        mtu: cfg.interface.mtu,
        localMesh: me,
        localLinkLocal: ll,
        peerMesh: new Uint8Array(16),
      });
    });
    this.setStaticRoutes();
    this.programFib();

    this.plane = new ForwardingPlane({
      io,
      tunFd: this.tun.fd,
      meshAddress: me,
      linkLocal: ll,
      maxPacket: Math.max(cfg.interface.mtu, 1500) + 128,
    });
    const plane = this.plane;
    // Port ids are the positions links name (PORT_VXLAN, PORT_GRE, then the kernel-link TUNs).
    ports.forEach((p, id) => plane.addPort(id, p));
    for (const l of this.links) plane.addLink(l);
    this.programFib();
    this.packetIo = new ControlPacketIo((linkId, pkt) => plane.send(linkId, pkt), ll);
    const packetIo = this.packetIo;
    plane.on('punt', (linkId: number, packet: Buffer) => packetIo.receive(linkId, packet));
    if (cfg.bfd.enabled) {
      const bfd = new BfdService(
        cfg,
        packetIo,
        this.log.child({ proto: 'bfd' }),
        (linkId, up) => this.linkEvent(linkId, up),
        me,
        (dst) => this.routeLink(dst),
      );
      this.bfd = bfd;
      this.extraShows.set('bfd', () => bfd.sessions());
    }
    if (cfg.ospf.enabled) this.startOspf(me, ll, packetIo);
    this.plane.on('error', (err: Error) => this.log.error({ err }, 'forwarding worker failed'));
    this.plane.on('internal-error', (message: string) => this.log.error({ error: message }, 'forwarding loop error (counted, forwarding goes on)'));
    this.plane.on('exit', (code: number) => {
      if (this.state !== 'stopping') {
        // The data plane is gone: a router that cannot forward must say so and stop, not linger.
        this.log.fatal({ code }, 'forwarding worker exited unexpectedly; stopping');
        process.exitCode = 1;
        void this.stop().then(() => process.kill(process.pid, 'SIGTERM'));
      }
    });
    await this.plane.start();
    // One BFD session per tunnel link, toward the peer's link-local (fe80:: + the last 64 bits of its
    // mesh address); kernel links get theirs once OSPF has heard the kernel router's address.
    for (const l of this.links) {
      if (l.kind !== 'kernel') this.bfd?.ensureSession(l.id, l.name, parseIpv6Address(linkLocalFor(formatIpv6(l.peerMesh))));
    }
    for (const l of this.links) this.ospf?.addLink(l);
    for (const peer of cfg.bfd.multihop) this.bfd?.ensureMultihop(meshAddressBytes(peer));
    this.state = 'up';
    this.log.info(
      { address: cfg.address, interface: this.tun.name, links: this.links.length, routes: this.routeTable.best().length },
      'moltnet is up',
    );
  }

  /** Undo everything start() did, in reverse. Safe to call more than once and after a failed start. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.state = 'stopping';
      this.bfd?.stop();
      this.ospf?.stop();
      await this.plane?.stop().catch((err) => this.log.warn({ err }, 'stopping the forwarding worker'));
      for (const fd of this.sockets) if (fd !== undefined && fd >= 0) this.io?.close(fd);
      this.sockets = [];
      // Closing a kernel link's TUN removes the device, wherever it was moved.
      for (const t of this.kernelTuns) this.io?.close(t.fd);
      this.kernelTuns = [];
      // Closing the TUN fd removes molt0, its address and the mesh route.
      if (this.tun) this.io?.close(this.tun.fd);
      this.tun = undefined;
      await this.control?.stop();
      this.log.info('moltnet stopped');
    })();
    return this.stopping;
  }

  /** Connected routes (each peer's /128 through its link) and the config's static routes, on live links. */
  private setStaticRoutes(): void {
    const linkId = (name: string) => this.links.find((l) => l.name === name)!.id;
    const live = (id: number) => !this.downLinks.has(id) && !this.adjacencyLost.has(id);
    this.routeTable.setSource(
      'connected',
      this.config.peers.map((p, i) => prefixEntry(`${p.address}/128`, [this.links[i]!.id], 'connected')).filter((r) => live(r.nexthops[0]!)),
    );
    this.routeTable.setSource(
      'static',
      this.config.routes.map((r) => prefixEntry(r.prefix, [linkId(r.via)], 'static')).filter((r) => live(r.nexthops[0]!)),
    );
  }

  private startOspf(me: Buffer, ll: Buffer, packetIo: ControlPacketIo): void {
    const ospf = new OspfService(this.config, me, ll, packetIo, this.log, (routes) => this.ospfRoutes(routes));
    this.ospf = ospf;
    const inst = ospf.instance;
    inst.onNeighborState((e) => {
      const link = this.links.find((l) => l.id === e.linkId);
      // A kernel router's address is learned here: run BFD with it (tunnel links have theirs already).
      if (link?.kind === 'kernel' && e.to !== 'Down') this.bfd?.ensureSession(link.id, link.name, e.address);
      if (e.to === 'Full' && this.adjacencyLost.delete(e.linkId)) this.refreshRoutes();
      if (e.from === 'Full' && e.to !== 'Full' && !this.adjacencyLost.has(e.linkId)) {
        this.adjacencyLost.add(e.linkId);
        this.refreshRoutes();
      }
    });
    const name = (id: number) => this.links.find((l) => l.id === id)?.name ?? `link${id}`;
    this.extraShows.set('ospf neighbors', () => inst.neighbors(performance.now()));
    this.extraShows.set('ospf database', () => inst.database(performance.now()));
    this.extraShows.set('ospf interfaces', () => inst.interfaces());
    this.extraShows.set('ospf routes', () =>
      inst.routes().map((r) => ({
        prefix: `${formatIpv6(r.prefix)}/${r.length}`,
        type: r.type,
        cost: r.cost,
        local: r.local ?? false,
        via: r.nexthops.map((n) => `${formatIpv6(n.address)}%${name(n.linkId)}`),
      })),
    );
    this.extraShows.set('ospf status', () => ({ routerId: formatDottedQuad(inst.routerId), conflicts: inst.conflicts(), counters: inst.counters() }));
  }

  private ospfRoutes(routes: OspfRoute[]): void {
    this.routeTable.setSource(
      'ospf',
      routes
        .filter((r) => !r.local && r.nexthops.length > 0)
        .map((r) => ({
          prefix: r.prefix,
          length: r.length,
          nexthops: [...new Set(r.nexthops.map((n) => n.linkId))],
          source: 'ospf' as const,
          cost: r.cost,
          ospfType: r.type,
        })),
    );
    this.programFib();
  }

  /** The link a packet to `dst` leaves on (control-plane packets such as multihop BFD). */
  private routeLink(dst: Buffer): number | undefined {
    const link = this.controlFib.lookup(dst, 0, 0);
    return link === NO_ROUTE ? undefined : link;
  }

  private refreshRoutes(): void {
    this.setStaticRoutes();
    this.programFib();
  }

  /** A link's liveness changed (BFD): withdraw or restore its routes; a dead link's OSPF neighbor goes at once. */
  private linkEvent(linkId: number, up: boolean): void {
    if (up === !this.downLinks.has(linkId)) return;
    if (up) this.downLinks.delete(linkId);
    else {
      this.downLinks.add(linkId);
      this.ospf?.neighborDown(linkId);
    }
    this.log.info({ link: this.links.find((l) => l.id === linkId)?.name, up }, 'link liveness changed');
    this.setStaticRoutes();
    this.programFib();
  }

  /** Program the FIB with the route table's winners (the worker's, and the control plane's copy). */
  programFib(): void {
    const specs = this.routeTable.fibSpecs();
    this.controlFib.clear();
    for (const r of specs) this.controlFib.insert(r.prefix, r.length, r.nexthops);
    if (this.plane) {
      this.plane.updateRoutes(diffRoutes(this.planeRoutes, specs));
      this.planeRoutes = specs;
    }
  }

  private routesInfo(): unknown {
    const name = (id: number) => this.links.find((l) => l.id === id)?.name ?? `link${id}`;
    return this.routeTable.best().map((r) => ({
      prefix: `${formatIpv6(r.prefix)}/${r.length}`,
      via: r.nexthops.map(name),
      source: r.source,
      ...(r.cost !== undefined ? { cost: r.cost } : {}),
      ...(r.ospfType !== undefined ? { type: r.ospfType } : {}),
    }));
  }

  private handle(method: string, params: Record<string, unknown>): unknown {
    if (method !== 'show') throw new MoltnetError(`unknown method "${method}"`);
    const what = String(params['what'] ?? 'status');
    switch (what) {
      case 'status':
        return this.status();
      case 'links':
        return this.linksInfo();
      case 'routes':
        return this.routesInfo();
      case 'peers':
        return this.linksInfo();
      default: {
        const extra = this.extraShows.get(what);
        if (extra) return extra();
        if (what.startsWith('ospf')) throw new MoltnetError('OSPF is not running on this node (ospf.enabled: false)');
        if (what === 'bfd') throw new MoltnetError('BFD is not running on this node (bfd.enabled: false)');
        throw new MoltnetError(`cannot show "${what}": try status, links, routes, peers, ospf, bfd`);
      }
    }
  }

  private status(): unknown {
    const cfg = this.config;
    return {
      version: VERSION,
      state: this.state,
      uuid: cfg.uuid,
      name: cfg.name ?? null,
      address: cfg.address,
      linkLocal: linkLocalFor(cfg.address),
      interface: { name: this.tun?.name ?? cfg.interface.name, mtu: cfg.interface.mtu },
      underlay: { vxlan: cfg.underlay.listen, gre: cfg.underlay.greListen },
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      links: this.links.length,
      routes: this.routeTable.best().length,
      counters: this.plane ? nodeCountersObject(this.plane.counters) : {},
      controlPlane: this.packetIo?.counters ?? {},
    };
  }

  private linksInfo(): unknown {
    return this.links.map((l) => ({
      id: l.id,
      name: l.name,
      kind: l.kind,
      peer: l.kind === 'kernel' ? null : formatIpv6(l.peerMesh),
      endpoint: l.kind === 'kernel' ? (this.config.kernelLinks.find((k) => k.name === l.name)?.netns ?? 'host') : formatRecord(l.remote),
      ...(l.kind === 'vxlan' ? { vni: l.vni } : l.kind === 'gre' ? { greKey: l.greKey } : {}),
      mtu: l.mtu,
      counters: this.plane ? linkCountersObject(this.plane.counters, l.id) : {},
    }));
  }
}

function openSocket(io: NativeAddon, host: string, port: number): number {
  try {
    return io.udpOpen(host, port);
  } catch (err) {
    throw new MoltnetError(`cannot listen on UDP [${host}]:${port}: ${(err as Error).message}`);
  }
}

