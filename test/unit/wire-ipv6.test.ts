import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SocketAddress } from 'node:net';
import fc from 'fast-check';
import * as P from '../fixtures/packets.js';
import { fromHex } from '../fixtures/packets.js';
import {
  IPV6_HEADER_LEN,
  IP6_DST,
  IP6_HOP_LIMIT,
  IP6_NEXT_HEADER,
  IP6_PAYLOAD_LEN,
  IP6_SRC,
  IP6_VER_TC_FL,
  Ipv6Error,
  addrEquals,
  checkIpv6,
  emitIpv6,
  formatIpv6,
  ipv6FlowLabel,
  ipv6HopLimit,
  ipv6NextHeader,
  ipv6PayloadLength,
  ipv6TrafficClass,
  ipv6Version,
  isLinkLocal,
  isLoopback,
  isMulticast,
  isUnspecified,
  parseIpv6,
  parseIpv6Address,
  setIpv6HopLimit,
  type Ipv6Repr,
} from '../../src/dataplane/wire/ipv6.js';
import { InvalidInputError } from '../../src/common/errors.js';

/** Every captured fixture, by name. */
const ALL: [string, Buffer][] = Object.entries(P.ALL_PACKETS).map(([name, hex]) => [name, fromHex(hex)]);

const addr = (s: string): Buffer => parseIpv6Address(s);

test('offsets are the RFC 8200 layout', () => {
  assert.deepEqual(
    [IPV6_HEADER_LEN, IP6_VER_TC_FL, IP6_PAYLOAD_LEN, IP6_NEXT_HEADER, IP6_HOP_LIMIT, IP6_SRC, IP6_DST],
    [40, 0, 4, 6, 7, 8, 24],
  );
});

test('every captured packet passes checkIpv6 and its length is exactly 40 + payload length', () => {
  assert.ok(ALL.length >= 30);
  for (const [name, b] of ALL) {
    assert.equal(checkIpv6(b, 0, b.length), 0, name);
    assert.equal(IPV6_HEADER_LEN + ipv6PayloadLength(b, 0), b.length, name);
  }
});

test('decode: echo request from ping -6', () => {
  const b = fromHex(P.ECHO_REQUEST);
  assert.equal(ipv6Version(b, 0), 6);
  assert.equal(ipv6TrafficClass(b, 0), 0);
  assert.equal(ipv6FlowLabel(b, 0), 0x722a5);
  assert.equal(ipv6PayloadLength(b, 0), 64);
  assert.equal(ipv6NextHeader(b, 0), 58);
  assert.equal(ipv6HopLimit(b, 0), 64);
  assert.equal(formatIpv6(b, IP6_SRC), 'fd00:6d6f:6c74:1::a');
  assert.equal(formatIpv6(b, IP6_DST), 'fd00:6d6f:6c74:2::b');
  const r = parseIpv6(b, 0, b.length);
  assert.ok(r.ok);
  assert.deepEqual(r.repr, {
    src: addr('fd00:6d6f:6c74:1::a'),
    dst: addr('fd00:6d6f:6c74:2::b'),
    nextHeader: 58,
    hopLimit: 64,
    payloadLength: 64,
    trafficClass: 0,
    flowLabel: 0x722a5,
  });
});

test('decode: traffic class and flow label straddle bytes 0-3 (ping -Q 0xb9)', () => {
  const b = fromHex(P.ECHO_REQUEST_TCLASS);
  assert.equal(ipv6TrafficClass(b, 0), 0xb9);
  assert.equal(ipv6FlowLabel(b, 0), 0x722a5);
  assert.equal(ipv6PayloadLength(b, 0), 16);
  const reply = fromHex(P.ECHO_REPLY_TCLASS);
  assert.equal(ipv6TrafficClass(reply, 0), 0xb9);
  assert.equal(ipv6FlowLabel(reply, 0), 0x40bee);
  assert.equal(ipv6HopLimit(reply, 0), 63);
});

test('decode: MLDv2 report (hop-by-hop, link-local source, multicast destination, hop limit 1)', () => {
  const b = fromHex(P.MLD_REPORT_HBH);
  assert.equal(ipv6NextHeader(b, 0), 0);
  assert.equal(ipv6HopLimit(b, 0), 1);
  assert.equal(formatIpv6(b, IP6_SRC), 'fe80::fc26:efff:fe04:e0f6');
  assert.equal(formatIpv6(b, IP6_DST), 'ff02::16');
  assert.ok(isLinkLocal(b, IP6_SRC) && !isMulticast(b, IP6_SRC));
  assert.ok(isMulticast(b, IP6_DST) && !isLinkLocal(b, IP6_DST));
});

