/**
 * The node's one WireGuard interface as the links see it: the key pair (stateDir/wireguard.key, made
 * on first use, offered to peers in the handshake), and the supervised wireguard-go device, started
 * when the first wireguard link is made and stopped with the daemon. Each wireguard link is a peer of
 * the device whose allowed IP is the peer's overlay address; the link itself is VXLAN to that address.
 */
import { lookup } from 'node:dns/promises';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../../common/log.js';
import { MoltnetError } from '../../common/errors.js';
import type { WireGuardDevice } from './device.js';
import { loadOrCreateWireGuardKey, type WireGuardKeyPair } from './keys.js';
import { overlayAddress, wireguardInterfaceName } from './naming.js';

export interface WireGuardSettings {
  listenPort: number;
  mtu: number;
  interface?: string | undefined;
  binary: string;
}

/** Keepalives keep NAT and stateful-firewall mappings open between the two ends. */
const KEEPALIVE_SECONDS = 25;
/** The running wireguard-go's pid, so a daemon that was killed (SIGKILL skips our cleanup) finds its orphan. */
const PID_FILE = 'wireguard-go.pid';

export class WireGuardHost {
  readonly interfaceName: string;
  readonly overlay: string;
  private keys: WireGuardKeyPair | undefined;
  private device: WireGuardDevice | undefined;
  private starting: Promise<WireGuardDevice> | undefined;

  constructor(
    private readonly o: { stateDir: string; uuid: string; meshAddress: Uint8Array; settings: WireGuardSettings; log: Logger },
  ) {
    this.interfaceName = o.settings.interface ?? wireguardInterfaceName(o.uuid);
    this.overlay = overlayAddress(o.meshAddress);
  }

  /** The public key and port peers learn in the handshake. */
  async offer(): Promise<{ publicKey: Buffer; port: number }> {
    this.keys ??= await loadOrCreateWireGuardKey(this.o.stateDir);
    return { publicKey: this.keys.publicKey, port: this.o.settings.listenPort };
  }

  /** The largest inner packet a link over the device carries: its MTU less VXLAN over IPv6 (40+8+8+14). */
  get linkMtu(): number {
    return this.o.settings.mtu - 70;
  }

  /** Add (or update) a peer of the device; the device starts on the first. */
  async addPeer(p: { publicKey: Uint8Array; host: string; port: number; peerMesh: Uint8Array }): Promise<void> {
    const device = await this.ensure();
    const host = isIP(p.host) ? p.host : (await lookup(p.host)).address;
    await device.setPeer({
      publicKey: p.publicKey,
      endpoint: { host, port: p.port },
      allowedIps: [`${overlayAddress(p.peerMesh)}/128`],
      keepaliveSeconds: KEEPALIVE_SECONDS,
    });
  }

  async removePeer(publicKey: Uint8Array): Promise<void> {
    await this.device?.removePeer(publicKey);
  }

  async stats(): Promise<unknown> {
    if (!this.device) return { interface: this.interfaceName, running: false };
    return { interface: this.interfaceName, running: this.device.running, pid: this.device.pid, overlay: this.overlay, ...(await this.device.stats().catch((err: Error) => ({ error: err.message }))) };
  }

  async stop(): Promise<void> {
    const d = this.device ?? (await this.starting?.catch(() => undefined));
    this.device = undefined;
    this.starting = undefined;
    await d?.stop();
    if (d) await rm(this.pidPath, { force: true });
  }

  private get pidPath(): string {
    return join(this.o.stateDir, PID_FILE);
  }

  private async savePid(pid: number | undefined): Promise<void> {
    if (pid !== undefined) await writeFile(this.pidPath, `${pid}\n`, { mode: 0o600 }).catch(() => undefined);
  }

  /**
   * A wireguard-go left by this node's previous daemon (killed before it could stop it) still holds
   * the interface: end it, but only if the pid is a wireguard-go for our interface name.
   */
  private async killOrphan(): Promise<void> {
    const pid = Number((await readFile(this.pidPath, 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(pid) || pid <= 1) return;
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (!cmdline.some((a) => a.endsWith('wireguard-go')) || !cmdline.includes(this.interfaceName)) return;
    this.o.log.warn({ pid, interface: this.interfaceName }, 'ending the wireguard-go a previous daemon left running');
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100; i++) {
      if (!(await readFile(`/proc/${pid}/cmdline`, 'utf8').then(() => true, () => false))) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await rm(this.pidPath, { force: true });
  }

  private ensure(): Promise<WireGuardDevice> {
    if (this.device) return Promise.resolve(this.device);
    this.starting ??= (async () => {
      const { privateKey } = await this.offer().then(() => this.keys!);
      // Loaded with the first WireGuard peer: a node without one never carries execa (MiBs resident).
      const { WireGuardDevice } = await import('./device.js');
      const device = new WireGuardDevice({
        interfaceName: this.interfaceName,
        privateKey,
        listenPort: this.o.settings.listenPort,
        mtu: this.o.settings.mtu,
        overlayAddress: this.overlay,
        binary: this.o.settings.binary,
        log: this.o.log,
      });
      device.on('exit', (e) => this.o.log.warn({ interface: this.interfaceName, ...e }, 'wireguard-go exited; restarting it'));
      device.on('restarted', () => {
        this.o.log.info({ interface: this.interfaceName, pid: device.pid }, 'wireguard-go restarted; peers applied again');
        void this.savePid(device.pid);
      });
      try {
        await this.killOrphan();
        await device.start();
        await this.savePid(device.pid);
      } catch (err) {
        this.starting = undefined;
        throw err instanceof MoltnetError ? err : new MoltnetError(`cannot start WireGuard: ${(err as Error).message}`);
      }
      this.device = device;
      return device;
    })();
    return this.starting;
  }
}
