/**
 * The daemon: the composition root. It owns no protocol and no policy; it makes the parts and wires
 * them together, in this order:
 *
 *   molt0 (TUN + address + mesh route) -> forwarding plane -> underlay sockets -> control-plane door
 *   -> link manager (drivers per kind) -> RIB (-> both FIBs by differences) -> services (BFD, OSPF, ...)
 *   -> links from the config, the kernel links and the runtime peers -> static routes
 *
 * and undoes it in reverse on stop. At run time it carries out `peer add`, `peer remove` and reload
 * (SIGHUP or `moltnet reload`): a new config is parsed and checked whole before anything changes.
 */
import { processResources } from './process-stats.js';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { Registry } from 'prom-client';
import { MESH_PREFIX, MESH_PREFIX_LEN, linkLocalFor, meshAddressBytes } from '../common/address.js';
import { ConfigError, MoltnetError } from '../common/errors.js';
import { systemClock, type Clock } from '../common/clock.js';
import type { Logger } from '../common/log.js';
import { VERSION } from '../common/version.js';
import { parseHostPort, type KernelLinkConfig, type MoltnetConfig, type PeerConfig } from '../config/schema.js';
import { TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6, TUN_F_USO4, TUN_F_USO6, loadNative, type NativeAddon, type OffloadIo, type OffloadOps, type TunHandle } from '../dataplane/io/native.js';
import { C, linkCountersObject, nodeCountersObject } from '../dataplane/counters.js';
import { INNER_SOURCE_OFFSET, openTunQueues, openUdpGroup, resolveWorkers } from './forwarding-queues.js';
import { registerPlaneMetrics } from './plane-metrics.js';
import { parseIpv6Address } from '../dataplane/wire/ipv6.js';
import { Fib, NO_ROUTE } from '../dataplane/fib/fib.js';
import { PORT_GRE, PORT_VXLAN } from '../transport/link-spec.js';
import { linkDrivers } from '../transport/drivers.js';
import { resolveEndpoint } from '../transport/endpoint.js';
import { WireGuardHost } from '../transport/wireguard/host.js';
import { ControlPacketIo } from '../controlplane/packet-io.js';
import { LinkManager, type Link, type LinkRequest } from '../controlplane/link-manager.js';
import { Rib, formatPrefix, type FibChange } from '../controlplane/rib.js';
import { systemTimers, type NodeIdentity, type Timers } from '../controlplane/service.js';
import type { PeeringService } from '../controlplane/peering/service.js';
import type { DiscoveryService } from '../controlplane/discovery/service.js';
import { parsePrefix } from '../dataplane/fib/fib.js';
import { ControlServer } from './control-server.js';
import { linuxHostNet, type HostNet } from './host-interface.js';
import { SERVICES } from './services.js';
import { ServiceHost } from './service-host.js';
import { planReload } from './reload.js';
import { RuntimePeers } from './runtime-peers.js';
import { HeapAfterFullGc } from './heap.js';
import type { ForwardingPlaneHandle, ForwardingPlaneOptions } from './forwarding-plane.js';

const CONTROL_PLANE_NICE = -10;

export interface DaemonDeps {
  io?: NativeAddon;
  hostNet?: HostNet;
  createPlane?(opts: ForwardingPlaneOptions): ForwardingPlaneHandle;
  clock?: Clock;
  timers?: Timers;
  /** Reads the config again for a reload (SIGHUP, `moltnet reload`). */
  loadConfig?(): Promise<MoltnetConfig>;
}

export interface ReloadSummary {
  changed: boolean;
  added: string[];
  removed: string[];
  remade: string[];
  cost: string[];
  routes: boolean;
  services: { restarted: string[]; started: string[]; stopped: string[]; changed: string[] };
}