test('decode: fields of the other captures', () => {
  const rs = fromHex(P.ROUTER_SOLICITATION);
  assert.deepEqual([ipv6NextHeader(rs, 0), ipv6HopLimit(rs, 0), formatIpv6(rs, IP6_DST)], [58, 255, 'ff02::2']);
  const ptb = fromHex(P.PACKET_TOO_BIG);
  assert.equal(ptb.length, 1280);
  assert.equal(formatIpv6(ptb, IP6_SRC), 'fd00:6d6f:6c74:1::1');
  const frag = fromHex(P.FRAG_FIRST);
  assert.deepEqual([ipv6NextHeader(frag, 0), ipv6PayloadLength(frag, 0)], [44, 1456]);
  const srv6 = fromHex(P.SRV6_ECHO_REQUEST);
  assert.equal(ipv6NextHeader(srv6, 0), 43);
  const exp = fromHex(P.UNKNOWN_NEXT_HEADER);
  assert.equal(ipv6NextHeader(exp, 0), 253);
});

test('emit into a 0xFF-filled buffer reproduces every captured header exactly', () => {
  for (const [name, b] of ALL) {
    const r = parseIpv6(b, 0, b.length);
    assert.ok(r.ok, name);
    const out = Buffer.alloc(60, 0xff);
    assert.equal(emitIpv6(r.repr, out, 10), 40);
    assert.deepEqual(out.subarray(10, 50), b.subarray(0, 40), name);
    assert.ok(out.subarray(0, 10).every((x) => x === 0xff) && out.subarray(50).every((x) => x === 0xff), name);
  }
});

test('emit masks out-of-range fields instead of spilling into neighbours', () => {
  const out = Buffer.alloc(40, 0xff);
  const repr: Ipv6Repr = {
    src: Buffer.alloc(16),
    dst: Buffer.alloc(16),
    nextHeader: 0x13a,
    hopLimit: 0x140,
    payloadLength: 0x10010,
    trafficClass: 0x1ff,
    flowLabel: 0xfffffff,
  };
  emitIpv6(repr, out, 0);
  assert.equal(ipv6Version(out, 0), 6);
  assert.equal(ipv6TrafficClass(out, 0), 0xff);
  assert.equal(ipv6FlowLabel(out, 0), 0xfffff);
  assert.equal(ipv6PayloadLength(out, 0), 0x10);
  assert.equal(ipv6NextHeader(out, 0), 0x3a);
  assert.equal(ipv6HopLimit(out, 0), 0x40);
});

test('truncated: every prefix is refused with a code, never an exception', () => {
  for (const [name, b] of ALL) {
    const pl = ipv6PayloadLength(b, 0);
    for (let len = 0; len < b.length; len++) {
      const want = len < 40 ? Ipv6Error.Truncated : Ipv6Error.BadLength;
      assert.equal(checkIpv6(b, 0, len), want, `${name} prefix ${len}`);
      // The same through a real short Buffer, not just a short len.
      const short = Buffer.from(b.subarray(0, len));
      assert.equal(checkIpv6(short, 0, short.length), want, `${name} buffer ${len}`);
      const r = parseIpv6(short, 0, short.length);
      assert.equal(r.ok, false);
    }
    assert.ok(pl > 0);
  }
});

test('a region running past the end of the buffer is Truncated', () => {
  const b = fromHex(P.ECHO_REQUEST);
  assert.equal(checkIpv6(b, 1, b.length), Ipv6Error.Truncated);
  assert.equal(checkIpv6(b, -1, b.length), Ipv6Error.Truncated);
  assert.equal(checkIpv6(b, b.length, 40), Ipv6Error.Truncated);
});

test('overlong: trailing bytes after 40 + payload length are tolerated (link padding)', () => {
  for (const [name, b] of ALL) {
    const padded = Buffer.concat([Buffer.alloc(7, 0xee), b, Buffer.alloc(13, 0xee)]);
    assert.equal(checkIpv6(padded, 7, b.length + 13), 0, name);
    const a = parseIpv6(b, 0, b.length);
    const c = parseIpv6(padded, 7, b.length + 13);
    assert.deepEqual(c, a, name);
  }
});

