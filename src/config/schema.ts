/**
 * The YAML config of DESIGN.md ("Config file"), as a zod schema.
 *
 * Every object is strict (unknown keys are errors), every field but `uuid` has a default, and every
 * check produces a message that load.ts prefixes with the key path. Parsing also normalizes:
 * UUIDs to lowercase 8-4-4-4-12, addresses to RFC 5952 text (legacy 9-group peer addresses to the
 * valid form), peer endpoints to {host, port} with the link kind's default port, and derives
 * `address` (our mesh address). Cross-field checks (unique peers, routes via a known peer, ...) run
 * once the fields are valid.
 */
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import {
  formatIpv6,
  isUuid,
  normalizeUuid,
  parseIpv4,
  parseIpv6,
  parseMeshAddress,
  uuidToMeshAddress,
} from '../common/address.js';
import { InvalidInputError, MoltnetError } from '../common/errors.js';
import { PORTS } from '../common/ports.js';

export const LINK_KINDS = ['vxlan', 'gre', 'wireguard'] as const;
export type LinkKind = (typeof LINK_KINDS)[number];

export const IDENTITY_BACKENDS = ['builtin', 'minima'] as const;
export type IdentityBackendKind = (typeof IDENTITY_BACKENDS)[number];

/** The underlay UDP port a peer endpoint gets when it names none. */
export const DEFAULT_PORTS: Readonly<Record<LinkKind, number>> = { vxlan: PORTS.vxlan, gre: PORTS.greInUdp, wireguard: PORTS.wireguard };
/** VXLAN network identifier 0x6d6f6c ("mol"). */
export const DEFAULT_VNI = 0x6d6f6c;
/** Longest Unix socket path Linux takes (sun_path is 108 bytes with the NUL). */
export const MAX_SOCKET_PATH_BYTES = 107;

export interface HostPort {
  /** IPv4 dotted quad, canonical IPv6 (optionally with %zone), or a DNS name. */
  host: string;
  port: number;
}

/** A parse helper's complaint; the schema turns it into "expected X, got "value" (reason)". */
class Reason extends Error {}

// ---------------------------------------------------------------------------------------------
// Field parsers (pure; also exported for the transport and CLI)

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/**
 * "host:port", "[ipv6]:port", "[ipv6]", a bare IPv6 address, "ipv4" or "dns.name".
 * The port is optional when defaultPort is given. IPv6 hosts come back canonical.
 * Throws InvalidInputError naming the input and the reason.
 */
export function parseHostPort(text: string, defaultPort?: number): HostPort {
  try {
    return hostPort(text, defaultPort);
  } catch (err) {
    if (err instanceof Reason) throw new InvalidInputError(`bad endpoint ${JSON.stringify(text)}: ${err.message}`);
    throw err;
  }
}

function hostPort(text: string, defaultPort?: number): HostPort {
  const { host, port } = splitHostPort(text);
  if (port !== undefined) return { host, port };
  if (defaultPort === undefined) throw new Reason('no port');
  return { host, port: defaultPort };
}

function splitHostPort(text: string): { host: string; port?: number } {
  const s = text.trim();
  let host: string;
  let portText: string | undefined;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) throw new Reason('missing "]"');
    host = s.slice(1, close);
    const rest = s.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw new Reason(`unexpected ${JSON.stringify(rest)} after "]"`);
      portText = rest.slice(1);
    }
    host = normalizeIpv6Host(host);
  } else if ((s.match(/:/g) ?? []).length >= 2) {
    host = normalizeIpv6Host(s); // a bare IPv6 address: no port (write [addr]:port for one)
  } else {
    const colon = s.indexOf(':');
    host = colon >= 0 ? s.slice(0, colon) : s;
    if (colon >= 0) portText = s.slice(colon + 1);
    if (host === '') throw new Reason('no host');
    if (/^[0-9.]+$/.test(host)) {
      if (!parseIpv4(host)) throw new Reason(`${JSON.stringify(host)} is not a valid IPv4 address`);
    } else if (!isDnsName(host)) {
      throw new Reason(`${JSON.stringify(host)} is not an IP address or DNS name`);
    }
  }
  if (portText === undefined) return { host };
  if (!/^[0-9]{1,5}$/.test(portText)) throw new Reason(`port ${JSON.stringify(portText)} is not a number`);
  const port = Number(portText);
  if (port < 1 || port > 65535) throw new Reason(`port ${port} is not in 1..65535`);
  return { host, port };
}