export class Daemon {
  private io: (NativeAddon & Partial<OffloadIo & OffloadOps>) | undefined;
  private tun: TunHandle | undefined;
  /** Every queue of the host TUN, one per forwarding worker; tun is the first. */
  private tunQueues: TunHandle[] = [];
  /** Forwarding workers, and whether their underlay sockets are steered by inner flow. */
  private workers = 1;
  private steered = false;
  /** The underlay sockets: one per port, or one per port and worker. */
  private sockets: number[] = [];
  /** What the kernel granted: TUN offloads, and per underlay socket whether it sends with GSO and reads with GRO. */
  private offload = { tun: [] as string[], gso: false, gro: false };
  private plane: ForwardingPlaneHandle | undefined;
  private packetIo: ControlPacketIo | undefined;
  private links: LinkManager | undefined;
  private readonly rib = new Rib();
  /** The same routes as the forwarding worker's FIB, for packets the control plane sends itself. */
  private readonly controlFib = new Fib();
  /** FIB changes waiting for their turn (slices of a large one, and what came after it). */
  private readonly fibBacklog: FibChange[] = [];
  private fibDraining = false;
  private services: ServiceHost | undefined;
  private control: ControlServer | undefined;
  private runtimePeers: RuntimePeers | undefined;
  private wireguard: WireGuardHost | undefined;
  private readonly metrics = new Registry();
  private readonly heapAfterGc = new HeapAfterFullGc();
  private readonly clock: Clock;
  private readonly startedAt: number;
  private stopping: Promise<void> | undefined;
  private state: 'starting' | 'up' | 'stopping' = 'starting';
  /** Runtime changes (peer add/remove, reload) run one at a time. */
  private changes: Promise<unknown> = Promise.resolve();

  constructor(
    private config: MoltnetConfig,
    private readonly log: Logger,
    private readonly deps: DaemonDeps = {},
  ) {
    this.clock = deps.clock ?? systemClock;
    this.startedAt = this.clock.now();
  }

