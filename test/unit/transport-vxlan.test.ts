import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InvalidInputError } from '../../src/common/errors.js';
import {
  ETHERTYPE_QINQ,
  ETHERTYPE_VLAN,
  copyMac,
  formatMac,
  isMulticastMac,
  macEquals,
  meshMac,
  multicastMac,
  parseMac,
  writeMulticastMac,
} from '../../src/transport/wire/ethernet.js';
import {
  DEFAULT_VNI,
  ETH_HEADER_LEN,
  ETHERTYPE_IPV6,
  VXLAN_ENCAP_LEN,
  VXLAN_HEADER_LEN,
  VXLAN_PORT,
  VxlanError,
  parseVxlan,
  vxlanInnerDstOffset,
  vxlanInnerEthertype,
  vxlanInnerSrcOffset,
  vxlanPayloadOffset,
  vxlanVni,
  writeVxlanEncap,
} from '../../src/transport/wire/vxlan.js';
import {
  type CapturedFrame,
  MAC_A,
  MAC_B,
  VXLAN4_DAD_NA,
  VXLAN4_DAD_NS,
  VXLAN4_ECHO_REQUEST,
  VXLAN4_NA,
  VXLAN4_NS,
  VXLAN6_ECHO_REPLY,
  VXLAN6_ECHO_REQUEST,
  VXLAN6_NA,
  VXLAN6_NS,
  VXLAN6_NUD_NA,
  VXLAN6_NUD_NS,
  VXLAN6_TAGGED,
  ip6,
} from '../fixtures/transport-packets.js';

/** Every captured untagged frame, with the inner MACs the capture shows (A -> B or B -> A). */
const CAPTURED: Array<[string, CapturedFrame, string, string]> = [
  ['VXLAN4_NS', VXLAN4_NS, '33:33:ff:db:87:03', MAC_A],
  ['VXLAN4_NA', VXLAN4_NA, MAC_A, MAC_B],
  ['VXLAN4_ECHO_REQUEST', VXLAN4_ECHO_REQUEST, MAC_B, MAC_A],
  ['VXLAN4_DAD_NS', VXLAN4_DAD_NS, '33:33:ff:db:87:03', MAC_A],
  ['VXLAN4_DAD_NA', VXLAN4_DAD_NA, '33:33:00:00:00:01', MAC_B],
  ['VXLAN6_NS', VXLAN6_NS, '33:33:ff:db:87:03', MAC_A],
  ['VXLAN6_NA', VXLAN6_NA, MAC_A, MAC_B],
  ['VXLAN6_ECHO_REQUEST', VXLAN6_ECHO_REQUEST, MAC_B, MAC_A],
  ['VXLAN6_ECHO_REPLY', VXLAN6_ECHO_REPLY, MAC_A, MAC_B],
  ['VXLAN6_NUD_NS', VXLAN6_NUD_NS, MAC_B, MAC_A],
  ['VXLAN6_NUD_NA', VXLAN6_NUD_NA, MAC_A, MAC_B],
];

/** The UDP payload of a captured frame as its own Buffer (offset 0), for mutation. */
function udpPayload(f: CapturedFrame): Buffer {
  return Buffer.from(f.bytes.subarray(f.udpPayloadOff));
}

describe('vxlan: constants', () => {
  it('match RFC 7348 and DESIGN.md', () => {
    assert.equal(VXLAN_HEADER_LEN, 8);
    assert.equal(ETH_HEADER_LEN, 14);
    assert.equal(VXLAN_ENCAP_LEN, 22);
    assert.equal(DEFAULT_VNI, 7171948);
    assert.equal(Buffer.from([0x6d, 0x6f, 0x6c]).toString('ascii'), 'mol');
    assert.equal(VXLAN_PORT, 4789);
    assert.equal(ETHERTYPE_IPV6, 0x86dd);
  });
});

