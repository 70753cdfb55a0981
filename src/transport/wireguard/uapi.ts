/**
 * The WireGuard cross-platform UAPI (https://www.wireguard.com/xplatform/): `key=value` lines over the
 * unix socket wireguard-go makes at /var/run/wireguard/<iface>.sock, a request ending in a blank line,
 * a reply ending in `errno=N` and a blank line. The formatter and parser are pure; the client makes one
 * connection per request, as `wg` does.
 *
 * The socket directory is the host's, not the network namespace's: interface names must be unique
 * across every namespace of the host, not just within one.
 */
import { connect } from 'node:net';
import { join } from 'node:path';
import { formatIpv6, parseIpv4, parseIpv6 } from '../../common/address.js';
import { InvalidInputError } from '../../common/errors.js';
import { WireGuardUapiError } from './errors.js';
import { keyFromHex, keyToHex } from './keys.js';

export const WG_SOCKET_DIR = '/var/run/wireguard';
/** A get=1 reply with a few thousand peers is well under this; more means it is not wireguard-go. */
const MAX_REPLY_BYTES = 4 * 1024 * 1024;

export function uapiSocketPath(interfaceName: string): string {
  return join(WG_SOCKET_DIR, `${interfaceName}.sock`);
}

export interface UapiEndpoint {
  host: string;
  port: number;
}

export interface UapiPeerConfig {
  publicKey: Uint8Array;
  remove?: boolean;
  /** Only change the peer if it is already there. */
  updateOnly?: boolean;
  endpoint?: UapiEndpoint;
  /** Seconds; 0 turns it off. */
  persistentKeepaliveInterval?: number;
  replaceAllowedIps?: boolean;
  /** `address/length`, IPv6 or IPv4. */
  allowedIps?: readonly string[];
}

export interface UapiSetRequest {
  privateKey?: Uint8Array;
  listenPort?: number;
  replacePeers?: boolean;
  peers?: readonly UapiPeerConfig[];
}

export const GET_REQUEST = 'get=1\n\n';

/** A `set=1` request. Throws InvalidInputError for a value the UAPI would refuse (or misread). */
export function formatSetRequest(req: UapiSetRequest): string {
  const lines = ['set=1'];
  if (req.privateKey) lines.push(`private_key=${keyToHex(req.privateKey)}`);
  if (req.listenPort !== undefined) lines.push(`listen_port=${checkPort(req.listenPort)}`);
  if (req.replacePeers) lines.push('replace_peers=true');
  for (const p of req.peers ?? []) {
    lines.push(`public_key=${keyToHex(p.publicKey)}`);
    if (p.remove) lines.push('remove=true');
    if (p.updateOnly) lines.push('update_only=true');
    if (p.endpoint) lines.push(`endpoint=${formatEndpoint(p.endpoint)}`);
    if (p.persistentKeepaliveInterval !== undefined) lines.push(`persistent_keepalive_interval=${checkKeepalive(p.persistentKeepaliveInterval)}`);
    if (p.replaceAllowedIps) lines.push('replace_allowed_ips=true');
    for (const a of p.allowedIps ?? []) lines.push(`allowed_ip=${formatPrefix(a)}`);
  }
  return `${lines.join('\n')}\n\n`;
}

/** `[v6]:port` or `v4:port`; the UAPI takes addresses only, not names. */
export function formatEndpoint(e: UapiEndpoint): string {
  const v6 = parseIpv6(e.host.replace(/^\[(.*)\]$/, '$1'));
  if (v6) return `[${formatIpv6(v6)}]:${checkPort(e.port)}`;
  if (parseIpv4(e.host)) return `${e.host}:${checkPort(e.port)}`;
  throw new InvalidInputError(`WireGuard endpoint host must be an IPv6 or IPv4 address, got ${JSON.stringify(e.host)}`);
}

function formatPrefix(text: string): string {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  const v6 = m ? parseIpv6(m[1]!) : null;
  const len = m ? Number(m[2]) : -1;
  if (v6 && len <= 128) return `${formatIpv6(v6)}/${len}`;
  if (m && parseIpv4(m[1]!) && len <= 32) return `${m[1]}/${len}`;
  throw new InvalidInputError(`WireGuard allowed IP must be address/length, got ${JSON.stringify(text)}`);
}

function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidInputError(`not a UDP port: ${port}`);
  return port;
}

