import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  MESH_PREFIX,
  MESH_PREFIX_LEN,
  formatIpv6,
  isMeshAddress,
  isUuid,
  linkLocalFor,
  meshAddressBytes,
  normalizeUuid,
  parseIpv6,
  parseMeshAddress,
  uuidPrefixOf,
  uuidToMeshAddress,
} from '../../src/common/address.js';
import { InvalidInputError } from '../../src/common/errors.js';

/** The spec's examples (§2.2): UUID, the spec's 9-group "ipv6", and the valid address. */
const VECTORS = [
  {
    agent: 'AgenticMesh',
    uuid: 'daa46e88-46c5-4af7-9268-1482c54c1922',
    legacy: 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268:1482',
    address: 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268',
    linkLocal: 'fe80::6e88:46c5:4af7:9268',
  },
  {
    agent: 'clawdboy',
    uuid: '88833763-60b7-47db-8703-349c6b2c70ff',
    legacy: 'fd00:6d6f:6c74:8883:3763:60b7:47db:8703:349c',
    address: 'fd00:6d6f:6c74:8883:3763:60b7:47db:8703',
    linkLocal: 'fe80::3763:60b7:47db:8703',
  },
  {
    agent: 'Carlotta',
    uuid: 'f8a9ce03-f512-4311-8792-519109168903',
    legacy: 'fd00:6d6f:6c74:f8a9:ce03:f512:4311:8792:5191',
    address: 'fd00:6d6f:6c74:f8a9:ce03:f512:4311:8792',
    linkLocal: 'fe80::ce03:f512:4311:8792',
  },
];

function throwsInvalid(fn: () => unknown, pattern?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidInputError, `expected InvalidInputError, got ${String(err)}`);
    assert.equal(err.exitCode, 2);
    assert.ok(!err.message.includes('\n'), `one line: ${err.message}`);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

/** 16 random bytes -> a UUID string. */
const uuidArb = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => {
  const h = Buffer.from(b).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
});

/** UUIDs rich in zero groups, so that compression is exercised. */
const zeroyUuidArb = fc
  .array(fc.constantFrom('0000', '0000', '0001', 'abcd', '0a00', 'ffff'), { minLength: 8, maxLength: 8 })
  .map((g) => `${g[0]}${g[1]}-${g[2]}-${g[3]}-${g[4]}-${g[5]}${g[6]}${g[7]}`);

describe('address: spec vectors', () => {
  for (const v of VECTORS) {
    it(`${v.agent}: UUID -> address`, () => {
      assert.equal(uuidToMeshAddress(v.uuid), v.address);
      assert.equal(parseMeshAddress(v.uuid), v.address);
    });
    it(`${v.agent}: legacy 9-group form -> address`, () => {
      assert.equal(parseMeshAddress(v.legacy), v.address);
      assert.equal(parseMeshAddress(v.legacy.toUpperCase()), v.address);
    });
    it(`${v.agent}: address is its own canonical form, link-local and prefix`, () => {
      assert.equal(parseMeshAddress(v.address), v.address);
      assert.equal(linkLocalFor(v.address), v.linkLocal);
      assert.equal(linkLocalFor(v.uuid), v.linkLocal);
      assert.equal(uuidPrefixOf(v.address), v.uuid.slice(0, 23));
      assert.ok(isMeshAddress(v.address));
      assert.ok(isIPv6(v.address));
    });
  }

  it('constants', () => {
    assert.equal(MESH_PREFIX, 'fd00:6d6f:6c74::');
    assert.equal(MESH_PREFIX_LEN, 48);
  });

  it('meshAddressBytes gives the 16 bytes', () => {
    assert.deepEqual(
      meshAddressBytes('daa46e88-46c5-4af7-9268-1482c54c1922'),
      Buffer.from('fd006d6f6c74daa46e8846c54af79268', 'hex'),
    );
    assert.equal(meshAddressBytes('fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268:1482').length, 16);
  });
});

describe('address: accepted spellings', () => {
  const want = 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268';
  const spellings = [
    'DAA46E88-46C5-4AF7-9268-1482C54C1922',
    'daa46e8846c54af792681482c54c1922',
    'DAA46E8846C54AF792681482C54C1922',
    '  daa46e88-46c5-4af7-9268-1482c54c1922\n',
    'FD00:6D6F:6C74:DAA4:6E88:46C5:4AF7:9268',
    'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268/128',
    '[fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268]',
    'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268',
    'fd00:6d6f:6c74:daa4:6e88:46c5:74.247.146.104',
  ];
  for (const s of spellings) it(JSON.stringify(s), () => assert.equal(parseMeshAddress(s), want));

  it('leading zeros and zero runs in any spelling', () => {
    const a = 'fd00:6d6f:6c74:0:0:0:0:1';
    assert.equal(parseMeshAddress(a), 'fd00:6d6f:6c74::1');
    assert.equal(parseMeshAddress('fd00:6d6f:6c74:0000:0000:0000:0000:0001'), 'fd00:6d6f:6c74::1');
    assert.equal(parseMeshAddress('fd00:6d6f:6c74::'), 'fd00:6d6f:6c74::');
    assert.equal(parseMeshAddress('fd00:6d6f:6c74:00:000::0001'), 'fd00:6d6f:6c74::1');
  });
});

