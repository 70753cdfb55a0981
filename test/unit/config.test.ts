import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../../src/common/errors.js';
import { exampleConfig, formatConfigYaml, loadConfig, parseConfig } from '../../src/config/load.js';
import { parseHostPort, type MoltnetConfig } from '../../src/config/schema.js';

const UUID = 'daa46e88-46c5-4af7-9268-1482c54c1922';
const ADDR = 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268';

const FULL = `
uuid: ${UUID}
name: agenticmesh
stateDir: /srv/moltnet
controlSocket: /run/moltnet/test.sock
interface: { name: molt1, mtu: 1400 }
underlay: { listen: "0.0.0.0:14789", greListen: "[::1]:14754" }
peers:
  - name: clawdboy
    uuid: 88833763-60b7-47db-8703-349c6b2c70ff
    endpoint: "[fd00:1::2]:4789"
    link: vxlan
    vni: 7171948
    moltid: "MOLTID:0x302a0000"
    cost: 10
  - name: carlotta
    address: fd00:6d6f:6c74:f8a9:ce03:f512:4311:8792:5191   # legacy form
    endpoint: carlotta.example.net
    link: vxlan
    cost: 20
  - name: wg
    address: FD00:6D6F:6C74:0:0:0:0:1
    endpoint: 192.0.2.7
    link: wireguard
routes:
  - { prefix: "fd00:6d6f:6c74:f8a9::/64", via: clawdboy }
  - { prefix: "2001:db8::/32", via: carlotta }
kernelLinks:
  - { name: mlink0, netns: gw, address: "fe80::1/64", cost: 10 }
  - { name: mlink1 }
ospf: { enabled: true, area: 0.0.0.1, helloInterval: 5, deadInterval: 20 }
bfd:  { enabled: false, minTxMs: 50, minRxMs: 60, multiplier: 5 }
moltbook: { baseUrl: "https://moltbook.example", apiKeyEnv: MB_KEY, pollSeconds: 60 }
discovery: { lan: false, exchange: true }
services: { rpc: true, mcp: false, dns: true, http: false }
`;

/** The message of the ConfigError that parsing `text` throws; checks it is one line per problem. */
function errorOf(text: string, source = 'config.yaml'): string {
  try {
    parseConfig(text, source);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.exitCode, 2);
    for (const line of err.message.split('\n')) assert.ok(line.startsWith(`${source}`), line);
    return err.message;
  }
  assert.fail('expected a ConfigError');
}

const withUuid = (rest: string) => `uuid: ${UUID}\n${rest}`;
const peer = (fields: string) => withUuid(`peers:\n  - ${fields.trim().split('\n').join('\n    ')}\n`);