  async start(): Promise<void> {
    const cfg = this.config;
    this.io = this.deps.io ?? loadNative();
    const io = this.io;
    const hostNet = this.deps.hostNet ?? linuxHostNet;
    // The control plane (this thread: BFD timers, OSPF) and the forwarding worker it creates (which
    // inherits this) outrank bulk traffic and other programs for the CPU, so a saturated node still sends
    // and answers BFD in time.
    try {
      io.setThreadPriority(CONTROL_PLANE_NICE);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not raise the control-plane thread priority');
    }
    this.heapAfterGc.start();
    await mkdir(cfg.stateDir, { recursive: true, mode: 0o700 });
    this.runtimePeers = new RuntimePeers(cfg.stateDir);

    this.control = new ControlServer(cfg.controlSocket, (m, p) => this.handle(m, p), this.log);
    await this.control.start();

    // Only a plane on worker threads runs more than one; the in-process one (tests) forwards on this thread.
    let workers = this.deps.createPlane ? 1 : resolveWorkers(cfg.interface.workers);
    try {
      try {
        this.tunQueues = openTunQueues(io, cfg.interface.name, cfg.interface.offload, workers);
      } catch (err) {
        if (workers === 1) throw err;
        // A kernel (or OS) without IFF_MULTI_QUEUE: one worker still forwards everything.
        this.log.warn({ workers, err: (err as Error).message }, 'the interface cannot have one queue per worker; forwarding with one worker');
        workers = 1;
        this.tunQueues = openTunQueues(io, cfg.interface.name, cfg.interface.offload, 1);
      }
      this.tun = this.tunQueues[0]!;
    } catch (err) {
      throw new MoltnetError(`cannot create ${cfg.interface.name}: ${(err as Error).message}`);
    }
    this.workers = workers;
    await hostNet.configureHostInterface({
      name: this.tun.name,
      mtu: cfg.interface.mtu,
      address: cfg.address,
      meshPrefix: `${MESH_PREFIX}/${MESH_PREFIX_LEN}`,
    });

    const me = meshAddressBytes(cfg.address);
    const ll = parseIpv6Address(linkLocalFor(cfg.address));
    const planeOptions: ForwardingPlaneOptions = {
      io,
      tunFd: this.tun.fd,
      tunFds: this.tunQueues.map((q) => q.fd),
      meshAddress: me,
      linkLocal: ll,
      maxPacket: Math.max(cfg.interface.mtu, 1500) + 128,
      tunOffload: this.tun.vnetHdr === true,
      busyPollUs: cfg.interface.busyPollUs,
    };
    this.offload.tun = offloadNames(this.tun.offloads ?? 0);
    const plane = this.deps.createPlane ? this.deps.createPlane(planeOptions) : await workerPlane(planeOptions);
    this.plane = plane;
    plane.on('error', (err: Error) => this.log.error({ err }, 'forwarding worker failed'));
    plane.on('internal-error', (message: string) => this.log.error({ error: message }, 'forwarding loop error (counted, forwarding goes on)'));
    plane.on('exit', (code: number) => {
      if (this.state !== 'stopping') {
        // The data plane is gone: a router that cannot forward must say so and stop, not linger.
        this.log.fatal({ code }, 'forwarding worker exited unexpectedly; stopping');
        process.exitCode = 1;
        void this.stop().then(() => process.kill(process.pid, 'SIGTERM'));
      }
    });
    await plane.start();

    const vx = parseHostPort(cfg.underlay.listen);
    const gre = parseHostPort(cfg.underlay.greListen);
    const groups = [
      { id: PORT_VXLAN, kind: 'vxlan' as const, group: openUdpGroup(io, vx.host, vx.port, workers, INNER_SOURCE_OFFSET.vxlan) },
      { id: PORT_GRE, kind: 'gre' as const, group: openUdpGroup(io, gre.host, gre.port, workers, INNER_SOURCE_OFFSET.gre) },
    ];
    for (const g of groups) this.sockets.push(...g.group.fds);
    // UDP_GRO on a socket means every read must spread coalesced messages: set only where the engine will.
    const gso = cfg.interface.offload && typeof io.sendBatchGso === 'function';
    const gro = cfg.interface.offload && typeof io.udpSetGro === 'function' && typeof io.recvBatchGro === 'function' &&
      this.sockets.every((fd) => io.udpSetGro!(fd, true));
    this.offload.gso = gso;
    this.offload.gro = gro;
    for (const { id, kind, group } of groups) {
      const [fd] = group.fds as [number];
      // Runs of one inner flow per GSO message whatever this node runs: the peer may steer by flow.
      const port = { fd, kind: 'udp' as const, gso, gro, gsoFlowOffset: INNER_SOURCE_OFFSET[kind] };
      plane.addPort(id, workers > 1 ? { ...port, fds: group.fds } : port);
      if (workers > 1 && !group.steered) {
        this.log.warn({ port: kind, err: group.steerError }, 'the underlay sockets cannot be steered by inner flow: the kernel spreads peers over the workers, not flows');
      }
    }
    this.steered = workers > 1 && groups.every((g) => g.group.steered);
    plane.on('gso-off', (portId: number) => {
      this.offload.gso = false;
      this.log.warn({ port: portId }, 'the underlay route refused UDP segmentation offload (EIO): sending datagrams one by one');
    });
    this.log.info({ tun: this.offload.tun, gso, gro }, 'offloads');

    this.packetIo = new ControlPacketIo(plane, ll);
    const packetIo = this.packetIo;
    plane.on('punt', (linkId: number, packet: Buffer) => packetIo.receive(linkId, packet));

    this.wireguard = new WireGuardHost({ stateDir: cfg.stateDir, uuid: cfg.uuid, meshAddress: me, settings: cfg.wireguard, log: this.log.child({ service: 'wireguard' }) });
    const links = new LinkManager(
      plane,
      linkDrivers({
        io,
        mtu: cfg.interface.mtu,
        localUuid: cfg.uuid,
        localMesh: me,
        localLinkLocal: ll,
        configureKernelLink: (o) => hostNet.configureKernelLink(o),
        wireguard: this.wireguard,
      }),
    );
    this.links = links;
    plane.on('roamed', (linkId: number, remote: Uint8Array) => links.observe(linkId, remote));
    registerPlaneMetrics(this.metrics, plane.counterSets, links);
    this.wireRib(links);

    const node: NodeIdentity = {
      uuid: cfg.uuid,
      address: cfg.address,
      meshAddress: me,
      linkLocal: ll,
      stateDir: cfg.stateDir,
      mtu: cfg.interface.mtu,
      wireguard: await this.wireguard.offer(),
    };
    this.services = new ServiceHost(
      SERVICES,
      {
        clock: this.clock,
        timers: this.deps.timers ?? systemTimers,
        node,
        links,
        rib: this.rib,
        packets: packetIo,
        lookupRoute: (dst) => {
          const id = this.controlFib.lookup(dst, 0, 0);
          return id === NO_ROUTE ? undefined : id;
        },
      },
      this.log,
      this.metrics,
    );
    this.registerQueries();
    await this.services.startAll(cfg);

    const peering = this.peering();
    for (const p of cfg.peers) await peering.addPeer(p, 'config');
    for (const k of cfg.kernelLinks) await links.add(kernelRequest(k));
    for (const p of await this.runtimePeers.load(this.log)) {
      if (peering.has(p.name) || links.find(p.name)) {
        this.log.warn({ peer: p.name }, 'a runtime peer has the name of a configured link; the config wins');
        continue;
      }
      await peering.addPeer(p, 'runtime').catch((err) => this.log.warn({ peer: p.name, err: (err as Error).message }, 'runtime peer not restored'));
    }
    this.applyStaticRoutes();
    this.state = 'up';
    this.log.info({ address: cfg.address, interface: this.tun.name, links: links.size, routes: this.rib.size }, 'moltnet is up');
  }