function checkKeepalive(s: number): number {
  if (!Number.isInteger(s) || s < 0 || s > 65535) throw new InvalidInputError(`persistent keepalive must be 0..65535 seconds, got ${s}`);
  return s;
}

export interface UapiPeerState {
  publicKey: Buffer;
  endpoint?: string;
  /** Unix time of the last completed handshake; 0 and 0: never. */
  lastHandshakeTimeSec: number;
  lastHandshakeTimeNsec: number;
  rxBytes: number;
  txBytes: number;
  persistentKeepaliveInterval: number;
  allowedIps: string[];
}

/** A get=1 reply. The private key is left out on purpose: this is what `show` prints. */
export interface UapiDeviceState {
  listenPort: number;
  fwmark: number;
  peers: UapiPeerState[];
}

/** The `errno=N` of a reply (the last such line); a reply without one is not a UAPI reply. */
export function parseErrno(reply: string): number {
  const all = [...reply.matchAll(/^errno=(-?\d+)$/gm)];
  const last = all[all.length - 1];
  if (!last) throw new WireGuardUapiError(`not a UAPI reply (no errno line): ${JSON.stringify(reply.slice(0, 120))}`);
  return Number(last[1]);
}

/** A get=1 reply, parsed. Unknown keys are skipped (newer wireguard-go versions add some). */
export function parseGetReply(reply: string): UapiDeviceState {
  const errno = parseErrno(reply);
  if (errno !== 0) throw new WireGuardUapiError(`UAPI get failed: errno=${errno}`, undefined, errno);
  const state: UapiDeviceState = { listenPort: 0, fwmark: 0, peers: [] };
  let peer: UapiPeerState | undefined;
  for (const line of reply.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'public_key') {
      peer = { publicKey: keyFromHex(value), lastHandshakeTimeSec: 0, lastHandshakeTimeNsec: 0, rxBytes: 0, txBytes: 0, persistentKeepaliveInterval: 0, allowedIps: [] };
      state.peers.push(peer);
    } else if (!peer) {
      if (key === 'listen_port') state.listenPort = Number(value);
      else if (key === 'fwmark') state.fwmark = Number(value);
    } else if (key === 'endpoint') peer.endpoint = value;
    else if (key === 'last_handshake_time_sec') peer.lastHandshakeTimeSec = Number(value);
    else if (key === 'last_handshake_time_nsec') peer.lastHandshakeTimeNsec = Number(value);
    else if (key === 'rx_bytes') peer.rxBytes = Number(value);
    else if (key === 'tx_bytes') peer.txBytes = Number(value);
    else if (key === 'persistent_keepalive_interval') peer.persistentKeepaliveInterval = Number(value);
    else if (key === 'allowed_ip') peer.allowedIps.push(value);
  }
  return state;
}

/** Send one request, return the whole reply (through its `errno=N` line). */
export function uapiRequest(socketPath: string, request: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    let reply = '';
    let settled = false;
    const settle = (err: WireGuardUapiError | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(reply);
    };
    const timer = setTimeout(() => settle(new WireGuardUapiError(`${socketPath}: no UAPI reply within ${timeoutMs} ms`, 'ETIMEDOUT')), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(request));
    sock.on('data', (chunk: string) => {
      reply += chunk;
      if (reply.length > MAX_REPLY_BYTES) settle(new WireGuardUapiError(`${socketPath}: UAPI reply longer than ${MAX_REPLY_BYTES} bytes`));
      else if (/(^|\n)errno=-?\d+\n\n$/.test(reply)) settle(undefined);
    });
    sock.on('error', (err: NodeJS.ErrnoException) => settle(new WireGuardUapiError(`${socketPath}: ${err.message}`, err.code)));
    sock.on('close', () => settle(new WireGuardUapiError(`${socketPath}: closed before a complete UAPI reply`)));
  });
}

/** Apply a `set=1` request; a non-zero errno is an error naming it. */
export async function uapiSet(socketPath: string, request: string, timeoutMs: number): Promise<void> {
  const errno = parseErrno(await uapiRequest(socketPath, request, timeoutMs));
  if (errno !== 0) throw new WireGuardUapiError(`${socketPath}: UAPI set failed: errno=${errno}`, undefined, errno);
}

export async function uapiGet(socketPath: string, timeoutMs: number): Promise<UapiDeviceState> {
  return parseGetReply(await uapiRequest(socketPath, GET_REQUEST, timeoutMs));
}
