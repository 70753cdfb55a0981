import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InvalidInputError } from '../../src/common/errors.js';
import { WireGuardUapiError } from '../../src/transport/wireguard/errors.js';
import {
  GET_REQUEST,
  formatEndpoint,
  formatSetRequest,
  parseErrno,
  parseGetReply,
  uapiGet,
  uapiSet,
  uapiSocketPath,
} from '../../src/transport/wireguard/uapi.js';
import { GET_REPLY_TWO_PEERS } from '../fixtures/wireguard-uapi.js';

const root = await mkdtemp(join(tmpdir(), 'moltnet-wguapi-'));
after(() => rm(root, { recursive: true, force: true }));

const KEY_A = Buffer.alloc(32, 0x11);
const KEY_B = Buffer.alloc(32, 0xab);

describe('UAPI set=1 formatter', () => {
  it('every field, in the order the protocol reads them', () => {
    const text = formatSetRequest({
      privateKey: KEY_A,
      listenPort: 51820,
      replacePeers: true,
      peers: [
        {
          publicKey: KEY_B,
          endpoint: { host: 'FD00:99:0:0::2', port: 51821 },
          persistentKeepaliveInterval: 25,
          replaceAllowedIps: true,
          allowedIps: ['fd6d:6f6c:7767:0:0:0:0:2/128', '10.0.0.0/8'],
        },
        { publicKey: KEY_A, remove: true },
        { publicKey: KEY_B, updateOnly: true, endpoint: { host: '192.0.2.7', port: 1 } },
      ],
    });
    assert.equal(
      text,
      'set=1\n' +
        `private_key=${'11'.repeat(32)}\n` +
        'listen_port=51820\n' +
        'replace_peers=true\n' +
        `public_key=${'ab'.repeat(32)}\n` +
        'endpoint=[fd00:99::2]:51821\n' +
        'persistent_keepalive_interval=25\n' +
        'replace_allowed_ips=true\n' +
        'allowed_ip=fd6d:6f6c:7767::2/128\n' +
        'allowed_ip=10.0.0.0/8\n' +
        `public_key=${'11'.repeat(32)}\n` +
        'remove=true\n' +
        `public_key=${'ab'.repeat(32)}\n` +
        'update_only=true\n' +
        'endpoint=192.0.2.7:1\n' +
        '\n',
    );
  });

  it('only what is given: a port change alone', () => {
    assert.equal(formatSetRequest({ listenPort: 0 }), 'set=1\nlisten_port=0\n\n');
  });

  it('refuses what the UAPI would refuse or misread (names, bad prefixes and ports, line breaks)', () => {
    assert.equal(formatEndpoint({ host: '[fd00::1]', port: 7 }), '[fd00::1]:7');
    assert.throws(() => formatEndpoint({ host: 'peer.example', port: 51820 }), InvalidInputError);
    assert.throws(() => formatEndpoint({ host: 'fd00::1', port: 65536 }), InvalidInputError);
    const peer = { publicKey: KEY_B };
    for (const a of ['fd00::1', 'fd00::/129', '10.0.0.0/33', 'fd00::/64\nprivate_key=00', 'x/8']) {
      assert.throws(() => formatSetRequest({ peers: [{ ...peer, allowedIps: [a] }] }), InvalidInputError, a);
    }
    assert.throws(() => formatSetRequest({ peers: [{ ...peer, persistentKeepaliveInterval: -1 }] }), InvalidInputError);
    assert.throws(() => formatSetRequest({ peers: [{ publicKey: Buffer.alloc(16) }] }), /32 bytes/);
  });
});

