/**
 * The control-side drivers of the link kinds: what it takes to make a link before a packet can cross
 * it, apart from the hot-path link objects (vxlan-link.ts, gre-link.ts, kernel-link.ts).
 *
 *   vxlan   resolve the peer's endpoint (a DNS name is looked up each time the link is made)
 *   gre     the same, and the RFC 2890 key derived from both agents' UUIDs (order-independent)
 *   wireguard  the peer joins the node's wireguard-go device (its key and port from the handshake,
 *           the host of its endpoint), and the link is VXLAN to the peer's overlay address through it,
 *           so the underlay sees only WireGuard; closing the link removes the peer from the device
 *   kernel  open a TUN, move it into its namespace, give the kernel side its address; closing the fd
 *           removes the device wherever it went
 */
import { formatIpv6, meshAddressBytes } from '../common/address.js';
import { MoltnetError } from '../common/errors.js';
import type { KernelLinkConfig, PeerConfig } from '../config/schema.js';
import type { NativeAddon } from '../dataplane/io/native.js';
import type { LinkDriver, LinkRequest, PreparedLink } from './link-driver.js';
import { addressRecord, resolveEndpoint, formatRecord } from './endpoint.js';
import { deriveGreKey } from './wire/gre.js';
import { DEFAULT_VNI } from './wire/vxlan.js';
import { PORT_GRE, PORT_VXLAN } from './link-spec.js';
import type { WireGuardHost } from './wireguard/host.js';
import { overlayAddress } from './wireguard/naming.js';

export interface DriverEnv {
  io: Pick<NativeAddon, 'tunOpen' | 'close'>;
  /** Largest inner packet on every link. */
  mtu: number;
  localUuid: string;
  localMesh: Uint8Array;
  localLinkLocal: Uint8Array;
  /** Hand a kernel link's TUN to the kernel (namespace, address, up). */
  configureKernelLink(o: { name: string; mtu: number; netns?: string | undefined; address?: string | undefined }): Promise<void>;
  /** The node's WireGuard interface (wireguard links). */
  wireguard?: WireGuardHost;
}

export interface PeerLinkParams {
  peer: PeerConfig;
  /** Send to the UDP port the peer's packets come from (an inbound peer, maybe behind NAT). */
  roam?: boolean;
  /** What the handshake taught about a wireguard peer. */
  wireguard?: { publicKey: Uint8Array; port: number };
}

export interface KernelLinkParams {
  kernel: KernelLinkConfig;
}

function tunnelDriver(kind: 'vxlan' | 'gre', env: DriverEnv): LinkDriver {
  return {
    kind,
    async underlay(req: LinkRequest) {
      const { peer } = req.params as PeerLinkParams;
      return { port: kind === 'gre' ? PORT_GRE : PORT_VXLAN, remote: await resolveEndpoint(peer.endpoint) };
    },
    async prepare(req: LinkRequest): Promise<PreparedLink> {
      const { peer, roam } = req.params as PeerLinkParams;
      const remote = await resolveEndpoint(peer.endpoint);
      const peerMesh = meshAddressBytes(peer.address);
      const base = {
        ...(roam ? { roam: true } : {}),
        name: req.name,
        kind,
        port: kind === 'gre' ? PORT_GRE : PORT_VXLAN,
        remote,
        mtu: env.mtu,
        localMesh: env.localMesh,
        localLinkLocal: env.localLinkLocal,
        peerMesh,
      };
      if (kind === 'vxlan') {
        const vni = peer.vni ?? DEFAULT_VNI;
        return { spec: { ...base, vni }, describe: { peer: formatIpv6(peerMesh), endpoint: formatRecord(remote), vni }, close() {} };
      }
      // The config refuses a gre peer without its uuid: the key needs both UUIDs.
      if (peer.uuid === undefined) throw new MoltnetError(`peer "${peer.name}": a gre link needs the peer's uuid`);
      const greKey = deriveGreKey(env.localUuid, peer.uuid);
      return { spec: { ...base, greKey }, describe: { peer: formatIpv6(peerMesh), endpoint: formatRecord(remote), greKey }, close() {} };
    },
  };
}

function wireguardDriver(env: DriverEnv): LinkDriver {
  const overlayRecord = (peer: PeerConfig) => addressRecord(overlayAddress(meshAddressBytes(peer.address)), 4789);
  return {
    kind: 'wireguard',
    async underlay(req: LinkRequest) {
      return { port: PORT_VXLAN, remote: overlayRecord((req.params as PeerLinkParams).peer) };
    },
    async prepare(req: LinkRequest): Promise<PreparedLink> {
      const { peer, wireguard } = req.params as PeerLinkParams;
      const host = env.wireguard;
      if (!host) throw new MoltnetError(`peer "${peer.name}": WireGuard is not available on this node`);
      if (!wireguard) throw new MoltnetError(`peer "${peer.name}": a wireguard link needs the peer's key from the peering handshake`);
      const peerMesh = meshAddressBytes(peer.address);
      await host.addPeer({ publicKey: wireguard.publicKey, host: peer.endpoint.host, port: wireguard.port, peerMesh });
      const vni = peer.vni ?? DEFAULT_VNI;
      return {
        spec: {
          name: req.name,
          kind: 'vxlan',
          port: PORT_VXLAN,
          remote: overlayRecord(peer),
          mtu: Math.min(env.mtu, host.linkMtu),
          localMesh: env.localMesh,
          localLinkLocal: env.localLinkLocal,
          peerMesh,
          vni,
        },
        describe: {
          peer: formatIpv6(peerMesh),
          endpoint: `${peer.endpoint.host.includes(':') ? `[${peer.endpoint.host}]` : peer.endpoint.host}:${wireguard.port}`,
          vni,
          wireguard: { interface: host.interfaceName, overlay: overlayAddress(peerMesh), publicKey: Buffer.from(wireguard.publicKey).toString('base64') },
        },
        close: () => host.removePeer(wireguard.publicKey),
      };
    },
  };
}

function kernelDriver(env: DriverEnv): LinkDriver {
  return {
    kind: 'kernel',
    async prepare(req: LinkRequest): Promise<PreparedLink> {
      const { kernel } = req.params as KernelLinkParams;
      let tun: { fd: number; name: string };
      try {
        tun = env.io.tunOpen(kernel.name);
      } catch (err) {
        throw new MoltnetError(`cannot create kernel link ${kernel.name}: ${(err as Error).message}`);
      }
      try {
        await env.configureKernelLink({ name: tun.name, mtu: env.mtu, netns: kernel.netns, address: kernel.address });
      } catch (err) {
        env.io.close(tun.fd);
        throw err;
      }
      return {
        spec: {
          name: req.name,
          kind: 'kernel',
          remote: new Uint8Array(20),
          mtu: env.mtu,
          localMesh: env.localMesh,
          localLinkLocal: env.localLinkLocal,
          peerMesh: new Uint8Array(16),
        },
        ownPort: { fd: tun.fd, kind: 'tun' },
        describe: { peer: null, endpoint: kernel.netns ?? 'host', interface: tun.name },
        close: () => env.io.close(tun.fd),
      };
    },
  };
}

/** One driver per link kind. */
export function linkDrivers(env: DriverEnv): LinkDriver[] {
  return [tunnelDriver('vxlan', env), tunnelDriver('gre', env), wireguardDriver(env), kernelDriver(env)];
}
