/**
 * One node's WireGuard interface: a supervised `wireguard-go -f <iface>` process, configured over its
 * UAPI socket, with the node's overlay address and the overlay route on the interface.
 *
 * The device keeps the desired state (key, port, peers, address, MTU) itself, because the interface
 * lives only as long as the process: when wireguard-go dies its TUN goes with it, so after a restart
 * everything is applied again. Peer changes made while the process is down wait for that restart.
 *
 * Supervision runs on the injected Timers (backoff, the 30 s "stayed up" reset); waits on the process
 * and its socket are bounded waits on real time, since they wait for the system, not for the protocol.
 */
import { EventEmitter } from 'node:events';
import { access, constants, rm } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { InvalidInputError } from '../../common/errors.js';
import { systemTimers, type Timers } from '../../controlplane/service.js';
import { TUN_TX_QUEUE, ip } from '../../daemon/host-interface.js';
import { WireGuardBusyError, WireGuardDeviceError, WireGuardNotFoundError, type WireGuardUapiError } from './errors.js';
import { keyToHex } from './keys.js';
import { WG_OVERLAY_PREFIX } from './naming.js';
import { WIREGUARD_SOCKET_BUFFER, raiseUdpBuffers, type SocketBufferIo } from './socket-buffers.js';
import { loadNative } from '../../dataplane/io/native.js';
import { formatSetRequest, uapiGet, uapiSet, uapiSocketPath, type UapiDeviceState, type UapiEndpoint, type UapiPeerConfig } from './uapi.js';

export const DEFAULT_WIREGUARD_MTU = 1420;
const START_TIMEOUT_MS = 5000;
const POLL_MS = 50;
const UAPI_TIMEOUT_MS = 2000;
const STABLE_MS = 30_000;
const TERM_GRACE_MS = 3000;
const KILL_GRACE_MS = 2000;
const OUTPUT_LINES_KEPT = 20;

/** The part of a pino logger the device uses. */
export interface WireGuardLog {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface WireGuardPeer {
  publicKey: Uint8Array;
  endpoint: UapiEndpoint;
  /** e.g. ['<peer overlay>/128']. */
  allowedIps: readonly string[];
  keepaliveSeconds?: number;
}

export interface WireGuardDeviceOptions {
  interfaceName: string;
  privateKey: Uint8Array;
  listenPort: number;
  mtu?: number;
  overlayAddress: string;
  /** Tests only: run everything in this namespace (`ip netns exec`, `ip -n`). */
  netns?: string;
  binary?: string;
  log: WireGuardLog;
  timers?: Timers;
  restartBackoff?: { initialMs: number; maxMs: number };
  /** Raises the process's UDP buffers (socket-buffers.ts); default: the native addon. */
  socketBuffers?: SocketBufferIo;
}

export interface WireGuardExit {
  code: number | undefined;
  signal: string | undefined;
}

interface WireGuardEvents {
  /** The process died on its own; a restart is scheduled. */
  exit: [WireGuardExit];
  /** A new process runs with the whole desired state applied again. */
  restarted: [];
}

/** One wireguard-go process. */
interface Proc {
  child: ResultPromise;
  /** The UAPI answers: peer changes go straight to it. */
  ready: boolean;
  /** Fully configured: from here on an exit is a crash to supervise. */
  up: boolean;
  exit?: WireGuardExit & { spawnError?: string };
  exited: Promise<void>;
  output: string[];
}

export class WireGuardDevice extends EventEmitter<WireGuardEvents> {
  readonly interfaceName: string;
  readonly socketPath: string;
  private readonly mtu: number;
  private readonly timers: Timers;
  private readonly backoff: { initialMs: number; maxMs: number };
  private readonly log: WireGuardLog;
  private readonly peers = new Map<string, WireGuardPeer>();
  private proc: Proc | undefined;
  private started = false;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private backoffMs: number;
  private restartTimer: unknown;
  private stableTimer: unknown;
  /** UAPI sets run one at a time, so a full re-apply (replace_peers) never lands after a later peer change. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: WireGuardDeviceOptions) {
    super();
    // The name is also a file name under /var/run/wireguard.
    if (!/^[A-Za-z0-9_=+.-]{1,15}$/.test(opts.interfaceName)) throw new InvalidInputError(`not a usable interface name: ${JSON.stringify(opts.interfaceName)}`);
    this.interfaceName = opts.interfaceName;
    this.socketPath = uapiSocketPath(opts.interfaceName);
    this.mtu = opts.mtu ?? DEFAULT_WIREGUARD_MTU;
    this.timers = opts.timers ?? systemTimers;
    this.backoff = opts.restartBackoff ?? { initialMs: 200, maxMs: 10_000 };
    this.backoffMs = this.backoff.initialMs;
    this.log = opts.log;
    keyToHex(opts.privateKey); // a wrong-length key fails here, not at the first launch
  }

  get pid(): number | undefined {
    return this.proc && !this.proc.exit ? this.proc.child.pid : undefined;
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.up && !this.proc.exit;
  }

  async start(): Promise<void> {
    if (this.started) throw new WireGuardDeviceError(`${this.interfaceName}: already started`);
    this.started = true;
    this.stopping = false;
    this.stopped = undefined;
    let proc: Proc;
    try {
      proc = await this.launch();
    } catch (err) {
      this.started = false;
      if (this.stopping) throw new WireGuardDeviceError(`${this.interfaceName}: stopped while starting`);
      throw err;
    }
    this.armStable(proc);
    this.log.info({ interface: this.interfaceName, pid: proc.child.pid, port: this.opts.listenPort }, 'wireguard-go up');
  }

  /** Add or change a peer (its allowed IPs are replaced, not merged). */
  async setPeer(peer: WireGuardPeer): Promise<void> {
    const request = formatSetRequest({ peers: [peerConfig(peer)] });
    this.peers.set(keyToHex(peer.publicKey), { ...peer, publicKey: Buffer.from(peer.publicKey), endpoint: { ...peer.endpoint }, allowedIps: [...peer.allowedIps] });
    await this.applyIfReady(request);
  }

