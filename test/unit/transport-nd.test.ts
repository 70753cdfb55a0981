import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { upperLayerChecksum } from '../../src/dataplane/wire/checksum.js';
import { formatMac, parseMac } from '../../src/transport/wire/ethernet.js';
import {
  ICMPV6_NEIGHBOR_ADVERTISEMENT,
  ICMPV6_NEIGHBOR_SOLICITATION,
  NdError,
  type NdMessage,
  createNdMessage,
  emitNeighborAdvertisement,
  emitNeighborSolicitation,
  isSolicitedNodeAddress,
  neighborAdvertisementFor,
  parseNd,
  solicitedNodeAddress,
  writeSolicitedNodeAddress,
} from '../../src/transport/wire/nd.js';
import {
  type CapturedFrame,
  MAC_A,
  MAC_B,
  VXLAN4_DAD_NA,
  VXLAN4_DAD_NS,
  VXLAN4_ECHO_REQUEST,
  VXLAN4_NA,
  VXLAN4_NS,
  VXLAN6_NA,
  VXLAN6_NS,
  VXLAN6_NUD_NA,
  VXLAN6_NUD_NS,
  ip6,
} from '../fixtures/transport-packets.js';

const LL_A = ip6('fe80::6e88:46c5:4af7:9268');
const LL_B = ip6('fe80::3763:60b7:47db:8703');
const MESH_A = ip6('fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268');
const MESH_B = ip6('fd00:6d6f:6c74:8883:3763:60b7:47db:8703');
const UNSPECIFIED = Buffer.alloc(16);
const ALL_NODES = ip6('ff02::1');

/** The inner IPv6 packet of a captured VXLAN frame, as its own Buffer. */
function inner(f: CapturedFrame): Buffer {
  return Buffer.from(f.bytes.subarray(f.udpPayloadOff + 22));
}

function parse(pkt: Buffer, msg: NdMessage = createNdMessage()): number {
  return parseNd(pkt, 0, pkt.length, msg);
}

/** Recompute the ICMPv6 checksum after a test edits a packet, so only the edit is under test. */
function fixChecksum(pkt: Buffer): Buffer {
  const len = pkt.readUInt16BE(4);
  pkt.writeUInt16BE(0, 42);
  pkt.writeUInt16BE(upperLayerChecksum(pkt, 0, 40, len, 58), 42);
  return pkt;
}

function addr(buf: Uint8Array, off: number): Buffer {
  return Buffer.from(buf.subarray(off, off + 16));
}

