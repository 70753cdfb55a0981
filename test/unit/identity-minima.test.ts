import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { checkClaim } from '../../src/controlplane/identity/claim.js';
import {
  MinimaAuthError,
  MinimaCommandError,
  MinimaNotReadyError,
  MinimaReplyError,
  MinimaUnreachableError,
} from '../../src/controlplane/identity/errors.js';
import { MinimaBackend } from '../../src/controlplane/identity/minima.js';
import { MinimaClient, percentEncode } from '../../src/controlplane/identity/minima-rpc.js';
import { formatPermanentAddress, parsePublicKey, verifySignature } from '../../src/controlplane/identity/moltid.js';
import { MinimaStub } from '../helpers/minima-stub.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
const noSleep = { sleep: async () => {} };

describe('identity: Minima RPC client', () => {
  const stub = new MinimaStub({ privateKey: rsa.privateKey, p2pIdentity: 'MxSELF@127.0.0.1:9001' });
  let backend: MinimaBackend;
  before(async () => {
    await stub.start();
    backend = new MinimaBackend(new MinimaClient({ url: stub.url, ...noSleep }));
  });
  after(() => stub.stop());

  it('percent-encodes every reserved character, # included', () => {
    assert.equal(percentEncode('maxextra action:getaddress maxaddress:MAX#0xAB#Mx@1.2.3.4:9001'), 'maxextra%20action%3Agetaddress%20maxaddress%3AMAX%230xAB%23Mx%401.2.3.4%3A9001');
    assert.equal(percentEncode("a!'()*b"), 'a%21%27%28%29%2Ab');
  });

  it('info: the Maxima key (RSA), name, p2pidentity', async () => {
    const info = await backend.info();
    assert.equal(info.publicKey, stub.publicKey);
    assert.equal(info.keyType, 'rsa');
    assert.equal(info.name, 'stubnode');
    assert.equal(info.staticMls, false);
    assert.equal(info.p2pIdentity, 'MxSELF@127.0.0.1:9001');
  });

  it('maxsign signatures verify offline; maxverify reads response.valid', async () => {
    const data = Buffer.from('challenge bytes');
    const sig = await backend.sign(data);
    assert.ok(verifySignature(data, parsePublicKey(stub.publicKey), sig));
    assert.equal(await backend.verify(data, stub.publicKey, sig), true);
    const bad = Buffer.from(sig);
    bad[7]! ^= 1;
    // status:true, valid:false: a wrong signature is false, not an error
    assert.equal(await backend.verify(data, stub.publicKey, bad), false);
    assert.equal(await backend.verify(Buffer.from('other'), stub.publicKey, sig), false);
    const last = stub.requests.at(-1)!;
    assert.match(last.rawUrl, /^\/maxverify%20data%3A0x[0-9A-F]+%20publickey%3A0x[0-9A-F]+%20signature%3A0x[0-9A-F]+$/);
  });

  it('random', async () => {
    assert.deepEqual(await backend.random(4), Buffer.from([0xab, 0xab, 0xab, 0xab]));
  });

  it('Static MLS, addpermanent and getaddress (response.success) with # percent-encoded', async () => {
    const permanent = formatPermanentAddress(stub.publicKey, 'MxSELF@127.0.0.1:9001');
    assert.equal(await backend.permanentRegistered(permanent), false);
    await backend.setStaticMls('MxSELF@127.0.0.1:9001');
    await backend.addPermanent(stub.publicKey);
    const before = stub.requests.length;
    assert.equal(await backend.permanentRegistered(permanent), true);
    const req = stub.requests[before]!;
    assert.equal(req.line, `maxextra action:getaddress maxaddress:${permanent}`);
    assert.ok(!req.rawUrl.includes('#'));
    assert.match(req.rawUrl, /maxaddress%3AMAX%230x/);
    assert.deepEqual(await backend.listPermanent(), { permanent: [stub.publicKey] });
  });

  it('contacts lockdown and the allow list', async () => {
    await backend.allowAllContacts(false);
    assert.equal(stub.allowAll, false);
    await backend.addAllowed(stub.publicKey);
    assert.deepEqual(await backend.listAllowed(), { allowed: [stub.publicKey] });
    await backend.clearAllowed();
    assert.deepEqual(await backend.listAllowed(), { allowed: [] });
    assert.deepEqual(await backend.contacts(), { contacts: [] });
  });

  it('status:false while starting is retried with backoff, then succeeds', async () => {
    const sleeps: number[] = [];
    const client = new MinimaClient({ url: stub.url, backoffMs: 100, maxBackoffMs: 300, sleep: async (ms) => void sleeps.push(ms) });
    stub.setStarting(3);
    const r = await client.command('maxima action:info');
    assert.equal(r.status, true);
    assert.deepEqual(sleeps, [100, 200, 300]);
  });

  it('still starting after the retry budget: MinimaNotReadyError', async () => {
    const client = new MinimaClient({ url: stub.url, startAttempts: 3, ...noSleep });
    stub.setStarting(10);
    await assert.rejects(client.command('maxima action:info'), (e: unknown) => e instanceof MinimaNotReadyError && /still starting after 3 tries.*please wait/.test((e as Error).message));
    stub.setStarting(0);
  });

  it('other status:false answers fail at once with the message', async () => {
    const client = new MinimaClient({ url: stub.url, ...noSleep });
    const n = stub.requests.length;
    await assert.rejects(client.command('nosuchcommand'), (e: unknown) => e instanceof MinimaCommandError && /Command not found/.test((e as Error).message));
    assert.equal(stub.requests.length, n + 1);
  });

  it('parameter values with spaces are refused before sending', async () => {
    await assert.rejects(backend.setStaticMls('a b'), MinimaCommandError);
  });

  it('claim: all three conditions once MLS and permanent are set up', async () => {
    const r = await checkClaim(backend);
    assert.equal(r.claimed, true, JSON.stringify(r.checks));
    assert.deepEqual(r.checks.map((c) => c.name), ['staticmls', 'permanent', 'proof']);
    assert.equal(r.permanent, formatPermanentAddress(stub.publicKey, 'MxSELF@127.0.0.1:9001'));
  });
});