  async removePeer(publicKey: Uint8Array): Promise<void> {
    const request = formatSetRequest({ peers: [{ publicKey, remove: true }] });
    this.peers.delete(keyToHex(publicKey));
    await this.applyIfReady(request);
  }

  /** The running device's state for `show`: per peer the last handshake and bytes each way. */
  async stats(): Promise<UapiDeviceState> {
    if (!this.running) throw new WireGuardDeviceError(`${this.interfaceName}: wireguard-go is not running`);
    return uapiGet(this.socketPath, UAPI_TIMEOUT_MS);
  }

  /** No more restarts; the process ends, and its interface with it. Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    this.timers.clearTimeout(this.restartTimer);
    this.timers.clearTimeout(this.stableTimer);
    if (this.proc) await this.kill(this.proc);
    // wireguard-go removes its socket on a clean exit, not after SIGKILL; someone else's stays.
    if ((await this.socketState()) === 'stale') await rm(this.socketPath, { force: true });
    this.started = false;
  }

  /** Spawn wireguard-go and apply the whole desired state; on any failure the process is ended. */
  private async launch(): Promise<Proc> {
    const state = await this.socketState();
    if (state === 'live') throw new WireGuardBusyError(`another wireguard-go already runs ${this.interfaceName} (${this.socketPath} answers)`);
    if (state === 'stale') await rm(this.socketPath, { force: true });
    const binary = await resolveBinary(this.opts.binary ?? 'wireguard-go');
    if (this.stopping) throw new WireGuardDeviceError(`${this.interfaceName}: stopped`);
    const proc = this.spawn(binary);
    try {
      await this.waitForUapi(proc);
      proc.ready = true;
      await this.serialized(() => uapiSet(this.socketPath, this.fullState(), UAPI_TIMEOUT_MS));
      const where = this.opts.netns ? { netns: this.opts.netns } : {};
      const iface = this.interfaceName;
      const addr = this.opts.overlayAddress;
      // No kernel link-local: WireGuard would drop the kernel's router solicitations anyway.
      await ip(['link', 'set', 'dev', iface, 'addrgenmode', 'none'], where).catch(() => undefined);
      await ip(['link', 'set', 'dev', iface, 'mtu', String(this.mtu), 'txqueuelen', String(TUN_TX_QUEUE), 'up'], where);
      await ip(['-6', 'addr', 'replace', `${addr}/128`, 'dev', iface, 'nodad'], where);
      await ip(['-6', 'route', 'replace', WG_OVERLAY_PREFIX, 'dev', iface, 'src', addr], where);
      if (proc.exit) throw this.exitError(proc, 'while it was being configured');
      proc.up = true;
      await this.raiseBuffers(proc);
      return proc;
    } catch (err) {
      await this.kill(proc);
      throw err;
    }
  }