describe('UAPI get=1 parser', () => {
  it('a reply captured from wireguard-go: interface fields and both peers', () => {
    const s = parseGetReply(GET_REPLY_TWO_PEERS);
    assert.equal(s.listenPort, 51820);
    assert.equal(s.fwmark, 0);
    assert.equal(s.peers.length, 2);
    const [a, b] = s.peers;
    assert.equal(a!.publicKey.toString('hex'), '413df4e13aeb4c77670662cd77b77972c2df61fe28fe3742854a5dc18d6b666d');
    assert.equal(a!.endpoint, '[fd00:99::2]:51821');
    assert.equal(a!.lastHandshakeTimeSec, 1796125729);
    assert.equal(a!.lastHandshakeTimeNsec, 395655728);
    assert.equal(a!.txBytes, 560);
    assert.equal(a!.rxBytes, 468);
    assert.equal(a!.persistentKeepaliveInterval, 25);
    assert.deepEqual(a!.allowedIps, ['fd6d:6f6c:7767:0:a109:32a2:4fbc:8f09/128']);
    assert.equal(b!.lastHandshakeTimeSec, 0);
    assert.equal(b!.rxBytes, 0);
    assert.deepEqual(b!.allowedIps, ['fd6d:6f6c:7767:0:1:2:3:4/128', 'fd00:77::/64']);
  });

  it('keeps the private key out of the parsed state', () => {
    assert.doesNotMatch(JSON.stringify(parseGetReply(GET_REPLY_TWO_PEERS)), /38727bee/);
  });

  it('errno: 0 parses; non-zero is an error naming it; no errno line is not a reply', () => {
    assert.equal(parseErrno('errno=0\n\n'), 0);
    assert.equal(parseErrno('errno=-22\n\n'), -22);
    assert.throws(() => parseGetReply('errno=-22\n\n'), (e: unknown) => e instanceof WireGuardUapiError && e.errno === -22 && /errno=-22/.test(e.message));
    assert.throws(() => parseErrno('listen_port=1\n'), WireGuardUapiError);
    assert.deepEqual(parseGetReply('errno=0\n\n'), { listenPort: 0, fwmark: 0, peers: [] });
  });
});

/** A stub UAPI server: `answer` gets each complete request (through its blank line) and the socket. */
async function stub(name: string, answer: (request: string, sock: Socket) => void): Promise<{ path: string; server: Server; requests: string[] }> {
  const path = join(root, `${name}.sock`);
  const requests: string[] = [];
  const server = createServer((sock) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.endsWith('\n\n')) {
        requests.push(buf);
        answer(buf, sock);
      }
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { path, server, requests };
}

describe('UAPI client', () => {
  it('the socket path is /var/run/wireguard/<iface>.sock', () => {
    assert.equal(uapiSocketPath('mwg0123456789ab'), '/var/run/wireguard/mwg0123456789ab.sock');
  });

  it('get: sends get=1 and parses a reply that arrives in pieces', async () => {
    const s = await stub('get', (_req, sock) => {
      const half = GET_REPLY_TWO_PEERS.length >> 1;
      sock.write(GET_REPLY_TWO_PEERS.slice(0, half));
      setImmediate(() => sock.write(GET_REPLY_TWO_PEERS.slice(half)));
    });
    const state = await uapiGet(s.path, 2000);
    assert.deepEqual(s.requests, [GET_REQUEST]);
    assert.equal(state.peers.length, 2);
  });

  it('set: errno=0 resolves, errno=-22 rejects naming the errno', async () => {
    let errno = 0;
    const s = await stub('set', (_req, sock) => sock.write(`errno=${errno}\n\n`));
    const request = formatSetRequest({ listenPort: 51820 });
    await uapiSet(s.path, request, 2000);
    assert.deepEqual(s.requests, [request]);
    errno = -22;
    await assert.rejects(uapiSet(s.path, request, 2000), (e: unknown) => e instanceof WireGuardUapiError && e.errno === -22 && /errno=-22/.test(e.message));
  });

  it('a server that never answers: a timeout error, not a hang', async () => {
    const s = await stub('silent', () => undefined);
    const t0 = performance.now();
    await assert.rejects(uapiGet(s.path, 150), (e: unknown) => e instanceof WireGuardUapiError && e.code === 'ETIMEDOUT' && /within 150 ms/.test(e.message));
    assert.ok(performance.now() - t0 < 2000);
  });

  it('a server that hangs up mid-reply, and no socket at all, are errors', async () => {
    const s = await stub('hangup', (_req, sock) => sock.end('listen_port=1\n'));
    await assert.rejects(uapiGet(s.path, 2000), /closed before a complete UAPI reply/);
    await assert.rejects(uapiGet(join(root, 'absent.sock'), 2000), (e: unknown) => e instanceof WireGuardUapiError && e.code === 'ENOENT');
  });
});
