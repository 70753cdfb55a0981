/**
 * Mesh DNS (spec §6.3) on this node's mesh address, UDP and TCP 53: the zone (zone.ts) answers, this
 * module serves it and keeps its names current.
 *
 * Names: this node's `name`, then its peers as peering knows them (authenticated ones first, by the name
 * the config or discovery gave them), then configured peers not yet up. Rebuilt from the peering
 * service's view at most once a second, when a query comes.
 *
 * Bounds: a per-source query rate (token bucket, lru-cache of sources), TCP connections capped, idle TCP
 * connections closed, TCP messages bounded by their 2-byte length. Where systemd-resolved runs, queries
 * for ~molt are routed to this server on molt0 (resolvectl), undone at stop.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { access } from 'node:fs/promises';
import { LRUCache } from 'lru-cache';
import type { Service, ServiceContext } from '../../controlplane/service.js';
import { TokenBucket } from '../../dataplane/ratelimit.js';
import { MeshZone, type NameEntry } from './zone.js';
import { closeServer, listenOrWhy } from '../listen.js';

export interface DnsSection {
  enabled: boolean;
  port: number;
  /** This node's name (config `name`), if it has one. */
  name: string | undefined;
  /** The host interface, for systemd-resolved's per-link routing. */
  tunName: string;
  /** Queries per second from one address; bursts of twice that. */
  ratePerSource: number;
}

/** How the service finds and tells systemd-resolved (a test gives its own). */
export interface ResolvedControl {
  /** Whether systemd-resolved runs here. */
  present(): Promise<boolean>;
  /** Runs resolvectl with these arguments; rejects with its error. */
  resolvectl(args: string[]): Promise<void>;
}

const SYSTEMD_RESOLVED: ResolvedControl = {
  present: () =>
    access('/run/systemd/resolve/io.systemd.Resolve').then(
      () => true,
      () => false,
    ),
  resolvectl: async (args) => {
    // Only where systemd-resolved runs: a daemon without it never loads execa.
    const { execa } = await import('execa');
    await execa('resolvectl', args, { timeout: 5000 });
  },
};

const REBUILD_MS = 1000;
const MAX_TCP_CONNECTIONS = 64;
const TCP_IDLE_MS = 10_000;

interface PeerView {
  name: string;
  address: string;
  state: string;
  authenticated: boolean;
  source: string;
}

export class DnsService implements Service<DnsSection> {
  readonly name = 'dns';
  constructor(private readonly resolvedControl: ResolvedControl = SYSTEMD_RESOLVED) {}
  private ctx!: ServiceContext<DnsSection>;
  readonly zone = new MeshZone();
  private builtAt = Number.NEGATIVE_INFINITY;
  private udp: UdpSocket | undefined;
  private tcp: Server | undefined;
  private readonly sources = new LRUCache<string, TokenBucket>({ max: 4096 });
  private resolved = false;
  private lastConflicts = new Set<string>();
  /** Why it does not serve (its port is taken), for `show dns`. */
  private failure: string | undefined;
  readonly counters = { rate_limited: 0, tcp_connections: 0, tcp_refused: 0 };

  async start(ctx: ServiceContext<DnsSection>): Promise<void> {
    this.ctx = ctx;
    const host = ctx.node.address;
    const port = ctx.config.port;
    ctx.queries.register('dns', () => {
      this.rebuild(true);
      return {
        listen: `[${host}]:${port}`,
        serving: this.failure === undefined,
        ...(this.failure ? { error: this.failure } : {}),
        names: this.zone.names(),
        counters: { ...this.zone.counters, ...this.counters },
        systemdResolved: this.resolved,
      };
    });
    try {
      await this.listen(host, port);
    } catch (err) {
      // Another DNS server holding port 53 on every address must not keep the router from starting.
      const m = (err as Error).message;
      this.failure = m.startsWith(`port ${port} on `) ? m : `port ${port} on ${host}: ${(err as NodeJS.ErrnoException).code ?? m}`;
      ctx.log.error({ err: (err as Error).message, port }, 'mesh DNS is not served: its port is taken');
      await this.stop();
      return;
    }
    ctx.log.info({ listen: `[${host}]:${port}` }, 'mesh DNS listens');
    await this.routeResolved(true);
  }

