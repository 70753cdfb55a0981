/**
 * Interop on real bytes: packets captured from FRR 8.4 ospf6d and BIRD 2.0.12 (test/fixtures/ospf-packets.ts)
 * fed into an OspfInstance playing the other router's part. FRR (10.0.0.2) is master over the ptp link;
 * we play BIRD (10.0.0.1) and follow the captured exchange to Full, then route to FRR's prefixes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fx from '../fixtures/ospf-packets.js';
import { OspfInstance } from '../../src/controlplane/ospf/instance.js';
import { computeOspfChecksum, parseOspfPacket } from '../../src/controlplane/ospf/wire/packet.js';
import { DdFlag, PacketType, parseDottedQuad } from '../../src/controlplane/ospf/wire/types.js';
import { parseIpv6Address, formatIpv6 } from '../../src/dataplane/wire/ipv6.js';

interface Sent {
  linkId: number;
  dst: Buffer;
  packet: Buffer;
}

function instance(routerId: string, linkLocal: string, auth?: { keyId: number; key: Buffer; protocolIdLittleEndian?: boolean }) {
  const sent: Sent[] = [];
  const inst = new OspfInstance({
    routerId: parseDottedQuad(routerId)!,
    linkLocal: parseIpv6Address(linkLocal),
    prefixes: [{ prefix: parseIpv6Address('fd00:6d6f:6c74:b::1'), length: 128 }],
    io: { send: (linkId, dst, packet) => void sent.push({ linkId, dst, packet }) },
    now: 0,
  });
  inst.addInterface(
    { linkId: 1, name: 'ptp', interfaceId: 2, cost: 10, helloInterval: 2, deadInterval: 8, mtu: 1500, ...(auth ? { auth } : {}) },
    0,
  );
  return { inst, sent };
}

/** Feed a captured IPv6 packet to the instance on link 1. */
function feed(inst: OspfInstance, ipv6: Buffer, now: number): void {
  inst.receive(1, ipv6.subarray(8, 24), ipv6.subarray(24, 40), ipv6[7]!, ipv6.subarray(40), now);
}

function decodeSent(s: Sent) {
  const r = parseOspfPacket(s.packet, -1, 0, s.packet.length, false);
  assert.ok(r.ok, 'our packet decodes');
  return r.repr;
}

test('FRR ptp exchange replayed: Init, ExStart, slave in Exchange, Loading, Full; routes to FRR prefixes', () => {
  const { inst, sent } = instance('10.0.0.1', 'fe80::ff:fe00:b01');
  let now = 100;
  feed(inst, fx.FRR_HELLO_PTP_INIT, now);
  assert.equal(inst.neighbors()[0]?.state, 'Init');
  assert.equal(inst.neighbors()[0]?.routerId, '10.0.0.2');
  assert.equal(inst.neighbors()[0]?.address, 'fe80::ff:fe00:f01');

  feed(inst, fx.FRR_HELLO_PTP, (now += 10));
  assert.equal(inst.neighbors()[0]?.state, 'ExStart');
  const ddInit = sent.map(decodeSent).filter((p) => p.type === PacketType.DatabaseDescription);
  assert.equal(ddInit.length, 1);
  assert.equal(ddInit[0]!.body.flags, DdFlag.I | DdFlag.M | DdFlag.MS);
  assert.equal(ddInit[0]!.body.interfaceMtu, 1500);

  sent.length = 0;
  feed(inst, fx.FRR_DD_INIT, (now += 10));
  assert.equal(inst.neighbors()[0]?.state, 'Exchange', 'FRR has the higher router ID: we are slave');
  const reply = sent.map(decodeSent).find((p) => p.type === PacketType.DatabaseDescription);
  assert.ok(reply && reply.type === PacketType.DatabaseDescription);
  assert.equal(reply.body.ddSequence, 0x98a, 'the slave echoes the master sequence number');
  assert.equal(reply.body.flags & (DdFlag.I | DdFlag.MS), 0);
  assert.ok(reply.body.lsaHeaders.length >= 3, 'our Router-, Intra-Area-Prefix- and Link-LSA described');

  // The master's duplicate gets our last packet again.
  sent.length = 0;
  feed(inst, fx.FRR_DD_INIT, (now += 10));
  assert.equal(inst.neighbors()[0]?.state, 'Exchange');

  sent.length = 0;
  feed(inst, fx.FRR_DD_MASTER, (now += 10));
  assert.equal(inst.neighbors()[0]?.state, 'Loading');
  const lsr = sent.map(decodeSent).find((p) => p.type === PacketType.LinkStateRequest);
  assert.ok(lsr && lsr.type === PacketType.LinkStateRequest);
  assert.equal(lsr.body.requests.length, 6, 'all six of FRR\'s LSAs requested');

  feed(inst, fx.FRR_LSU, (now += 10));
  assert.equal(inst.neighbors()[0]?.state, 'Full');
  const db = inst.database();
  assert.equal(db.filter((e) => e.advertisingRouter === '10.0.0.2').length, 6);

  // FRR's Router-LSA from the exchange predates the adjacency; its next one links back to us.
  inst.tick((now += 1000));
  assert.equal(inst.routes().filter((r) => !r.local).length, 0, 'no path to FRR before its Router-LSA lists us');
  feed(inst, fx.FRR_LSU_ROUTER_TRANSIT, (now += 1000));
  inst.tick((now += 1000));
  const routes = inst.routes();
  const lo = routes.find((r) => formatIpv6(r.prefix, 0) === 'fd00:6d6f:6c74:f::1' && r.length === 128);
  assert.ok(lo, 'FRR loopback routed');
  assert.equal(lo.cost, 20, 'link cost 10 + prefix metric 10');
  assert.deepEqual(lo.nexthops.map((h) => [h.linkId, formatIpv6(h.address, 0)]), [[1, 'fe80::ff:fe00:f01']]);
  const ext = routes.find((r) => formatIpv6(r.prefix, 0) === '2001:db8:f00::' && r.length === 48);
  assert.ok(ext, 'FRR external route');
  assert.equal(ext.type, 'external1');
  assert.equal(ext.cost, 35, 'E1: 10 to the ASBR + 25');
  assert.equal(inst.counters()['drop_checksum'] ?? 0, 0);
});