test('bad version: every version nibble but 6 is refused', () => {
  const b = fromHex(P.UDP);
  for (let v = 0; v < 16; v++) {
    const c = Buffer.from(b);
    c[0] = (v << 4) | (c[0]! & 0x0f);
    assert.equal(checkIpv6(c, 0, c.length), v === 6 ? 0 : Ipv6Error.BadVersion, `version ${v}`);
  }
  const v4 = Buffer.from(b);
  v4[0] = 0x45;
  const r = parseIpv6(v4, 0, v4.length);
  assert.deepEqual(r, { ok: false, error: 'IP version is not 6' });
});

test('payload length 0: a jumbogram with hop-by-hop is unsupported, an empty No Next Header packet is fine', () => {
  const b = fromHex(P.MLD_REPORT_HBH);
  b[4] = 0;
  b[5] = 0;
  assert.equal(checkIpv6(b, 0, b.length), Ipv6Error.JumboUnsupported);
  assert.equal(parseIpv6(b, 0, b.length).ok, false);
  const empty = Buffer.from(b.subarray(0, 40));
  empty[IP6_NEXT_HEADER] = 59;
  assert.equal(checkIpv6(empty, 0, 40), 0);
});

test('payload length larger than the packet is BadLength', () => {
  const b = fromHex(P.ECHO_REQUEST);
  b[5] = b[5]! + 1;
  assert.equal(checkIpv6(b, 0, b.length), Ipv6Error.BadLength);
});

test('setIpv6HopLimit writes only the hop limit', () => {
  const b = fromHex(P.ECHO_REQUEST);
  const before = Buffer.from(b);
  setIpv6HopLimit(b, 0, ipv6HopLimit(b, 0) - 1);
  assert.equal(ipv6HopLimit(b, 0), 63);
  b[IP6_HOP_LIMIT] = 64;
  assert.deepEqual(b, before);
});

test('round trip: random repr -> emit -> parse', () => {
  const bytes16 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a));
  fc.assert(
    fc.property(
      bytes16,
      bytes16,
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 1, max: 200 }),
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0, max: 0xfffff }),
      (src, dst, nextHeader, hopLimit, payloadLength, trafficClass, flowLabel) => {
        const repr: Ipv6Repr = { src, dst, nextHeader, hopLimit, payloadLength, trafficClass, flowLabel };
        const buf = Buffer.alloc(40 + payloadLength, 0xff);
        emitIpv6(repr, buf, 0);
        const r = parseIpv6(buf, 0, buf.length);
        assert.ok(r.ok);
        assert.deepEqual(r.repr, repr);
      },
    ),
  );
});

test('checkIpv6 and parseIpv6 never throw on random bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), fc.nat(130), fc.nat(130), (a, off, len) => {
      const b = Buffer.from(a);
      const code = checkIpv6(b, off, len);
      assert.ok(code <= 0 && code >= -4);
      const r = parseIpv6(b, off, len);
      assert.equal(r.ok, code === 0);
    }),
  );
});

test('addrEquals compares 16 bytes at any offsets', () => {
  const a = Buffer.concat([Buffer.from([1, 2, 3]), addr('fd00:6d6f:6c74:1::a')]);
  const b = Buffer.concat([addr('fd00:6d6f:6c74:1::a'), Buffer.from([9])]);
  assert.ok(addrEquals(a, 3, b, 0));
  for (let i = 0; i < 16; i++) {
    const c = Buffer.from(b);
    c[i] = c[i]! ^ 0x01;
    assert.ok(!addrEquals(a, 3, c, 0), `byte ${i}`);
  }
  const pkt = fromHex(P.ECHO_REQUEST);
  const reply = fromHex(P.ECHO_REPLY);
  assert.ok(addrEquals(pkt, IP6_SRC, reply, IP6_DST));
  assert.ok(addrEquals(pkt, IP6_DST, reply, IP6_SRC));
  assert.ok(!addrEquals(pkt, IP6_SRC, pkt, IP6_DST));
});

test('address classes: link-local is fe80::/10, multicast ff00::/8', () => {
  const cases: [string, boolean, boolean][] = [
    ['fe80::1', true, false],
    ['febf:ffff::1', true, false],
    ['fec0::1', false, false],
    ['fe7f::1', false, false],
    ['ff02::1', false, true],
    ['ff0e::1', false, true],
    ['fd00:6d6f:6c74::1', false, false],
    ['::', false, false],
  ];
  for (const [s, ll, mc] of cases) {
    const b = addr(s);
    assert.equal(isLinkLocal(b, 0), ll, s);
    assert.equal(isMulticast(b, 0), mc, s);
  }
  assert.ok(isUnspecified(addr('::'), 0) && !isUnspecified(addr('::1'), 0));
  assert.ok(isLoopback(addr('::1'), 0) && !isLoopback(addr('::'), 0) && !isLoopback(addr('1::1'), 0));
});