  private async listen(host: string, port: number): Promise<void> {
    const udp = createSocket({ type: 'udp6', ipv6Only: true });
    udp.on('message', (msg, rinfo) => this.onUdp(msg, rinfo.address, rinfo.port));
    udp.on('error', (err) => this.ctx.log.warn({ err: err.message }, 'dns udp socket error'));
    this.udp = udp;
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind({ address: host, port, exclusive: true }, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const tcp = createServer((s) => this.onTcp(s));
    tcp.maxConnections = MAX_TCP_CONNECTIONS;
    tcp.on('drop', () => this.counters.tcp_refused++);
    const why = await listenOrWhy(tcp, host, port);
    if (why) throw new Error(why);
    this.tcp = tcp;
  }

  async stop(): Promise<void> {
    await this.routeResolved(false);
    try {
      this.udp?.close();
    } catch {
      /* never bound */
    }
    this.udp = undefined;
    const tcp = this.tcp;
    this.tcp = undefined;
    await closeServer(tcp);
  }

  /** The names now: this node, authenticated peers, then the rest (first wins in the zone). */
  private rebuild(force = false): void {
    const now = this.ctx.clock.now();
    if (!force && now - this.builtAt < REBUILD_MS) return;
    this.builtAt = now;
    const entries: NameEntry[] = [];
    if (this.ctx.config.name) entries.push({ name: this.ctx.config.name, address: this.ctx.node.address, source: 'this node' });
    const peers = (this.ctx.queries.get('peers')?.({}) ?? []) as PeerView[];
    const registry = ((this.ctx.queries.get('registry')?.({}) as { nodes?: { name: string; address: string; ownsName: boolean }[] } | undefined)?.nodes ?? []).filter((n) => n.name !== '' && n.ownsName);
    // The operator's names first (configured peers), then what nodes say of themselves (signed, mesh-wide),
    // then the names peering gave peers it discovered.
    const configured = peers.filter((p) => p.source === 'config' || p.source === 'runtime');
    const discovered = peers.filter((p) => p.state === 'established' && p.source !== 'config' && p.source !== 'runtime');
    for (const p of configured) entries.push({ name: p.name, address: p.address, source: p.state === 'established' ? `${p.authenticated ? 'authenticated' : 'unauthenticated'} peer (${p.source})` : 'configured peer' });
    for (const n of registry) entries.push({ name: n.name, address: n.address, source: 'registry' });
    for (const p of discovered) entries.push({ name: p.name, address: p.address, source: `authenticated peer (${p.source})` });
    const { conflicts } = this.zone.set(entries);
    for (const c of conflicts) if (!this.lastConflicts.has(c)) this.ctx.log.warn({ conflict: c }, 'mesh DNS name conflict: the first name wins');
    this.lastConflicts = new Set(conflicts);
  }

  private allowed(source: string): boolean {
    let b = this.sources.get(source);
    if (!b) {
      b = new TokenBucket(this.ctx.config.ratePerSource, 2 * this.ctx.config.ratePerSource);
      this.sources.set(source, b);
    }
    if (b.take(this.ctx.clock.now())) return true;
    this.counters.rate_limited++;
    return false;
  }

  private onUdp(msg: Buffer, address: string, port: number): void {
    if (!this.allowed(address)) return;
    this.rebuild();
    const out = this.zone.answer(msg, true);
    if (out) this.udp?.send(out, port, address);
  }

  private onTcp(s: Socket): void {
    this.counters.tcp_connections++;
    s.setTimeout(TCP_IDLE_MS, () => s.destroy());
    s.on('error', () => undefined);
    let buf: Buffer = Buffer.alloc(0);
    s.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        if (!this.allowed(s.remoteAddress ?? '')) continue;
        this.rebuild();
        const out = this.zone.answer(msg, false);
        if (!out) {
          s.destroy();
          return;
        }
        const frame = Buffer.alloc(2 + out.length);
        frame.writeUInt16BE(out.length, 0);
        out.copy(frame, 2);
        s.write(frame);
      }
    });
  }

  /** systemd-resolved: send ~molt to us on the mesh interface (and take it back at stop). */
  private async routeResolved(on: boolean): Promise<void> {
    const tun = this.ctx.config.tunName;
    if (on) {
      if (!(await this.resolvedControl.present())) return;
      try {
        await this.resolvedControl.resolvectl(['dns', tun, this.ctx.node.address]);
        await this.resolvedControl.resolvectl(['domain', tun, '~molt']);
        this.resolved = true;
        this.ctx.log.info({ interface: tun }, 'systemd-resolved sends ~molt queries to the mesh DNS');
      } catch (err) {
        // Half done (the server set, not the domain) is undone too.
        await this.resolvedControl.resolvectl(['revert', tun]).catch(() => undefined);
        this.ctx.log.warn({ err: (err as Error).message }, 'systemd-resolved runs but could not be told about ~molt');
      }
      return;
    }
    if (!this.resolved) return;
    this.resolved = false;
    await this.resolvedControl.resolvectl(['revert', tun]).catch((err: Error) => this.ctx.log.warn({ err: err.message }, 'resolvectl revert failed'));
  }
}