describe('nd: parse the kernel’s messages', () => {
  it('multicast NS for a link-local (VXLAN4_NS)', () => {
    const pkt = inner(VXLAN4_NS);
    const m = createNdMessage();
    assert.equal(parse(pkt, m), ICMPV6_NEIGHBOR_SOLICITATION);
    assert.deepEqual(addr(pkt, m.targetOff), LL_B);
    assert.equal(formatMac(pkt, m.llaOff), MAC_A);
    assert.equal(m.fromUnspecified, false);
    assert.equal(m.ipOff, 0);
    assert.equal(m.icmpOff, 40);
    assert.equal(m.icmpLen, 32);
    assert.equal(isSolicitedNodeAddress(pkt, 24), true);
  });

  it('solicited NA with override and TLLA (VXLAN4_NA, VXLAN6_NA)', () => {
    for (const [f, target] of [
      [VXLAN4_NA, LL_B],
      [VXLAN6_NA, MESH_B],
    ] as const) {
      const pkt = inner(f);
      const m = createNdMessage();
      assert.equal(parse(pkt, m), ICMPV6_NEIGHBOR_ADVERTISEMENT);
      assert.deepEqual(addr(pkt, m.targetOff), target);
      assert.equal(formatMac(pkt, m.llaOff), MAC_B);
      assert.deepEqual([m.router, m.solicited, m.override], [false, true, true]);
    }
  });

  it('DAD NS from :: with a Nonce option, which is skipped (VXLAN4_DAD_NS)', () => {
    const pkt = inner(VXLAN4_DAD_NS);
    const m = createNdMessage();
    assert.equal(parse(pkt, m), ICMPV6_NEIGHBOR_SOLICITATION);
    assert.equal(m.fromUnspecified, true);
    assert.equal(m.llaOff, -1);
    assert.equal(pkt[40 + 24], 14, 'the option is a Nonce (RFC 7527)');
    assert.deepEqual(addr(pkt, m.targetOff), MESH_B);
  });

  it('DAD answer: NA to ff02::1, override, not solicited (VXLAN4_DAD_NA)', () => {
    const pkt = inner(VXLAN4_DAD_NA);
    const m = createNdMessage();
    assert.equal(parse(pkt, m), ICMPV6_NEIGHBOR_ADVERTISEMENT);
    assert.deepEqual(addr(pkt, 24), ALL_NODES);
    assert.deepEqual([m.router, m.solicited, m.override], [false, false, true]);
    assert.equal(formatMac(pkt, m.llaOff), MAC_B);
  });

  it('unicast NUD probe and its answer without TLLA (VXLAN6_NUD_NS, VXLAN6_NUD_NA)', () => {
    const ns = inner(VXLAN6_NUD_NS);
    const m = createNdMessage();
    assert.equal(parse(ns, m), ICMPV6_NEIGHBOR_SOLICITATION);
    assert.deepEqual(addr(ns, 24), MESH_B, 'sent to the target itself');
    assert.equal(formatMac(ns, m.llaOff), MAC_A);
    const na = inner(VXLAN6_NUD_NA);
    assert.equal(parse(na, m), ICMPV6_NEIGHBOR_ADVERTISEMENT);
    assert.equal(m.llaOff, -1);
    assert.deepEqual([m.router, m.solicited, m.override], [false, true, false]);
  });

  it('an echo request is NotNd', () => {
    assert.equal(parse(inner(VXLAN4_ECHO_REQUEST)), NdError.NotNd);
  });

  it('bytes after Payload Length (link padding) are ignored; parsing at an offset works', () => {
    const pkt = Buffer.concat([Buffer.alloc(7, 0xee), inner(VXLAN4_NS), Buffer.alloc(9, 0xff)]);
    const m = createNdMessage();
    assert.equal(parseNd(pkt, 7, pkt.length - 7, m), ICMPV6_NEIGHBOR_SOLICITATION);
    assert.equal(m.ipOff, 7);
    assert.deepEqual(addr(pkt, m.targetOff), LL_B);
  });
});