test('BIRD Hello on a ptp link: neighbor reaches Init, then ExStart when it lists us', () => {
  const { inst } = instance('10.0.0.2', 'fe80::ff:fe00:f01');
  feed(inst, fx.BIRD_HELLO_PTP_INIT, 10);
  assert.equal(inst.neighbors()[0]?.state, 'Init');
  assert.equal(inst.neighbors()[0]?.interfaceId, 2);
  feed(inst, fx.BIRD_HELLO_PTP, 20);
  assert.equal(inst.neighbors()[0]?.state, 'ExStart');
});

test('a corrupted captured packet is counted and dropped', () => {
  const { inst } = instance('10.0.0.2', 'fe80::ff:fe00:f01');
  const bad = Buffer.from(fx.BIRD_HELLO_PTP_INIT);
  bad[bad.length - 1]! ^= 0xff;
  feed(inst, bad, 10);
  assert.equal(inst.neighbors().length, 0);
  assert.equal(inst.counters()['drop_checksum'], 1);
  feed(inst, fx.BIRD_HELLO_PTP_INIT.subarray(0, 50), 10);
  assert.equal(inst.counters()['drop_malformed'], 1);
});

test('RFC 7166: BIRD authenticated Hellos verify with the key, fail without it or when altered', () => {
  const auth = { keyId: fx.AUTH_KEY_ID, key: fx.AUTH_KEY };
  const a = instance('10.0.0.1', 'fe80::ff:fe00:b03', auth);
  feed(a.inst, fx.BIRD2_AUTH_HELLO, 10);
  assert.equal(a.inst.neighbors()[0]?.state, 'ExStart', 'BIRD 10.0.0.3 lists us');
  const ours = a.sent.map(decodeSent).find((p) => p.type === PacketType.DatabaseDescription);
  assert.ok(ours && ours.type === PacketType.DatabaseDescription);
  assert.ok(ours.body.options & 0x400, 'AT bit in our DD options');

  const wrongKey = instance('10.0.0.1', 'fe80::ff:fe00:b03', { keyId: 1, key: Buffer.from('other') });
  feed(wrongKey.inst, fx.BIRD2_AUTH_HELLO, 10);
  assert.equal(wrongKey.inst.neighbors().length, 0);
  assert.equal(wrongKey.inst.counters()['drop_auth_failed'], 1);

  const tampered = Buffer.from(fx.BIRD2_AUTH_HELLO);
  tampered[40 + 36]! ^= 1; // the neighbor list
  const t = instance('10.0.0.1', 'fe80::ff:fe00:b03', auth);
  feed(t.inst, tampered, 10);
  assert.equal(t.inst.counters()['drop_auth_failed'], 1);

  // FRR 8.4 digests with the protocol ID little-endian: accepted only with that option.
  const frr = instance('10.0.0.1', 'fe80::ff:fe00:b01', { ...auth, protocolIdLittleEndian: true });
  feed(frr.inst, fx.FRR_AUTH_HELLO, 10);
  assert.equal(frr.inst.neighbors()[0]?.state, 'Init');
  const frrStrict = instance('10.0.0.1', 'fe80::ff:fe00:b01', auth);
  feed(frrStrict.inst, fx.FRR_AUTH_HELLO, 10);
  assert.equal(frrStrict.inst.neighbors().length, 0);

  const noAuth = instance('10.0.0.1', 'fe80::ff:fe00:b03');
  feed(noAuth.inst, fx.BIRD2_AUTH_HELLO, 10);
  assert.equal(noAuth.inst.neighbors().length, 0, 'checksum 0 fails without a key');
});