/** "host:port" text for a HostPort: IPv6 hosts in brackets. */
export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

function normalizeIpv6Host(text: string): string {
  const pct = text.indexOf('%');
  const addr = pct >= 0 ? text.slice(0, pct) : text;
  const zone = pct >= 0 ? text.slice(pct + 1) : undefined;
  const bytes = parseIpv6(addr);
  if (!bytes) throw new Reason(`${JSON.stringify(addr)} is not a valid IPv6 address`);
  if (zone !== undefined && !/^[A-Za-z0-9_.-]{1,15}$/.test(zone)) throw new Reason(`bad zone ${JSON.stringify(zone)}`);
  return formatIpv6(bytes) + (zone !== undefined ? `%${zone}` : '');
}

function isDnsName(s: string): boolean {
  const name = s.endsWith('.') ? s.slice(0, -1) : s;
  return name.length > 0 && name.length <= 253 && name.split('.').every((l) => DNS_LABEL.test(l));
}

/** "addr/len" IPv6 prefix, canonical. With requireNetwork, host bits must be zero. */
export function parseIpv6Prefix(text: string, opts: { requireNetwork: boolean; defaultLen?: number }): string {
  const s = text.trim();
  const slash = s.indexOf('/');
  if (slash < 0 && opts.defaultLen === undefined) throw new Reason('no prefix length (write addr/len)');
  const addr = slash >= 0 ? s.slice(0, slash) : s;
  const lenText = slash >= 0 ? s.slice(slash + 1) : String(opts.defaultLen);
  const bytes = parseIpv6(addr);
  if (!bytes) throw new Reason(`${JSON.stringify(addr)} is not a valid IPv6 address`);
  if (!/^[0-9]{1,3}$/.test(lenText) || Number(lenText) > 128) {
    throw new Reason(`prefix length ${JSON.stringify(lenText)} is not in 0..128`);
  }
  const len = Number(lenText);
  if (opts.requireNetwork) {
    const net = Buffer.from(bytes);
    for (let bit = len; bit < 128; bit++) net[bit >> 3]! &= ~(0x80 >> (bit & 7));
    if (!net.equals(bytes)) throw new Reason(`host bits set; did you mean ${formatIpv6(net)}/${len}?`);
  }
  return `${formatIpv6(bytes)}/${len}`;
}

function parseUuidField(s: string): string {
  if (isUuid(s.trim())) return normalizeUuid(s);
  const digits = s.replace(/-/g, '');
  if (/^[0-9a-f]*$/i.test(digits) && digits.length !== 32) throw new Reason(`${digits.length} hex digits, need 32`);
  throw new Reason('');
}

function parsePeerAddress(s: string): string {
  if (isUuid(s.trim())) throw new Reason('that is a UUID; write it as uuid:');
  return parseMeshAddress(s); // InvalidInputError's message names the problem
}

/** An allow/deny entry: a MoltID (lowercased) or a mesh address (RFC 5952). */
function parseTrustEntry(s: string): string {
  const t = s.trim();
  if (/^MOLTID:0x[0-9a-f]+$/i.test(t)) return `MOLTID:${t.slice(7).toLowerCase()}`;
  if (/^MOLTID:/i.test(t)) throw new Reason('a MoltID is MOLTID:0x followed by hex digits');
  return parseMeshAddress(t);
}

