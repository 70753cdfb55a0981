/**
 * The mesh zone on queries captured from dig 9.18 (Debian bookworm): AAAA with EDNS and a cookie
 * (`dig AAAA Carlotta.molt`), AAAA without EDNS, and `dig -x` of carlotta's address.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import { MeshZone, REVERSE_ZONE, UDP_LIMIT, reverseName } from '../../src/services/dns/zone.js';

const AAAA_EDNS = Buffer.from('f38e01200001000000000001084361726c6f747461046d6f6c7400001c000100002904d000000000000c000a0008438c2820e36b694a', 'hex');
const AAAA_PLAIN = Buffer.from('289b012000010000000000000b6167656e7469636d657368046d6f6c7400001c0001', 'hex');
const PTR = Buffer.from(
  'f7d6012000010000000000000132013901370138013101310133013401320131013501660133013001650163013901610138016601340137016301360166013601640136013001300164016603697036046172706100000c0001',
  'hex',
);
const CARLOTTA = 'fd00:6d6f:6c74:f8a9:ce03:f512:4311:8792';
const AGENTICMESH = 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268';

function zone(): MeshZone {
  const z = new MeshZone();
  z.set([
    { name: 'agenticmesh', address: AGENTICMESH, source: 'self' },
    { name: 'carlotta', address: CARLOTTA, source: 'peer' },
  ]);
  return z;
}

test('AAAA for a known name, case-insensitive, authoritative, id and RD echoed (with and without EDNS)', () => {
  const z = zone();
  const r = dnsPacket.decode(z.answer(AAAA_EDNS, true)!);
  assert.equal(r.id, 0xf38e);
  assert.equal(r.type, 'response');
  assert.equal(r.flag_aa, true);
  assert.equal(r.flag_rd, true);
  assert.equal((r as { rcode?: string }).rcode, 'NOERROR');
  assert.deepEqual(r.answers!.map((a) => [a.type, a.name, (a as { data: string }).data]), [['AAAA', 'Carlotta.molt', CARLOTTA]]);
  const p = dnsPacket.decode(z.answer(AAAA_PLAIN, true)!);
  assert.equal((p.answers![0] as { data: string }).data, AGENTICMESH);
  assert.equal(z.counters.answers, 2);
});

test('dig -x: PTR of a known mesh address; unknown addresses NXDOMAIN, the zone cuts no data', () => {
  const z = zone();
  const r = dnsPacket.decode(z.answer(PTR, true)!);
  assert.deepEqual(r.answers!.map((a) => [a.type, (a as { data: string }).data]), [['PTR', 'carlotta.molt']]);
  assert.equal(reverseName(CARLOTTA), `2.9.7.8.1.1.3.4.2.1.5.f.3.0.e.c.9.a.8.f.${REVERSE_ZONE}`);
  const ask = (name: string, type: 'PTR' | 'AAAA' | 'A' | 'SOA' | 'TXT') => dnsPacket.decode(z.answer(dnsPacket.encode({ type: 'query', id: 7, questions: [{ name, type }] }), true)!) as ReturnType<typeof dnsPacket.decode> & { rcode: string };
  assert.equal(ask(reverseName('fd00:6d6f:6c74:1::1'), 'PTR').rcode, 'NXDOMAIN');
  assert.equal(ask(REVERSE_ZONE, 'PTR').rcode, 'NOERROR');
  assert.equal(ask(`f.8.${REVERSE_ZONE}`, 'PTR').rcode, 'NOERROR', 'an empty non-terminal');
  // Names outside the mesh: refused, not resolved.
  assert.equal(ask('example.com', 'A').rcode, 'REFUSED');
  assert.equal(ask(reverseName('2001:db8::1'), 'PTR').rcode, 'REFUSED');
  // Unknown names: NXDOMAIN with the SOA for negative caching; known names, other types: no data.
  const nx = ask('nobody.molt', 'AAAA');
  assert.equal(nx.rcode, 'NXDOMAIN');
  assert.equal(nx.authorities![0]!.type, 'SOA');
  assert.equal(ask('a.carlotta.molt', 'AAAA').rcode, 'NXDOMAIN');
  const a = ask('carlotta.molt', 'A');
  assert.equal(a.rcode, 'NOERROR');
  assert.equal(a.answers!.length, 0);
  assert.equal(ask('molt', 'SOA').answers![0]!.type, 'SOA');
  assert.equal(ask('molt', 'TXT').rcode, 'NOERROR');
});

test('names collide safely: the first entry wins, the conflict is reported; bad names and non-mesh addresses are refused', () => {
  const z = new MeshZone();
  const { conflicts, invalid } = z.set([
    { name: 'carlotta', address: CARLOTTA, source: 'self' },
    { name: 'Carlotta', address: AGENTICMESH, source: 'peer clawdboy' },
    { name: 'carlotta', address: CARLOTTA, source: 'config' },
    { name: 'bad_name', address: AGENTICMESH, source: 'peer' },
    { name: 'outside', address: '2001:db8::1', source: 'config' },
    { name: 'x'.repeat(64), address: AGENTICMESH, source: 'config' },
  ]);
  assert.deepEqual(conflicts, [`carlotta.molt: kept ${CARLOTTA} (self), ignored ${AGENTICMESH} (peer clawdboy)`]);
  assert.equal(invalid.length, 3);
  assert.deepEqual(z.names().map((n) => n.name), ['carlotta']);
});

test('garbage: a header gets FORMERR with its id; shorter input and responses get nothing; never a throw', () => {
  const z = zone();
  const junk = Buffer.concat([AAAA_PLAIN.subarray(0, 12), Buffer.from([0xff, 0xff, 0xff])]);
  const r = z.answer(junk, true)!;
  assert.equal(r.length, 12);
  assert.equal(r.readUInt16BE(0), 0x289b);
  assert.equal(r[2]! & 0x80, 0x80);
  assert.equal(r[3]! & 0x0f, 1);
  assert.equal(z.answer(Buffer.from([1, 2, 3]), true), undefined);
  const response = dnsPacket.encode({ type: 'response', id: 1, questions: [{ name: 'carlotta.molt', type: 'AAAA' }] });
  assert.equal(z.answer(response, true), undefined, 'a response is never answered (no reflection loops)');
  for (let i = 0; i < 2000; i++) {
    const b = Buffer.from(AAAA_EDNS);
    b[12 + (i % (b.length - 12))] = (i * 37) & 0xff;
    z.answer(b, true);
  }
  const two = dnsPacket.encode({ type: 'query', id: 9, questions: [{ name: 'a.molt', type: 'AAAA' }, { name: 'b.molt', type: 'AAAA' }] });
  assert.equal((dnsPacket.decode(z.answer(two, true)!) as { rcode?: string }).rcode, 'FORMERR');
});

test('UDP answers stay within 512 bytes (TC set otherwise)', () => {
  const z = new MeshZone();
  z.set([{ name: 'n', address: CARLOTTA, source: 'self' }]);
  const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}`;
  const q = dnsPacket.encode({ type: 'query', id: 3, questions: [{ name: `${long}.molt`, type: 'AAAA' }] });
  const r = z.answer(q, true)!;
  assert.ok(r.length <= UDP_LIMIT || (dnsPacket.decode(r).flag_tc ?? false), `${r.length} bytes`);
});
