/**
 * Fuzzing the mesh DNS zone (src/services/dns/zone.ts) on random bytes, on the queries dig 9.18 sent
 * (test/unit/dns-zone.test.ts) flipped, truncated and with their counts moved, and on queries dns-packet
 * builds from random names, types and classes. The rules: answer() never throws; it returns nothing or a
 * response that dns-packet decodes, with the query's id and questions, that fits in 512 bytes over UDP;
 * each query moves exactly one outcome counter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import dnsPacket from 'dns-packet';
import { MeshZone, REVERSE_ZONE, UDP_LIMIT, reverseName, type ZoneCounters } from '../../src/services/dns/zone.js';
import { fuzz, mutatedFrom } from '../helpers/fuzz.js';

const CARLOTTA = 'fd00:6d6f:6c74:f8a9:ce03:f512:4311:8792';
const AGENTICMESH = 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268';
/** Header fields: flags, QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT. */
const HEADER_FIELDS = [2, 4, 6, 8, 10];
const QUERIES = [
  ['AAAA_EDNS', 'f38e01200001000000000001084361726c6f747461046d6f6c7400001c000100002904d000000000000c000a0008438c2820e36b694a'],
  ['AAAA_PLAIN', '289b012000010000000000000b6167656e7469636d657368046d6f6c7400001c0001'],
  [
    'PTR',
    'f7d6012000010000000000000132013901370138013101310133013401320131013501660133013001650163013901610138016601340137016301360166013601640136013001300164016603697036046172706100000c0001',
  ],
].map(([name, hex]) => ({ name: name!, bytes: Buffer.from(hex!, 'hex'), fields: HEADER_FIELDS }));

function zone(): MeshZone {
  const z = new MeshZone();
  z.set([
    { name: 'agenticmesh', address: AGENTICMESH, source: 'self' },
    { name: 'carlotta', address: CARLOTTA, source: 'peer' },
  ]);
  return z;
}

const outcomes = (c: ZoneCounters) => c.answers + c.nxdomain + c.nodata + c.refused + c.formerr + c.notimp + c.dropped;

function check(z: MeshZone, query: Uint8Array, udp: boolean): void {
  const before = { ...z.counters };
  let out: Buffer | undefined;
  try {
    out = z.answer(query, udp);
  } catch (err) {
    assert.fail(`answer threw ${(err as Error).constructor.name}: ${(err as Error).message} on ${Buffer.from(query).toString('hex')}`);
  }
  assert.equal(z.counters.queries, before.queries + 1);
  assert.equal(outcomes(z.counters), outcomes(before) + 1, 'exactly one outcome counted');
  if (out === undefined) {
    assert.equal(z.counters.dropped, before.dropped + 1);
    return;
  }
  assert.ok(query.length >= 2);
  if (udp) assert.ok(out.length <= UDP_LIMIT, `${out.length} bytes over UDP`);
  const r = dnsPacket.decode(out);
  assert.equal(r.type, 'response');
  assert.equal(r.id, (query[0]! << 8) | query[1]!);
  // Past the header-only FORMERR, the questions are echoed as they were asked. (dns-packet writes a class
  // it has no name for as 0: such a question is REFUSED with class 0 in the echo; not fixed here.)
  if (out.length > 12) {
    const known = (x: dnsPacket.Question) => ({ ...x, class: x.class?.startsWith('UNKNOWN_') ? 'UNKNOWN_0' : x.class });
    assert.deepEqual(r.questions, dnsPacket.decode(Buffer.from(query)).questions!.map(known));
  }
}

test('the captured queries are answered', () => {
  const z = zone();
  for (const q of QUERIES) {
    check(z, q.bytes, true);
    assert.equal((dnsPacket.decode(z.answer(q.bytes, true)!) as { rcode?: string }).rcode, 'NOERROR', q.name);
  }
});