describe('address: RFC 5952 output', () => {
  it('compresses zero groups of a UUID', () => {
    assert.equal(uuidToMeshAddress('00000000-0000-0000-0000-000000000000'), 'fd00:6d6f:6c74::');
    assert.equal(uuidToMeshAddress('00000000-0000-4000-8000-000000000000'), 'fd00:6d6f:6c74::4000:8000');
    assert.equal(uuidToMeshAddress('12340000-0000-4000-0000-000000000000'), 'fd00:6d6f:6c74:1234::4000:0');
    assert.equal(uuidToMeshAddress('00010002-0000-0004-0005-000000000000'), 'fd00:6d6f:6c74:1:2:0:4:5');
  });
  it('drops leading zeros and lowercases', () => {
    assert.equal(uuidToMeshAddress('0A0B00C0-000D-4000-8000-000000000000'), 'fd00:6d6f:6c74:a0b:c0:d:4000:8000');
  });
  it('a single zero group is not compressed; the first of equal runs is', () => {
    assert.equal(formatIpv6(Buffer.from('00010000000200030004000500060007', 'hex')), '1:0:2:3:4:5:6:7');
    assert.equal(formatIpv6(Buffer.from('00010000000000020003000000000004', 'hex')), '1::2:3:0:0:4');
    assert.equal(formatIpv6(Buffer.from('00010000000200000000000000030000', 'hex')), '1:0:2::3:0');
    assert.equal(formatIpv6(Buffer.alloc(16)), '::');
  });
  it('link-local of an address with zeros in its last 64 bits', () => {
    assert.equal(linkLocalFor('fd00:6d6f:6c74:1::'), 'fe80::');
    assert.equal(linkLocalFor('fd00:6d6f:6c74:1:2::'), 'fe80::2:0:0:0');
    assert.equal(linkLocalFor('fd00:6d6f:6c74:1:0:0:0:5'), 'fe80::5');
    assert.equal(linkLocalFor('fd00:6d6f:6c74:1:2:0:0:5'), 'fe80::2:0:0:5');
    assert.equal(linkLocalFor('fd00:6d6f:6c74:1:2:3:0:5'), 'fe80::2:3:0:5');
  });
});

describe('address: invalid input', () => {
  const bad: [string, RegExp][] = [
    ['xyz', /not a UUID or MoltNet address: "xyz"/],
    ['', /not a UUID or MoltNet address: ""/],
    ['daa46e88-46c5-4af7-9268-1482c54c192', /31/], // short UUID
    ['daa46e88-46c5-4af7-9268-1482c54c19222', /33/], // long UUID
    ['daa46e8846c54af792681482c54c192', /31/], // short bare
    ['daa46e88-46c5-4af7-9268-1482c54c192g', /not a UUID or MoltNet address/], // non-hex
    ['daa46e88-46c54af7-9268-1482c54c1922x', /not a UUID or MoltNet address/],
    ['daa46e88-46c5-4af7-92681-482c54c1922', /8-4-4-4-12/], // hyphens misplaced
    ['fd00::1', /outside the MoltNet prefix fd00:6d6f:6c74::\/48/],
    ['2001:db8::1', /outside the MoltNet prefix/],
    ['fd00:6d6f:6c75::1', /outside the MoltNet prefix/],
    ['fe80::6e88:46c5:4af7:9268', /outside the MoltNet prefix/],
    ['fd00:1234:6c74:daa4:6e88:46c5:4af7:9268:1482', /outside the MoltNet prefix/], // 9 groups, wrong prefix
    ['fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268:1482:c54c', /not a valid IPv6 address/], // 10 groups
    ['fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268:1482:c54c:1922', /not a valid IPv6 address/],
    ['fd00:6d6f:6c74:daa4:6e88:46c5:4af7', /not a valid IPv6 address/], // 7 groups
    ['fd00:6d6f:6c74::daa4::1', /not a valid IPv6 address/],
    ['fd00:6d6f:6c74:daa4:6e88:46c5:4af7:92689', /not a valid IPv6 address/],
    ['fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268/64', /\/64 prefix/],
    ['fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268%eth0', /not a valid IPv6 address/],
    [':fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268', /not a valid IPv6 address/],
    ['fd00:6d6f:6c74:daa4:6e88:46c5:1.2.3.256', /not a valid IPv6 address/],
  ];
  for (const [input, re] of bad) {
    it(JSON.stringify(input), () => throwsInvalid(() => parseMeshAddress(input), re));
  }
  it('uuidToMeshAddress rejects addresses and garbage', () => {
    throwsInvalid(() => uuidToMeshAddress('fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268'), /not a UUID/);
    throwsInvalid(() => uuidToMeshAddress('nope'), /not a UUID: "nope"/);
  });
  it('linkLocalFor and meshAddressBytes reject what parseMeshAddress rejects', () => {
    throwsInvalid(() => linkLocalFor('fd00::1'));
    throwsInvalid(() => meshAddressBytes('zzz'));
  });
  it('isMeshAddress', () => {
    assert.equal(isMeshAddress('fd00:6d6f:6c74::1'), true);
    assert.equal(isMeshAddress('fd00::1'), false);
    assert.equal(isMeshAddress('daa46e88-46c5-4af7-9268-1482c54c1922'), false);
    assert.equal(isMeshAddress('fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268:1482'), false);
    assert.equal(isMeshAddress(meshAddressBytes('fd00:6d6f:6c74::1')), true);
    assert.equal(isMeshAddress(new Uint8Array(16)), false);
  });
});

