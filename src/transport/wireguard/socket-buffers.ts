/**
 * The UDP buffers of the wireguard-go we supervise. Debian's wireguard-go (0.0.20220316) leaves its
 * sockets at the system default receive buffer (net.core.rmem_default, 208 KiB): at a few hundred
 * Mbit/s of full-size packets a scheduling hiccup overruns it (Udp6RcvbufErrors), and every drop is a
 * TCP retransmission inside the tunnel. Releases since 2023 raise their own buffers to 7 MiB with
 * SO_RCVBUFFORCE; this does the same from outside, through pidfd_getfd (Linux 5.6+, root):
 *
 *   1. the inodes of the UDP sockets bound to the listen port, from /proc/<pid>/net/udp and udp6 (the
 *      process's own network namespace);
 *   2. the process's descriptors that are those sockets, from /proc/<pid>/fd;
 *   3. SO_RCVBUFFORCE and SO_SNDBUFFORCE through a duplicate of each (the socket is shared).
 */
import { readFile, readdir, readlink } from 'node:fs/promises';

/** What upstream wireguard-go asks for (conn/controlfns_linux.go: socketBufferSize). */
export const WIREGUARD_SOCKET_BUFFER = 7 << 20;

/**
 * The inodes of the sockets in a /proc/net/udp or udp6 table whose local port is `port`.
 *
 *    sl  local_address                         remote_address  st ... uid  timeout inode ...
 *   3675: 00000000000000000000000000000000:CA6C 0000...:0000  07 ...   0        0 872893 ...
 */
export function udpInodesForPort(table: string, port: number): string[] {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const out: string[] = [];
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const local = f[1]!;
    if (local.slice(local.lastIndexOf(':') + 1) !== hex) continue;
    const inode = f[9]!;
    if (/^\d+$/.test(inode) && inode !== '0') out.push(inode);
  }
  return out;
}

export interface SocketBufferIo {
  setSocketBuffers(pid: number, fd: number, bytes: number): void;
}

/** Raise the buffers of process `pid`'s UDP sockets on `port`; returns how many sockets were raised. */
export async function raiseUdpBuffers(io: SocketBufferIo, pid: number, port: number, bytes = WIREGUARD_SOCKET_BUFFER): Promise<number> {
  const inodes = new Set<string>();
  for (const table of ['udp', 'udp6']) {
    const text = await readFile(`/proc/${pid}/net/${table}`, 'utf8').catch(() => '');
    for (const i of udpInodesForPort(text, port)) inodes.add(i);
  }
  if (inodes.size === 0) return 0;
  let raised = 0;
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (!m || !inodes.has(m[1]!)) continue;
    io.setSocketBuffers(pid, Number(fd), bytes);
    raised++;
  }
  return raised;
}
