import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Forwarder, V_DROP, V_HOST, V_ICMP, V_PUNT, ICMP_OFFSET, flowHash } from '../../src/dataplane/forward.js';
import { Fib, parsePrefix } from '../../src/dataplane/fib/fib.js';
import { C, createCounters } from '../../src/dataplane/counters.js';
import { verifyIcmpv6Checksum } from '../../src/dataplane/wire/icmpv6.js';
import { addr, ipv6Packet } from '../helpers/packets.js';

const A = 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268'; // this node
const A_LL = 'fe80::6e88:46c5:4af7:9268';
const B = 'fd00:6d6f:6c74:8883:3763:60b7:47db:8703'; // neighbor on link 0
const C3 = 'fd00:6d6f:6c74:f8a9:ce03:f512:4311:8792'; // behind B
const FAR = 'fd00:6d6f:6c74:1111::1'; // no route

function setup() {
  const fib = new Fib();
  const counters = createCounters();
  fib.insert(parsePrefix(`${B}/128`).prefix, 128, [0]);
  fib.insert(parsePrefix(`${C3}/128`).prefix, 128, [0]);
  const fwd = new Forwarder({ meshAddress: addr(A), linkLocal: addr(A_LL), fib, counters });
  fwd.setLinkMtu(0, 1380);
  return { fwd, counters, fib };
}

test('a packet for this node goes to the host without touching the hop limit', () => {
  const { fwd } = setup();
  const p = ipv6Packet({ src: B, dst: A, hopLimit: 1 });
  assert.equal(fwd.fromLink(0, p.buf, p.off, p.len, 0), V_HOST);
  assert.equal(p.buf[7], 1);
});

test('transit: forwarded on the FIB link with the hop limit decremented', () => {
  const { fwd, counters } = setup();
  const p = ipv6Packet({ src: B, dst: C3, hopLimit: 64 });
  assert.equal(fwd.fromLink(1, p.buf, p.off, p.len, 0), 0);
  assert.equal(p.buf[7], 63);
  assert.equal(counters.node[C.forwarded_packets], 1);
});

test('from the host: forwarded without decrementing (this node is the host stack, not a hop)', () => {
  const { fwd } = setup();
  const p = ipv6Packet({ src: A, dst: C3, hopLimit: 1 });
  assert.equal(fwd.fromHost(p.buf, p.off, p.len, 0), 0);
  assert.equal(p.buf[7], 1);
});

test('hop limit 1 in transit -> Time Exceeded from our mesh address, back toward the source', () => {
  const { fwd, counters } = setup();
  const p = ipv6Packet({ src: B, dst: C3, hopLimit: 1 });
  assert.equal(fwd.fromLink(0, p.buf, p.off, p.len, 0), V_ICMP);
  assert.equal(fwd.icmpTarget, 0); // B's route
  const e = fwd.icmpBuf.subarray(ICMP_OFFSET, ICMP_OFFSET + fwd.icmpLen);
  assert.equal(e[6], 58);
  assert.deepEqual(e.subarray(8, 24), addr(A));
  assert.deepEqual(e.subarray(24, 40), addr(B));
  assert.equal(e[40], 3); // Time Exceeded
  assert.equal(e[41], 0); // hop limit exceeded in transit
  assert.ok(verifyIcmpv6Checksum(e, 0, 40, e.length - 40));
  // The invoking packet is quoted after the 8-byte ICMPv6 header.
  assert.deepEqual(e.subarray(48, 48 + p.len), p.buf.subarray(p.off, p.off + p.len));
  assert.equal(counters.node[C.drop_hop_limit], 1);
  assert.equal(counters.node[C.icmp_errors_sent], 1);
});

test('no route -> Destination Unreachable (no route), to the host for host packets', () => {
  const { fwd, counters } = setup();
  const p = ipv6Packet({ src: A, dst: FAR });
  assert.equal(fwd.fromHost(p.buf, p.off, p.len, 0), V_ICMP);
  assert.equal(fwd.icmpTarget, V_HOST);
  const e = fwd.icmpBuf.subarray(ICMP_OFFSET, ICMP_OFFSET + fwd.icmpLen);
  assert.equal(e[40], 1);
  assert.equal(e[41], 0);
  assert.deepEqual(e.subarray(24, 40), addr(A));
  assert.equal(counters.node[C.drop_no_route], 1);
});

test('no route in transit with no route back -> error goes out the incoming link', () => {
  const { fwd } = setup();
  const p = ipv6Packet({ src: FAR, dst: 'fd00:6d6f:6c74:2222::1' });
  assert.equal(fwd.fromLink(7, p.buf, p.off, p.len, 0), V_ICMP);
  assert.equal(fwd.icmpTarget, 7);
});

test('too big for the egress link -> Packet Too Big carrying the link MTU', () => {
  const { fwd, counters } = setup();
  fwd.setLinkMtu(0, 1280);
  const p = ipv6Packet({ src: A, dst: C3, payload: Buffer.alloc(1300) , nextHeader: 17 });
  assert.equal(fwd.fromHost(p.buf, p.off, p.len, 0), V_ICMP);
  const e = fwd.icmpBuf.subarray(ICMP_OFFSET, ICMP_OFFSET + fwd.icmpLen);
  assert.equal(e[40], 2);
  assert.equal(e.readUInt32BE(44), 1280);
  assert.ok(e.length <= 1280, 'an ICMPv6 error never exceeds the minimum MTU');
  assert.ok(verifyIcmpv6Checksum(e, 0, 40, e.length - 40));
  assert.equal(counters.node[C.drop_too_big], 1);
});