describe('nd: answers built by us equal the kernel’s byte for byte', () => {
  for (const [name, nsFrame, naFrame, mac] of [
    ['link-local (VXLAN4_NS -> VXLAN4_NA)', VXLAN4_NS, VXLAN4_NA, MAC_B],
    ['mesh address (VXLAN6_NS -> VXLAN6_NA)', VXLAN6_NS, VXLAN6_NA, MAC_B],
    ['DAD from :: (VXLAN4_DAD_NS -> VXLAN4_DAD_NA)', VXLAN4_DAD_NS, VXLAN4_DAD_NA, MAC_B],
  ] as const) {
    it(name, () => {
      const ns = inner(nsFrame);
      const m = createNdMessage();
      assert.equal(parse(ns, m), ICMPV6_NEIGHBOR_SOLICITATION);
      const reply = neighborAdvertisementFor(ns, m, parseMac(mac), false);
      const want = inner(naFrame);
      const out = Buffer.alloc(want.length + 4, 0xff);
      assert.equal(emitNeighborAdvertisement(out, 2, reply), want.length);
      assert.deepEqual(out.subarray(2, 2 + want.length), want);
      assert.deepEqual(out.subarray(0, 2), Buffer.alloc(2, 0xff));
      assert.deepEqual(out.subarray(2 + want.length), Buffer.alloc(2, 0xff));
    });
  }

  it('NUD: the kernel omits TLLA and O for a unicast NS; with those choices we match it too', () => {
    const ns = inner(VXLAN6_NUD_NS);
    const m = createNdMessage();
    parse(ns, m);
    const want = inner(VXLAN6_NUD_NA);
    const out = Buffer.alloc(want.length, 0xff);
    const len = emitNeighborAdvertisement(out, 0, {
      src: MESH_B,
      dst: addr(ns, 8),
      target: addr(ns, m.targetOff),
      targetMac: null,
      router: false,
      solicited: true,
      override: false,
    });
    assert.equal(len, 64);
    assert.deepEqual(out, want);
    // Our default answer keeps TLLA and O (allowed by RFC 4861 §7.2.4) and is a valid NA.
    const ours = neighborAdvertisementFor(ns, m, parseMac(MAC_B), false);
    const buf = Buffer.alloc(72, 0xff);
    assert.equal(emitNeighborAdvertisement(buf, 0, ours), 72);
    const r = createNdMessage();
    assert.equal(parse(buf, r), ICMPV6_NEIGHBOR_ADVERTISEMENT);
    assert.deepEqual([r.router, r.solicited, r.override], [false, true, true]);
    assert.equal(formatMac(buf, r.llaOff), MAC_B);
    assert.deepEqual(addr(buf, 24), LL_A);
  });

  it('the reply may be emitted over the solicitation (addresses are copied)', () => {
    const buf = inner(VXLAN4_NS);
    const m = createNdMessage();
    parse(buf, m);
    const reply = neighborAdvertisementFor(buf, m, parseMac(MAC_B), false);
    const big = Buffer.alloc(80, 0xff);
    buf.copy(big);
    emitNeighborAdvertisement(big, 0, reply);
    assert.deepEqual(big.subarray(0, 72), inner(VXLAN4_NA));
  });

  it('NS to the solicited-node address equals the kernel’s (VXLAN4_NS, VXLAN6_NS)', () => {
    for (const [f, src, target] of [
      [VXLAN4_NS, LL_A, LL_B],
      [VXLAN6_NS, MESH_A, MESH_B],
    ] as const) {
      const want = inner(f);
      const out = Buffer.alloc(want.length, 0xff);
      assert.equal(emitNeighborSolicitation(out, 0, { src, target, srcMac: parseMac(MAC_A) }), 72);
      assert.deepEqual(out, want);
    }
  });

  it('unicast NUD NS equals the kernel’s (VXLAN6_NUD_NS)', () => {
    const want = inner(VXLAN6_NUD_NS);
    const out = Buffer.alloc(want.length, 0xff);
    emitNeighborSolicitation(out, 0, { src: LL_A, target: MESH_B, srcMac: parseMac(MAC_A), dst: MESH_B });
    assert.deepEqual(out, want);
  });

  it('DAD NS from :: has no SLLA even when a MAC is given, and parses as DAD', () => {
    const out = Buffer.alloc(64, 0xff);
    assert.equal(emitNeighborSolicitation(out, 0, { src: UNSPECIFIED, target: MESH_B, srcMac: parseMac(MAC_A) }), 64);
    const m = createNdMessage();
    assert.equal(parse(out, m), ICMPV6_NEIGHBOR_SOLICITATION);
    assert.equal(m.fromUnspecified, true);
    assert.equal(m.llaOff, -1);
    // The kernel's DAD NS differs only by its Nonce option: same headers and target.
    const kernel = inner(VXLAN4_DAD_NS);
    assert.deepEqual(out.subarray(6, 40), kernel.subarray(6, 40));
    assert.deepEqual(out.subarray(48, 64), kernel.subarray(48, 64));
  });

  it('emit throws RangeError when the buffer is too small (a bug, not a packet)', () => {
    assert.throws(
      () => emitNeighborSolicitation(Buffer.alloc(71), 0, { src: LL_A, target: LL_B, srcMac: parseMac(MAC_A) }),
      RangeError,
    );
  });
});