function parseArea(v: string | number): string {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Reason('');
    return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
  }
  const q = parseIpv4(v.trim());
  if (!q) throw new Reason('');
  return q.join('.');
}

function parseListen(s: string, defaultPort: number): string {
  const hp = hostPort(s, defaultPort);
  if (!hp.host.includes(':') && !parseIpv4(hp.host)) throw new Reason('listen on an IP address, not a name');
  return formatHostPort(hp);
}

function parseUrl(s: string): string {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new Reason('');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Reason('http or https only');
  return s.replace(/\/+$/, '');
}

function checkPattern(re: RegExp, reason = ''): (s: string) => string {
  return (s) => {
    if (!re.test(s)) throw new Reason(reason);
    return s;
  };
}

// ---------------------------------------------------------------------------------------------
// zod building blocks whose messages read "expected X" (load.ts appends ", got <value>")

function int(min: number, max: number) {
  const expected = `expected an integer from ${min} to ${max}`;
  return z.number({ invalid_type_error: expected }).superRefine((v, ctx) => {
    if (!Number.isInteger(v) || v < min || v > max) ctx.addIssue({ code: 'custom', message: `${expected}, got ${v}` });
  });
}

function bool() {
  return z.boolean({ invalid_type_error: 'expected true or false' });
}

/** A string run through a parser: Reason -> "expected X, got "s" (reason)"; MoltnetError -> its message. */
function text<T>(expected: string, parse: (s: string) => T) {
  return z.string({ invalid_type_error: `expected ${expected}` }).transform((s, ctx): T => {
    try {
      return parse(s);
    } catch (err) {
      let message: string;
      if (err instanceof Reason) {
        const got = JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s);
        message = `expected ${expected}, got ${got}${err.message ? ` (${err.message})` : ''}`;
      } else if (err instanceof MoltnetError) {
        message = err.message;
      } else {
        throw err;
      }
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
  });
}

function obj<T extends z.ZodRawShape>(shape: T) {
  return z.object(shape, { invalid_type_error: 'expected a mapping' }).strict();
}

function list<T extends z.ZodTypeAny>(el: T) {
  return z.array(el, { invalid_type_error: 'expected a list' });
}

const label = (what: string) =>
  text(`${what} (letters, digits and "-", at most 63)`, checkPattern(DNS_LABEL));
const ifName = (what: string) =>
  text(`${what} (1-15 of letters, digits, "_", ".", "-")`, checkPattern(/^(?!\.\.?$)[A-Za-z0-9_.-]{1,15}$/));
const path = (what: string) => text(what, checkPattern(/^[^\0]+$/));

// ---------------------------------------------------------------------------------------------
// The schema

export const peerSchema = obj({
  name: label('a peer name'),
  uuid: text('a UUID (8-4-4-4-12 hex digits)', parseUuidField).optional(),
  address: text('a MoltNet address (fd00:6d6f:6c74:...)', parsePeerAddress).optional(),
  endpoint: text('host:port, [IPv6]:port or a DNS name', splitHostPort),
  link: z.enum(LINK_KINDS, { invalid_type_error: `expected one of ${LINK_KINDS.join('|')}` }).default('vxlan'),
  vni: int(0, 0xffffff).optional(),
  moltid: text('a MoltID ("MOLTID:<public key>")', checkPattern(/^MOLTID:\S+$/)).optional(),
  /** Peering handshake on TCP 6802 before the link carries traffic; false only for peers that are not MoltNet nodes. */
  authenticate: bool().default(true),
  cost: int(1, 65535).default(10),
}).transform((p, ctx) => {
  if ((p.uuid === undefined) === (p.address === undefined)) {
    ctx.addIssue({
      code: 'custom',
      message: p.uuid === undefined ? 'needs uuid or address' : 'has both uuid and address; give one',
    });
  }
  if (p.vni !== undefined && p.link === 'gre') {
    ctx.addIssue({ code: 'custom', path: ['vni'], message: 'only used with link vxlan or wireguard, not gre' });
  }
  // The GRE key is derived from both agents' UUIDs (spec §8.1); an address carries only 80 of its bits.
  if (p.link === 'gre' && p.uuid === undefined && p.address !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['uuid'], message: 'a gre peer needs its uuid (the tunnel key is derived from both UUIDs), not only its address' });
  }
  const endpoint: HostPort = { host: p.endpoint.host, port: p.endpoint.port ?? DEFAULT_PORTS[p.link] };
  const address = p.address ?? (p.uuid !== undefined ? uuidToMeshAddress(p.uuid) : '');
  return {
    name: p.name,
    ...(p.uuid !== undefined ? { uuid: p.uuid } : {}),
    address,
    endpoint,
    link: p.link,
    ...(p.vni !== undefined ? { vni: p.vni } : p.link !== 'gre' ? { vni: DEFAULT_VNI } : {}),
    ...(p.moltid !== undefined ? { moltid: p.moltid } : {}),
    authenticate: p.authenticate,
    cost: p.cost,
  };
});

