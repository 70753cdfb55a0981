import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { beaconInterfaces, matchesName, type InterfaceSnapshot } from '../../src/controlplane/discovery/lan-interfaces.js';
import { BeaconReceiver } from '../../src/controlplane/discovery/lan-receive.js';
import { BEACON_BINDING, encodeBeacon } from '../../src/controlplane/discovery/beacon.js';
import { BEACON_JITTER, LAN_BEACON_GROUP, LAN_BEACON_PORT, LanBeacons } from '../../src/controlplane/discovery/lan.js';
import { signBinding } from '../../src/controlplane/peering/handshake.js';
import { encodeBinding } from '../../src/controlplane/peering/messages.js';
import { meshAddressBytes } from '../../src/common/address.js';
import { InvalidInputError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/log.js';
import type { Timers } from '../../src/controlplane/service.js';
import { BEACON_FIELDS, BEACON_SOURCE, beaconBytes } from '../fixtures/beacon-packets.js';

const U1 = 'daa46e88-46c5-4af7-9268-1482c54c1922';
const U2 = '88833763-60b7-47db-8703-349c6b2c70ff';

function v6(address: string, scopeid = 0): NetworkInterfaceInfo {
  return { address, netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:00:00:00:00:01', internal: false, cidr: `${address}/64`, scopeid };
}
function v4(address: string): NetworkInterfaceInfo {
  return { address, netmask: '255.255.255.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal: false, cidr: `${address}/24` };
}

/** What os.networkInterfaces() reports on a host with a bit of everything. */
const HOST: InterfaceSnapshot = {
  lo: [
    { ...v4('127.0.0.1'), internal: true },
    { ...v6('::1'), internal: true },
  ],
  eth1: [v4('192.0.2.7'), v6('fe80::2', 3)],
  eth0: [v4('198.51.100.4'), v6('fe80::1', 2), v6('2001:db8::1'), v6('fd12::1')],
  eth2: [v6('fe80::3', 4)],
  wlan0: [v4('203.0.113.9')],
  molt0: [v6('fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268'), v6('fe80::9', 5)],
  mwg0123456789ab: [v6('fd6d:6f6c:7767:daa4:6e88:46c5:4af7:9268'), v6('fe80::a', 6)],
  'br-lan': [v6('fd34::1'), v6('fe80::b%br-lan', 7)],
};

test('beacon interfaces: not loopback, not MoltNet\'s own, only with a link-local address; endpoint v6 global/ULA, else IPv4, else none', () => {
  assert.deepEqual(beaconInterfaces(HOST), [
    { name: 'br-lan', index: 7, linkLocal: 'fe80::b', endpointAddress: 'fd34::1' },
    { name: 'eth0', index: 2, linkLocal: 'fe80::1', endpointAddress: '2001:db8::1' },
    { name: 'eth1', index: 3, linkLocal: 'fe80::2', endpointAddress: '192.0.2.7' },
    { name: 'eth2', index: 4, linkLocal: 'fe80::3', endpointAddress: undefined },
  ]);
});

test('beacon interfaces: exclude opts one out, interfaces keeps only those, both take * patterns', () => {
  const names = (f: Parameters<typeof beaconInterfaces>[1]) => beaconInterfaces(HOST, f).map((i) => i.name);
  assert.deepEqual(names({ exclude: ['eth1'] }), ['br-lan', 'eth0', 'eth2']);
  assert.deepEqual(names({ exclude: ['eth*'] }), ['br-lan']);
  assert.deepEqual(names({ interfaces: ['eth0', 'eth2'] }), ['eth0', 'eth2']);
  assert.deepEqual(names({ interfaces: ['eth*'], exclude: ['eth2'] }), ['eth0', 'eth1']);
  // Naming MoltNet's own devices does not bring them in.
  assert.deepEqual(names({ interfaces: ['molt0', 'mwg*'] }), []);
  assert.deepEqual(beaconInterfaces({}), []);
});

test('interface patterns: * is any run, the rest literal', () => {
  assert.ok(matchesName('eth*', 'eth0'));
  assert.ok(matchesName('eth*', 'eth'));
  assert.ok(matchesName('*', 'anything'));
  assert.ok(matchesName('br-*.10', 'br-lan.10'));
  assert.ok(!matchesName('eth0', 'eth01'));
  assert.ok(!matchesName('br.lan', 'brXlan'));
  assert.ok(!matchesName('e(th', 'eth'));
});

async function beaconFrom(uuid: string, over: { endpoint?: string; meshOf?: string } = {}) {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const der = publicKey.export({ format: 'der', type: 'spki' });
  const sb = await signBinding(
    { uuid, meshAddress: meshAddressBytes(over.meshOf ?? uuid), moltidKey: der, endpoint: over.endpoint ?? '[fdff:6c62::2]:4789', linkKinds: ['vxlan'], timestampMs: 1_796_000_000_000 },
    (d) => cryptoSign(null, d, privateKey),
  );
  return { bytes: encodeBeacon(sb), moltid: `MOLTID:0x${der.toString('hex')}`, sb };
}

const receiver = (own = U2, maxPerSource = 10) => new BeaconReceiver({ ownUuid: own, windowMs: 1000, maxPerSource });

test('receiver: the captured beacon is a candidate with what its binding says and where it came in', () => {
  const from = `${BEACON_SOURCE}%eth0`;
  const v = receiver().receive(beaconBytes(), 'eth0', from, 42);
  assert.ok('candidate' in v, JSON.stringify(v));
  const c = v.candidate;
  assert.deepEqual(
    { uuid: c.uuid, address: c.address, moltid: c.moltid, endpoint: c.endpoint, interface: c.interface, from: c.from, seenAt: c.seenAt },
    { uuid: BEACON_FIELDS.uuid, address: BEACON_FIELDS.address, moltid: BEACON_FIELDS.moltid, endpoint: BEACON_FIELDS.endpoint, interface: 'eth0', from, seenAt: 42 },
  );
  assert.equal(c.binding.timestampMs, BEACON_FIELDS.timestampMs);
  assert.deepEqual(encodeBeacon(c.signed), beaconBytes());
});

test('receiver: our own uuid is dropped, in any spelling', async () => {
  for (const own of [U1, U1.toUpperCase(), U1.replace(/-/g, '')]) {
    assert.deepEqual(receiver(own).receive(beaconBytes(), 'eth0', 'fe80::1%eth0', 0), { drop: 'rx_own', reason: 'our own uuid' });
  }
  // A beacon that spells the uuid another way is still ours.
  const b = await beaconFrom(U2.toUpperCase());
  assert.equal((receiver(U2).receive(b.bytes, 'eth0', 'fe80::1%eth0', 0) as { drop: string }).drop, 'rx_own');
  const v = receiver(U1).receive(b.bytes, 'eth0', 'fe80::1%eth0', 0);
  assert.ok('candidate' in v);
  assert.equal(v.candidate.uuid, U2);
  assert.equal(v.candidate.moltid, b.moltid);
});

test('receiver: garbage and a binding that does not decode are rx_bad; a signature or address that does not hold is rx_unverified', async () => {
  const r = receiver();
  const drop = (bytes: Uint8Array) => {
    const v = r.receive(bytes, 'eth0', 'fe80::1%eth0', 0);
    assert.ok('drop' in v, 'accepted');
    return v;
  };
  assert.equal(drop(Buffer.from('hello')).drop, 'rx_bad');
  assert.equal(drop(encodeBeacon({ binding: Buffer.from([0xff, 0xff, 0xff]), signature: Buffer.alloc(64) })).drop, 'rx_bad');
  const tampered = beaconBytes();
  tampered[tampered.length - 1]! ^= 1;
  assert.deepEqual(drop(tampered), { drop: 'rx_unverified', reason: 'binding signature does not verify' });
  // The signed endpoint [fdff:6c62::1]:4789 made [fdff:6c62::2]:4789.
  const endpointChanged = beaconBytes();
  endpointChanged[endpointChanged.indexOf('::1]', BEACON_BINDING, 'latin1') + 2] = 0x32;
  assert.equal(drop(endpointChanged).drop, 'rx_unverified');
  const wrongAddress = await beaconFrom(U1, { meshOf: U2 });
  assert.match(drop(wrongAddress.bytes).reason, /does not derive from uuid/);
  const notUuid = encodeBeacon({ binding: encodeBinding({ uuid: 'nope', meshAddress: Buffer.alloc(16), moltidKey: Buffer.alloc(1), endpoint: '', linkKinds: [], timestampMs: 0 }), signature: Buffer.alloc(64) });
  assert.equal(drop(notUuid).drop, 'rx_unverified');
});

test('receiver: a source gets its budget per window, unread beyond it; other sources and the next window are not affected', async () => {
  const r = receiver(U2, 3);
  const b = (await beaconFrom(U1)).bytes;
  const kinds = (from: string, iface: string, now: number, n: number) =>
    Array.from({ length: n }, () => {
      const v = r.receive(b, iface, from, now);
      return 'candidate' in v ? 'ok' : v.drop;
    });
  assert.deepEqual(kinds('fe80::1%eth0', 'eth0', 0, 5), ['ok', 'ok', 'ok', 'rx_ratelimited', 'rx_ratelimited']);
  // Garbage spends the budget too: it is counted before anything is read.
  assert.deepEqual(
    [r.receive(Buffer.from('x'), 'eth0', 'fe80::1%eth0', 500)].map((v) => ('drop' in v ? v.drop : 'ok')),
    ['rx_ratelimited'],
  );
  assert.deepEqual(kinds('fe80::2%eth0', 'eth0', 500, 1), ['ok']);
  // The same address heard on another interface is another source.
  assert.deepEqual(kinds('fd00::1', 'eth0', 500, 1), ['ok']);
  assert.deepEqual(kinds('fd00::1', 'eth1', 500, 1), ['ok']);
  assert.deepEqual(kinds('fe80::1%eth0', 'eth0', 999, 1), ['rx_ratelimited']);
  assert.deepEqual(kinds('fe80::1%eth0', 'eth0', 1000, 4), ['ok', 'ok', 'ok', 'rx_ratelimited']);
});

test('receiver: sources are forgotten past maxSources, the expired first, then the oldest', async () => {
  const r = new BeaconReceiver({ ownUuid: U2, windowMs: 1000, maxPerSource: 1, maxSources: 3 });
  const b = (await beaconFrom(U1)).bytes;
  const ok = (from: string, now: number) => 'candidate' in r.receive(b, 'eth0', from, now);
  assert.ok(ok('a', 0));
  assert.ok(ok('b', 600));
  assert.ok(ok('c', 700));
  assert.equal(r.sources, 3);
  // 'a' (expired) makes room for 'd'.
  assert.ok(ok('d', 1200));
  assert.equal(r.sources, 3);
  assert.ok(!ok('b', 1300));
  // None expired: the oldest ('b') goes, so it starts afresh.
  assert.ok(ok('e', 1400));
  assert.equal(r.sources, 3);
  assert.ok(ok('b', 1450));
});

/** Timers the test fires by hand; it sees every delay asked for. */
class StepTimers implements Timers {
  readonly pending = new Map<number, { fn: () => void; ms: number }>();
  private next = 0;
  setTimeout(fn: () => void, ms: number): unknown {
    this.pending.set(++this.next, { fn, ms });
    return this.next;
  }
  clearTimeout(h: unknown): void {
    this.pending.delete(h as number);
  }
  fire(): void {
    const [id, t] = [...this.pending.entries()][0]!;
    this.pending.delete(id);
    t.fn();
  }
}

const tick = () => new Promise((r) => setImmediate(r));

test('LanBeacons: rounds every interval ±20%, interfaces scanned each round, stop clears the timer, start and stop idempotent', async () => {
  const timers = new StepTimers();
  let scans = 0;
  const randoms = [0, 0.999999, 0.5];
  const lan = new LanBeacons({
    ownUuid: U1,
    intervalMs: 1000,
    log: silentLogger(),
    timers,
    random: () => randoms.shift() ?? 0.5,
    listInterfaces: () => (scans++, {}),
    makeBeacon: () => assert.fail('no interface, no beacon'),
  });
  await lan.start();
  await lan.start();
  await tick();
  assert.equal(scans, 1);
  assert.deepEqual([...timers.pending.values()].map((t) => t.ms), [1000 * (1 - BEACON_JITTER)]);
  timers.fire();
  await tick();
  assert.equal(scans, 2);
  assert.deepEqual([...timers.pending.values()].map((t) => t.ms), [1000 * (1 + BEACON_JITTER)]);
  timers.fire();
  await tick();
  assert.deepEqual([...timers.pending.values()].map((t) => t.ms), [1000]);
  lan.stop();
  lan.stop();
  assert.equal(timers.pending.size, 0);
  assert.deepEqual(lan.activeInterfaces(), []);
  assert.deepEqual(lan.counters, { rx: 0, rx_bad: 0, rx_unverified: 0, rx_own: 0, rx_ratelimited: 0, tx: 0, tx_errors: 0 });
  // It may be started again.
  await lan.start();
  await tick();
  assert.equal(scans, 4);
  assert.equal(timers.pending.size, 1);
  lan.stop();
});

test('LanBeacons: an interface whose socket cannot be bound is logged and dropped, not thrown; start still resolves', async () => {
  const timers = new StepTimers();
  const warnings: string[] = [];
  const log = silentLogger();
  let debugs = 0;
  log.warn = ((o: { err?: string }, msg: string) => void warnings.push(`${msg}: ${o.err}`)) as typeof log.warn;
  log.debug = (() => void debugs++) as typeof log.debug;
  const lan = new LanBeacons({
    ownUuid: U1,
    intervalMs: 1000,
    log,
    timers,
    // An interface the kernel does not have: binding to ff02::…%nosuch fails (no scope for the name).
    listInterfaces: () => ({ mlbnosuch0: [v6('fe80::1', 999_999), v6('fd99::1')] }),
    makeBeacon: () => assert.fail('a socket that is not bound sends nothing'),
  });
  await lan.start();
  assert.deepEqual(lan.activeInterfaces(), []);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /socket failed.*: socket error: .*EINVAL/);
  // Tried again next round, logged without another warning.
  timers.fire();
  for (let i = 0; i < 100 && debugs === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(debugs, 1);
  assert.equal(warnings.length, 1);
  assert.equal(lan.counters.tx, 0);
  assert.equal(lan.counters.tx_errors, 0);
  lan.stop();
  assert.equal(timers.pending.size, 0);
});

test('LanBeacons: the group must be link-local-scope multicast (the per-interface sockets rely on it)', () => {
  const base = { ownUuid: U1, log: silentLogger(), makeBeacon: () => assert.fail() };
  assert.equal(LAN_BEACON_PORT, 6803);
  assert.equal(LAN_BEACON_GROUP, 'ff02::6d6f:6c74');
  for (const group of ['ff05::6d6f:6c74', 'fe80::1', '224.0.0.1', 'nonsense']) {
    assert.throws(() => new LanBeacons({ ...base, group }), InvalidInputError, group);
  }
  assert.throws(() => new LanBeacons({ ...base, port: 0 }), InvalidInputError);
  assert.throws(() => new LanBeacons({ ...base, intervalMs: 0 }), InvalidInputError);
  assert.throws(() => new LanBeacons({ ...base, ownUuid: 'not-a-uuid' }), InvalidInputError);
  new LanBeacons({ ...base, group: 'ff12::1' }).stop();
});