describe('config: valid', () => {
  it('the minimal config (uuid only) gets every default', () => {
    const cfg = parseConfig(`uuid: ${UUID}\n`);
    const expected: MoltnetConfig = {
      uuid: UUID,
      address: ADDR,
      stateDir: '/var/lib/moltnet',
      controlSocket: '/run/moltnet/moltnet.sock',
      interface: { name: 'molt0', mtu: 1380, offload: true, workers: 'auto', busyPollUs: 200 },
      underlay: { listen: '[::]:4789', greListen: '[::]:4754' },
      peers: [],
      routes: [],
      kernelLinks: [],
      ospf: { enabled: true, area: '0.0.0.0', helloInterval: 10, deadInterval: 40, mtuIgnore: false },
      bfd: { enabled: true, minTxMs: 100, minRxMs: 100, multiplier: 3, multihop: [], multihopTimers: { minTxMs: 300, minRxMs: 300, multiplier: 3 } },
      peering: {
        listen: '::',
        port: 6802,
        deny: [],
        allow: [],
        keepaliveSeconds: 10,
        holdSeconds: 40,
        handshakeTimeoutMs: 10_000,
        windowSeconds: 120,
        relay: false,
        maxConnectionsPerSource: 8,
        connectionsPerMinutePerSource: 120,
      },
      wireguard: { listenPort: 51820, mtu: 1420, binary: 'wireguard-go' },
      moltbook: { baseUrl: 'https://www.moltbook.com', apiKeyEnv: 'MOLTBOOK_API_KEY', pollSeconds: 300, announceSeconds: 21600, submolt: 'general' },
      identity: { backend: 'builtin', minima: { url: 'http://127.0.0.1:9005', passwordEnv: 'MINIMA_PASSWORD' } },
      discovery: { lan: true, exchange: true, lanExclude: [], lanIntervalSeconds: 10, acceptInbound: true, link: 'vxlan', maxPeers: 256, unsigned: 'accept', exchangeSeconds: 300 },
      services: { rpc: true, mcp: true, dns: true, http: true, rpcHandlers: {}, rpcRatePerSource: 50, dnsRatePerSource: 200, httpListen: '[::1]:8080', mcpProxy: true, mcpProxyListen: '[::1]:6801' },
    };
    assert.deepEqual(cfg, expected);
    assert.equal(cfg.name, undefined);
  });

  it('a full config, normalized, with derived fields', () => {
    const cfg = parseConfig(FULL, 'full.yaml');
    assert.equal(cfg.address, ADDR);
    assert.equal(cfg.name, 'agenticmesh');
    assert.equal(cfg.stateDir, '/srv/moltnet');
    assert.deepEqual(cfg.interface, { name: 'molt1', mtu: 1400, offload: true, workers: 'auto', busyPollUs: 200 });
    assert.deepEqual(cfg.underlay, { listen: '0.0.0.0:14789', greListen: '[::1]:14754' });
    assert.deepEqual(cfg.peers, [
      {
        name: 'clawdboy',
        uuid: '88833763-60b7-47db-8703-349c6b2c70ff',
        address: 'fd00:6d6f:6c74:8883:3763:60b7:47db:8703',
        endpoint: { host: 'fd00:1::2', port: 4789 },
        link: 'vxlan',
        vni: 7171948,
        moltid: 'MOLTID:0x302a0000',
        authenticate: true,
        cost: 10,
      },
      {
        name: 'carlotta',
        address: 'fd00:6d6f:6c74:f8a9:ce03:f512:4311:8792',
        endpoint: { host: 'carlotta.example.net', port: 4789 },
        link: 'vxlan',
        vni: 7171948,
        authenticate: true,
        cost: 20,
      },
      {
        name: 'wg',
        address: 'fd00:6d6f:6c74::1',
        endpoint: { host: '192.0.2.7', port: 51820 },
        link: 'wireguard',
        vni: 7171948,
        authenticate: true,
        cost: 10,
      },
    ]);
    assert.deepEqual(cfg.routes, [
      { prefix: 'fd00:6d6f:6c74:f8a9::/64', via: 'clawdboy' },
      { prefix: '2001:db8::/32', via: 'carlotta' },
    ]);
    assert.deepEqual(cfg.kernelLinks, [
      { name: 'mlink0', netns: 'gw', address: 'fe80::1/64', cost: 10 },
      { name: 'mlink1', cost: 10 },
    ]);
    assert.deepEqual(cfg.ospf, { enabled: true, area: '0.0.0.1', helloInterval: 5, deadInterval: 20, mtuIgnore: false });
    assert.deepEqual(cfg.bfd, { enabled: false, minTxMs: 50, minRxMs: 60, multiplier: 5, multihop: [], multihopTimers: { minTxMs: 300, minRxMs: 300, multiplier: 3 } });
    assert.deepEqual(cfg.moltbook, { baseUrl: 'https://moltbook.example', apiKeyEnv: 'MB_KEY', pollSeconds: 60, announceSeconds: 21600, submolt: 'general' });
    assert.deepEqual(cfg.discovery, { lan: false, exchange: true, lanExclude: [], lanIntervalSeconds: 10, acceptInbound: true, link: 'vxlan', maxPeers: 256, unsigned: 'accept', exchangeSeconds: 300 });
    assert.deepEqual(cfg.services, { rpc: true, mcp: false, dns: true, http: false, rpcHandlers: {}, rpcRatePerSource: 50, dnsRatePerSource: 200, httpListen: '[::1]:8080', mcpProxy: true, mcpProxyListen: '[::1]:6801' });
  });

  it('the DESIGN.md example config parses', () => {
    const cfg = parseConfig(`
uuid: daa46e88-46c5-4af7-9268-1482c54c1922
name: agenticmesh
stateDir: /var/lib/moltnet
controlSocket: /run/moltnet/moltnet.sock
interface: { name: molt0, mtu: 1380 }
underlay: { listen: "[::]:4789" }
peers:
  - name: clawdboy
    uuid: 88833763-60b7-47db-8703-349c6b2c70ff
    endpoint: "[fd00:1::2]:4789"
    link: vxlan
    vni: 7171948
    moltid: "MOLTID:0x302a..."
    cost: 10
routes:
  - { prefix: "fd00:6d6f:6c74:f8a9::/64", via: clawdboy }
kernelLinks:
  - { name: mlink0, netns: gw, address: "fe80::1/64", cost: 10 }
ospf: { enabled: true, area: 0.0.0.0, helloInterval: 10, deadInterval: 40 }
bfd:  { enabled: true, minTxMs: 100, minRxMs: 100, multiplier: 3 }
moltbook: { baseUrl: "https://www.moltbook.com", apiKeyEnv: MOLTBOOK_API_KEY, pollSeconds: 300 }
discovery: { lan: true, exchange: true }
services: { rpc: true, mcp: true, dns: true, http: true }
`);
    assert.equal(cfg.peers[0]!.address, 'fd00:6d6f:6c74:8883:3763:60b7:47db:8703');
  });

  it('normalizes UUID case, bare UUIDs, area numbers, prefixes, and null sections', () => {
    const cfg = parseConfig(`
uuid: DAA46E8846C54AF792681482C54C1922
peers:
routes:
ospf: { area: 1 }
kernelLinks:
  - { name: k0, address: "FE80::0001" }
`);
    assert.equal(cfg.uuid, UUID);
    assert.deepEqual(cfg.peers, []);
    assert.equal(cfg.ospf.area, '0.0.0.1');
    assert.equal(cfg.kernelLinks[0]!.address, 'fe80::1/64');
  });

  it('endpoint forms and default ports by link kind', () => {
    const ep = (endpoint: string, link = 'vxlan') =>
      parseConfig(peer(`name: p\nuuid: 88833763-60b7-47db-8703-349c6b2c70ff\nendpoint: "${endpoint}"\nlink: ${link}`)).peers[0]!.endpoint;
    assert.deepEqual(ep('192.0.2.1:5000'), { host: '192.0.2.1', port: 5000 });
    assert.deepEqual(ep('192.0.2.1'), { host: '192.0.2.1', port: 4789 });
    assert.deepEqual(ep('[FD00:1:0:0::2]:9'), { host: 'fd00:1::2', port: 9 });
    assert.deepEqual(ep('[fd00:1::2]', 'gre'), { host: 'fd00:1::2', port: 4754 });
    assert.deepEqual(ep('fd00:1::2'), { host: 'fd00:1::2', port: 4789 });
    assert.deepEqual(ep('[fe80::1%eth0]:4789'), { host: 'fe80::1%eth0', port: 4789 });
    assert.deepEqual(ep('peer.example.com:4790', 'wireguard'), { host: 'peer.example.com', port: 4790 });
    assert.deepEqual(ep('peer', 'wireguard'), { host: 'peer', port: 51820 });
  });

  it('routes may name a peer in any case; the peer name is kept as written', () => {
    const cfg = parseConfig(
      withUuid(`peers:\n  - { name: Clawdboy, uuid: 88833763-60b7-47db-8703-349c6b2c70ff, endpoint: 192.0.2.1 }\nroutes:\n  - { prefix: "::/0", via: clawdboy }\n`),
    );
    assert.equal(cfg.routes[0]!.via, 'Clawdboy');
  });

  it('exampleConfig is valid and its active settings are exactly the defaults', () => {
    const u = 'f8a9ce03-f512-4311-8792-519109168903';
    const text = exampleConfig(u);
    assert.match(text, /fd00:6d6f:6c74:f8a9:ce03:f512:4311:8792/);
    assert.deepEqual(parseConfig(text), parseConfig(`uuid: ${u}\n`));
  });

  it('exampleConfig: its commented-out sections are valid too', () => {
    const text = exampleConfig(UUID)
      .split('\n')
      .filter((l) => !/^(peers|routes|kernelLinks): \[\]/.test(l))
      .map((l) => l.replace(/^# (peers:|routes:|kernelLinks:|  )/, '$1'))
      .join('\n');
    const cfg = parseConfig(text);
    assert.equal(cfg.peers.length, 1);
    assert.equal(cfg.routes.length, 1);
    assert.equal(cfg.kernelLinks.length, 1);
  });

  it('formatConfigYaml output parses back to the same config', () => {
    const cfg = parseConfig(FULL);
    const text = formatConfigYaml(cfg);
    assert.match(text, new RegExp(`^# mesh address: ${ADDR}`));
    assert.deepEqual(parseConfig(text), cfg);
    const min = parseConfig(`uuid: ${UUID}`);
    assert.deepEqual(parseConfig(formatConfigYaml(min)), min);
  });

  it('parseHostPort', () => {
    assert.deepEqual(parseHostPort('[::]:4789'), { host: '::', port: 4789 });
    assert.deepEqual(parseHostPort('example.org', 80), { host: 'example.org', port: 80 });
    assert.throws(() => parseHostPort('example.org'), /bad endpoint "example.org": no port/);
  });
});

describe('config: identity', () => {
  it('the identity section: minima backend, url and password variable, defaults filled in', () => {
    const cfg = parseConfig(withUuid('identity:\n  backend: minima\n  minima: { url: "http://127.0.0.1:19005/" }\n'));
    assert.deepEqual(cfg.identity, { backend: 'minima', minima: { url: 'http://127.0.0.1:19005', passwordEnv: 'MINIMA_PASSWORD' } });
    const cfg2 = parseConfig(withUuid('identity: { minima: { passwordEnv: MY_PASS } }\n'));
    assert.deepEqual(cfg2.identity, { backend: 'builtin', minima: { url: 'http://127.0.0.1:9005', passwordEnv: 'MY_PASS' } });
    assert.deepEqual(parseConfig(formatConfigYaml(cfg)), cfg);
  });
});

describe('config: errors name the key', () => {
  const cases: [string, string, RegExp][] = [
    ['unknown top-level key', withUuid('bogus: 1\n'), /^config\.yaml: bogus: unknown key \(known keys: uuid, name, .*\)$/m],
    ['unknown key, near miss', withUuid('controlsocket: /x\n'), /^config\.yaml: controlsocket: unknown key \(did you mean "controlSocket"\?\)$/m],
    ['unknown nested key', withUuid('interface: { name: molt0, colour: red }\n'), /^config\.yaml: interface\.colour: unknown key \(known keys: name, mtu, offload, workers, busyPollUs\)$/m],
    ['unknown key in a list item', peer('name: p\nuuid: 88833763-60b7-47db-8703-349c6b2c70ff\nendpoint: 192.0.2.1\nlnk: gre'), /^config\.yaml: peers\[0\]\.lnk: unknown key \(did you mean "link"\?\)$/m],
    ['wrong type (string for integer)', withUuid('interface: { mtu: "1380" }\n'), /^config\.yaml: interface\.mtu: expected an integer from 1280 to 9000, got "1380"$/m],
    ['integer out of range', withUuid('interface: { mtu: 100 }\n'), /^config\.yaml: interface\.mtu: expected an integer from 1280 to 9000, got 100$/m],
    ['workers out of range', withUuid('interface: { workers: 0 }\n'), /^config\.yaml: interface\.workers: expected 'auto' or an integer from 1 to 16, got 0$/m],
    ['workers neither auto nor a number', withUuid('interface: { workers: many }\n'), /^config\.yaml: interface\.workers: expected 'auto' or an integer from 1 to 16, got "many"$/m],
    ['busyPollUs out of range', withUuid('interface: { busyPollUs: 20000 }\n'), /^config\.yaml: interface\.busyPollUs: expected an integer from 0 to 10000, got 20000$/m],
    ['workers not an integer', withUuid('interface: { workers: 1.5 }\n'), /^config\.yaml: interface\.workers: expected 'auto' or an integer from 1 to 16, got 1\.5$/m],
    ['not an integer', withUuid('bfd: { multiplier: 2.5 }\n'), /^config\.yaml: bfd\.multiplier: expected an integer from 1 to 255, got 2\.5$/m],
    ['wrong type (string for boolean)', withUuid('ospf: { enabled: yes }\n'), /^config\.yaml: ospf\.enabled: expected true or false, got "yes"$/m],
    ['wrong type (list for mapping)', withUuid('services: []\n'), /^config\.yaml: services: expected a mapping, got a list$/m],
    ['wrong type (mapping for list)', withUuid('peers: { a: 1 }\n'), /^config\.yaml: peers: expected a list, got a mapping$/m],
    ['bad enum', peer('name: p\nuuid: 88833763-60b7-47db-8703-349c6b2c70ff\nendpoint: 192.0.2.1\nlink: ipip'), /^config\.yaml: peers\[0\]\.link: expected one of vxlan\|gre\|wireguard, got "ipip"$/m],
    ['the REST API on a name, not an address', withUuid('services: { httpListen: "localhost:8080" }\n'), /^config\.yaml: services\.httpListen: expected host:port, got "localhost:8080" \(an IP address and a port, not a name\)$/m],
    ['bad endpoint port', peer('name: p\nuuid: 88833763-60b7-47db-8703-349c6b2c70ff\nendpoint: "[fd00:1::2]:99999"'), /^config\.yaml: peers\[0\]\.endpoint: expected host:port.*got "\[fd00:1::2\]:99999" \(port 99999 is not in 1\.\.65535\)$/m],
    ['bad endpoint IPv4', peer('name: p\nuuid: 88833763-60b7-47db-8703-349c6b2c70ff\nendpoint: 1.2.3.999:4789'), /^config\.yaml: peers\[0\]\.endpoint: .*"1\.2\.3\.999" is not a valid IPv4 address/m],
    ['bad endpoint host', peer('name: p\nuuid: 88833763-60b7-47db-8703-349c6b2c70ff\nendpoint: "bad_host!:1"'), /^config\.yaml: peers\[0\]\.endpoint: .*not an IP address or DNS name/m],
    ['bad endpoint IPv6', peer('name: p\nuuid: 88833763-60b7-47db-8703-349c6b2c70ff\nendpoint: "[fd00::1::2]:1"'), /^config\.yaml: peers\[0\]\.endpoint: .*not a valid IPv6 address/m],
    ['route via unknown peer', withUuid('peers:\n  - { name: clawdboy, uuid: 88833763-60b7-47db-8703-349c6b2c70ff, endpoint: 192.0.2.1 }\nroutes:\n  - { prefix: "fd00::/8", via: bob }\n'), /^config\.yaml: routes\[0\]\.via: no peer or kernel link named "bob" \(links: clawdboy\)$/m],
    ['route with no peers', withUuid('routes:\n  - { prefix: "fd00::/8", via: bob }\n'), /^config\.yaml: routes\[0\]\.via: no peer or kernel link named "bob" \(no peers or kernel links are configured\)$/m],
    ['route prefix with host bits', withUuid('peers:\n  - { name: a, uuid: 88833763-60b7-47db-8703-349c6b2c70ff, endpoint: 192.0.2.1 }\nroutes:\n  - { prefix: "fd00::1/8", via: a }\n'), /^config\.yaml: routes\[0\]\.prefix: .*did you mean fd00::\/8\?/m],
    ['route prefix without length', withUuid('routes:\n  - { prefix: "fd00::", via: a }\n'), /^config\.yaml: routes\[0\]\.prefix: .*no prefix length/m],
    ['duplicate peer names', withUuid('peers:\n  - { name: a, uuid: 88833763-60b7-47db-8703-349c6b2c70ff, endpoint: 192.0.2.1 }\n  - { name: A, uuid: f8a9ce03-f512-4311-8792-519109168903, endpoint: 192.0.2.2 }\n'), /^config\.yaml: peers\[1\]\.name: duplicate peer name "A" \(also peers\[0\]\)$/m],
    ['duplicate peer addresses', withUuid('peers:\n  - { name: a, uuid: 88833763-60b7-47db-8703-349c6b2c70ff, endpoint: 192.0.2.1 }\n  - { name: b, address: "fd00:6d6f:6c74:8883:3763:60b7:47db:8703:349c", endpoint: 192.0.2.2 }\n'), /^config\.yaml: peers\[1\]\.address: mesh address fd00:6d6f:6c74:8883:3763:60b7:47db:8703 is also peers\[0\] \("a"\)$/m],
    ['two peers at one endpoint host', withUuid('peers:\n  - { name: a, uuid: 88833763-60b7-47db-8703-349c6b2c70ff, endpoint: "192.0.2.1:4789" }\n  - { name: b, uuid: f8a9ce03-f512-4311-8792-519109168903, endpoint: "192.0.2.1:5000" }\n'), /^config\.yaml: peers\[1\]\.endpoint: host 192\.0\.2\.1 is also the endpoint of peers\[0\] \("a"\) on a vxlan link; peers are told apart by underlay address$/m],
    ['peer is ourselves', withUuid(`peers:\n  - { name: me, uuid: ${UUID.toUpperCase()}, endpoint: 192.0.2.1 }\n`), /^config\.yaml: peers\[0\]\.uuid: fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268 is this node's own address$/m],
    ['peer without uuid or address', peer('name: p\nendpoint: 192.0.2.1'), /^config\.yaml: peers\[0\]: needs uuid or address$/m],
    ['peer with both uuid and address', peer('name: p\nuuid: 88833763-60b7-47db-8703-349c6b2c70ff\naddress: "fd00:6d6f:6c74::1"\nendpoint: 192.0.2.1'), /^config\.yaml: peers\[0\]: has both uuid and address; give one$/m],
    ['peer address outside the prefix', peer('name: p\naddress: "fd00::1"\nendpoint: 192.0.2.1'), /^config\.yaml: peers\[0\]\.address: "fd00::1" is outside the MoltNet prefix fd00:6d6f:6c74::\/48$/m],
    ['peer address given as a UUID', peer('name: p\naddress: 88833763-60b7-47db-8703-349c6b2c70ff\nendpoint: 192.0.2.1'), /^config\.yaml: peers\[0\]\.address: .*write it as uuid:/m],
    ['peer without endpoint', peer('name: p\nuuid: 88833763-60b7-47db-8703-349c6b2c70ff'), /^config\.yaml: peers\[0\]\.endpoint: required$/m],
    ['bad peer name', peer('name: "no spaces"\nuuid: 88833763-60b7-47db-8703-349c6b2c70ff\nendpoint: 192.0.2.1'), /^config\.yaml: peers\[0\]\.name: expected a peer name .*got "no spaces"$/m],
    ['vni out of range', peer('name: p\nuuid: 88833763-60b7-47db-8703-349c6b2c70ff\nendpoint: 192.0.2.1\nvni: 16777216'), /^config\.yaml: peers\[0\]\.vni: expected an integer from 0 to 16777215, got 16777216$/m],
    ['vni on a gre link', peer('name: p\nuuid: 88833763-60b7-47db-8703-349c6b2c70ff\nendpoint: 192.0.2.1\nlink: gre\nvni: 5'), /^config\.yaml: peers\[0\]\.vni: only used with link vxlan or wireguard, not gre$/m],
    ['cost out of range', peer('name: p\nuuid: 88833763-60b7-47db-8703-349c6b2c70ff\nendpoint: 192.0.2.1\ncost: 0'), /^config\.yaml: peers\[0\]\.cost: expected an integer from 1 to 65535, got 0$/m],
    ['bad moltid', peer('name: p\nuuid: 88833763-60b7-47db-8703-349c6b2c70ff\nendpoint: 192.0.2.1\nmoltid: "0x30"'), /^config\.yaml: peers\[0\]\.moltid: expected a MoltID/m],
    ['missing uuid', 'name: x\n', /^config\.yaml: uuid: required: the agent's UUID$/m],
    ['bad uuid', 'uuid: daa46e88-46c5-4af7-9268\n', /^config\.yaml: uuid: expected a UUID \(8-4-4-4-12 hex digits\), got "daa46e88-46c5-4af7-9268" \(20 hex digits, need 32\)$/m],
    ['uuid as a long number', 'uuid: 12345678123412341234123456789012\n', /^config\.yaml: uuid: .*\(a long number: quote it\)$/m],
    ['underlay listen on a name', withUuid('underlay: { listen: "host:4789" }\n'), /^config\.yaml: underlay\.listen: .*listen on an IP address/m],
    ['underlay listen bad port', withUuid('underlay: { greListen: "[::]:0" }\n'), /^config\.yaml: underlay\.greListen: .*port 0 is not in 1\.\.65535/m],
    ['ospf dead <= hello', withUuid('ospf: { helloInterval: 10, deadInterval: 10 }\n'), /^config\.yaml: ospf\.deadInterval: must be greater than helloInterval \(10\), got 10$/m],
    ['ospf bad area', withUuid('ospf: { area: 1.2.3 }\n'), /^config\.yaml: ospf\.area: expected an area ID/m],
    ['bad moltbook url', withUuid('moltbook: { baseUrl: "ftp://x" }\n'), /^config\.yaml: moltbook\.baseUrl: expected an http\(s\) URL, got "ftp:\/\/x" \(http or https only\)$/m],
    ['bad identity backend', withUuid('identity: { backend: gpg }\n'), /^config\.yaml: identity\.backend: expected one of builtin\|minima, got "gpg"$/m],
    ['unknown identity.minima key', withUuid('identity: { minima: { password: x } }\n'), /^config\.yaml: identity\.minima\.password: unknown key \(known keys: url, passwordEnv\)$/m],
    ['bad minima url', withUuid('identity: { minima: { url: "127.0.0.1:9005" } }\n'), /^config\.yaml: identity\.minima\.url: expected an http\(s\) URL/m],
    ['bad minima passwordEnv', withUuid('identity: { minima: { passwordEnv: "MY-PASS" } }\n'), /^config\.yaml: identity\.minima\.passwordEnv: expected an environment variable name, got "MY-PASS"$/m],
    ['kernel link named like the interface', withUuid('kernelLinks:\n  - { name: molt0 }\n'), /^config\.yaml: kernelLinks\[0\]\.name: "molt0" is the mesh interface's name/m],
    ['kernel link name too long', withUuid('kernelLinks:\n  - { name: abcdefghijklmnop }\n'), /^config\.yaml: kernelLinks\[0\]\.name: expected an interface name/m],
    ['null list item', withUuid('peers:\n  -\n'), /^config\.yaml: peers\[0\]: expected a mapping, got nothing$/m],
    ['not a mapping', '- a\n- b\n', /^config\.yaml: expected a mapping, got a list$/m],
    ['control socket path too long', withUuid(`controlSocket: /${'x'.repeat(120)}\n`), /^config\.yaml: controlSocket: socket path is 121 bytes/m],
    ['__proto__ is just an unknown key', withUuid('__proto__: { a: 1 }\n'), /^config\.yaml: __proto__: unknown key/m],
  ];
  for (const [name, text, re] of cases) {
    it(name, () => assert.match(errorOf(text), re));
  }

  it('reports every problem, one line each', () => {
    const msg = errorOf(withUuid('bogus: 1\ninterface: { mtu: 1 }\nbfd: { multiplier: "x" }\n'));
    const lines = msg.split('\n');
    assert.equal(lines.length, 3, msg);
    assert.ok(lines.some((l) => l.includes('bogus')));
    assert.ok(lines.some((l) => l.includes('interface.mtu')));
    assert.ok(lines.some((l) => l.includes('bfd.multiplier')));
  });

  it('YAML syntax errors give line:col', () => {
    const msg = errorOf(`uuid: ${UUID}\npeers: [\n  - x\nname: "unterminated\n`);
    assert.match(msg, /^config\.yaml:\d+:\d+: YAML syntax error: /);
  });

  it('duplicate keys are a YAML error with line:col', () => {
    assert.match(errorOf(`uuid: ${UUID}\nuuid: ${UUID}\n`), /^config\.yaml:2:1: YAML syntax error: Map keys must be unique$/);
  });

  it('an empty file says what is needed', () => {
    assert.match(errorOf(''), /^config\.yaml: empty config; it needs at least "uuid/);
    assert.match(errorOf('# only a comment\n'), /empty config/);
  });

  it('the default source name is "config"', () => {
    assert.throws(
      () => parseConfig('bogus: 1\n'),
      (err: Error) => err.message.split('\n').every((l) => l.startsWith('config: ')),
    );
  });

  it('alias bombs are refused', () => {
    const bomb = 'a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n';
    assert.match(errorOf(bomb), /^config\.yaml: YAML error: /);
  });
});

describe('config: loadConfig', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'moltnet-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file and resolves relative paths against its directory', async () => {
    const file = join(dir, 'node.yaml');
    await writeFile(file, withUuid('stateDir: state\ncontrolSocket: ./run/m.sock\n'));
    const cfg = await loadConfig(file);
    assert.equal(cfg.stateDir, join(dir, 'state'));
    assert.equal(cfg.controlSocket, join(dir, 'run/m.sock'));
    assert.equal(cfg.address, ADDR);
  });

  it('names the file in errors', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, withUuid('peers:\n  - { name: a, uuid: 88833763-60b7-47db-8703-349c6b2c70ff, endpoint: 192.0.2.1, link: ipip }\n'));
    await assert.rejects(loadConfig(file), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.message, `${file}: peers[0].link: expected one of vxlan|gre|wireguard, got "ipip"`);
      return true;
    });
  });

  it('a missing file is a ConfigError', async () => {
    await assert.rejects(loadConfig(join(dir, 'nope.yaml')), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /nope\.yaml: cannot read config: no such file$/);
      return true;
    });
  });

  it('an unreadable file is a ConfigError', { skip: process.getuid?.() === 0 ? 'root reads everything' : false }, async () => {
    const file = join(dir, 'secret.yaml');
    await writeFile(file, withUuid(''));
    await chmod(file, 0o000);
    await assert.rejects(loadConfig(file), /permission denied/);
  });
});

