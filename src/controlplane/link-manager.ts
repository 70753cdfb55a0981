/**
 * The link manager: every link the node has, under a stable id, and the events the rest of the node
 * follows (OSPF, BFD, the RIB).
 *
 *   add     a driver of the link's kind prepares it (resolves the endpoint, derives keys, opens a
 *           kernel TUN); the forwarding plane gets the link (and its port); 'added', then 'up'
 *   down/up a link is up while nothing holds it down; each holder names a reason ('bfd' when its
 *           session went down, 'ospf' when a Full adjacency was lost), so one holder's recovery does
 *           not hide another's verdict
 *   cost    changed in place ('changed'): the link keeps forwarding
 *   remove  'down' (if up), the forwarding plane drops it, the driver tears down, 'removed'
 *
 * Ids are never reused while anything may still point at one: they count up, and only once the id
 * space is used up are freed ids taken again, oldest first. Every listener runs synchronously in
 * registration order, so by the time remove() returns, the RIB and OSPF have let go of the id.
 */
import { MAX_LINK_ID, MAX_PORT_ID } from '../common/limits.js';
import { EventEmitter } from 'node:events';
import { MoltnetError } from '../common/errors.js';
import { PORT_FIRST_KERNEL, type LinkSpec } from '../transport/link-spec.js';
import type { LinkDriver, LinkKind, LinkOrigin, LinkPlane, LinkRequest, PreparedLink } from '../transport/link-driver.js';
import { formatRecord } from '../transport/endpoint.js';

export type { LinkDriver, LinkKind, LinkOrigin, LinkPlane, LinkRequest, PreparedLink };
export { MAX_LINK_ID };


export interface Link {
  readonly id: number;
  readonly name: string;
  readonly kind: LinkKind;
  readonly origin: LinkOrigin;
  cost: number;
  readonly request: LinkRequest;
  readonly spec: LinkSpec;
  /** The peer's mesh address (16 bytes), or undefined for a kernel link. */
  readonly peerMesh: Uint8Array | undefined;
  readonly describe: Record<string, unknown>;
  readonly downReasons: Set<string>;
  readonly up: boolean;
  /** A roaming link: where the peer's packets come from now ("addr:port"), once they came from elsewhere. */
  readonly observed: string | undefined;
}

export interface LinkEvents {
  added: [link: Link];
  up: [link: Link, reason: string];
  down: [link: Link, reason: string];
  changed: [link: Link];
  removed: [link: Link];
  /** A roaming link's peer sends from another UDP endpoint (NAT rebinding); the link answers there. */
  roamed: [link: Link, endpoint: string];
  /** A holder took or let go of the link (downReasons changed), whether or not it went up or down. */
  held: [link: Link];
}

export class LinkError extends MoltnetError {}

class LinkRecord implements Link {
  readonly downReasons = new Set<string>();
  observed: string | undefined;
  constructor(
    readonly id: number,
    readonly request: LinkRequest,
    readonly spec: LinkSpec,
    readonly prepared: PreparedLink,
    public cost: number,
  ) {}
  get name(): string {
    return this.request.name;
  }
  get kind(): LinkKind {
    return this.request.kind;
  }
  get origin(): LinkOrigin {
    return this.request.origin;
  }
  get peerMesh(): Uint8Array | undefined {
    return this.spec.kind === 'kernel' ? undefined : this.spec.peerMesh;
  }
  get describe(): Record<string, unknown> {
    return this.prepared.describe;
  }
  get up(): boolean {
    return this.downReasons.size === 0;
  }
}

/** Stable ids counting up; freed ids come back, oldest first, only once the range is used up. */
export class IdAllocator {
  private next: number;
  private readonly freed: number[] = [];
  private readonly inUse = new Set<number>();
  constructor(
    private readonly first: number,
    private readonly last: number,
    private readonly what: string,
  ) {
    this.next = first;
  }
  take(): number {
    let id: number | undefined;
    if (this.next <= this.last) id = this.next++;
    else id = this.freed.shift();
    if (id === undefined) {
      throw new LinkError(`no free ${this.what} id: all ${this.last - this.first + 1} are in use`);
    }
    this.inUse.add(id);
    return id;
  }
  release(id: number): void {
    if (this.inUse.delete(id)) this.freed.push(id);
  }
  get used(): number {
    return this.inUse.size;
  }
}

export class LinkManager extends EventEmitter<LinkEvents> {
  private readonly links = new Map<number, LinkRecord>();
  private readonly byName = new Map<string, LinkRecord>();
  private readonly pending = new Set<string>();
  private readonly newLinkHolders = new Set<{ reason: string; applies: (link: Link) => boolean }>();
  private readonly drivers = new Map<LinkKind, LinkDriver>();
  private readonly ids: IdAllocator;
  private readonly ports = new IdAllocator(PORT_FIRST_KERNEL, MAX_PORT_ID, 'port');

  constructor(
    private readonly plane: LinkPlane,
    drivers: readonly LinkDriver[],
    opts: { maxLinkId?: number } = {},
  ) {
    super();
    for (const d of drivers) this.drivers.set(d.kind, d);
    this.ids = new IdAllocator(0, opts.maxLinkId ?? MAX_LINK_ID, 'link');
  }

