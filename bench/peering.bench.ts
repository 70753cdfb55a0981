/**
 * The peering handshake's cost: the whole exchange (Hello, HelloReply, Proof, Result) between two
 * PeeringSessions over a real TCP connection on loopback, with Ed25519 keys and with Maxima's RSA-2048,
 * and the same exchange in memory (the signature work alone). Loopback only.
 */
import { pathToFileURL } from 'node:url';
import { createServer, connect, type Socket } from 'node:net';
import { generateKeyPairSync, randomBytes, sign as cryptoSign } from 'node:crypto';
import { systemClock } from '../src/common/clock.js';
import { meshAddressBytes } from '../src/common/address.js';
import { silentLogger } from '../src/common/log.js';
import { systemTimers } from '../src/controlplane/service.js';
import { Handshake, ReplayCache, type LocalIdentity } from '../src/controlplane/peering/handshake.js';
import { PeeringSession } from '../src/controlplane/peering/session.js';
import { TrustPolicy } from '../src/controlplane/peering/trust.js';
import { formatResult, type BenchResult } from './result.js';

const U1 = 'daa46e88-46c5-4af7-9268-1482c54c1922';
const U2 = '88833763-60b7-47db-8703-349c6b2c70ff';
const N = Number(process.env['BENCH_HANDSHAKES'] ?? 200);

function identity(uuid: string, kind: 'ed25519' | 'rsa'): LocalIdentity {
  const { publicKey, privateKey } = kind === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return {
    binding: (wall) => ({ uuid, meshAddress: meshAddressBytes(uuid), moltidKey: der, endpoint: '[::1]:4789', linkKinds: ['vxlan'], timestampMs: wall }),
    sign: (d) => cryptoSign(kind === 'ed25519' ? null : 'sha256', d, privateKey),
  };
}

const options = (role: 'initiator' | 'responder', local: LocalIdentity) => ({
  role,
  local,
  policy: new TrustPolicy(),
  replay: new ReplayCache(),
  random: randomBytes,
});

async function inMemory(a: LocalIdentity, b: LocalIdentity): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const now = performance.now();
    const init = new Handshake({ ...options('initiator', a), now, wallNow: Date.now() });
    const resp = new Handshake({ ...options('responder', b), now, wallNow: Date.now() });
    const hello = (await init.start()).send[0]!;
    const reply = (await resp.receive(hello, now, Date.now())).send[0]!;
    const proof = (await init.receive(reply, now, Date.now())).send[0]!;
    const result = (await resp.receive(proof, now, Date.now())).send[0]!;
    await init.receive(result, now, Date.now());
    if (init.state !== 'Established') throw new Error(init.reason);
  }
  return (performance.now() - t0) / N;
}

async function overTcp(a: LocalIdentity, b: LocalIdentity): Promise<number> {
  const pending: ((s: Socket) => void)[] = [];
  const server = createServer((s) => pending.shift()?.(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const common = { clock: systemClock, wallClock: Date.now, timers: systemTimers, keepaliveMs: 10_000, holdMs: 40_000, log: silentLogger() };
  let total = 0;
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const accepted = new Promise<Socket>((r) => pending.push(r));
    const client = connect({ port, host: '127.0.0.1' });
    await new Promise<void>((r) => client.once('connect', () => r()));
    const initiator = new PeeringSession({ ...common, socket: client, handshake: options('initiator', a) });
    const responder = new PeeringSession({ ...common, socket: await accepted, handshake: options('responder', b) });
    await Promise.all([initiator, responder].map((s) => new Promise<void>((res, rej) => {
      s.once('established', () => res());
      s.once('closed', (why) => rej(new Error(why)));
    })));
    total += performance.now() - t0;
    initiator.close('done');
    responder.close('done');
  }
  server.close();
  return total / N;
}

export async function run(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  for (const kind of ['ed25519', 'rsa'] as const) {
    const a = identity(U1, kind);
    const b = identity(U2, kind);
    const mem = await inMemory(a, b);
    const tcp = await overTcp(a, b);
    out.push({ name: `peering.${kind}.memory`, value: mem * 1000, unit: 'us', note: 'signatures and checks only' });
    out.push({ name: `peering.${kind}.tcp`, value: tcp * 1000, unit: 'us', note: 'connect to both sides established, loopback' });
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  for (const r of await run()) console.log(formatResult(r));
}