  /** Undo everything start() did, in reverse. Safe to call more than once and after a failed start. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.state = 'stopping';
      await this.services?.stopAll();
      await this.plane?.stop().catch((err) => this.log.warn({ err }, 'stopping the forwarding worker'));
      // The worker is gone: closing each link's resources (kernel TUNs) needs no more messages.
      for (const l of this.links?.list() ?? []) await this.links?.remove(l.id).catch(() => undefined);
      await this.wireguard?.stop().catch((err) => this.log.warn({ err: (err as Error).message }, 'stopping wireguard-go'));
      for (const fd of this.sockets) if (fd >= 0) this.io?.close(fd);
      this.sockets = [];
      // Closing the TUN fds (every queue) removes molt0, its address and the mesh route.
      for (const q of this.tunQueues) this.io?.close(q.fd);
      this.tunQueues = [];
      this.tun = undefined;
      await this.control?.stop();
      this.heapAfterGc.stop();
      this.log.info('moltnet stopped');
    })();
    return this.stopping;
  }

  /**
   * Add a peer at run time (`moltnet peer add`); it is kept in the state directory until removed. Its
   * link comes once it has proved who it is (or at once with authenticate: false).
   */
  addPeer(peer: PeerConfig): Promise<Record<string, unknown>> {
    return this.serialized(async () => {
      this.mustRun();
      this.checkNewPeer(peer);
      await this.peering().addPeer(peer, 'runtime');
      await this.runtimePeers!.put(peer);
      this.applyStaticRoutes();
      this.log.info({ peer: peer.name, kind: peer.link, authenticate: peer.authenticate }, 'peer added');
      return this.peerInfo(peer.name);
    });
  }

  /** Remove a peer (a runtime one, or a configured one until the next reload or restart). */
  removePeer(name: string): Promise<{ removed: string }> {
    return this.serialized(async () => {
      this.mustRun();
      const info = this.peering().describe().find((p) => String(p['name']).toLowerCase() === name.toLowerCase());
      if (!info) throw new MoltnetError(`no peer named "${name}"`);
      await this.peering().removePeer(name, { operator: true });
      if (info['origin'] === 'runtime') await this.runtimePeers!.delete(String(info['name']));
      this.applyStaticRoutes();
      this.log.info({ peer: info['name'] }, 'peer removed');
      return { removed: String(info['name']) };
    });
  }

  private peering(): PeeringService {
    const p = this.services?.get<PeeringService>('peering');
    if (!p) throw new MoltnetError('the peering service is not running');
    return p;
  }

  private peerInfo(name: string): Record<string, unknown> {
    return this.peering().describe().find((p) => String(p['name']).toLowerCase() === name.toLowerCase()) ?? { name };
  }