describe('identity: Minima RPC auth and failures', () => {
  it('Basic auth as user minima; a wrong password is MinimaAuthError', async () => {
    const stub = new MinimaStub({ privateKey: rsa.privateKey, password: 's3cret' });
    await stub.start();
    try {
      const ok = new MinimaBackend(new MinimaClient({ url: stub.url, password: 's3cret', ...noSleep }));
      assert.equal((await ok.info()).publicKey, stub.publicKey);
      assert.equal(stub.requests.at(-1)!.authorization, `Basic ${Buffer.from('minima:s3cret').toString('base64')}`);
      const bad = new MinimaBackend(new MinimaClient({ url: stub.url, password: 'nope', ...noSleep }));
      await assert.rejects(bad.info(), MinimaAuthError);
      const none = new MinimaBackend(new MinimaClient({ url: stub.url, ...noSleep }));
      await assert.rejects(none.info(), MinimaAuthError);
      assert.equal(stub.requests.at(-1)!.authorization, undefined);
    } finally {
      await stub.stop();
    }
  });

  it('claim reports which conditions fail (no Static MLS, not registered)', async () => {
    const stub = new MinimaStub({ privateKey: rsa.privateKey });
    await stub.start();
    try {
      const r = await checkClaim(new MinimaBackend(new MinimaClient({ url: stub.url, ...noSleep })));
      assert.equal(r.claimed, false);
      assert.deepEqual(r.checks.map((c) => [c.name, c.ok]), [['staticmls', false], ['permanent', false], ['proof', true]]);
      stub.staticMls = true;
      const r2 = await checkClaim(new MinimaBackend(new MinimaClient({ url: stub.url, ...noSleep })));
      assert.deepEqual(r2.checks.map((c) => [c.name, c.ok]), [['staticmls', true], ['permanent', false], ['proof', true]]);
    } finally {
      await stub.stop();
    }
  });

  it('a signing node that lies fails the proof', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const stub = new MinimaStub({ privateKey: rsa.privateKey });
    await stub.start();
    try {
      const b = new MinimaBackend(new MinimaClient({ url: stub.url, ...noSleep }));
      b.sign = async (d) => sign('sha256', d, other.privateKey);
      const r = await checkClaim(b);
      assert.deepEqual(r.checks.find((c) => c.name === 'proof')!.ok, false);
    } finally {
      await stub.stop();
    }
  });

  async function rawServer(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; close: () => Promise<void> }> {
    const srv = createServer(handler);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    return {
      url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
      close: () => new Promise((r) => { srv.closeAllConnections(); srv.close(() => r()); }),
    };
  }

  it('a request with no answer times out (MinimaUnreachableError)', async () => {
    const s = await rawServer(() => {});
    try {
      await assert.rejects(new MinimaClient({ url: s.url, timeoutMs: 100 }).command('maxima action:info'), (e: unknown) => e instanceof MinimaUnreachableError && /no answer .* in 100 ms/.test((e as Error).message));
    } finally {
      await s.close();
    }
  });

  it('a reply over the size bound is refused', async () => {
    const s = await rawServer((_req, res) => res.end(`{"status":true,"response":"${'x'.repeat(10_000)}"}`));
    try {
      await assert.rejects(new MinimaClient({ url: s.url, maxReplyBytes: 1000 }).command('random'), (e: unknown) => e instanceof MinimaReplyError && /longer than 1000 bytes/.test((e as Error).message));
    } finally {
      await s.close();
    }
  });

  it('not JSON, no status, HTTP errors: MinimaReplyError', async () => {
    let body = 'not json';
    let code = 200;
    const s = await rawServer((_req, res) => res.writeHead(code).end(body));
    try {
      const c = new MinimaClient({ url: s.url });
      await assert.rejects(c.command('random'), /not JSON/);
      body = '{"command":"random"}';
      await assert.rejects(c.command('random'), /no status/);
      code = 500;
      await assert.rejects(c.command('random'), /HTTP 500/);
    } finally {
      await s.close();
    }
  });

  it('nothing listening: MinimaUnreachableError', async () => {
    const s = await rawServer(() => {});
    const url = s.url;
    await s.close();
    await assert.rejects(new MinimaClient({ url }).command('random'), (e: unknown) => e instanceof MinimaUnreachableError && /not reachable: ECONNREFUSED/.test((e as Error).message));
  });
});