test('control-plane packets are punted: our link-local and link-scope multicast', () => {
  const { fwd } = setup();
  const toLl = ipv6Packet({ src: 'fe80::1', dst: A_LL, nextHeader: 89, payload: Buffer.alloc(40) });
  assert.equal(fwd.fromLink(0, toLl.buf, toLl.off, toLl.len, 0), V_PUNT);
  const ospf = ipv6Packet({ src: 'fe80::1', dst: 'ff02::5', nextHeader: 89, payload: Buffer.alloc(40) });
  assert.equal(fwd.fromLink(0, ospf.buf, ospf.off, ospf.len, 0), V_PUNT);
  const otherLl = ipv6Packet({ src: 'fe80::1', dst: 'fe80::2' });
  assert.equal(fwd.fromLink(0, otherLl.buf, otherLl.off, otherLl.len, 0), V_DROP);
});

test('BFD multihop to our address is punted, other UDP to us goes to the host', () => {
  const { fwd } = setup();
  const udp = (port: number) => {
    const u = Buffer.alloc(32);
    u.writeUInt16BE(49152, 0);
    u.writeUInt16BE(port, 2);
    u.writeUInt16BE(32, 4);
    return u;
  };
  const bfd = ipv6Packet({ src: B, dst: A, nextHeader: 17, payload: udp(4784) });
  assert.equal(fwd.fromLink(0, bfd.buf, bfd.off, bfd.len, 0), V_PUNT);
  const dns = ipv6Packet({ src: B, dst: A, nextHeader: 17, payload: udp(53) });
  assert.equal(fwd.fromLink(0, dns.buf, dns.off, dns.len, 0), V_HOST);
});

test('no ICMPv6 error about an ICMPv6 error, nor about a multicast destination', () => {
  const { fwd } = setup();
  const err = Buffer.alloc(48);
  err[0] = 1; // a Destination Unreachable arriving for somewhere we cannot reach
  const p = ipv6Packet({ src: B, dst: FAR, payload: err });
  assert.equal(fwd.fromLink(0, p.buf, p.off, p.len, 0), V_DROP);
  const m = ipv6Packet({ src: A, dst: 'ff05::1' });
  assert.equal(fwd.fromHost(m.buf, m.off, m.len, 0), V_DROP);
});

test('ICMPv6 errors are rate-limited (token bucket on the injected clock)', () => {
  const { fwd, counters } = setup();
  let sent = 0;
  for (let i = 0; i < 200; i++) {
    const p = ipv6Packet({ src: A, dst: FAR });
    if (fwd.fromHost(p.buf, p.off, p.len, 1000) === V_ICMP) sent++;
  }
  assert.equal(sent, 50); // the burst
  assert.equal(counters.node[C.icmp_errors_ratelimited], 150);
  const p = ipv6Packet({ src: A, dst: FAR });
  assert.equal(fwd.fromHost(p.buf, p.off, p.len, 1000), V_DROP);
  assert.equal(fwd.fromHost(p.buf, p.off, p.len, 1100), V_ICMP); // 100/s refills one every 10 ms
});

test('malformed packets are counted and dropped, never thrown', () => {
  const { fwd, counters } = setup();
  const p = ipv6Packet({ src: B, dst: C3 });
  const bad = [
    p.buf.subarray(0, 20), // truncated header
    Buffer.concat([Buffer.from([0x45]), p.buf.subarray(1)]), // IPv4 version nibble
    (() => {
      const b = Buffer.from(p.buf);
      b.writeUInt16BE(2000, 4); // payload length beyond the packet
      return b;
    })(),
  ];
  for (const b of bad) {
    assert.equal(fwd.fromLink(0, b, 0, b.length, 0), V_DROP);
    assert.equal(fwd.fromHost(b, 0, b.length, 0), V_DROP);
  }
  assert.equal(counters.node[C.drop_malformed], 6);
  for (let i = 0; i < 2000; i++) {
    const r = Buffer.alloc(1 + (i % 120));
    for (let k = 0; k < r.length; k++) r[k] = (i * 31 + k * 7) & 0xff;
    fwd.fromLink(0, r, 0, r.length, 0);
    fwd.fromHost(r, 0, r.length, 0);
  }
});

test('a route whose link is gone counts drop_link_down', () => {
  const { fwd, counters } = setup();
  fwd.setLinkMtu(0, 0);
  const p = ipv6Packet({ src: A, dst: C3 });
  assert.equal(fwd.fromHost(p.buf, p.off, p.len, 0), V_DROP);
  assert.equal(counters.node[C.drop_link_down], 1);
});

test('flow hash: same flow same hash; the flow label and addresses change it', () => {
  const a = ipv6Packet({ src: A, dst: C3, flowLabel: 7 });
  const b = ipv6Packet({ src: A, dst: C3, flowLabel: 7, hopLimit: 3 });
  const c = ipv6Packet({ src: A, dst: C3, flowLabel: 8 });
  assert.equal(flowHash(a.buf, 0), flowHash(b.buf, 0));
  assert.notEqual(flowHash(a.buf, 0), flowHash(c.buf, 0));
});