  /** Re-read the config and apply what changed; a config that does not load changes nothing. */
  reload(): Promise<ReloadSummary> {
    return this.serialized(async () => {
      const links = this.mustRun();
      if (!this.deps.loadConfig) throw new MoltnetError('this daemon was started without a config file to reload');
      const next = await this.deps.loadConfig();
      const plan = planReload(this.config, next);
      // Resolve every new endpoint first: a name that does not resolve refuses the reload before any change.
      for (const p of [...plan.peers.add, ...plan.peers.remake]) await resolveEndpoint(p.endpoint);
      const summary: ReloadSummary = { changed: !plan.empty, added: [], removed: [], remade: [], cost: [], routes: plan.routesChanged, services: { restarted: [], started: [], stopped: [], changed: [] } };
      const peering = this.peering();
      const drop = async (name: string) => {
        if (peering.has(name)) await peering.removePeer(name, { operator: true });
        else if (links.find(name)) await links.remove(name);
      };
      for (const name of [...plan.peers.remove, ...plan.kernelLinks.remove]) {
        await drop(name);
        summary.removed.push(name);
      }
      for (const p of plan.peers.remake) {
        await drop(p.name);
        await peering.addPeer(p, 'config');
        summary.remade.push(p.name);
      }
      for (const k of plan.kernelLinks.remake) {
        await drop(k.name);
        await links.add(kernelRequest(k));
        summary.remade.push(k.name);
      }
      for (const p of plan.peers.add) {
        if (peering.has(p.name)) {
          this.log.warn({ peer: p.name }, 'the config now names a runtime peer: the config wins');
          await peering.removePeer(p.name);
          await this.runtimePeers!.delete(p.name);
        }
        await peering.addPeer(p, 'config');
        summary.added.push(p.name);
      }
      for (const k of plan.kernelLinks.add) {
        await links.add(kernelRequest(k));
        summary.added.push(k.name);
      }
      for (const { name, cost } of plan.peers.cost) {
        peering.setCost(name, cost);
        summary.cost.push(name);
      }
      for (const { name, cost } of plan.kernelLinks.cost) {
        const l = links.find(name);
        if (l) links.setCost(l.id, cost);
        summary.cost.push(name);
      }
      this.config = next;
      this.applyStaticRoutes();
      summary.services = await this.services!.reconfigure(next);
      this.log.info({ ...summary }, summary.changed ? 'config reloaded' : 'config reloaded: nothing changed');
      return summary;
    });
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.changes.then(fn, fn);
    this.changes = run.catch(() => undefined);
    return run;
  }

  private mustRun(): LinkManager {
    if (this.state !== 'up' || !this.links) throw new MoltnetError(`the daemon is ${this.state}`);
    return this.links;
  }

  private checkNewPeer(p: PeerConfig): void {
    if (p.address === this.config.address) throw new ConfigError(`peer "${p.name}": ${p.address} is this node's own address`);
    const links = this.links!;
    if (links.find(p.name) || this.peering().has(p.name)) throw new ConfigError(`peer "${p.name}": a link with that name exists`);
    for (const other of this.peering().describe()) {
      if (other['address'] === p.address && other['origin'] !== 'discovered') throw new ConfigError(`peer "${p.name}": mesh address ${p.address} is already peer "${String(other['name'])}"`);
    }
  }