const routeSchema = obj({
  prefix: text('an IPv6 prefix (addr/len)', (s) => parseIpv6Prefix(s, { requireNetwork: true })),
  via: label('a peer or kernel link name'),
});

const kernelLinkSchema = obj({
  name: ifName('an interface name'),
  netns: text('a network namespace name', checkPattern(/^(?!\.\.?$)[A-Za-z0-9_.-]{1,255}$/)).optional(),
  address: text('an IPv6 address with length (fe80::1/64)', (s) =>
    parseIpv6Prefix(s, { requireNetwork: false, defaultLen: 64 }),
  ).optional(),
  cost: int(1, 65535).default(10),
});

/** host:port a server binds: an IP address (a name would resolve at bind time, to who knows what). */
function listenAddress() {
  return text('host:port', (s) => {
    const hp = parseHostPort(s);
    if (!hp.host.includes(':') && !parseIpv4(hp.host)) throw new Reason('an IP address and a port, not a name');
    return s;
  });
}

const shape = {
  uuid: text('a UUID (8-4-4-4-12 hex digits)', parseUuidField),
  name: label('a name').optional(),
  stateDir: path('a directory path').default('/var/lib/moltnet'),
  controlSocket: path('a socket path').default('/run/moltnet/moltnet.sock'),
  interface: obj({
    name: ifName('an interface name').default('molt0'),
    mtu: int(1280, 9000).default(1380),
    /** TUN offloads (TSO/checksum superpackets on molt0) and UDP GSO/GRO on the underlay sockets, where the kernel has them. */
    offload: bool().default(true),
    /**
     * Forwarding threads, each with its own queue of the interface and its own underlay sockets (the kernel
     * spreads flows over them). 'auto': half the cores, 1 to 8 (1 on a 2-core host: the other core is the
     * control plane's, the kernel's and the agent's).
     */
    workers: z
      .union([z.string(), z.number()], { invalid_type_error: "expected 'auto' or an integer from 1 to 16" })
      .transform((v, ctx): number | 'auto' => {
        if (v === 'auto' || (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 16)) return v;
        ctx.addIssue({ code: 'custom', message: `expected 'auto' or an integer from 1 to 16, got ${JSON.stringify(v)}` });
        return z.NEVER;
      })
      .default('auto'),
    /**
     * Busy polling under load, µs: after a step that forwarded packets, when the one before it was less than
     * a millisecond earlier, a worker polls (yielding the CPU each turn) for up to this long before it
     * sleeps, so a dense stream is not put to sleep and woken between every two batches. Never while idle or
     * at a ping's rate. 0: always sleep at once.
     */
    busyPollUs: int(0, 10000).default(200),
  }).default({}),
  underlay: obj({
    listen: text('[IP]:port', (s) => parseListen(s, DEFAULT_PORTS.vxlan)).default(`[::]:${PORTS.vxlan}`),
    greListen: text('[IP]:port', (s) => parseListen(s, DEFAULT_PORTS.gre)).default(`[::]:${PORTS.greInUdp}`),
  }).default({}),
  peers: list(peerSchema).default([]),
  routes: list(routeSchema).default([]),
  kernelLinks: list(kernelLinkSchema).default([]),
  ospf: obj({
    enabled: bool().default(true),
    area: z
      .union([z.string(), z.number()], { invalid_type_error: 'expected an area ID (0.0.0.0 or a number)' })
      .transform((v, ctx) => {
        try {
          return parseArea(v);
        } catch {
          ctx.addIssue({ code: 'custom', message: `expected an area ID (0.0.0.0 or 0..4294967295), got ${JSON.stringify(v)}` });
          return z.NEVER;
        }
      })
      .default('0.0.0.0'),
    helloInterval: int(1, 65535).default(10),
    deadInterval: int(1, 65535).default(40),
    /** Default: the last 32 bits of the mesh address (see daemon). */
    routerId: text('a router ID (a.b.c.d)', (s) => {
      const q = parseIpv4(s.trim());
      if (!q || q.every((b) => b === 0)) throw new Reason('');
      return q.join('.');
    }).optional(),
    /** Accept neighbors whose interface MTU differs (RFC 2328 §10.6 check off). */
    mtuIgnore: bool().default(false),
    /** RFC 7166 authentication trailer, HMAC-SHA-256, on every OSPF interface. */
    authentication: obj({
      keyId: int(1, 65535),
      key: text('a key (at least 1 character)', checkPattern(/^.+$/)),
    }).optional(),
  }).default({}),
  bfd: obj({
    enabled: bool().default(true),
    minTxMs: int(1, 60000).default(100),
    minRxMs: int(1, 60000).default(100),
    multiplier: int(1, 255).default(3),
    /** Multihop sessions (RFC 5883) to other mesh nodes, by mesh address or UUID: monitoring only. */
    multihop: list(text('a MoltNet address or UUID', (v) => parseMeshAddress(v))).default([]),
    /**
     * Timers of the multihop sessions. Their packets cross other nodes' forwarding queues as ordinary
     * traffic, where a saturated hop drops them like any packet, so they default to FRR's 300 ms x 3
     * rather than the links' 100 ms: they monitor, they do not steer routing.
     */
    multihopTimers: obj({
      minTxMs: int(1, 60000).default(300),
      minRxMs: int(1, 60000).default(300),
      multiplier: int(1, 255).default(3),
    }).default({}),
    /** RFC 5880 §6.7 authentication on every session. */
    authentication: obj({
      type: z.enum(['simple', 'keyed-sha1', 'meticulous-keyed-sha1'], {
        errorMap: () => ({ message: 'expected one of simple|keyed-sha1|meticulous-keyed-sha1' }),
      }),
      keyId: int(0, 255),
      key: text('a key (1 to 20 characters)', checkPattern(/^.{1,20}$/)),
    }).optional(),
  }).default({}),
  /** Authenticated peering on TCP 6802 (spec §3.2): the handshake, its trust lists and its limits. */
  peering: obj({
    /** The address the server binds ("::" takes IPv4 too); peers are dialled on their endpoint's host. */
    listen: text('an IP address', (s) => {
      const t = s.trim().replace(/^\[(.*)\]$/, '$1');
      if (!t.includes(':') && !parseIpv4(t)) throw new Reason('an IP address, not a name');
      return t;
    }).default('::'),
    port: int(1, 65535).default(PORTS.control),
    /** MoltIDs or mesh addresses that may never peer (checked first). */
    deny: list(text('a MoltID or a MoltNet address', parseTrustEntry)).default([]),
    /** When not empty, only these MoltIDs or mesh addresses may peer. */
    allow: list(text('a MoltID or a MoltNet address', parseTrustEntry)).default([]),
    keepaliveSeconds: int(1, 3600).default(10),
    holdSeconds: int(3, 10800).default(40),
    handshakeTimeoutMs: int(100, 120_000).default(10_000),
    /** Bindings whose timestamp is further than this from our clock are refused as stale. */
    windowSeconds: int(1, 86_400).default(120),
    /**
     * Offer the relay role (capability 'relay'): tell peers where their VXLAN packets come from (their
     * NAT's mapping), so that two peers behind NAT can punch a direct path, and carry their traffic
     * until they do. For nodes with a public address.
     */
    relay: bool().default(false),
    maxConnectionsPerSource: int(1, 1000).default(8),
    connectionsPerMinutePerSource: int(1, 100_000).default(120),
  }).default({}),
  /** WireGuard links (wireguard-go): their own UDP port, learned by peers in the handshake. */
  wireguard: obj({
    listenPort: int(1, 65535).default(PORTS.wireguard),
    /** The WireGuard interface's MTU; the mesh links over it carry 70 bytes less (VXLAN). */
    mtu: int(1280, 9000).default(1420),
    /** Default: mwg + 12 hex digits of a hash of the uuid (unique per node; the UAPI socket is host-wide). */
    interface: ifName('an interface name').optional(),
    binary: path('a path or command name').default('wireguard-go'),
  }).default({}),
  moltbook: obj({
    baseUrl: text('an http(s) URL', parseUrl).default('https://www.moltbook.com'),
    apiKeyEnv: text('an environment variable name', checkPattern(/^[A-Za-z_][A-Za-z0-9_]*$/)).default('MOLTBOOK_API_KEY'),
    pollSeconds: int(1, 86400).default(300),
    /** The endpoint announced (host:port); default: the underlay listen address, else the default route's. */
    endpoint: text('host:port, [IPv6]:port or a DNS name', (s) => formatHostPort({ ...splitHostPort(s), port: splitHostPort(s).port ?? PORTS.vxlan })).optional(),
    announceSeconds: int(60, 7 * 86400).default(6 * 3600),
    submolt: label('a submolt name').default('general'),
  }).default({}),
  /** MoltID (seed moltid-v0.md): the node's identity key, built in (Ed25519 in stateDir) or a local Minima node's Maxima key. */
  identity: obj({
    backend: z.enum(IDENTITY_BACKENDS, { errorMap: () => ({ message: `expected one of ${IDENTITY_BACKENDS.join('|')}` }) }).default('builtin'),
    minima: obj({
      url: text('an http(s) URL', parseUrl).default('http://127.0.0.1:9005'),
      /** The environment variable holding the RPC password (Basic auth as user "minima"); unset = no auth. */
      passwordEnv: text('an environment variable name', checkPattern(/^[A-Za-z_][A-Za-z0-9_]*$/)).default('MINIMA_PASSWORD'),
    }).default({}),
  }).default({}),
  discovery: obj({
    lan: bool().default(true),
    exchange: bool().default(true),
    /** Interfaces that send and hear no LAN beacons (the mesh TUN and WireGuard never do). */
    lanExclude: list(ifName('an interface name')).default([]),
    lanIntervalSeconds: int(1, 3600).default(10),
    /** Peers that dial us and are not configured are accepted (after the handshake) while any discovery is on. */
    acceptInbound: bool().default(true),
    /** The link kind discovered and inbound peers get. */
    link: z.enum(LINK_KINDS, { invalid_type_error: `expected one of ${LINK_KINDS.join('|')}` }).default('vxlan'),
    /** At most this many discovered and inbound peers at once. */
    maxPeers: int(1, 65_000).default(256),
    /** Moltbook posts without a signed MoltID binding: candidates (peered only after the handshake), or ignored. */
    unsigned: z.enum(['accept', 'ignore'], { errorMap: () => ({ message: 'expected accept or ignore' }) }).default('accept'),
    exchangeSeconds: int(5, 86_400).default(300),
  }).default({}),
  services: obj({
    rpc: bool().default(true),
    mcp: bool().default(true),
    dns: bool().default(true),
    http: bool().default(true),
    /** Agent RPC: the agent's own webhooks, by method (POSTed JSON, its JSON reply is the result). */
    rpcHandlers: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, 'a method name'), text('an http(s) URL', parseUrl)).default({}),
    /** Where methods without a handler of their own go; without it they are "method not found". */
    rpcDefaultHandler: text('an http(s) URL', parseUrl).optional(),
    /** Agent RPC requests per second from one address (bursts of twice that). */
    rpcRatePerSource: int(1, 1_000_000).default(50),
    /**
     * Who agent RPC serves: everyone, or only the MoltID contacts of the allow list, on signed requests.
     * Unset: contacts with the Minima backend (its contacts are locked down), everyone otherwise.
     */
    rpcServe: z.enum(['everyone', 'contacts'], { errorMap: () => ({ message: 'expected everyone or contacts' }) }).optional(),
    /** Mesh DNS queries per second from one address (bursts of twice that). */
    dnsRatePerSource: int(1, 1_000_000).default(200),
    /** Where the REST API and /metrics listen: loopback unless an operator opens it (the mesh address, say). */
    httpListen: listenAddress().default('[::1]:8080'),
    /** The MCP proxy: local agents reach any mesh member's MCP server at /mcp/<address|name>. */
    mcpProxy: bool().default(true),
    mcpProxyListen: listenAddress().default('[::1]:6801'),
  }).default({}),
};