describe('nd: solicited-node address', () => {
  it('ff02::1:ff + the last 3 bytes of the target (RFC 4291 §2.7.1)', () => {
    assert.deepEqual(solicitedNodeAddress(LL_B), ip6('ff02::1:ffdb:8703'));
    assert.deepEqual(solicitedNodeAddress(MESH_A), ip6('ff02::1:fff7:9268'));
    const padded = Buffer.concat([Buffer.alloc(1), MESH_B]);
    assert.deepEqual(solicitedNodeAddress(padded, 1), ip6('ff02::1:ffdb:8703'));
    const out = Buffer.alloc(18, 0xee);
    writeSolicitedNodeAddress(out, 1, MESH_B);
    assert.deepEqual(out.subarray(1, 17), ip6('ff02::1:ffdb:8703'));
    assert.equal(out[0], 0xee);
    assert.equal(out[17], 0xee);
    assert.equal(isSolicitedNodeAddress(ip6('ff02::1:ffdb:8703'), 0), true);
    assert.equal(isSolicitedNodeAddress(ALL_NODES, 0), false);
  });
});

describe('nd: bad input gives error codes, never throws', () => {
  it('every truncated prefix of every captured message', () => {
    for (const f of [VXLAN4_NS, VXLAN4_NA, VXLAN4_DAD_NS, VXLAN4_DAD_NA, VXLAN6_NUD_NS, VXLAN6_NUD_NA]) {
      const pkt = inner(f);
      for (let len = 0; len < pkt.length; len++) {
        assert.equal(parseNd(pkt.subarray(0, len), 0, len, createNdMessage()), NdError.Truncated, `len ${len}`);
        assert.equal(parseNd(pkt, 0, len, createNdMessage()), NdError.Truncated, `len ${len}`);
      }
      assert.ok(parse(pkt) > 0);
      assert.equal(parseNd(pkt, 0, pkt.length + 1, createNdMessage()), NdError.Truncated);
    }
  });

  it('hop limit other than 255', () => {
    for (const hl of [0, 1, 64, 254]) {
      const pkt = inner(VXLAN4_NS);
      pkt[7] = hl; // not covered by the checksum
      assert.equal(parse(pkt), NdError.BadHopLimit, `hop limit ${hl}`);
    }
  });

  it('IP version, next header', () => {
    const v4 = inner(VXLAN4_NS);
    v4[0] = 0x40;
    assert.equal(parse(v4), NdError.NotIpv6);
    const udp = inner(VXLAN4_NS);
    udp[6] = 17;
    assert.equal(parse(udp), NdError.NotIcmpv6);
  });

  it('ICMPv6 code other than 0', () => {
    const pkt = inner(VXLAN4_NA);
    pkt[41] = 1;
    assert.equal(parse(fixChecksum(pkt)), NdError.BadCode);
  });

  it('bad checksum', () => {
    const pkt = inner(VXLAN4_NA);
    pkt[42] = pkt[42]! ^ 0x10;
    assert.equal(parse(pkt), NdError.BadChecksum);
    const target = inner(VXLAN4_NA);
    target[63] = target[63]! ^ 1;
    assert.equal(parse(target), NdError.BadChecksum);
  });

  it('ICMPv6 length below 24', () => {
    const pkt = inner(VXLAN4_NS).subarray(0, 40 + 20);
    pkt.writeUInt16BE(20, 4);
    assert.equal(parse(fixChecksum(Buffer.from(pkt))), NdError.TooShort);
  });

  it('option length 0 is invalid', () => {
    const pkt = inner(VXLAN4_NS);
    pkt[40 + 25] = 0;
    assert.equal(parse(fixChecksum(pkt)), NdError.BadOption);
    const nonce = inner(VXLAN4_DAD_NS);
    nonce[40 + 25] = 0;
    assert.equal(parse(fixChecksum(nonce)), NdError.BadOption);
  });

  it('an option running past the end, or a lone option byte', () => {
    const pkt = inner(VXLAN4_NS);
    pkt[40 + 25] = 2;
    assert.equal(parse(fixChecksum(pkt)), NdError.BadOption);
    const odd = Buffer.concat([inner(VXLAN4_NS), Buffer.from([1])]);
    odd.writeUInt16BE(33, 4);
    assert.equal(parse(fixChecksum(odd)), NdError.BadOption);
  });

  it('a link-layer address option that is not 8 bytes', () => {
    const pkt = Buffer.concat([inner(VXLAN4_NS), Buffer.alloc(8)]);
    pkt.writeUInt16BE(40, 4);
    pkt[40 + 25] = 2;
    assert.equal(parse(fixChecksum(pkt)), NdError.BadLinkLayerOption);
  });

  it('multicast target', () => {
    const pkt = inner(VXLAN4_NS);
    ip6('ff02::1').copy(pkt, 48);
    assert.equal(parse(fixChecksum(pkt)), NdError.MulticastTarget);
  });

  it('DAD NS with a source link-layer option, or not to a solicited-node address', () => {
    const out = Buffer.alloc(72);
    emitNeighborSolicitation(out, 0, { src: LL_A, target: MESH_B, srcMac: parseMac(MAC_A) });
    UNSPECIFIED.copy(out, 8);
    assert.equal(parse(fixChecksum(out)), NdError.BadDad);
    const unicast = inner(VXLAN4_DAD_NS);
    MESH_B.copy(unicast, 24);
    assert.equal(parse(fixChecksum(unicast)), NdError.BadDad);
  });

  it('NA with Solicited set to a multicast destination', () => {
    const pkt = inner(VXLAN4_DAD_NA);
    pkt[44] = pkt[44]! | 0x40;
    assert.equal(parse(fixChecksum(pkt)), NdError.SolicitedToMulticast);
  });

  it('random bytes and mutations never throw', () => {
    const codes = new Set<number>(Object.values(NdError));
    const base = inner(VXLAN4_NS);
    const m = createNdMessage();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const r = parseNd(bytes, 0, bytes.length, m);
        assert.ok(r === 135 || r === 136 || codes.has(r));
      }),
    );
    fc.assert(
      fc.property(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 }), (i, v) => {
        const pkt = Buffer.from(base);
        pkt[i] = v;
        const r = parse(fixChecksum(pkt), m);
        assert.ok(r === 135 || r === 136 || codes.has(r));
      }),
    );
  });
});

describe('nd: round trip', () => {
  it('NA with every flag combination, with and without TLLA', () => {
    for (let bits = 0; bits < 16; bits++) {
      const na = {
        src: LL_A,
        dst: LL_B, // unicast, so Solicited is legal
        target: MESH_A,
        targetMac: bits & 8 ? parseMac(MAC_A) : null,
        router: (bits & 1) !== 0,
        solicited: (bits & 2) !== 0,
        override: (bits & 4) !== 0,
      };
      const out = Buffer.alloc(80, 0xff);
      const len = emitNeighborAdvertisement(out, 3, na);
      const m = createNdMessage();
      assert.equal(parseNd(out, 3, len, m), ICMPV6_NEIGHBOR_ADVERTISEMENT);
      assert.deepEqual([m.router, m.solicited, m.override], [na.router, na.solicited, na.override]);
      assert.deepEqual(addr(out, m.targetOff), MESH_A);
      assert.equal(m.llaOff === -1 ? null : formatMac(out, m.llaOff), na.targetMac && MAC_A);
      assert.equal(out[2], 0xff);
      assert.equal(out[3 + len], 0xff);
      assert.equal(out[3 + 7], 255, 'hop limit');
    }
  });
});