test('our own packets carry correct checksums (verified as tshark would, over the pseudo-header)', () => {
  const { inst, sent } = instance('10.0.0.1', 'fe80::ff:fe00:b01');
  feed(inst, fx.FRR_HELLO_PTP_INIT, 10);
  feed(inst, fx.FRR_HELLO_PTP, 20);
  assert.ok(sent.length >= 2);
  const src = parseIpv6Address('fe80::ff:fe00:b01');
  for (const s of sent) {
    const ip = Buffer.alloc(40 + s.packet.length);
    ip[0] = 0x60;
    ip.writeUInt16BE(s.packet.length, 4);
    ip[6] = 89;
    ip[7] = 1;
    src.copy(ip, 8);
    s.dst.copy(ip, 24);
    s.packet.copy(ip, 40);
    const r = parseOspfPacket(ip, 0, 40, s.packet.length, true);
    assert.ok(r.ok, `checksum of our ${s.packet[1]} packet`);
  }
});

test('bad input never throws and never enters the LSDB: random bytes, truncations, LSAs with bad checksums', () => {
  const { inst } = instance('10.0.0.1', 'fe80::ff:fe00:b01');
  let now = 100;
  for (const p of [fx.FRR_HELLO_PTP_INIT, fx.FRR_HELLO_PTP, fx.FRR_DD_INIT, fx.FRR_DD_MASTER]) feed(inst, p, (now += 10));
  assert.equal(inst.neighbors()[0]?.state, 'Loading');
  const before = inst.database().length;

  // An LSU whose LSAs are corrupted (OSPF checksum fixed up so only the Fletcher checksums fail).
  const lsu = Buffer.from(fx.FRR_LSU);
  for (const off of [40 + 20 + 30, 40 + 20 + 60]) lsu[off]! ^= 0x55;
  const ospf = lsu.subarray(40);
  ospf.writeUInt16BE(0, 12);
  ospf.writeUInt16BE(computeOspfChecksum(ospf, 0, ospf.readUInt16BE(2), lsu.subarray(8, 24), lsu.subarray(24, 40)), 12);
  feed(inst, lsu, (now += 10));
  assert.ok((inst.counters()['drop_lsa_malformed'] ?? 0) >= 1);
  assert.equal(inst.database().length, before + 6 - (inst.counters()['drop_lsa_malformed'] ?? 0), 'only the good LSAs installed');

  let seed = 1;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const src = parseIpv6Address('fe80::ff:fe00:f01');
  const dst = parseIpv6Address('ff02::5');
  for (let i = 0; i < 2000; i++) {
    const base = fx.PLAIN_PACKETS[i % fx.PLAIN_PACKETS.length]![1].subarray(40);
    let p: Buffer;
    if (i % 3 === 0) p = Buffer.from(base.subarray(0, Math.floor(rand() * base.length)));
    else if (i % 3 === 1) {
      p = Buffer.from(base);
      for (let k = 0; k < 3; k++) p[Math.floor(rand() * p.length)] = Math.floor(rand() * 256);
      // Keep the packet checksum right so the body parsers and the protocol see the damage.
      if (p.length >= 16 && p.readUInt16BE(2) <= p.length && p.readUInt16BE(2) >= 16) {
        p.writeUInt16BE(0, 12);
        p.writeUInt16BE(computeOspfChecksum(p, 0, p.readUInt16BE(2), src, dst), 12);
      }
    } else p = Buffer.from(Array.from({ length: Math.floor(rand() * 200) }, () => Math.floor(rand() * 256)));
    inst.receive(1, src, dst, 1, p, (now += 1));
    inst.tick(now);
  }
  assert.equal(inst.counters()['error_internal'] ?? 0, 0);
});