test('property: random bytes, and the captured queries mutated: nothing thrown, a decodable answer or nothing', () => {
  const z = zone();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), fc.boolean(), (b, udp) => check(z, b, udp)),
    fuzz(5),
  );
  fc.assert(
    fc.property(mutatedFrom(QUERIES), fc.boolean(), ({ bytes }, udp) => check(z, bytes, udp)),
    fuzz(10),
  );
});

const label = fc.oneof(
  fc.constantFrom('carlotta', 'Carlotta', 'agenticmesh', 'molt', 'ip6', 'arpa', 'f', 'd', '0', '*', ''),
  fc.stringMatching(/^[a-z0-9-]{1,12}$/),
  fc.array(fc.nat(255), { minLength: 1, maxLength: 63 }).map((a) => String.fromCharCode(...a)),
);
const name = fc.oneof(
  fc.array(label, { maxLength: 5 }).map((ls) => [...ls, 'molt'].join('.')),
  fc.array(fc.constantFrom(...'0123456789abcdefg'), { maxLength: 34 }).map((ns) => [...ns, REVERSE_ZONE].join('.')),
  fc.constantFrom(reverseName(CARLOTTA), reverseName(AGENTICMESH), REVERSE_ZONE, 'molt', 'example.com', '.'),
  fc.array(label, { maxLength: 6 }).map((ls) => ls.join('.')),
);
const qtype = fc.constantFrom('A', 'AAAA', 'PTR', 'SOA', 'TXT', 'ANY', 'MX', 'NS', 'CNAME', 'SRV', 'OPT', 'AXFR');
const qclass = fc.constantFrom('IN', 'CH', 'HS', 'ANY');

test('property: queries dns-packet builds from random names, types, classes, flags and counts', () => {
  const z = zone();
  fc.assert(
    fc.property(
      fc.nat(0xffff),
      fc.nat(0xffff),
      fc.array(fc.record({ name, type: qtype, class: qclass }), { maxLength: 3 }),
      fc.boolean(),
      fc.boolean(),
      (id, flags, questions, response, udp) => {
        let q: Buffer;
        try {
          q = dnsPacket.encode({ type: response ? 'response' : 'query', id, flags, questions: questions as dnsPacket.Question[] });
        } catch {
          return; // a name dns-packet itself will not write
        }
        check(z, q, udp);
      },
    ),
    fuzz(10),
  );
});

test('regression: questions dns-packet cannot write back as it read them are FORMERR, header only', () => {
  const z = zone();
  // Found by the mutation property: a PTR query whose 4th label became 0x37 0x00 0x80 0x00 0x80 0x80
  // 0x80 0x80 ... (not UTF-8). dns-packet decoded it with U+FFFD for each bad byte, the echoed question
  // grew a 65-byte label, and the answer did not decode ("Cannot decode name (bad label)").
  const badUtf8 = Buffer.from(
    'f7d60120000100000000000001320139013737008000808080800138013101310133013401320131013501660133013001650163013901610138016601340137016301360166013601640136013001300164016603697036046172706100000c0001',
    'hex',
  );
  // Found reading dns-packet's name codec next to it: the label "a." decodes as "a..molt", which is
  // written back as the name "a" with the rest of the question read as type 1133, class 28524.
  const dotLabel = Buffer.from('12340120000100000000000002612e046d6f6c7400001c0001', 'hex');
  for (const q of [badUtf8, dotLabel]) {
    check(z, q, true);
    const out = z.answer(q, true)!;
    assert.equal(out.length, 12);
    const r = dnsPacket.decode(out) as ReturnType<typeof dnsPacket.decode> & { rcode: string };
    assert.equal(r.rcode, 'FORMERR');
    assert.equal(r.id, q.readUInt16BE(0));
  }
  // A label that is UTF-8 but not ours is still answered with the question echoed.
  const utf8 = dnsPacket.encode({ type: 'query', id: 9, questions: [{ name: 'café.molt', type: 'AAAA' }] });
  const r = dnsPacket.decode(z.answer(utf8, true)!) as ReturnType<typeof dnsPacket.decode> & { rcode: string };
  assert.equal(r.rcode, 'NXDOMAIN');
  assert.equal(r.questions![0]!.name, 'café.molt');
});
