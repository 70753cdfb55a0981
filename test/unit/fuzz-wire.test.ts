/**
 * What the data plane's existing properties (test/unit/wire-*.test.ts, transport-*.test.ts,
 * bfd-packet.test.ts) leave out: the decoders on the captured packets mutated (flipped, truncated,
 * extended, Payload Length and UDP Length moved), the extension-header walk and ICMPv6 on random bytes,
 * and round trips of what decodes. The rules: every check returns 0 or one of its named codes, the
 * checked parse agrees with the check, nothing throws, and a decoded IPv6 header or BFD Control packet
 * re-encodes to the same bytes (both formats are canonical: every bit is a field, but for the ignored
 * Reserved byte of BFD's keyed authentication and bytes inside its Length after the auth section).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as P from '../fixtures/packets.js';
import { ALL_BFD, bytesOf } from '../fixtures/bfd-packets.js';
import * as T from '../fixtures/transport-packets.js';
import { Ipv6Error, checkIpv6, emitIpv6, parseIpv6 } from '../../src/dataplane/wire/ipv6.js';
import { upperLayer, ulOffset, ulProto } from '../../src/dataplane/wire/exthdr.js';
import { UdpError, checkUdp, parseUdp } from '../../src/dataplane/wire/udp.js';
import { Icmpv6Error, checkIcmpv6, parseIcmpv6 } from '../../src/dataplane/wire/icmpv6.js';
import { BfdPacketError, bfdControlLen, checkBfdControl, emitBfdControl, parseBfdControl } from '../../src/controlplane/bfd/packet.js';
import { GreError, parseGre } from '../../src/transport/wire/gre.js';
import { VxlanError, parseVxlan } from '../../src/transport/wire/vxlan.js';
import { fuzz, mutatedFrom } from '../helpers/fuzz.js';

const codes = (o: Record<string, number>) => new Set<number>([0, ...Object.values(o)]);
const IPV6_CODES = codes(Ipv6Error);
const UDP_CODES = codes(UdpError);
const ICMP_CODES = codes(Icmpv6Error);
const BFD_CODES = codes(BfdPacketError);

/** Every captured IPv6 packet of test/fixtures/packets.ts; Payload Length (4) is a field to move. */
const IPV6 = Object.entries(P)
  .filter(([, v]) => typeof v === 'string')
  .map(([name, v]) => ({ name, bytes: P.fromHex(v as string), fields: [4, 44, 48] }));

/** The IPv6 chain from the header to the upper layer, on the packet `b`. */
function checkChain(b: Buffer): void {
  const code = checkIpv6(b, 0, b.length);
  assert.ok(IPV6_CODES.has(code), `checkIpv6 ${code}`);
  const r = parseIpv6(b, 0, b.length);
  assert.equal(r.ok, code === 0);
  const ul = upperLayer(b, 0, b.length);
  assert.ok(ul === -1 || (ulOffset(ul) >= 40 && ulOffset(ul) <= b.length), `upperLayer ${ul}`);
  if (!r.ok) return;
  const out = Buffer.alloc(40, 0xff);
  emitIpv6(r.repr, out, 0);
  assert.deepEqual(out, b.subarray(0, 40), 'the IPv6 header re-encodes to its bytes');
  if (ul === -1) return;
  const at = ulOffset(ul);
  const len = 40 + r.repr.payloadLength - at;
  if (len < 0) return;
  if (ulProto(ul) === 17) {
    const c = checkUdp(b, at, len);
    assert.ok(UDP_CODES.has(c));
    const u = parseUdp(b, 0, at, len);
    if (c !== 0) assert.equal(u.ok, false);
    if (u.ok) assert.ok(u.repr.payloadLength + 8 <= len);
  }
  if (ulProto(ul) === 58) {
    const c = checkIcmpv6(b, 0, at, len);
    assert.ok(ICMP_CODES.has(c));
    const m = parseIcmpv6(b, 0, at, len);
    assert.equal(m.ok, c === 0);
    if (m.ok) assert.equal(m.repr.bodyLength, len - 8);
  }
}