  /** Link events into the RIB: connected routes, and down links' routes withdrawn. */
  private wireRib(links: LinkManager): void {
    this.rib.onChange((change) => {
      // A small change goes to the FIBs at once. A large one (an SPF that brought 10,000 external routes)
      // goes in slices, one per turn of the event loop, so that BFD's 100 ms timers still run between
      // them; later changes queue behind it, so the FIBs see every change in order.
      if (this.fibBacklog.length === 0 && change.remove.length + change.insert.length <= FIB_SLICE) {
        this.applyFib(change);
        return;
      }
      for (let i = 0; i < change.remove.length; i += FIB_SLICE) this.fibBacklog.push({ remove: change.remove.slice(i, i + FIB_SLICE), insert: [] });
      for (let i = 0; i < change.insert.length; i += FIB_SLICE) this.fibBacklog.push({ remove: [], insert: change.insert.slice(i, i + FIB_SLICE) });
      if (this.fibBacklog.length > 0 && !this.fibDraining) {
        this.fibDraining = true;
        setImmediate(() => this.drainFib());
      }
    });
    links.on('added', (l) => {
      this.rib.batch(() => {
        this.rib.setLinkDown(l.id, !l.up);
        if (l.peerMesh) this.rib.set({ prefix: l.peerMesh, length: 128, nexthops: [l.id], source: 'connected' });
      });
    });
    links.on('down', (l, reason) => {
      this.log.info({ link: l.name, reason }, 'link down');
      this.rib.setLinkDown(l.id, true);
    });
    links.on('up', (l, reason) => {
      if (reason !== 'added') this.log.info({ link: l.name, reason }, 'link up');
      this.rib.setLinkDown(l.id, false);
    });
    links.on('removed', (l) => {
      if (l.peerMesh) this.rib.withdraw('connected', l.peerMesh, 128);
      this.applyStaticRoutes();
    });
    // A peer's link comes when its handshake succeeds: the static routes via it come with it.
    links.on('added', () => this.applyStaticRoutes());
  }

  private applyFib(change: FibChange): void {
    applyChange(this.controlFib, change);
    this.plane?.updateRoutes(change);
  }

  private drainFib(): void {
    const c = this.fibBacklog.shift();
    try {
      if (c && this.state !== 'stopping') this.applyFib(c);
    } finally {
      if (this.fibBacklog.length > 0) setImmediate(() => this.drainFib());
      else this.fibDraining = false;
    }
  }

  /** The config's static routes, on the links they name that exist. */
  private applyStaticRoutes(): void {
    const links = this.links!;
    const routes = [];
    for (const r of this.config.routes) {
      const link = links.find(r.via);
      if (!link) continue;
      const { prefix, length } = parsePrefix(r.prefix);
      routes.push({ prefix, length, nexthops: [link.id], source: 'static' as const });
    }
    this.rib.replaceSource('static', routes);
  }

  private registerQueries(): void {
    const q = this.services!.queries;
    q.set('status', () => this.status());
    q.set('links', () => this.linksInfo());
    q.set('routes', () => this.routesInfo());
    q.set('wireguard', () => this.wireguard?.stats() ?? { running: false });
  }

  private async handle(method: string, params: Record<string, unknown>): Promise<unknown> {
    switch (method) {
      case 'show': {
        const what = String(params['what'] ?? 'status');
        const handler = this.services?.queries.get(what);
        if (handler) return handler(params);
        const hint = this.services?.disabledHint(what);
        if (hint) throw new MoltnetError(hint);
        throw new MoltnetError(`cannot show "${what}": try ${[...(this.services?.queries.keys() ?? [])].join(', ')}`);
      }
      case 'peer.add': {
        const { parsePeer } = await import('../config/load.js');
        return this.addPeer(parsePeer(params['peer'], 'peer'));
      }
      case 'peer.remove':
        return this.removePeer(String(params['name'] ?? ''));
      case 'reload':
        return this.reload();
      case 'announce': {
        const d = this.services?.get<DiscoveryService>('discovery');
        if (!d) throw new MoltnetError('discovery is not running');
        return d.announceNow().catch((err: Error) => {
          throw new MoltnetError(err.message);
        });
      }
      default:
        throw new MoltnetError(`unknown method "${method}"`);
    }
  }

