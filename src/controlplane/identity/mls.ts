/**
 * Static MLS auto-detection (seed "MLS Auto-Detection"), as a pure decision and a thin I/O edge.
 *
 *   1. the IPv4 address of this node's p2pidentity (a hostname or IPv6 -> manual);
 *   2. private or reserved (RFC 1918, CGNAT, link-local, loopback, multicast, reserved) -> not self;
 *   3. a TCP listener on P2P_PORT;
 *   4. self only when the address is public AND the listener is there; else community (when
 *      COMMUNITY_MLS_HOST is set) or manual.
 */
import { readFile } from 'node:fs/promises';
import { parseIpv4 } from '../../common/address.js';
import { InvalidInputError } from '../../common/errors.js';

export type MlsMode = 'self' | 'community' | 'manual';

export interface MlsEnv {
  autoDetect: boolean;
  preferSovereign: boolean;
  communityHost: string | null;
  p2pPort: number;
}

export interface MlsInputs extends MlsEnv {
  /** This node's p2pidentity (Mx...@host:port), or null when unknown. */
  p2pIdentity: string | null;
  /** A TCP listener on p2pPort; null when not checked. */
  listening: boolean | null;
}

export interface MlsDecision {
  mode: MlsMode;
  /** The MLS host to set (a p2pidentity); null in manual mode. */
  host: string | null;
  reason: string;
}

/** The seed's defaults, from an environment (process.env). Bad values are InvalidInputError. */
export function mlsEnv(env: Record<string, string | undefined>): MlsEnv {
  const community = (env['COMMUNITY_MLS_HOST'] ?? '').trim();
  const portText = (env['P2P_PORT'] ?? '').trim() || '9001';
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    throw new InvalidInputError(`P2P_PORT must be a port number 1..65535, got ${JSON.stringify(portText)}`);
  }
  return {
    autoDetect: envBool(env, 'AUTO_DETECT_MLS', true),
    preferSovereign: envBool(env, 'PREFER_SOVEREIGN_MLS', true),
    communityHost: community === '' ? null : community,
    p2pPort: Number(portText),
  };
}

function envBool(env: Record<string, string | undefined>, name: string, dflt: boolean): boolean {
  const v = (env[name] ?? '').trim().toLowerCase();
  if (v === '') return dflt;
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  throw new InvalidInputError(`${name} must be true or false, got ${JSON.stringify(env[name])}`);
}

/** The host part of a p2pidentity `Mx...@host:port` (or `host:port`), or null. */
export function p2pHost(p2pIdentity: string): string | null {
  const at = p2pIdentity.lastIndexOf('@');
  const hp = at >= 0 ? p2pIdentity.slice(at + 1) : p2pIdentity;
  if (hp.startsWith('[')) return hp.slice(1, Math.max(1, hp.indexOf(']')));
  const colons = (hp.match(/:/g) ?? []).length;
  if (colons > 1) return hp; // bare IPv6
  const h = colons === 1 ? hp.slice(0, hp.indexOf(':')) : hp;
  return h === '' ? null : h;
}

const PRIVATE_V4: readonly [number, number, string][] = [
  [0x00000000, 8, 'this network (0/8)'],
  [0x0a000000, 8, 'private (RFC 1918 10/8)'],
  [0x64400000, 10, 'CGNAT (100.64/10)'],
  [0x7f000000, 8, 'loopback (127/8)'],
  [0xa9fe0000, 16, 'link-local (169.254/16)'],
  [0xac100000, 12, 'private (RFC 1918 172.16/12)'],
  [0xc0000000, 24, 'IETF protocol assignments (192.0.0/24)'],
  [0xc0000200, 24, 'documentation (192.0.2/24)'],
  [0xc0586300, 24, '6to4 relay anycast (192.88.99/24)'],
  [0xc0a80000, 16, 'private (RFC 1918 192.168/16)'],
  [0xc6120000, 15, 'benchmarking (198.18/15)'],
  [0xc6336400, 24, 'documentation (198.51.100/24)'],
  [0xcb007100, 24, 'documentation (203.0.113/24)'],
  [0xe0000000, 4, 'multicast (224/4)'],
  [0xf0000000, 4, 'reserved (240/4, broadcast)'],
];

/** Why an IPv4 address is not public, or null when it is. */
export function privateReason(ip: string): string | null {
  const q = parseIpv4(ip);
  if (!q) throw new InvalidInputError(`not an IPv4 address: ${JSON.stringify(ip)}`);
  const n = ((q[0]! << 24) | (q[1]! << 16) | (q[2]! << 8) | q[3]!) >>> 0;
  for (const [net, len, why] of PRIVATE_V4) {
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    if (((n & mask) >>> 0) === net) return why;
  }
  return null;
}

/** The decision (pure). */
export function decideMls(i: MlsInputs): MlsDecision {
  const fallback = (why: string): MlsDecision =>
    i.communityHost !== null
      ? { mode: 'community', host: i.communityHost, reason: `${why}; using the community MLS` }
      : { mode: 'manual', host: null, reason: `${why}; no COMMUNITY_MLS_HOST set, enter an MLS p2pidentity` };
  if (!i.autoDetect) return { mode: 'manual', host: null, reason: 'auto-detection is off (AUTO_DETECT_MLS=false)' };
  if (i.p2pIdentity === null) return { mode: 'manual', host: null, reason: 'the node has no p2pidentity' };
  const host = p2pHost(i.p2pIdentity);
  if (host === null || !parseIpv4(host)) {
    return { mode: 'manual', host: null, reason: `the p2pidentity's host ${JSON.stringify(host ?? '')} is not an IPv4 address (hostnames and IPv6 are set by hand)` };
  }
  if (!i.preferSovereign) return fallback('PREFER_SOVEREIGN_MLS=false');
  const priv = privateReason(host);
  if (priv !== null) return fallback(`${host} is ${priv}`);
  if (i.listening !== true) return fallback(`nothing is listening on P2P port ${i.p2pPort}`);
  return { mode: 'self', host: i.p2pIdentity, reason: `${host} is public and port ${i.p2pPort} is listening` };
}

/**
 * The I/O edge: is a TCP socket in LISTEN on `port` (any address)? Reads /proc/net/tcp and tcp6 (what
 * ss reads); null where there is no /proc (macOS), which the decision treats as "not confirmed".
 */
export async function tcpListening(port: number, procNet = '/proc/net'): Promise<boolean | null> {
  let seen = false;
  for (const f of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = await readFile(`${procNet}/${f}`, 'utf8');
    } catch {
      continue;
    }
    seen = true;
    if (listensIn(text, port)) return true;
  }
  return seen ? false : null;
}

/** Pure: a /proc/net/tcp table has a LISTEN (state 0A) socket on the port. */
export function listensIn(table: string, port: number): boolean {
  for (const line of table.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 4) continue;
    const local = cols[1]!;
    const p = parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
    if (p === port && cols[3] === '0A') return true;
  }
  return false;
}
