/**
 * LAN discovery: every interval, on every eligible interface (lan-interfaces.ts), a signed beacon to a
 * link-local multicast group; beacons heard from others are checked (lan-receive.ts) and reported as
 * `candidate` events. No Moltbook and no config: two nodes on one LAN find each other.
 *
 * One UDP socket per interface, bound to the group with the interface as its scope
 * ([ff02::6d6f:6c74%eth0]:6803). Binding a link-local-scope address with a scope binds the socket to
 * that device, which gives three things a single [::]:6803 socket does not:
 *   - the interface a beacon came in on is the socket's, even when the sender's source address is a
 *     ULA or global one with no scope (a sender whose link-local address is still tentative);
 *   - a send leaves on that device or fails (ENETUNREACH once it is gone). libuv turns an unknown
 *     interface name into scope 0, and a send to ff02::…%gone would leave on whichever interface the
 *     kernel picks, announcing an endpoint that is not on that link;
 *   - nothing else reaches it: not unicast to the port, not the group arriving on an interface that
 *     another process joined (IPV6_MULTICAST_ALL would hand those to a [::] socket).
 * Each socket joins the group on its interface (addMembership(group, '::%eth0')), sends with hop limit 1
 * and without loopback, and is closed when its interface goes or comes back with another index.
 * Interfaces are scanned again before every round, so they may come and go.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { networkInterfaces } from 'node:os';
import { InvalidInputError } from '../../common/errors.js';
import { parseIpv6 } from '../../common/address.js';
import { PORTS } from '../../common/ports.js';
import { systemClock, type Clock } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import { systemTimers, type Timers } from '../service.js';
import type { SignedBinding } from '../peering/messages.js';
import { encodeBeacon } from './beacon.js';
import { beaconInterfaces, type BeaconInterface, type InterfaceSnapshot } from './lan-interfaces.js';
import { BeaconReceiver, type LanCandidate } from './lan-receive.js';

export type { LanCandidate } from './lan-receive.js';

export const LAN_BEACON_PORT = PORTS.lanBeacon;
/** "mo" "lt" in the link-local scope (ff02::/16): never routed off the link. */
export const LAN_BEACON_GROUP = 'ff02::6d6f:6c74';
export const DEFAULT_BEACON_INTERVAL_MS = 10_000;
/** Each interval is drawn from ±20% of the nominal one, so nodes started together do not stay in step. */
export const BEACON_JITTER = 0.2;
export const DEFAULT_BEACON_RATE_LIMIT = 10;

export interface LanBeaconsOptions {
  port?: number;
  /** A link-local-scope multicast group (ffX2::/16). */
  group?: string;
  intervalMs?: number;
  /** Only these interfaces (`*` matches any run of characters). */
  interfaces?: readonly string[];
  /** Never these interfaces (same patterns). */
  exclude?: readonly string[];
  /** The signed binding to announce on an interface; its endpoint should be `address` (and a port). */
  makeBeacon(iface: { name: string; address: string }): Promise<SignedBinding>;
  /** Beacons naming this uuid are ours, heard back: dropped. */
  ownUuid: string;
  /** Beacons one source may send per interval; the rest are counted and dropped. */
  rateLimit?: number;
  log: Logger;
  timers?: Timers;
  clock?: Clock;
  /** [0, 1), for the jitter. */
  random?: () => number;
  /** The interfaces as os.networkInterfaces() reports them. */
  listInterfaces?: () => InterfaceSnapshot;
}

export interface LanCounters {
  /** Datagrams received, whatever they were. */
  rx: number;
  /** Not a beacon, or a binding that does not decode. */
  rx_bad: number;
  /** A binding whose uuid, address or signature does not hold. */
  rx_unverified: number;
  /** Naming our own uuid. */
  rx_own: number;
  /** Over a source's budget for the interval (dropped unread). */
  rx_ratelimited: number;
  tx: number;
  /** Beacons not sent: the signer failed, the beacon was too big, or the send failed. */
  tx_errors: number;
}

export interface LanBeaconsEvents {
  candidate: [LanCandidate];
}

interface Port {
  iface: BeaconInterface;
  socket: Socket;
  /** Bound and joined (false: it failed or was closed first). */
  ready: Promise<boolean>;
  settle: (ok: boolean) => void;
  listening: boolean;
  closed: boolean;
  /** A beacon is being signed or sent: a round does not start another (a slow signer never piles up). */
  sending: boolean;
  /** A send failure has been logged at warn; the next ones go to debug until one succeeds. */
  failing: boolean;
}