test('property: mutated captured IPv6 packets: the header, extension-header, UDP and ICMPv6 decoders', () => {
  for (const p of IPV6) checkChain(p.bytes);
  fc.assert(fc.property(mutatedFrom(IPV6), ({ bytes }) => checkChain(bytes)), fuzz(10));
});

test('property: random bytes behind a valid IPv6 header reach the extension-header walk and ICMPv6', () => {
  fc.assert(
    fc.property(fc.constantFrom(0, 43, 44, 51, 58, 60, 17, 59), fc.uint8Array({ maxLength: 120 }), fc.nat(8), (nh, rest, slack) => {
      const b = Buffer.alloc(40 + rest.length);
      b[0] = 0x60;
      b.writeUInt16BE(Math.max(0, rest.length - slack), 4);
      b[6] = nh;
      b.set(rest, 40);
      checkChain(b);
      // ICMPv6 on the bytes wherever they start.
      for (const at of [40, 44, 48]) if (at <= b.length) assert.ok(ICMP_CODES.has(checkIcmpv6(b, 0, at, b.length - at)));
    }),
    fuzz(10),
  );
});

const BFD = Object.entries(ALL_BFD).map(([name, c]) => ({ name, bytes: bytesOf(c), fields: [2] }));

test('property: mutated BFD captures: check and parse agree, and what parses re-encodes to the same bytes', () => {
  const one = (b: Buffer) => {
    const code = checkBfdControl(b, 0, b.length);
    assert.ok(BFD_CODES.has(code), `checkBfdControl ${code}`);
    const r = parseBfdControl(b, 0, b.length);
    assert.equal(r.ok, code === 0);
    if (!r.ok) {
      assert.equal(r.code, code);
      return;
    }
    const len = bfdControlLen(r.repr);
    assert.ok(len <= b[3]!, 'the repr fits in Length');
    const out = Buffer.alloc(len, 0xff);
    assert.equal(emitBfdControl(r.repr, out, 0), len);
    if (len < b[3]!) {
      // Bytes after the auth section but inside Length are ignored (RFC 5880 does not discard for them).
      assert.deepEqual(parseBfdControl(out, 0, len), r);
      return;
    }
    // Canonical but for the Reserved byte of a keyed MD5/SHA1 section (RFC 5880 §4.3/§4.4: ignored on receipt).
    const expected = Buffer.from(b.subarray(0, len));
    if (r.repr.auth !== null && expected[24]! >= 2) expected[27] = 0;
    assert.deepEqual(out, expected);
  };
  for (const c of BFD) one(c.bytes);
  fc.assert(fc.property(mutatedFrom(BFD), ({ bytes }) => one(bytes)), fuzz(10));
});

const FRAMES = Object.entries(T)
  .filter(([, v]) => typeof v === 'object' && v !== null && 'udpPayloadOff' in v)
  .map(([name, v]) => {
    const f = v as T.CapturedFrame;
    return { name, bytes: Buffer.from(f.bytes.subarray(f.udpPayloadOff)), fields: [0, 2] };
  });

test('property: mutated captured VXLAN and GRE-in-UDP payloads give a header length, a VNI or a named code', () => {
  const greCodes = codes(GreError);
  const vxCodes = codes(VxlanError);
  assert.ok(FRAMES.length >= 10);
  fc.assert(
    fc.property(mutatedFrom(FRAMES), ({ bytes }) => {
      const g = parseGre(bytes, 0, bytes.length);
      assert.ok([4, 8, 12, 16].includes(g) || greCodes.has(g), `parseGre ${g}`);
      const v = parseVxlan(bytes, 0, bytes.length);
      assert.ok((v >= 0 && v <= 0xffffff) || vxCodes.has(v), `parseVxlan ${v}`);
    }),
    fuzz(10),
  );
});
