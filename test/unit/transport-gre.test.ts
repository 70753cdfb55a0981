import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InvalidInputError } from '../../src/common/errors.js';
import { finishChecksum, sumBytes } from '../../src/dataplane/wire/checksum.js';
import {
  GRE_KEY_HEADER_LEN,
  GRE_PORT,
  GRE_PROTO_IPV6,
  GreError,
  deriveGreKey,
  greKey,
  greProtocol,
  greSequence,
  parseGre,
  writeGreHeader,
} from '../../src/transport/wire/gre.js';
import {
  CORPUS_GRE_ERSPAN_SEQ,
  CORPUS_GRE_NHRP_KEY,
  CORPUS_GRE_PPTP_V1,
  type CapturedFrame,
  GREUDP4_KEY,
  GREUDP6_CSUM_KEY_SEQ,
  GREUDP6_KEY,
  GREUDP6_NOKEY,
  GRE_KEY_AB,
  UUID_A,
  UUID_B,
  VXLAN6_ECHO_REQUEST,
} from '../fixtures/transport-packets.js';

/** The GRE packet (UDP payload) of a frame as its own Buffer, for mutation. */
function grePacket(f: CapturedFrame): Buffer {
  return Buffer.from(f.bytes.subarray(f.udpPayloadOff));
}

/** The real IPv6 echo request the GRE-in-UDP frames carry (captured inside VXLAN). */
const ECHO = VXLAN6_ECHO_REQUEST.bytes.subarray(VXLAN6_ECHO_REQUEST.udpPayloadOff + 22);

const FRAMES: Array<[string, CapturedFrame, number, number, number]> = [
  // name, frame, header length, key, sequence
  ['GREUDP6_KEY', GREUDP6_KEY, 8, GRE_KEY_AB, -1],
  ['GREUDP4_KEY', GREUDP4_KEY, 8, GRE_KEY_AB, -1],
  ['GREUDP6_NOKEY', GREUDP6_NOKEY, 4, -1, -1],
  ['GREUDP6_CSUM_KEY_SEQ', GREUDP6_CSUM_KEY_SEQ, 16, GRE_KEY_AB, 7],
];

describe('gre: constants', () => {
  it('match RFC 8086 and RFC 2890', () => {
    assert.equal(GRE_PORT, 4754);
    assert.equal(GRE_KEY_HEADER_LEN, 8);
    assert.equal(GRE_PROTO_IPV6, 0x86dd);
  });
});

describe('gre: decode', () => {
  for (const [name, f, hlen, key, seq] of FRAMES) {
    it(name, () => {
      const b = f.bytes;
      const off = f.udpPayloadOff;
      assert.equal(b.readUInt16BE(off - 6), GRE_PORT, 'UDP destination port');
      assert.equal(parseGre(b, off, b.length - off), hlen);
      assert.equal(greProtocol(b, off), 0x86dd);
      assert.equal(greKey(b, off), key);
      assert.equal(greSequence(b, off), seq);
      assert.deepEqual(b.subarray(off + hlen), ECHO, 'the payload is the captured IPv6 packet');
    });
  }

  it('real third-party GRE (tcpdump corpus): flags, key and sequence decode; non-IPv6 is NotIpv6', () => {
    // Cisco DMVPN NHRP: K bit, key 2, protocol 0x2001.
    assert.equal(parseGre(CORPUS_GRE_NHRP_KEY, 0, CORPUS_GRE_NHRP_KEY.length), GreError.NotIpv6);
    assert.equal(greProtocol(CORPUS_GRE_NHRP_KEY, 0), 0x2001);
    assert.equal(greKey(CORPUS_GRE_NHRP_KEY, 0), 2);
    assert.equal(greSequence(CORPUS_GRE_NHRP_KEY, 0), -1);
    // ERSPAN II: S bit, sequence 171, protocol 0x88be.
    assert.equal(parseGre(CORPUS_GRE_ERSPAN_SEQ, 0, CORPUS_GRE_ERSPAN_SEQ.length), GreError.NotIpv6);
    assert.equal(greProtocol(CORPUS_GRE_ERSPAN_SEQ, 0), 0x88be);
    assert.equal(greKey(CORPUS_GRE_ERSPAN_SEQ, 0), -1);
    assert.equal(greSequence(CORPUS_GRE_ERSPAN_SEQ, 0), 171);
    // With the protocol patched to IPv6, the same real headers are accepted with the right length.
    const nhrp = Buffer.from(CORPUS_GRE_NHRP_KEY);
    nhrp.writeUInt16BE(0x86dd, 2);
    assert.equal(parseGre(nhrp, 0, nhrp.length), 8);
    const erspan = Buffer.from(CORPUS_GRE_ERSPAN_SEQ);
    erspan.writeUInt16BE(0x86dd, 2);
    assert.equal(parseGre(erspan, 0, erspan.length), 8);
  });

  it('PPTP enhanced GRE (version 1, tcpdump corpus) is BadVersion', () => {
    assert.equal(CORPUS_GRE_PPTP_V1[1]! & 7, 1);
    assert.equal(parseGre(CORPUS_GRE_PPTP_V1, 0, CORPUS_GRE_PPTP_V1.length), GreError.BadVersion);
  });
});