describe('vxlan: decode real frames (Linux vxlan device, IPv4 and IPv6 underlay)', () => {
  for (const [name, f, dst, src] of CAPTURED) {
    it(name, () => {
      const b = f.bytes;
      const off = f.udpPayloadOff;
      assert.equal(b.readUInt16BE(off - 6), VXLAN_PORT, 'UDP destination port');
      assert.equal(parseVxlan(b, off, b.length - off), DEFAULT_VNI);
      assert.equal(vxlanVni(b, off), DEFAULT_VNI);
      assert.equal(vxlanInnerEthertype(b, off), ETHERTYPE_IPV6);
      assert.equal(formatMac(b, vxlanInnerDstOffset(off)), dst);
      assert.equal(formatMac(b, vxlanInnerSrcOffset(off)), src);
      const ip = vxlanPayloadOffset(off);
      assert.equal(ip, off + 22);
      assert.equal(b[ip]! >> 4, 6, 'an IPv6 packet follows');
      assert.equal(40 + b.readUInt16BE(ip + 4), b.length - ip, 'IPv6 length fills the frame');
    });
  }

  it('an inner 802.1Q tag is rejected, not skipped (VXLAN6_TAGGED)', () => {
    const b = VXLAN6_TAGGED.bytes;
    const off = VXLAN6_TAGGED.udpPayloadOff;
    assert.equal(vxlanInnerEthertype(b, off), ETHERTYPE_VLAN);
    assert.equal(parseVxlan(b, off, b.length - off), VxlanError.VlanTagged);
  });
});

describe('vxlan: encode', () => {
  for (const [name, f, dst, src] of CAPTURED) {
    it(`${name}: header written into a 0xFF-filled buffer equals the kernel's, payload untouched`, () => {
      const want = udpPayload(f);
      const headroom = 5; // not at offset 0, to catch offset bugs
      const buf = Buffer.alloc(headroom + want.length, 0xff);
      want.copy(buf, headroom + VXLAN_ENCAP_LEN, VXLAN_ENCAP_LEN);
      const payloadBefore = Buffer.from(buf.subarray(headroom + VXLAN_ENCAP_LEN));
      writeVxlanEncap(buf, headroom, DEFAULT_VNI, parseMac(dst), parseMac(src));
      assert.deepEqual(buf.subarray(headroom), want);
      assert.deepEqual(buf.subarray(headroom + VXLAN_ENCAP_LEN), payloadBefore);
      assert.equal(buf.subarray(0, headroom).every((x) => x === 0xff), true, 'nothing written before off');
    });
  }

  it('uses only the low 24 bits of the VNI', () => {
    const buf = Buffer.alloc(VXLAN_ENCAP_LEN, 0xff);
    writeVxlanEncap(buf, 0, 0x1000005, parseMac(MAC_A), parseMac(MAC_B));
    assert.equal(buf[7], 0, 'reserved byte after the VNI');
    assert.equal(parseVxlan(buf, 0, buf.length), 5);
  });

  it('round trip: any VNI and MACs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffff }),
        fc.uint8Array({ minLength: 6, maxLength: 6 }),
        fc.uint8Array({ minLength: 6, maxLength: 6 }),
        fc.integer({ min: 0, max: 64 }),
        (vni, dst, src, off) => {
          const buf = Buffer.alloc(off + VXLAN_ENCAP_LEN + 40, 0xff);
          writeVxlanEncap(buf, off, vni, dst, src);
          assert.equal(parseVxlan(buf, off, buf.length - off), vni);
          assert.equal(macEquals(buf, vxlanInnerDstOffset(off), dst), true);
          assert.equal(macEquals(buf, vxlanInnerSrcOffset(off), src), true);
        },
      ),
    );
  });
});

describe('vxlan: bad input gives error codes, never throws', () => {
  it('every truncated prefix of every captured frame', () => {
    for (const [name, f] of CAPTURED) {
      const p = udpPayload(f);
      for (let len = 0; len < VXLAN_ENCAP_LEN; len++) {
        // As a length over a longer buffer, and as a buffer that really ends there.
        assert.equal(parseVxlan(p, 0, len), VxlanError.Truncated, `${name} len ${len}`);
        assert.equal(parseVxlan(p.subarray(0, len), 0, len), VxlanError.Truncated, `${name} slice ${len}`);
      }
      assert.equal(parseVxlan(p, 0, VXLAN_ENCAP_LEN), DEFAULT_VNI, 'the headers alone parse');
    }
  });

  it('a length past the end of the buffer, or a negative offset, is Truncated', () => {
    const p = udpPayload(VXLAN6_NS);
    assert.equal(parseVxlan(p, 0, p.length + 1), VxlanError.Truncated);
    assert.equal(parseVxlan(p, 1, p.length), VxlanError.Truncated);
    assert.equal(parseVxlan(p, -1, p.length), VxlanError.Truncated);
  });

  it('I flag clear: NoIFlag', () => {
    const p = udpPayload(VXLAN4_ECHO_REQUEST);
    p[0] = 0x00;
    assert.equal(parseVxlan(p, 0, p.length), VxlanError.NoIFlag);
    p[0] = 0xf7; // every flag but I
    assert.equal(parseVxlan(p, 0, p.length), VxlanError.NoIFlag);
  });

  it('reserved bits are ignored on receipt (RFC 7348 §5)', () => {
    const p = udpPayload(VXLAN4_ECHO_REQUEST);
    p[0] = 0xff;
    p[1] = p[2] = p[3] = 0xff;
    p[7] = 0xff;
    assert.equal(parseVxlan(p, 0, p.length), DEFAULT_VNI);
  });

  it('inner EtherType: QinQ tag is VlanTagged, anything else but IPv6 is NotIpv6', () => {
    const p = udpPayload(VXLAN6_ECHO_REQUEST);
    p.writeUInt16BE(ETHERTYPE_QINQ, 20);
    assert.equal(parseVxlan(p, 0, p.length), VxlanError.VlanTagged);
    p.writeUInt16BE(0x0800, 20);
    assert.equal(parseVxlan(p, 0, p.length), VxlanError.NotIpv6);
    p.writeUInt16BE(0x0806, 20);
    assert.equal(parseVxlan(p, 0, p.length), VxlanError.NotIpv6);
  });

  it('random bytes never throw and give a VNI or a known error', () => {
    const codes = new Set<number>(Object.values(VxlanError));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(70), (bytes, len) => {
        const r = parseVxlan(bytes, 0, len);
        assert.ok((r >= 0 && r <= 0xffffff) || codes.has(r));
      }),
    );
  });
});