/**
 * The whole config. With baseDir, relative stateDir/controlSocket resolve against it
 * (loadConfig passes the config file's directory).
 */
export function buildConfigSchema(baseDir?: string) {
  return z
    .object(shape, { invalid_type_error: 'expected a mapping', required_error: 'expected a mapping' })
    .strict()
    .transform((c, ctx) => {
      const address = uuidToMeshAddress(c.uuid);
      const fix = (p: string) => (baseDir !== undefined && !isAbsolute(p) ? resolve(baseDir, p) : p);
      const { uuid, ...rest } = c;
      const cfg = { uuid, address, ...rest, stateDir: fix(c.stateDir), controlSocket: fix(c.controlSocket) };
      for (const issue of crossCheck(cfg)) ctx.addIssue({ code: 'custom', ...issue });
      return cfg;
    });
}

export const configSchema = buildConfigSchema();

/** The validated, fully defaulted config with derived fields (address, peers[].address/endpoint). */
export type MoltnetConfig = z.output<typeof configSchema>;
export type PeerConfig = MoltnetConfig['peers'][number];
export type RouteConfig = MoltnetConfig['routes'][number];
export type KernelLinkConfig = MoltnetConfig['kernelLinks'][number];
export type IdentityConfig = MoltnetConfig['identity'];
/** What a config file may contain (before defaults). */
export type MoltnetConfigInput = z.input<typeof configSchema>;

