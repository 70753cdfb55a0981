/**
 * PeeringSession over real TCP connections on loopback, with a manual clock and manual timers: the
 * handshake to established, keepalives and the hold time, the handshake timeout, oversize frames and
 * messages after the handshake that are not keepalives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { generateKeyPairSync, randomBytes, sign as cryptoSign } from 'node:crypto';
import { ManualClock } from '../../src/common/clock.js';
import { meshAddressBytes } from '../../src/common/address.js';
import { silentLogger } from '../../src/common/log.js';
import type { Timers } from '../../src/controlplane/service.js';
import { ReplayCache, type LocalIdentity } from '../../src/controlplane/peering/handshake.js';
import { encodeFrame } from '../../src/controlplane/peering/messages.js';
import { PeeringSession } from '../../src/controlplane/peering/session.js';
import { TrustPolicy } from '../../src/controlplane/peering/trust.js';

const U1 = 'daa46e88-46c5-4af7-9268-1482c54c1922';
const U2 = '88833763-60b7-47db-8703-349c6b2c70ff';

/** Timers that fire only when the test moves the clock. */
class ManualTimers implements Timers {
  private next = 0;
  private readonly due = new Map<number, { at: number; fn: () => void }>();
  constructor(private readonly clock: ManualClock) {}
  setTimeout(fn: () => void, ms: number): unknown {
    this.due.set(++this.next, { at: this.clock.now() + ms, fn });
    return this.next;
  }
  clearTimeout(h: unknown): void {
    this.due.delete(h as number);
  }
  advance(ms: number): void {
    const end = this.clock.now() + ms;
    for (;;) {
      const [id, t] = [...this.due.entries()].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0] ?? [];
      if (id === undefined || !t) break;
      this.due.delete(id);
      this.clock.set(Math.max(this.clock.now(), t.at));
      t.fn();
    }
    this.clock.set(end);
  }
}

function identity(uuid: string): LocalIdentity {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return {
    binding: (wall) => ({ uuid, meshAddress: meshAddressBytes(uuid), moltidKey: der, endpoint: '[::1]:4789', linkKinds: ['vxlan'], timestampMs: wall }),
    sign: (d) => cryptoSign(null, d, privateKey),
  };
}

async function socketPair(): Promise<{ client: Socket; server: Socket; close(): void }> {
  const srv: Server = createServer();
  const accepted = new Promise<Socket>((r) => srv.once('connection', r));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const client = connect({ port: (srv.address() as { port: number }).port, host: '127.0.0.1' });
  await new Promise<void>((r) => client.once('connect', () => r()));
  return { client, server: await accepted, close: () => srv.close() };
}

function session(socket: Socket, role: 'initiator' | 'responder', local: LocalIdentity, clock: ManualClock, timers: ManualTimers, policy = new TrustPolicy()) {
  return new PeeringSession({
    socket,
    handshake: { role, local, policy, replay: new ReplayCache(), random: randomBytes, timeoutMs: 5000 },
    clock,
    wallClock: () => 1_796_000_000_000 + clock.now(),
    timers,
    keepaliveMs: 10_000,
    holdMs: 40_000,
    log: silentLogger(),
  });
}

const until = (s: PeeringSession, ev: 'established' | 'closed') => new Promise<string | undefined>((r) => s.once(ev as 'closed', (why?: string) => r(why)));

test('two sessions reach established; keepalives keep them up; silence for the hold time closes them', async () => {
  const clock = new ManualClock(1000);
  const timers = new ManualTimers(clock);
  const { client, server, close } = await socketPair();
  try {
    const a = session(client, 'initiator', identity(U1), clock, timers);
    const b = session(server, 'responder', identity(U2), clock, timers);
    await Promise.all([until(a, 'established'), until(b, 'established')]);
    assert.equal(a.peer?.uuid, U2);
    assert.equal(b.peer?.uuid, U1);
    // Each keepalive reaches the other side and re-arms its hold timer: 100 s of them keep it up.
    for (let i = 0; i < 10; i++) {
      timers.advance(10_000);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(a.state, 'established');
    assert.equal(b.state, 'established');
    // One side stops sending (its keepalive timer never fires again): the other gives up after the hold time.
    const closedB = until(b, 'closed');
    a.removeAllListeners();
    (a as unknown as { scheduleKeepalive(): void }).scheduleKeepalive = () => undefined;
    timers.advance(10_000); // a's pending keepalive goes out, then no more
    await new Promise((r) => setTimeout(r, 20));
    timers.advance(40_000);
    assert.match((await closedB) ?? '', /no keepalive for 40 s/);
    a.close('test over');
  } finally {
    close();
  }
});

test('a handshake that does not finish in time is closed; so is an oversize frame', async () => {
  const clock = new ManualClock(0);
  const timers = new ManualTimers(clock);
  {
    const { client, server, close } = await socketPair();
    const b = session(server, 'responder', identity(U2), clock, timers);
    const closed = until(b, 'closed');
    timers.advance(5000);
    assert.equal(await closed, 'handshake timed out');
    client.destroy();
    close();
  }
  {
    const { client, server, close } = await socketPair();
    const b = session(server, 'responder', identity(U2), clock, timers);
    const closed = until(b, 'closed');
    const big = Buffer.alloc(8);
    big.writeUInt32BE(1 << 20);
    client.write(big);
    assert.match((await closed) ?? '', /over the 16384-byte limit/);
    client.destroy();
    close();
  }
});

test('after the handshake only keepalives are taken; a refused initiator learns the reason', async () => {
  const clock = new ManualClock(0);
  const timers = new ManualTimers(clock);
  {
    const { client, server, close } = await socketPair();
    const a = session(client, 'initiator', identity(U1), clock, timers);
    const b = session(server, 'responder', identity(U2), clock, timers);
    await Promise.all([until(a, 'established'), until(b, 'established')]);
    const closed = until(b, 'closed');
    client.write(encodeFrame({ proof: { response: Buffer.alloc(64) } }));
    assert.equal(await closed, 'unexpected proof after the handshake');
    a.close('over');
    close();
  }
  {
    const { client, server, close } = await socketPair();
    const a = session(client, 'initiator', identity(U1), clock, timers);
    session(server, 'responder', identity(U2), clock, timers, new TrustPolicy({ deny: ['fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268'] }));
    assert.match((await until(a, 'closed')) ?? '', /refused by the peer: mesh address fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268 is denied/);
    close();
  }
});