  private routesInfo(): unknown {
    const links = this.links!;
    return this.rib.best().map((r) => ({
      prefix: formatPrefix(r.prefix, r.length),
      via: r.nexthops.map((id) => links.nameOf(id)),
      source: r.source,
      ...(r.cost !== undefined ? { cost: r.cost } : {}),
      ...(r.ospfType !== undefined ? { type: r.ospfType } : {}),
    }));
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
      interface: { name: this.tun?.name ?? cfg.interface.name, mtu: cfg.interface.mtu, offload: { ...this.offload } },
      forwarding: this.forwardingInfo(),
      underlay: { vxlan: cfg.underlay.listen, gre: cfg.underlay.greListen },
      uptimeSeconds: Math.round((this.clock.now() - this.startedAt) / 1000),
      links: this.links?.size ?? 0,
      routes: this.rib.size,
      services: this.services?.names() ?? [],
      counters: this.plane ? nodeCountersObject(this.plane.counterSets) : {},
      controlPlane: this.packetIo?.counters ?? {},
      memory: { ...memoryMiB(), ...this.heapAfterGc.figures() },
      resources: processResources(),
    };
  }

  /** The workers, and what each has forwarded: an uneven spread shows in show status. */
  private forwardingInfo(): Record<string, unknown> {
    const sets = this.plane?.counterSets ?? [];
    return {
      workers: this.workers,
      steeredByFlow: this.steered,
      perWorker: sets.map((c) => ({
        hostRx: c.node[C.host_rx_packets],
        underlayRx: c.node[C.underlay_rx_packets],
        underlayTx: c.node[C.underlay_tx_packets],
        hostTx: c.node[C.host_tx_packets],
      })),
    };
  }

  private linksInfo(): Record<string, unknown>[] {
    return (this.links?.list() ?? []).map((l) => this.linkInfo(l));
  }

  private linkInfo(l: Link): Record<string, unknown> {
    return {
      id: l.id,
      name: l.name,
      kind: l.kind,
      origin: l.origin,
      state: l.up ? 'up' : 'down',
      ...(l.up ? {} : { downReasons: [...l.downReasons] }),
      cost: l.cost,
      ...l.describe,
      ...(l.observed ? { endpoint: l.observed, configuredEndpoint: l.describe['endpoint'] } : {}),
      mtu: l.spec.mtu,
      counters: this.plane ? linkCountersObject(this.plane.counterSets, l.id) : {},
    };
  }
}

function kernelRequest(k: KernelLinkConfig): LinkRequest {
  return { name: k.name, kind: 'kernel', origin: 'kernel', cost: k.cost, params: { kernel: k } };
}

/** Most routes a FIB change carries in one turn of the event loop. */
const FIB_SLICE = 1000;

function applyChange(fib: Fib, change: FibChange): void {
  for (const r of change.remove) fib.remove(r.prefix, r.length);
  for (const r of change.insert) fib.insert(r.prefix, r.length, r.nexthops);
}

async function workerPlane(opts: ForwardingPlaneOptions): Promise<ForwardingPlaneHandle> {
  const { ForwardingPlane } = await import('./forwarding-plane.js');
  return new ForwardingPlane(opts);
}

/** TUN_F_* flags by name, for show and the log. */
function offloadNames(mask: number): string[] {
  const names: [number, string][] = [[TUN_F_CSUM, 'csum'], [TUN_F_TSO4, 'tso4'], [TUN_F_TSO6, 'tso6'], [TUN_F_USO4, 'uso4'], [TUN_F_USO6, 'uso6']];
  return names.filter(([f]) => (mask & f) !== 0).map(([, n]) => n);
}


/**
 * The process's memory (both threads), MiB: what an operator watches for growth. rss is rssAnon (the
 * heaps of both threads, malloc, stacks: this daemon's own) plus rssFile (mapped files, mostly the node
 * binary's pages: the same pages for every node process on the host, ~40 MiB of any node's RSS).
 */
function memoryMiB(): Record<string, number> {
  const m = process.memoryUsage();
  const mib = (n: number) => Math.round((n / 1048576) * 10) / 10;
  return { rss: mib(m.rss), ...rssParts(), heapUsed: mib(m.heapUsed), heapTotal: mib(m.heapTotal), external: mib(m.external), arrayBuffers: mib(m.arrayBuffers) };
}

/** RssAnon and RssFile of /proc/self/status (Linux), MiB; nothing elsewhere. */
function rssParts(): Record<string, number> {
  let text: string;
  try {
    text = readFileSync('/proc/self/status', 'utf8');
  } catch {
    return {};
  }
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  const out: Record<string, number> = {};
  for (const [name, key] of [['rssAnon', 'RssAnon'], ['rssFile', 'RssFile']] as const) {
    const v = kib(key);
    if (Number.isFinite(v)) out[name] = Math.round((v / 1024) * 10) / 10;
  }
  return out;
}