interface CrossIssue {
  path: (string | number)[];
  message: string;
}

/** Checks across fields, once each field is valid. */
function crossCheck(cfg: MoltnetConfig): CrossIssue[] {
  const issues: CrossIssue[] = [];
  const byName = new Map<string, number>();
  const byAddr = new Map<string, number>();
  cfg.peers.forEach((p, i) => {
    const key = p.name.toLowerCase();
    const prev = byName.get(key);
    if (prev !== undefined) {
      issues.push({ path: ['peers', i, 'name'], message: `duplicate peer name "${p.name}" (also peers[${prev}])` });
    } else {
      byName.set(key, i);
    }
    const field = p.uuid !== undefined ? 'uuid' : 'address';
    if (p.address === cfg.address) {
      issues.push({ path: ['peers', i, field], message: `${p.address} is this node's own address` });
    } else {
      const prevAddr = byAddr.get(p.address);
      if (prevAddr !== undefined) {
        issues.push({
          path: ['peers', i, field],
          message: `mesh address ${p.address} is also peers[${prevAddr}] ("${cfg.peers[prevAddr]!.name}")`,
        });
      } else {
        byAddr.set(p.address, i);
      }
    }
  });
  cfg.peers.forEach((p, i) => {
    if (p.authenticate) return;
    if (p.link === 'wireguard') issues.push({ path: ['peers', i, 'authenticate'], message: 'a wireguard link needs the peering handshake (its keys come from it)' });
    if (p.moltid !== undefined) issues.push({ path: ['peers', i, 'moltid'], message: 'a pinned MoltID needs authenticate: true (it is checked in the handshake)' });
  });
  if (cfg.peering.holdSeconds <= cfg.peering.keepaliveSeconds) {
    issues.push({ path: ['peering', 'holdSeconds'], message: `must be more than keepaliveSeconds (${cfg.peering.keepaliveSeconds})` });
  }
  // Underlay packets are matched to a peer by the sender's address alone (VXLAN and GRE-in-UDP senders
  // vary the source port), so two peers on one socket cannot share an endpoint host.
  const byEndpoint = new Map<string, number>();
  cfg.peers.forEach((p, i) => {
    const key = `${p.link} ${p.endpoint.host.toLowerCase()}`;
    const prev = byEndpoint.get(key);
    if (prev !== undefined) {
      issues.push({
        path: ['peers', i, 'endpoint'],
        message: `host ${p.endpoint.host} is also the endpoint of peers[${prev}] ("${cfg.peers[prev]!.name}") on a ${p.link} link; peers are told apart by underlay address`,
      });
    } else {
      byEndpoint.set(key, i);
    }
  });
  // A route goes via a peer's link or a kernel link.
  const names = [...cfg.peers.map((p) => p.name), ...cfg.kernelLinks.map((k) => k.name)];
  const routes = new Map<string, number>();
  cfg.routes.forEach((r, i) => {
    const target = names.find((n) => n.toLowerCase() === r.via.toLowerCase());
    if (!target) {
      const known = names.length > 0 ? `links: ${names.join(', ')}` : 'no peers or kernel links are configured';
      issues.push({ path: ['routes', i, 'via'], message: `no peer or kernel link named "${r.via}" (${known})` });
    } else {
      r.via = target;
    }
    const prev = routes.get(r.prefix);
    if (prev !== undefined) {
      issues.push({ path: ['routes', i, 'prefix'], message: `duplicate route ${r.prefix} (also routes[${prev}])` });
    } else {
      routes.set(r.prefix, i);
    }
  });
  const links = new Map<string, number>();
  cfg.kernelLinks.forEach((k, i) => {
    const prev = links.get(k.name);
    if (k.name === cfg.interface.name) {
      issues.push({ path: ['kernelLinks', i, 'name'], message: `"${k.name}" is the mesh interface's name (interface.name)` });
    } else if (prev !== undefined) {
      issues.push({ path: ['kernelLinks', i, 'name'], message: `duplicate kernel link name "${k.name}" (also kernelLinks[${prev}])` });
    } else {
      links.set(k.name, i);
    }
  });
  if (cfg.ospf.deadInterval <= cfg.ospf.helloInterval) {
    issues.push({
      path: ['ospf', 'deadInterval'],
      message: `must be greater than helloInterval (${cfg.ospf.helloInterval}), got ${cfg.ospf.deadInterval}`,
    });
  }
  if (Buffer.byteLength(cfg.controlSocket) > MAX_SOCKET_PATH_BYTES) {
    issues.push({
      path: ['controlSocket'],
      message: `socket path is ${Buffer.byteLength(cfg.controlSocket)} bytes; Unix sockets allow ${MAX_SOCKET_PATH_BYTES}`,
    });
  }
  return issues;
}
