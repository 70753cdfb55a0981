/**
 * A hostile peer for the flood test: from a peer's own underlay address, send VXLAN frames at a fixed
 * rate whose inner packets all go to the node's control plane or its link layer: OSPF to ff02::5,
 * Neighbor Solicitations for the node's link-local, and ICMPv6 echo to ff02::1 (link-scope multicast).
 * Valid encapsulation (the peer's VNI and MAC), so nothing is dropped before the punt path.
 *
 *   node flood.js --bind <ip> --to <ip> [--port 4789] --src-mesh <addr> --dst-mesh <addr>
 *                 [--rate 100000] [--seconds 20]
 *
 * Prints {"sent": n, "seconds": s} on stdout. Sends only to --to (a namespace address of the test's).
 */
import { parseArgs } from 'node:util';
import { loadNative, ADDR_RECORD_LEN } from '../../src/dataplane/io/native.js';
import { addressRecord } from '../../src/transport/endpoint.js';
import { parseIpv6Address } from '../../src/dataplane/wire/ipv6.js';
import { emitIpv6, IPPROTO_ICMPV6, IPPROTO_OSPF } from '../../src/dataplane/wire/ipv6.js';
import { writeVxlanEncap, DEFAULT_VNI, VXLAN_ENCAP_LEN } from '../../src/transport/wire/vxlan.js';
import { meshMac, multicastMac } from '../../src/transport/wire/ethernet.js';
import { emitNeighborSolicitation } from '../../src/transport/wire/nd.js';

const { values } = parseArgs({
  options: {
    bind: { type: 'string' },
    to: { type: 'string' },
    port: { type: 'string', default: '4789' },
    'src-mesh': { type: 'string' },
    'dst-mesh': { type: 'string' },
    rate: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '20' },
  },
});

const io = loadNative();
const srcMesh = parseIpv6Address(values['src-mesh']!);
const dstMesh = parseIpv6Address(values['dst-mesh']!);
const linkLocal = (mesh: Buffer) => {
  const ll = Buffer.alloc(16);
  ll[0] = 0xfe;
  ll[1] = 0x80;
  mesh.copy(ll, 8, 8, 16);
  return ll;
};
const srcLl = linkLocal(srcMesh);
const dstLl = linkLocal(dstMesh);
const srcMac = meshMac(srcMesh);
const dstMac = meshMac(dstMesh);

const STRIDE = 256;
const HEAD = VXLAN_ENCAP_LEN;
const KINDS = 3;

/** One frame of each kind, at slot k of the slab. */
function frame(slab: Buffer, k: number): number {
  const off = k * STRIDE + HEAD;
  let len: number;
  if (k % KINDS === 0) {
    // OSPF: a Hello-shaped packet from the peer's link-local to AllSPFRouters.
    const body = Buffer.alloc(40);
    body.set([3, 1, 0, 40, 10, 9, 8, (k & 0xff) | 1]);
    emitIpv6({ src: srcLl, dst: parseIpv6Address('ff02::5'), nextHeader: IPPROTO_OSPF, hopLimit: 1, payloadLength: body.length, trafficClass: 0xc0, flowLabel: 0 }, slab, off);
    body.copy(slab, off + 40);
    len = 40 + body.length;
  } else if (k % KINDS === 1) {
    len = emitNeighborSolicitation(slab, off, { src: srcLl, target: dstLl, srcMac });
  } else {
    // ICMPv6 echo request to all-nodes (its checksum is not filled in: nothing here should answer it).
    const all = parseIpv6Address('ff02::1');
    emitIpv6({ src: srcLl, dst: all, nextHeader: IPPROTO_ICMPV6, hopLimit: 255, payloadLength: 16, trafficClass: 0, flowLabel: 0 }, slab, off);
    slab.fill(0, off + 40, off + 56);
    slab[off + 40] = 128;
    slab.writeUInt16BE(k, off + 44);
    len = 56;
  }
  const mac = slab[off + 24] === 0xff ? multicastMac(slab, off + 24) : dstMac;
  writeVxlanEncap(slab, off - HEAD, DEFAULT_VNI, mac, srcMac);
  return HEAD + len;
}

const BATCH = 64;
const slab = Buffer.alloc(BATCH * STRIDE);
const offsets = new Int32Array(BATCH);
const lengths = new Int32Array(BATCH);
const addrs = new Uint8Array(BATCH * ADDR_RECORD_LEN);
const dst = addressRecord(values.to!, Number(values.port));
for (let k = 0; k < BATCH; k++) {
  lengths[k] = frame(slab, k);
  offsets[k] = k * STRIDE;
  addrs.set(dst, k * ADDR_RECORD_LEN);
}
const fd = io.udpOpen(values.bind!, 0);
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const start = performance.now();
const sleeper = new Int32Array(new SharedArrayBuffer(4));
let sent = 0;
for (;;) {
  const elapsed = (performance.now() - start) / 1000;
  if (elapsed >= seconds) break;
  const due = Math.floor(rate * elapsed) - sent;
  if (due < BATCH) {
    Atomics.wait(sleeper, 0, 0, 1);
    continue;
  }
  const n = io.sendBatch(fd, slab, offsets, lengths, addrs, BATCH);
  sent += n > 0 ? n : 0;
  if (n <= 0) Atomics.wait(sleeper, 0, 0, 1);
}
io.close(fd);
process.stdout.write(`${JSON.stringify({ sent, seconds: (performance.now() - start) / 1000 })}\n`);
