/**
 * Finding wireguard-go's UDP sockets by port in /proc/<pid>/net/udp{,6} (tables captured from a process
 * bound to [::]:51820 v6-only and 0.0.0.0:51820), and raising them through the addon.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { loadNative } from '../../src/dataplane/io/native.js';
import { raiseUdpBuffers, udpInodesForPort } from '../../src/transport/wireguard/socket-buffers.js';

const UDP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 3675: 00000000000000000000000000000000:CA6C 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 872893 2 00000000be4e1443 0
  812: 00000000000000000000000001000000:12B5 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 871000 2 00000000be4e1444 0
`;
const UDP4 = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 3675: 00000000:CA6C 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 872894 2 0000000062d1af80 0
`;

test('the sockets on a port are found by their inode, in both tables; other ports and junk lines are not', () => {
  assert.deepEqual(udpInodesForPort(UDP6, 51820), ['872893']);
  assert.deepEqual(udpInodesForPort(UDP4, 51820), ['872894']);
  assert.deepEqual(udpInodesForPort(UDP6, 4789), ['871000']);
  assert.deepEqual(udpInodesForPort(UDP6, 4790), []);
  assert.deepEqual(udpInodesForPort('', 51820), []);
  assert.deepEqual(udpInodesForPort('header\nnot a table line\n 1: x:CA6C y 07\n', 51820), []);
});

test('raiseUdpBuffers sets the buffers of every socket of a process on the port (here: our own)', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, async () => {
  const sock = createSocket({ type: 'udp6', ipv6Only: true });
  await new Promise<void>((r) => sock.bind(0, '::1', () => r()));
  try {
    const port = sock.address().port;
    const calls: number[] = [];
    assert.equal(await raiseUdpBuffers({ setSocketBuffers: (pid, fd) => void calls.push(pid, fd) }, process.pid, port), 1);
    assert.equal(calls[0], process.pid);
    // The real addon: the kernel doubles what SO_RCVBUFFORCE asks for.
    assert.equal(await raiseUdpBuffers(loadNative(), process.pid, port, 4 << 20), 1);
    assert.equal(sock.getRecvBufferSize(), 8 << 20);
    assert.equal(await raiseUdpBuffers(loadNative(), process.pid, port === 65535 ? 1 : port + 1), 0);
  } finally {
    sock.close();
  }
});