describe('gre: encode', () => {
  it('with a key: equals the frame bytes when written into a 0xFF-filled buffer', () => {
    for (const f of [GREUDP6_KEY, GREUDP4_KEY]) {
      const want = grePacket(f);
      const buf = Buffer.alloc(3 + want.length, 0xff);
      want.copy(buf, 3 + 8, 8);
      assert.equal(writeGreHeader(buf, 3, GRE_KEY_AB), 8);
      assert.deepEqual(buf.subarray(3), want);
      assert.deepEqual(buf.subarray(0, 3), Buffer.alloc(3, 0xff));
    }
  });

  it('without a key: 4 bytes, equals GREUDP6_NOKEY', () => {
    const want = grePacket(GREUDP6_NOKEY);
    const buf = Buffer.alloc(want.length, 0xff);
    want.copy(buf, 4, 4);
    assert.equal(writeGreHeader(buf, 0, null), 4);
    assert.deepEqual(buf, want);
  });

  it('round trip: any key, any offset', () => {
    fc.assert(
      fc.property(fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: null }), fc.nat(32), (key, off) => {
        const buf = Buffer.alloc(off + 8 + 40, 0xff);
        const hlen = writeGreHeader(buf, off, key);
        assert.equal(hlen, key === null ? 4 : 8);
        assert.equal(parseGre(buf, off, buf.length - off), hlen);
        assert.equal(greKey(buf, off), key === null ? -1 : key);
        assert.equal(greSequence(buf, off), -1);
      }),
    );
    for (const key of [0, 1, 0x7fffffff, 0x80000000, 0xffffffff]) {
      const buf = Buffer.alloc(8);
      writeGreHeader(buf, 0, key);
      assert.equal(greKey(buf, 0), key);
    }
  });
});

