import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../src/common/errors.js';
import { decideMls, listensIn, mlsEnv, p2pHost, privateReason, tcpListening, type MlsInputs } from '../../src/controlplane/identity/mls.js';

const ID = (host: string) => `MxG18HGG6FJ038614Y8CW46US6G20810K0070CD00Z83282G60G1C9RS1AMUNYYTP@${host}:9001`;
const base: MlsInputs = { autoDetect: true, preferSovereign: true, communityHost: null, p2pPort: 9001, p2pIdentity: ID('8.8.4.4'), listening: true };

describe('identity: MLS auto-detection', () => {
  it('environment: the seed defaults, and bad values', () => {
    assert.deepEqual(mlsEnv({}), { autoDetect: true, preferSovereign: true, communityHost: null, p2pPort: 9001 });
    assert.deepEqual(mlsEnv({ AUTO_DETECT_MLS: 'false', PREFER_SOVEREIGN_MLS: '0', COMMUNITY_MLS_HOST: ' MxC@198.51.100.1:9001 ', P2P_PORT: '19001' }), {
      autoDetect: false,
      preferSovereign: false,
      communityHost: 'MxC@198.51.100.1:9001',
      p2pPort: 19001,
    });
    assert.throws(() => mlsEnv({ AUTO_DETECT_MLS: 'maybe' }), (e: unknown) => e instanceof InvalidInputError && /AUTO_DETECT_MLS/.test((e as Error).message));
    assert.throws(() => mlsEnv({ P2P_PORT: '70000' }), /P2P_PORT/);
  });

  it('private and reserved ranges', () => {
    const table: [string, RegExp | null][] = [
      ['10.1.2.3', /RFC 1918/], ['172.16.0.1', /RFC 1918/], ['172.31.255.255', /RFC 1918/], ['192.168.1.1', /RFC 1918/],
      ['100.64.0.1', /CGNAT/], ['100.127.255.254', /CGNAT/], ['169.254.1.1', /link-local/], ['127.0.0.1', /loopback/],
      ['224.0.0.251', /multicast/], ['239.1.1.1', /multicast/], ['240.0.0.1', /reserved/], ['255.255.255.255', /reserved/],
      ['0.0.0.0', /this network/], ['192.0.2.1', /documentation/], ['198.18.0.1', /benchmarking/],
      ['8.8.8.8', null], ['172.32.0.1', null], ['100.128.0.1', null], ['192.169.0.1', null], ['1.1.1.1', null], ['223.255.255.255', null],
    ];
    for (const [ip, want] of table) {
      const r = privateReason(ip);
      if (want === null) assert.equal(r, null, ip);
      else assert.match(r ?? '', want, ip);
    }
  });

  it('p2pidentity host', () => {
    assert.equal(p2pHost(ID('8.8.4.4')), '8.8.4.4');
    assert.equal(p2pHost('Mx@node.example.org:9001'), 'node.example.org');
    assert.equal(p2pHost('Mx@[2001:db8::1]:9001'), '2001:db8::1');
    assert.equal(p2pHost('1.2.3.4:9001'), '1.2.3.4');
  });

  it('the decision table', () => {
    const C = 'MxC@198.51.100.1:9001';
    const rows: [Partial<MlsInputs>, string, string | null, RegExp][] = [
      [{}, 'self', ID('8.8.4.4'), /public and port 9001 is listening/],
      [{ listening: false }, 'manual', null, /nothing is listening/],
      [{ listening: false, communityHost: C }, 'community', C, /nothing is listening/],
      [{ listening: null, communityHost: C }, 'community', C, /nothing is listening/],
      [{ p2pIdentity: ID('192.168.1.5') }, 'manual', null, /RFC 1918/],
      [{ p2pIdentity: ID('100.70.1.1'), communityHost: C }, 'community', C, /CGNAT/],
      [{ p2pIdentity: ID('169.254.3.3'), communityHost: C }, 'community', C, /link-local/],
      [{ p2pIdentity: ID('127.0.0.1') }, 'manual', null, /loopback/],
      [{ p2pIdentity: ID('224.1.1.1') }, 'manual', null, /multicast/],
      [{ p2pIdentity: 'Mx@node.example.org:9001', communityHost: C }, 'manual', null, /not an IPv4 address/],
      [{ p2pIdentity: 'Mx@[2001:db8::1]:9001', communityHost: C }, 'manual', null, /not an IPv4 address/],
      [{ p2pIdentity: null }, 'manual', null, /no p2pidentity/],
      [{ autoDetect: false }, 'manual', null, /AUTO_DETECT_MLS=false/],
      [{ preferSovereign: false, communityHost: C }, 'community', C, /PREFER_SOVEREIGN_MLS=false/],
      [{ preferSovereign: false }, 'manual', null, /PREFER_SOVEREIGN_MLS=false/],
    ];
    for (const [over, mode, host, reason] of rows) {
      const d = decideMls({ ...base, ...over });
      assert.equal(d.mode, mode, JSON.stringify(over));
      assert.equal(d.host, host, JSON.stringify(over));
      assert.match(d.reason, reason);
    }
  });

  it('listener check: /proc/net/tcp LISTEN rows', async () => {
    const table = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000:2329 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1',
      '   1: 0100007F:1F90 0100007F:A000 01 00000000:00000000 00:00000000 00000000     0        0 2 1',
    ].join('\n');
    assert.equal(listensIn(table, 9001), true);
    assert.equal(listensIn(table, 8080), false); // established, not listening
    const dir = await mkdtemp(join(tmpdir(), 'procnet-'));
    try {
      await writeFile(join(dir, 'tcp'), table);
      assert.equal(await tcpListening(9001, dir), true);
      assert.equal(await tcpListening(9002, dir), false);
      assert.equal(await tcpListening(9001, join(dir, 'none')), null);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('listener check on this host: a loopback listener is seen', { skip: process.platform !== 'linux' }, async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    try {
      assert.equal(await tcpListening(port), true);
    } finally {
      await new Promise((r) => srv.close(r));
    }
  });
});