export class LanBeacons extends EventEmitter<LanBeaconsEvents> {
  readonly counters: LanCounters = { rx: 0, rx_bad: 0, rx_unverified: 0, rx_own: 0, rx_ratelimited: 0, tx: 0, tx_errors: 0 };
  private readonly port: number;
  private readonly group: string;
  private readonly intervalMs: number;
  private readonly timers: Timers;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly listInterfaces: () => InterfaceSnapshot;
  private readonly receiver: BeaconReceiver;
  private readonly log: Logger;
  private readonly ports = new Map<string, Port>();
  /** Interfaces whose socket failed and was logged at warn: tried again every round, logged at debug. */
  private readonly failedInterfaces = new Set<string>();
  private running = false;
  /** Bumped by start and stop: a round or timer from an earlier run does nothing. */
  private generation = 0;
  private timer: unknown;

  constructor(private readonly o: LanBeaconsOptions) {
    super();
    this.port = o.port ?? LAN_BEACON_PORT;
    this.group = o.group ?? LAN_BEACON_GROUP;
    this.intervalMs = o.intervalMs ?? DEFAULT_BEACON_INTERVAL_MS;
    const g = parseIpv6(this.group);
    // The per-interface sockets rely on the kernel tying a link-local-scope address to its device.
    if (!g || g[0] !== 0xff || (g[1]! & 0x0f) !== 0x2) throw new InvalidInputError(`LAN beacon group ${JSON.stringify(this.group)} is not a link-local-scope IPv6 multicast address (ffX2::/16)`);
    if (!Number.isInteger(this.port) || this.port < 1 || this.port > 65535) throw new InvalidInputError(`LAN beacon port ${this.port} is not 1-65535`);
    if (!(this.intervalMs > 0)) throw new InvalidInputError(`LAN beacon interval ${this.intervalMs} ms is not positive`);
    this.timers = o.timers ?? systemTimers;
    this.clock = o.clock ?? systemClock;
    this.random = o.random ?? Math.random;
    this.listInterfaces = o.listInterfaces ?? networkInterfaces;
    this.log = o.log;
    this.receiver = new BeaconReceiver({ ownUuid: o.ownUuid, windowMs: this.intervalMs, maxPerSource: o.rateLimit ?? DEFAULT_BEACON_RATE_LIMIT });
  }