describe('gre: bad input gives error codes, never throws', () => {
  it('every prefix of every frame', () => {
    let badSeen = 0;
    for (const [name, f, hlen] of FRAMES) {
      const p = grePacket(f);
      const csum = (p[0]! & 0x80) !== 0;
      for (let len = 0; len <= p.length; len++) {
        const r = parseGre(p.subarray(0, len), 0, len);
        if (len < hlen) {
          assert.equal(r, GreError.Truncated, `${name} len ${len}`);
        } else if (!csum) {
          // Without a checksum the GRE header cannot know the payload length; the IPv6 layer checks it.
          assert.equal(r, hlen, `${name} len ${len}`);
        } else {
          // A shorter packet fails its checksum unless the dropped tail sums to zero (e.g. zero bytes).
          const sumsToZero = finishChecksum(sumBytes(p, 0, len)) === 0;
          assert.equal(r, sumsToZero ? hlen : GreError.BadChecksum, `${name} len ${len}`);
          if (!sumsToZero) badSeen++;
        }
      }
    }
    assert.ok(badSeen > 50, 'most truncations of the checksummed frame are BadChecksum');
  });

  it('length past the buffer or negative offset: Truncated', () => {
    const p = grePacket(GREUDP6_KEY);
    assert.equal(parseGre(p, 0, p.length + 1), GreError.Truncated);
    assert.equal(parseGre(p, -1, 8), GreError.Truncated);
  });

  it('version bits must be 0', () => {
    for (let v = 1; v < 8; v++) {
      const p = grePacket(GREUDP6_KEY);
      p[1] = p[1]! | v;
      assert.equal(parseGre(p, 0, p.length), GreError.BadVersion, `version ${v}`);
    }
  });

  it('R, s and recursion bit 5 are Routing (RFC 2784 §2.5); bits 6-12 are ignored', () => {
    for (const bit of [0x4000, 0x0800, 0x0400]) {
      const p = grePacket(GREUDP6_KEY);
      p.writeUInt16BE(p.readUInt16BE(0) | bit, 0);
      assert.equal(parseGre(p, 0, p.length), GreError.Routing, bit.toString(16));
    }
    const p = grePacket(GREUDP6_KEY);
    p.writeUInt16BE(p.readUInt16BE(0) | 0x03f8, 0);
    assert.equal(parseGre(p, 0, p.length), 8);
    assert.equal(greKey(p, 0), GRE_KEY_AB);
  });

  it('C bit: the checksum is verified over header and payload', () => {
    const good = grePacket(GREUDP6_CSUM_KEY_SEQ);
    assert.equal(finishChecksum(sumBytes(good, 0, good.length)), 0);
    const badPayload = Buffer.from(good);
    badPayload[40] = badPayload[40]! ^ 0x01;
    assert.equal(parseGre(badPayload, 0, badPayload.length), GreError.BadChecksum);
    const badField = Buffer.from(good);
    badField[4] = badField[4]! ^ 0x80;
    assert.equal(parseGre(badField, 0, badField.length), GreError.BadChecksum);
    // Reserved1 is covered by the checksum but its value is otherwise ignored.
    assert.equal(good.readUInt16BE(6), 0);
  });

  it('protocol type other than 0x86DD is NotIpv6', () => {
    const p = grePacket(GREUDP6_NOKEY);
    p.writeUInt16BE(0x0800, 2);
    assert.equal(parseGre(p, 0, p.length), GreError.NotIpv6);
  });

  it('random bytes never throw', () => {
    const codes = new Set<number>(Object.values(GreError));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat(48), (bytes, len) => {
        const r = parseGre(bytes, 0, len);
        assert.ok([4, 8, 12, 16].includes(r) || codes.has(r), String(r));
      }),
    );
  });
});

describe('gre: deriveGreKey', () => {
  it('fixed vector (computed independently with Python hashlib)', () => {
    assert.equal(deriveGreKey(UUID_A, UUID_B), 0xaa139c44);
    assert.equal(GRE_KEY_AB, 0xaa139c44);
  });

  it('is order-independent and case-insensitive', () => {
    assert.equal(deriveGreKey(UUID_B, UUID_A), GRE_KEY_AB);
    assert.equal(deriveGreKey(UUID_A.toUpperCase(), UUID_B), GRE_KEY_AB);
    fc.assert(
      fc.property(fc.uuid(), fc.uuid(), (a, b) => {
        const k = deriveGreKey(a, b);
        assert.equal(deriveGreKey(b, a), k);
        assert.ok(Number.isInteger(k) && k >= 0 && k <= 0xffffffff);
      }),
    );
  });

  it('depends on both UUIDs', () => {
    const other = '88833763-60b7-47db-8703-349c6b2c7100';
    assert.notEqual(deriveGreKey(UUID_A, other), GRE_KEY_AB);
    assert.equal(typeof deriveGreKey(UUID_A, UUID_A), 'number');
  });

  it('rejects anything but a canonical UUID', () => {
    for (const bad of ['', 'daa46e8846c54af792681482c54c1922', '{daa46e88-46c5-4af7-9268-1482c54c1922}', 'daa46e88-46c5-4af7-9268-1482c54c192g']) {
      assert.throws(() => deriveGreKey(bad, UUID_B), InvalidInputError, bad);
      assert.throws(() => deriveGreKey(UUID_A, bad), InvalidInputError, bad);
    }
  });
});