  /**
   * wireguard-go binds its UDP sockets once its interface is up: wait for them (briefly), then give
   * them upstream's buffer size. A failure costs throughput, not the link: logged, not thrown.
   */
  private async raiseBuffers(proc: Proc): Promise<void> {
    const pid = proc.child.pid;
    if (pid === undefined) return;
    let io: SocketBufferIo;
    try {
      io = this.opts.socketBuffers ?? loadNative();
    } catch {
      return;
    }
    const deadline = performance.now() + 1000;
    try {
      for (;;) {
        const n = await raiseUdpBuffers(io, pid, this.opts.listenPort);
        if (n > 0) {
          this.log.debug({ interface: this.interfaceName, sockets: n, bytes: WIREGUARD_SOCKET_BUFFER }, 'wireguard-go socket buffers raised');
          return;
        }
        if (performance.now() > deadline || proc.exit) break;
        await sleep(POLL_MS);
      }
      this.log.warn({ interface: this.interfaceName, port: this.opts.listenPort }, 'wireguard-go socket buffers left as they are: its UDP sockets were not found');
    } catch (err) {
      this.log.warn({ interface: this.interfaceName, err: (err as Error).message }, 'wireguard-go socket buffers left as they are');
    }
  }

  private spawn(binary: string): Proc {
    const args = ['-f', this.interfaceName];
    const [cmd, argv] = this.opts.netns ? ['ip', ['netns', 'exec', this.opts.netns, binary, ...args]] : [binary, args];
    const child = execa(cmd, argv, {
      env: { WG_PROCESS_FOREGROUND: '1' },
      reject: false,
      cleanup: true,
      buffer: false,
      stdin: 'ignore',
    });
    const proc: Proc = { child, ready: false, up: false, output: [], exited: Promise.resolve() };
    for (const [stream, input] of [['stdout', child.stdout], ['stderr', child.stderr]] as const) {
      createInterface({ input }).on('line', (line) => {
        proc.output.push(line);
        if (proc.output.length > OUTPUT_LINES_KEPT) proc.output.shift();
        this.log.debug({ interface: this.interfaceName, stream }, line);
      });
    }
    proc.exited = child
      .then((r) => {
        const { exitCode, signal, code } = r as { exitCode?: number; signal?: string; code?: string };
        proc.exit = { code: exitCode, signal, ...(code ? { spawnError: code } : {}) };
        this.onExit(proc);
      })
      .catch((err: unknown) => this.log.error({ interface: this.interfaceName, err }, 'wireguard-go exit handling failed'));
    this.proc = proc;
    return proc;
  }

  private onExit(proc: Proc): void {
    if (this.proc === proc) this.proc = undefined;
    if (!proc.up || this.stopping) return;
    this.timers.clearTimeout(this.stableTimer);
    const exit = { code: proc.exit!.code, signal: proc.exit!.signal };
    this.log.warn({ interface: this.interfaceName, ...exit, output: proc.output.slice(-5), restartInMs: this.backoffMs }, 'wireguard-go exited; restarting');
    this.emit('exit', exit);
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    const delay = this.backoffMs;
    this.backoffMs = Math.min(delay * 2, this.backoff.maxMs);
    this.restartTimer = this.timers.setTimeout(() => {
      this.restartTimer = undefined;
      this.restart().catch((err: unknown) => this.log.error({ interface: this.interfaceName, err }, 'wireguard-go restart handling failed'));
    }, delay);
  }

  private async restart(): Promise<void> {
    if (this.stopping) return;
    let proc: Proc;
    try {
      proc = await this.launch();
    } catch (err) {
      if (this.stopping) return;
      this.log.warn({ interface: this.interfaceName, err: (err as Error).message, retryInMs: this.backoffMs }, 'wireguard-go restart failed');
      this.scheduleRestart();
      return;
    }
    // Died again already: its exit has scheduled the next attempt.
    if (this.stopping || proc.exit) return;
    this.armStable(proc);
    this.log.info({ interface: this.interfaceName, pid: proc.child.pid }, 'wireguard-go restarted');
    this.emit('restarted');
  }

  /** A process that stays up 30 s has earned a fresh backoff. */
  private armStable(proc: Proc): void {
    this.timers.clearTimeout(this.stableTimer);
    this.stableTimer = this.timers.setTimeout(() => {
      if (this.proc === proc) this.backoffMs = this.backoff.initialMs;
    }, STABLE_MS);
  }