test('formatIpv6: RFC 5952 examples', () => {
  const cases: [string, string][] = [
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // §4.2.2: one zero group is not shortened
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // §4.2.3: the longest run
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // §4.2.3: the first of equal runs
    ['2001:DB8::AAAA', '2001:db8::aaaa'], // §4.3: lowercase
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['1:0:0:0:0:0:0:1', '1::1'],
    ['0:1:0:1:0:1:0:1', '0:1:0:1:0:1:0:1'],
    ['0:0:ffff:0:0:0:0:0', '0:0:ffff::'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'], // §5: IPv4-mapped keeps the dotted quad
    ['::ffff:c000:201', '::ffff:192.0.2.1'],
    ['::192.0.2.1', '::c000:201'], // IPv4-compatible is deprecated: hex
    ['fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268', 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268'],
    ['fe80::6e88:46c5:4af7:9268', 'fe80::6e88:46c5:4af7:9268'],
  ];
  for (const [input, want] of cases) assert.equal(formatIpv6(addr(input), 0), want, input);
  const b = Buffer.concat([Buffer.alloc(5, 0xff), addr('2001:db8::1')]);
  assert.equal(formatIpv6(b, 5), '2001:db8::1');
});

test('parseIpv6Address: accepted forms', () => {
  assert.deepEqual(addr('::'), Buffer.alloc(16));
  assert.deepEqual(addr('0:0:0:0:0:0:0:0'), Buffer.alloc(16));
  assert.deepEqual(addr('::1'), Buffer.from('00000000000000000000000000000001', 'hex'));
  assert.deepEqual(addr('1::'), Buffer.from('00010000000000000000000000000000', 'hex'));
  assert.deepEqual(addr('1:2:3:4:5:6:7::'), Buffer.from('00010002000300040005000600070000', 'hex'));
  assert.deepEqual(addr('::2:3:4:5:6:7:8'), Buffer.from('00000002000300040005000600070008', 'hex'));
  assert.deepEqual(addr('FD00:6D6F:6C74:0001:0000:0000:0000:000A'), addr('fd00:6d6f:6c74:1::a'));
  assert.deepEqual(addr('::ffff:1.2.3.4'), Buffer.from('00000000000000000000ffff01020304', 'hex'));
  assert.deepEqual(addr('1:2:3:4:5:6:255.255.0.0'), Buffer.from('000100020003000400050006ffff0000', 'hex'));
  assert.deepEqual(addr('::0.0.0.0'), Buffer.alloc(16));
});

test('parseIpv6Address: rejects with a clear message naming the input (zone ids are rejected, not stripped)', () => {
  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['fe80::1%eth0', /zone/],
    ['fe80::1%1', /zone/],
    ['[::1]', /brackets/],
    ['fd00::/64', /prefix length/],
    [':::', /only once/],
    ['1::2::3', /only once/],
    ['1:2:3:4:5:6:7:8:9', /9 groups/],
    ['1:2:3:4:5:6:7', /7 groups/],
    ['1:2:3:4:5:6:7:8::', /at least one zero group/],
    ['1:2:3:4:5:6::1.2.3.4', /at least one zero group/],
    ['12345::', /more than 4 hex digits/],
    ['g::', /not hexadecimal/],
    ['::-1', /not hexadecimal/],
    [':1::', /empty group/],
    ['1::2:', /empty group/],
    ['::1.2.3.04', /IPv4/],
    ['::1.2.3', /IPv4/],
    ['::256.1.1.1', /IPv4/],
    ['1.2.3.4', /groups/],
    ['1.2.3.4::', /IPv4/],
    ['::1.2.3.4:5', /IPv4/],
    [' ::1', /hexadecimal/],
  ];
  for (const [s, why] of bad) {
    assert.throws(
      () => parseIpv6Address(s),
      (e: unknown) => e instanceof InvalidInputError && why.test(e.message) && e.message.includes(`"${s}"`),
      s,
    );
  }
});

/** A group generator biased towards zeros, so runs of zeros (and ties) are common. */
const group = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.constant(0xffff) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
);
const address = fc.array(group, { minLength: 8, maxLength: 8 }).map((gs) => {
  const b = Buffer.alloc(16);
  gs.forEach((g, i) => b.writeUInt16BE(g, 2 * i));
  return b;
});