  /** The forwarding plane saw a roaming link's peer at another UDP endpoint. */
  observe(id: number, remote: Uint8Array): void {
    const r = this.links.get(id);
    if (!r || !r.spec.roam) return;
    const endpoint = formatRecord(remote);
    if (endpoint === r.observed) return;
    r.observed = endpoint;
    this.emit('roamed', r, endpoint);
  }

  get(id: number): Link | undefined {
    return this.links.get(id);
  }

  find(name: string): Link | undefined {
    return this.byName.get(name.toLowerCase());
  }

  list(): Link[] {
    return [...this.links.values()].sort((a, b) => a.id - b.id);
  }

  get size(): number {
    return this.links.size;
  }

  nameOf(id: number): string {
    return this.links.get(id)?.name ?? `link${id}`;
  }

  /** Prepare a link with its kind's driver and start forwarding on it. */
  async add(req: LinkRequest): Promise<Link> {
    const key = req.name.toLowerCase();
    if (this.byName.has(key) || this.pending.has(key)) throw new LinkError(`a link named "${req.name}" already exists`);
    const driver = this.drivers.get(req.kind);
    if (!driver) throw new LinkError(`link "${req.name}": no driver for link kind ${req.kind}`);
    this.pending.add(key);
    let prepared: PreparedLink;
    try {
      prepared = await driver.prepare(req);
    } finally {
      this.pending.delete(key);
    }
    let id: number;
    let portId: number | undefined;
    try {
      id = this.ids.take();
      if (prepared.ownPort) portId = this.ports.take();
    } catch (err) {
      await prepared.close();
      throw err;
    }
    const port = portId ?? prepared.spec.port;
    if (port === undefined) throw new LinkError(`link "${req.name}": its driver named no port`);
    const spec: LinkSpec = { ...prepared.spec, id, port };
    const rec = new LinkRecord(id, req, spec, prepared, req.cost);
    for (const r of req.holdDown ?? []) rec.downReasons.add(r);
    for (const h of this.newLinkHolders) if (h.applies(rec)) rec.downReasons.add(h.reason);
    try {
      if (portId !== undefined) this.plane.addPort(portId, prepared.ownPort!);
      this.plane.addLink(spec);
    } catch (err) {
      // The plane refused (a second link to the same underlay address): undo, keep nothing.
      if (portId !== undefined) {
        this.plane.removePort(portId);
        this.ports.release(portId);
      }
      this.ids.release(id);
      await prepared.close();
      throw new LinkError(`link "${req.name}": ${(err as Error).message}`);
    }
    this.links.set(id, rec);
    this.byName.set(key, rec);
    this.emit('added', rec);
    if (rec.up) this.emit('up', rec, 'added');
    return rec;
  }

  /**
   * A link to be that waits for its peer to prove who it is: its sender's packets are counted as
   * drop_unauthenticated until then. Returns the undo (idempotent).
   */
  async holdPending(req: LinkRequest): Promise<() => void> {
    const driver = this.drivers.get(req.kind);
    if (!driver?.underlay || !this.plane.addPendingPeer) return () => undefined;
    const { port, remote } = await driver.underlay(req);
    this.plane.addPendingPeer(port, remote);
    let held = true;
    return () => {
      if (held) this.plane.removePendingPeer?.(port, remote);
      held = false;
    };
  }

  /** Stop forwarding on a link and tear it down; its id is not handed out again soon. */
  async remove(idOrName: number | string): Promise<Link> {
    const rec = typeof idOrName === 'number' ? this.links.get(idOrName) : this.byName.get(idOrName.toLowerCase());
    if (!rec) throw new LinkError(`no link named "${String(idOrName)}"`);
    if (rec.up) {
      rec.downReasons.add('removed');
      this.emit('down', rec, 'removed');
    } else {
      rec.downReasons.add('removed');
    }
    this.links.delete(rec.id);
    this.byName.delete(rec.name.toLowerCase());
    this.plane.removeLink(rec.id);
    if (rec.prepared.ownPort) {
      this.plane.removePort(rec.spec.port);
      this.ports.release(rec.spec.port);
    }
    this.emit('removed', rec);
    this.ids.release(rec.id);
    await rec.prepared.close();
    return rec;
  }

  /**
   * New links that `applies` to start held down by `reason` (BFD: a link carries nothing until its
   * session is Up). Returns the undo; links already held stay so until their holder lets go.
   */
  holdNewLinks(reason: string, applies: (link: Link) => boolean): () => void {
    const holder = { reason, applies };
    this.newLinkHolders.add(holder);
    return () => this.newLinkHolders.delete(holder);
  }

  /** A holder (reason) says the link is down (true) or no longer down (false). */
  setDown(id: number, reason: string, down: boolean): void {
    const rec = this.links.get(id);
    if (!rec) return;
    const wasUp = rec.up;
    const had = rec.downReasons.has(reason);
    if (down) rec.downReasons.add(reason);
    else rec.downReasons.delete(reason);
    if (wasUp && !rec.up) this.emit('down', rec, reason);
    else if (!wasUp && rec.up) this.emit('up', rec, reason);
    if (had !== down) this.emit('held', rec);
  }

  setCost(id: number, cost: number): void {
    const rec = this.links.get(id);
    if (!rec || rec.cost === cost) return;
    rec.cost = cost;
    this.emit('changed', rec);
  }

  /** Remove every link (the daemon's stop). */
  async removeAll(): Promise<void> {
    for (const rec of [...this.links.values()].reverse()) await this.remove(rec.id);
  }
}