describe('ethernet helpers', () => {
  const meshA = ip6('fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268');
  const meshB = ip6('fd00:6d6f:6c74:8883:3763:60b7:47db:8703');

  it('meshMac is 02 + the last 5 bytes of the mesh address (the MACs of the captures)', () => {
    assert.equal(formatMac(meshMac(meshA)), MAC_A);
    assert.equal(formatMac(meshMac(meshB)), MAC_B);
    const padded = Buffer.concat([Buffer.alloc(3, 0xee), meshA]);
    assert.equal(formatMac(meshMac(padded, 3)), MAC_A);
    assert.throws(() => meshMac(meshA.subarray(0, 15)), InvalidInputError);
    const m = meshMac(meshA);
    assert.equal(isMulticastMac(m, 0), false, 'unicast');
    assert.equal(m[0]! & 0x02, 0x02, 'locally administered');
  });

  it('formatMac / parseMac', () => {
    assert.deepEqual(parseMac('02:C5:4a:f7:92:68'), Buffer.from('02c54af79268', 'hex'));
    assert.deepEqual(parseMac('02-c5-4a-f7-92-68'), Buffer.from('02c54af79268', 'hex'));
    assert.equal(formatMac(parseMac(' 02:b7:47:db:87:03 ')), MAC_B);
    for (const bad of ['', '02:c5:4a:f7:92', '02:c5:4a:f7:92:68:00', '02:c5-4a:f7:92:68', '2:c5:4a:f7:92:68', 'zz:c5:4a:f7:92:68']) {
      assert.throws(() => parseMac(bad), InvalidInputError, bad);
    }
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (mac) => {
        assert.deepEqual(parseMac(formatMac(mac)), Buffer.from(mac));
      }),
    );
  });

  it('multicast MAC of an IPv6 multicast address (RFC 2464 §7), as in the captured NS and DAD NA', () => {
    assert.equal(formatMac(multicastMac(ip6('ff02::1:ffdb:8703'))), '33:33:ff:db:87:03');
    assert.equal(formatMac(multicastMac(ip6('ff02::1'))), '33:33:00:00:00:01');
    const ns = VXLAN4_NS.bytes;
    const vx = VXLAN4_NS.udpPayloadOff;
    const ipDst = vxlanPayloadOffset(vx) + 24;
    const out = Buffer.alloc(8, 0xff);
    writeMulticastMac(out, 1, ns, ipDst);
    assert.equal(macEquals(out, 1, ns, vxlanInnerDstOffset(vx)), true);
    assert.equal(isMulticastMac(out, 1), true);
    assert.equal(out[0], 0xff);
    assert.equal(out[7], 0xff);
  });

  it('copyMac and macEquals', () => {
    const out = Buffer.alloc(10, 0xff);
    copyMac(out, 2, parseMac(MAC_A));
    assert.equal(formatMac(out, 2), MAC_A);
    assert.equal(macEquals(out, 2, parseMac(MAC_A)), true);
    assert.equal(macEquals(out, 2, parseMac(MAC_B)), false);
    assert.equal(out[1], 0xff);
    assert.equal(out[8], 0xff);
  });
});