describe('address: properties', () => {
  it('UUID -> address: prefix + first 20 hex digits, canonical, valid IPv6', () => {
    fc.assert(
      fc.property(fc.oneof(uuidArb, zeroyUuidArb), (uuid) => {
        const addr = uuidToMeshAddress(uuid);
        const bytes = meshAddressBytes(addr);
        assert.equal(bytes.toString('hex'), `fd006d6f6c74${uuid.replace(/-/g, '').slice(0, 20)}`);
        assert.ok(isIPv6(addr));
        assert.equal(new URL(`http://[${addr}]/`).hostname, `[${addr}]`); // WHATWG serializer = RFC 5952
        assert.equal(parseMeshAddress(addr), addr);
        assert.equal(parseMeshAddress(uuid.toUpperCase()), addr);
        assert.equal(parseMeshAddress(uuid.replace(/-/g, '')), addr);
        assert.equal(uuidPrefixOf(addr), uuid.slice(0, 23));
        assert.ok(isMeshAddress(addr));
      }),
      { numRuns: 500 },
    );
  });

  it('the legacy form of any UUID maps to its address', () => {
    fc.assert(
      fc.property(uuidArb, (uuid) => {
        const g = uuid.replace(/-/g, '').match(/.{4}/g)!;
        const legacy = `fd00:6d6f:6c74:${g.slice(0, 6).join(':')}`;
        assert.equal(parseMeshAddress(legacy), uuidToMeshAddress(uuid));
      }),
    );
  });

  it('every spelling of a mesh address parses to the same canonical text', () => {
    const suffix = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 5, maxLength: 5 });
    fc.assert(
      fc.property(suffix, fc.boolean(), fc.boolean(), (words, upper, pad) => {
        const all = [0xfd00, 0x6d6f, 0x6c74, ...words];
        const full = all.map((w) => (pad ? w.toString(16).padStart(4, '0') : w.toString(16))).join(':');
        const text = upper ? full.toUpperCase() : full;
        const canonical = parseMeshAddress(text);
        assert.equal(new URL(`http://[${text}]/`).hostname, `[${canonical}]`);
        assert.equal(parseMeshAddress(canonical), canonical);
        assert.deepEqual(parseIpv6(canonical), parseIpv6(text));
      }),
      { numRuns: 500 },
    );
  });

  it('parseIpv6 agrees with node:net on arbitrary strings over the IPv6 alphabet', () => {
    const ch = fc.constantFrom(...'0123456789abcdefABCDEF:::.'.split(''));
    fc.assert(
      fc.property(fc.array(ch, { maxLength: 45 }).map((a) => a.join('')), (s) => {
        assert.equal(parseIpv6(s) !== null, isIPv6(s), s);
      }),
      { numRuns: 3000 },
    );
  });

  it('format(parse(x)) round-trips any 16 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        const text = formatIpv6(b);
        assert.deepEqual(parseIpv6(text), Buffer.from(b));
        assert.equal(new URL(`http://[${text}]/`).hostname, `[${text}]`);
      }),
      { numRuns: 1000 },
    );
  });

  it('normalizeUuid / isUuid', () => {
    assert.equal(normalizeUuid('DAA46E8846C54AF792681482C54C1922'), 'daa46e88-46c5-4af7-9268-1482c54c1922');
    assert.equal(isUuid('daa46e88-46c5-4af7-9268-1482c54c1922'), true);
    assert.equal(isUuid('daa46e88-46c5-4af7-9268-1482c54c192'), false);
    assert.equal(isUuid('{daa46e88-46c5-4af7-9268-1482c54c1922}'), false);
  });
});