test('property: formatIpv6 matches Node (WHATWG URL; libuv inet_ntop for IPv4-mapped) and round-trips', () => {
  fc.assert(
    fc.property(address, (b) => {
      const s = formatIpv6(b, 0);
      const mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
      if (mapped) {
        assert.equal(s, new SocketAddress({ address: s, family: 'ipv6' }).address);
        assert.match(s, /^::ffff:\d+\.\d+\.\d+\.\d+$/);
      } else {
        // The URL serializer implements RFC 5952's compression rules (first longest run of 2+ zero groups).
        const hex = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(2 * i).toString(16)).join(':');
        assert.equal(`[${s}]`, new URL(`http://[${hex}]/`).hostname);
      }
      assert.deepEqual(parseIpv6Address(s), b);
    }),
    { numRuns: 2000 },
  );
});

test('property: any textual form of an address parses back to its bytes', () => {
  const form = fc.record({
    upper: fc.boolean(),
    pad: fc.boolean(),
    compress: fc.boolean(),
    v4tail: fc.boolean(),
  });
  fc.assert(
    fc.property(address, form, (b, f) => {
      const groups = Array.from({ length: 8 }, (_, i) => {
        const h = b.readUInt16BE(2 * i).toString(16);
        return f.pad ? h.padStart(4, '0') : h;
      });
      let text: string;
      let tail = '';
      if (f.v4tail) {
        tail = `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
        groups.length = 6;
      }
      // Compress the first run of zero groups of length >= 1 if asked (any run is legal, not just the longest).
      const z = groups.findIndex((g) => /^0+$/.test(g));
      if (f.compress && z >= 0) {
        let e = z;
        while (e < groups.length && /^0+$/.test(groups[e]!)) e++;
        text = `${groups.slice(0, z).join(':')}::${groups.slice(e).join(':')}`;
        if (tail) text += (e < groups.length ? ':' : '') + tail;
      } else {
        text = groups.join(':') + (tail ? `:${tail}` : '');
      }
      if (f.upper) text = text.toUpperCase();
      assert.deepEqual(parseIpv6Address(text), b, text);
    }),
    { numRuns: 2000 },
  );
});

test('property: parseIpv6Address accepts exactly what the WHATWG URL IPv6 parser accepts, with the same value', () => {
  const token = fc.oneof(
    fc.constantFrom(':', '::', '.', '0', '1', 'ffff', 'FFFF', '00000', '255', '256', '01', '1.2.3.4', 'a'),
    fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16)),
  );
  // Near-valid: 0-9 groups (now and then a bad one), maybe one "::" somewhere, maybe a dotted quad at the end.
  const near = fc
    .record({
      groups: fc.array(
        fc.oneof(
          { weight: 8, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16)) },
          { weight: 1, arbitrary: fc.constantFrom('', '00000', '0000', 'ABCD', '12345') },
        ),
        { maxLength: 9 },
      ),
      dbl: fc.option(fc.nat(9)),
      v4: fc.option(fc.constantFrom('1.2.3.4', '255.255.255.255', '0.0.0.0', '1.2.3', '01.2.3.4', '256.0.0.0', '1.2.3.4.5')),
    })
    .map(({ groups, dbl, v4 }) => {
      let text = groups.join(':');
      if (dbl !== null) {
        const at = Math.min(dbl, groups.length);
        text = `${groups.slice(0, at).join(':')}::${groups.slice(at).join(':')}`;
      }
      if (v4 !== null) text += (text === '' || text.endsWith(':') ? '' : ':') + v4;
      return text;
    });
  const junk = fc.oneof(
    { weight: 4, arbitrary: near },
    { weight: 1, arbitrary: fc.array(token, { maxLength: 14 }).map((t) => t.join('')) },
    { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.'), maxLength: 40 }) },
  );
  let accepted = 0;
  fc.assert(
    fc.property(junk, (s) => {
      let mine: Buffer | null = null;
      try {
        mine = parseIpv6Address(s);
      } catch (e) {
        assert.ok(e instanceof InvalidInputError, String(e));
      }
      let theirs: string | null = null;
      try {
        theirs = new URL(`http://[${s}]/`).hostname;
      } catch {
        theirs = null;
      }
      assert.equal(mine !== null, theirs !== null, s);
      if (mine !== null) accepted++;
      if (mine !== null && theirs !== null) {
        assert.deepEqual(mine, parseIpv6Address(theirs.slice(1, -1)), s);
      }
    }),
    { numRuns: 5000 },
  );
  assert.ok(accepted > 500, `only ${accepted} of 5000 generated strings were valid addresses`);
});