  private async waitForUapi(proc: Proc): Promise<void> {
    const deadline = performance.now() + START_TIMEOUT_MS;
    for (;;) {
      if (proc.exit) throw this.exitError(proc, 'before its UAPI socket answered');
      try {
        await uapiGet(this.socketPath, UAPI_TIMEOUT_MS);
        return;
      } catch (err) {
        if (performance.now() > deadline) {
          throw new WireGuardDeviceError(`${this.interfaceName}: the UAPI socket did not answer within ${START_TIMEOUT_MS} ms (${(err as Error).message})${outputOf(proc)}`);
        }
      }
      await sleep(POLL_MS);
    }
  }

  private exitError(proc: Proc, when: string): Error {
    if (proc.exit?.spawnError === 'ENOENT') return notFound(this.opts.binary ?? 'wireguard-go');
    const how = proc.exit?.signal ? `signal ${proc.exit.signal}` : `code ${proc.exit?.code}`;
    return new WireGuardDeviceError(`${this.interfaceName}: wireguard-go exited (${how}) ${when}${outputOf(proc)}`);
  }

  /** SIGTERM, then SIGKILL after a grace period; resolves once it is gone (or given up on). */
  private async kill(proc: Proc): Promise<void> {
    if (proc.exit) return;
    proc.child.kill('SIGTERM');
    if (await settlesWithin(proc.exited, TERM_GRACE_MS)) return;
    this.log.warn({ interface: this.interfaceName, pid: proc.child.pid }, 'wireguard-go ignored SIGTERM; killing it');
    proc.child.kill('SIGKILL');
    await settlesWithin(proc.exited, KILL_GRACE_MS);
  }

  private async applyIfReady(request: string): Promise<void> {
    const proc = this.proc;
    if (!proc?.ready || proc.exit) return;
    try {
      await this.serialized(() => uapiSet(this.socketPath, request, UAPI_TIMEOUT_MS));
    } catch (err) {
      // Died meanwhile: the restart applies the desired state, this change included.
      if (this.proc === proc && !proc.exit) throw err;
    }
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Built when it is sent, not when it is queued, so it carries every peer change made before. */
  private fullState(): string {
    return formatSetRequest({
      privateKey: this.opts.privateKey,
      listenPort: this.opts.listenPort,
      replacePeers: true,
      peers: [...this.peers.values()].map(peerConfig),
    });
  }

  /** live: something answers on the socket; stale: a file nobody listens on. */
  private async socketState(): Promise<'absent' | 'stale' | 'live'> {
    try {
      await uapiGet(this.socketPath, UAPI_TIMEOUT_MS);
      return 'live';
    } catch (err) {
      const code = (err as WireGuardUapiError).code;
      if (code === 'ENOENT') return 'absent';
      if (code === 'ECONNREFUSED') return 'stale';
      return 'live';
    }
  }
}

function peerConfig(p: WireGuardPeer): UapiPeerConfig {
  return {
    publicKey: p.publicKey,
    endpoint: p.endpoint,
    // Always sent, so that dropping keepaliveSeconds from a peer turns it off.
    persistentKeepaliveInterval: p.keepaliveSeconds ?? 0,
    replaceAllowedIps: true,
    allowedIps: p.allowedIps,
  };
}

/** The binary's path, checked before spawning: under `ip netns exec` a missing one is only an exit code. */
async function resolveBinary(binary: string): Promise<string> {
  const candidates = binary.includes('/') ? [binary] : (process.env['PATH'] ?? '').split(delimiter).filter(Boolean).map((d) => join(d, binary));
  for (const c of candidates) {
    try {
      await access(c, constants.X_OK);
      return c;
    } catch {
      /* next */
    }
  }
  throw notFound(binary);
}

function notFound(binary: string): WireGuardNotFoundError {
  const where = binary.includes('/') ? binary : `${binary} in PATH`;
  return new WireGuardNotFoundError(`wireguard-go not found: install the wireguard-go package (apt-get install wireguard-go); looked for ${where}`);
}

function outputOf(proc: Proc): string {
  return proc.output.length ? `: ${proc.output.slice(-5).join(' | ')}` : '';
}

/** Whether `p` settles within `ms` (the timer does not outlive it). */
function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    const done = (): void => {
      clearTimeout(t);
      resolve(true);
    };
    p.then(done, done);
  });
}