it('config: a route may go via a kernel link', () => {
  const cfg = parseConfig(
    'uuid: daa46e88-46c5-4af7-9268-1482c54c1922\nkernelLinks:\n  - { name: mlink0, netns: gw, address: "fe80::1/64" }\nroutes:\n  - { prefix: "fd00:6d6f:6c74:eeee::/64", via: MLINK0 }\n',
    'config.yaml',
  );
  assert.equal(cfg.routes[0]!.via, 'mlink0');
});

it('config: ospf router ID and authentication', () => {
  const cfg = parseConfig(
    'uuid: daa46e88-46c5-4af7-9268-1482c54c1922\nospf: { routerId: 10.0.0.7, authentication: { keyId: 1, key: s3cret } }\n',
    'config.yaml',
  );
  assert.equal(cfg.ospf.routerId, '10.0.0.7');
  assert.deepEqual(cfg.ospf.authentication, { keyId: 1, key: 's3cret' });
  assert.throws(
    () => parseConfig('uuid: daa46e88-46c5-4af7-9268-1482c54c1922\nospf: { routerId: 0.0.0.0 }\n', 'config.yaml'),
    /ospf\.routerId/,
  );
});

it('config: bfd authentication', () => {
  const cfg = parseConfig(
    'uuid: daa46e88-46c5-4af7-9268-1482c54c1922\nbfd: { authentication: { type: keyed-sha1, keyId: 3, key: abc } }\n',
    'config.yaml',
  );
  assert.deepEqual(cfg.bfd.authentication, { type: 'keyed-sha1', keyId: 3, key: 'abc' });
  assert.throws(
    () => parseConfig('uuid: daa46e88-46c5-4af7-9268-1482c54c1922\nbfd: { authentication: { type: md5, keyId: 3, key: abc } }\n', 'config.yaml'),
    /bfd\.authentication\.type: expected one of simple\|keyed-sha1\|meticulous-keyed-sha1/,
  );
});

it('config: a gre peer given only by address is refused (its key needs the UUID)', () => {
  assert.throws(
    () =>
      parseConfig(
        'uuid: daa46e88-46c5-4af7-9268-1482c54c1922\npeers:\n  - { name: b, address: "fd00:6d6f:6c74:8883:3763:60b7:47db:8703", endpoint: "192.0.2.1", link: gre }\n',
        'config.yaml',
      ),
    /peers\[0\]\.uuid: a gre peer needs its uuid/,
  );
});