  /**
   * Open the interfaces' sockets and send the first beacons at once (a node that starts finds its
   * neighbours without waiting an interval). Resolves when the sockets are bound; an interface whose
   * socket cannot be bound is logged and tried again at the next scan. Idempotent.
   */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.generation++;
    this.cycle(this.generation);
    await Promise.all([...this.ports.values()].map((p) => p.ready));
  }

  /** Close every socket and clear the timer. Idempotent; start() may run it again. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.generation++;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    for (const p of [...this.ports.values()]) this.close(p, 'stopped');
  }

  /** The interfaces listening now, with what each announces. */
  activeInterfaces(): BeaconInterface[] {
    return [...this.ports.values()].filter((p) => p.listening && !p.closed).map((p) => ({ ...p.iface }));
  }

  /**
   * One round: scan, then a beacon on each interface; the next round after a jittered interval. The
   * rhythm does not wait for the beacons, so a signer that is slow (Minima signs over RPC) delays only
   * its own beacon, and an interface whose last beacon is still in hand skips this round.
   */
  private cycle(generation: number): void {
    this.scan();
    for (const p of this.ports.values()) {
      if (!p.sending) void this.beacon(p);
    }
    const jitter = 1 - BEACON_JITTER + 2 * BEACON_JITTER * this.random();
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      if (this.running && generation === this.generation) this.cycle(generation);
    }, Math.round(this.intervalMs * jitter));
  }

  /** Bring the sockets in line with the interfaces there are now. */
  private scan(): void {
    let snapshot: InterfaceSnapshot;
    try {
      snapshot = this.listInterfaces();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'LAN beacons: cannot list the interfaces');
      return;
    }
    const want = new Map(beaconInterfaces(snapshot, { ...(this.o.interfaces ? { interfaces: this.o.interfaces } : {}), ...(this.o.exclude ? { exclude: this.o.exclude } : {}) }).map((i) => [i.name, i]));
    for (const p of [...this.ports.values()]) {
      const w = want.get(p.iface.name);
      if (!w) this.close(p, 'the interface is gone or no longer eligible');
      else if (w.index !== p.iface.index) this.close(p, `the interface came back as index ${w.index}`);
    }
    for (const w of want.values()) {
      const p = this.ports.get(w.name);
      if (!p) {
        this.ports.set(w.name, this.open(w));
      } else if (p.iface.endpointAddress !== w.endpointAddress || p.iface.linkLocal !== w.linkLocal) {
        this.log.info({ interface: w.name, endpoint: w.endpointAddress ?? null }, 'LAN beacons: the interface\'s addresses changed');
        p.iface = w;
      }
    }
  }

  private open(iface: BeaconInterface): Port {
    const socket = createSocket({ type: 'udp6', reuseAddr: true });
    let settle!: (ok: boolean) => void;
    const ready = new Promise<boolean>((resolve) => (settle = resolve));
    const port: Port = { iface, socket, ready, settle, listening: false, closed: false, sending: false, failing: false };
    socket.on('message', (msg, rinfo) => this.onMessage(port, msg, rinfo));
    socket.once('listening', () => {
      if (port.closed) return;
      try {
        socket.addMembership(this.group, `::%${iface.name}`);
        socket.setMulticastTTL(1);
        socket.setMulticastLoopback(false);
      } catch (err) {
        this.socketFailed(port, `cannot join the group: ${(err as Error).message}`);
        return;
      }
      port.listening = true;
      this.failedInterfaces.delete(iface.name);
      this.log.info({ interface: iface.name, group: this.group, port: this.port, endpoint: iface.endpointAddress ?? null }, 'LAN beacons on the interface');
      settle(true);
    });
    // With a callback on every send, the errors that come here are bind failures and worse.
    socket.on('error', (err) => this.socketFailed(port, `socket error: ${err.message}`));
    socket.bind({ port: this.port, address: `${this.group}%${iface.name}` });
    return port;
  }

  private socketFailed(p: Port, why: string): void {
    const first = !this.failedInterfaces.has(p.iface.name);
    this.failedInterfaces.add(p.iface.name);
    this.log[first ? 'warn' : 'debug']({ interface: p.iface.name, err: why }, 'LAN beacons: the interface\'s socket failed (tried again next round)');
    this.close(p, why);
  }

  private close(p: Port, why: string): void {
    if (p.closed) return;
    p.closed = true;
    p.settle(false);
    if (this.ports.get(p.iface.name) === p) this.ports.delete(p.iface.name);
    try {
      p.socket.close();
    } catch {
      // Already closed by a failed bind.
    }
    this.log[this.running ? 'info' : 'debug']({ interface: p.iface.name, reason: why }, 'LAN beacons off the interface');
  }

  private async beacon(p: Port): Promise<void> {
    p.sending = true;
    try {
      if (!(await p.ready) || p.closed) return;
      const address = p.iface.endpointAddress;
      if (address === undefined) return;
      const buf = encodeBeacon(await this.o.makeBeacon({ name: p.iface.name, address }));
      if (p.closed) return;
      await new Promise<void>((resolve) => {
        // No scope on the destination: the socket's device decides (see the top of the file).
        p.socket.send(buf, this.port, this.group, (err) => {
          if (err) {
            this.txFailed(p, err);
          } else {
            this.counters.tx++;
            p.failing = false;
          }
          resolve();
        });
      });
    } catch (err) {
      // The signer failed, the beacon is over the size limit, or the socket closed under the send.
      this.txFailed(p, err as Error);
    } finally {
      p.sending = false;
    }
  }

  private txFailed(p: Port, err: Error): void {
    this.counters.tx_errors++;
    const fields = { interface: p.iface.name, err: err.message };
    if (p.failing) {
      this.log.debug(fields, 'LAN beacon not sent');
    } else {
      p.failing = true;
      this.log.warn(fields, 'LAN beacon not sent');
    }
  }

  private onMessage(p: Port, msg: Buffer, rinfo: RemoteInfo): void {
    if (p.closed) return;
    this.counters.rx++;
    const v = this.receiver.receive(msg, p.iface.name, rinfo.address, this.clock.now());
    if ('drop' in v) {
      this.counters[v.drop]++;
      this.log.debug({ interface: p.iface.name, from: rinfo.address, reason: v.reason }, 'LAN beacon dropped');
      return;
    }
    this.emit('candidate', v.candidate);
  }
}
