/**
 * The references MoltNet's links are measured against, each a pair of network namespaces on this host:
 *   - a plain veth (the ceiling: what the host carries at all),
 *   - the Linux kernel's own vxlan device over a veth (what issue 11 measures the VXLAN link against),
 *   - wireguard-go (Debian's package) over a veth: a userspace forwarder, with the same thread wake-ups
 *     per packet as ours; as installed, or `tuned` with the 7 MiB socket buffers our daemon gives its own
 *     wireguard-go (what upstream releases since 2023 do themselves).
 * `target` is the address in `b` that `a` sends to. Every pair has its own names and prefixes, so several
 * can be up at once; `close()` removes everything it made. Traffic only inside these namespaces.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connectVeth, createNamespace, deleteNamespace, sh } from '../src/demo/netns.js';
import { run as runCmd } from '../test/helpers/integration.js';
import { loadNative } from '../src/dataplane/io/native.js';
import { raiseUdpBuffers } from '../src/transport/wireguard/socket-buffers.js';

export interface ReferencePair {
  a: string;
  b: string;
  target: string;
  close(): Promise<void>;
}

/** Two namespaces `${p}${tag}a` / `${p}${tag}b` joined by a veth `${p}${tag}0` / `${p}${tag}1`; `net`: a /64 prefix ending in '::'. */
async function vethPair(p: string, tag: string, net: string, extra: () => Promise<void> = async () => {}): Promise<{ a: string; b: string; ifA: string; ifB: string; close(): Promise<void> }> {
  const a = `${p}${tag}a`;
  const b = `${p}${tag}b`;
  const close = async () => {
    await deleteNamespace(a);
    await deleteNamespace(b);
  };
  try {
    await createNamespace(a);
    await createNamespace(b);
    await connectVeth(a, `${p}${tag}0`, `${net}1/64`, b, `${p}${tag}1`, `${net}2/64`);
    await extra();
  } catch (err) {
    await close();
    throw err;
  }
  return { a, b, ifA: `${p}${tag}0`, ifB: `${p}${tag}1`, close };
}

export async function plainVethPair(p: string): Promise<ReferencePair> {
  const v = await vethPair(p, 'v', 'fdff:6d6e:ff::');
  return { a: v.a, b: v.b, target: 'fdff:6d6e:ff::2', close: v.close };
}

export async function kernelVxlanPair(p: string): Promise<ReferencePair> {
  const v = await vethPair(p, 'k', 'fdff:6d6e:fd::');
  try {
    const sides = [
      { ns: v.a, local: 'fdff:6d6e:fd::1', remote: 'fdff:6d6e:fd::2', inner: 'fd00:6d6f:6c74:bbbb::1/64', dev: v.ifA },
      { ns: v.b, local: 'fdff:6d6e:fd::2', remote: 'fdff:6d6e:fd::1', inner: 'fd00:6d6f:6c74:bbbb::2/64', dev: v.ifB },
    ];
    for (const s of sides) {
      await sh('ip', ['-n', s.ns, 'link', 'add', `${p}vx`, 'type', 'vxlan', 'id', '42', 'local', s.local, 'remote', s.remote, 'dstport', '4789', 'dev', s.dev]);
      await sh('ip', ['-n', s.ns, 'link', 'set', `${p}vx`, 'mtu', '1380', 'up']);
      await sh('ip', ['-n', s.ns, '-6', 'addr', 'add', s.inner, 'dev', `${p}vx`, 'nodad']);
    }
  } catch (err) {
    await v.close();
    throw err;
  }
  return { a: v.a, b: v.b, target: 'fd00:6d6f:6c74:bbbb::2', close: v.close };
}

export async function wireguardGoPair(p: string, dir: string, tuned: boolean): Promise<ReferencePair> {
  const net = tuned ? 'fdff:6d6e:fb::' : 'fdff:6d6e:fe::';
  const inner = tuned ? 'fd00:6d6f:6c74:aaab::' : 'fd00:6d6f:6c74:aaaa::';
  const v = await vethPair(p, tuned ? 'u' : 'w', net);
  const procs: ChildProcess[] = [];
  const close = async () => {
    for (const c of procs) c.kill('SIGKILL');
    await Promise.all(procs.map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r)))));
    await v.close();
  };
  try {
    const keys = await Promise.all([0, 1].map(async () => {
      const priv = (await sh('wg', ['genkey'])).trim();
      const pub = (await runCmd('sh', ['-c', `echo ${priv} | wg pubkey`], 5000)).stdout.trim();
      return { priv, pub };
    }));
    // wireguard-go's control socket is /var/run/wireguard/<ifname>.sock, shared by all namespaces: one
    // interface name per side and per pair.
    const sides = [
      { ns: v.a, ifname: `${v.a}g`, me: keys[0]!, peer: keys[1]!, under: `${net}2`, inner: `${inner}1`, peerInner: `${inner}2` },
      { ns: v.b, ifname: `${v.b}g`, me: keys[1]!, peer: keys[0]!, under: `${net}1`, inner: `${inner}2`, peerInner: `${inner}1` },
    ];
    for (const s of sides) {
      procs.push(spawn('ip', ['netns', 'exec', s.ns, 'wireguard-go', '-f', s.ifname], { stdio: 'ignore', env: { ...process.env, LOG_LEVEL: 'error' } }));
    }
    await new Promise((r) => setTimeout(r, 1000));
    for (const s of sides) {
      const keyFile = `${dir}/${s.ns}.key`;
      await sh('sh', ['-c', `umask 077; echo ${s.me.priv} > ${keyFile}`]);
      await sh('ip', ['netns', 'exec', s.ns, 'wg', 'set', s.ifname, 'private-key', keyFile, 'listen-port', '51820',
        'peer', s.peer.pub, 'endpoint', `[${s.under}]:51820`, 'allowed-ips', `${s.peerInner}/128`]);
      await sh('ip', ['-n', s.ns, '-6', 'addr', 'add', `${s.inner}/128`, 'dev', s.ifname, 'nodad']);
      await sh('ip', ['-n', s.ns, 'link', 'set', s.ifname, 'mtu', '1380', 'up']);
      await sh('ip', ['-n', s.ns, '-6', 'route', 'add', `${s.peerInner}/128`, 'dev', s.ifname]);
    }
    if (tuned) {
      for (const c of procs) {
        if ((await raiseUdpBuffers(loadNative(), c.pid!, 51820)) === 0) throw new Error('wireguard-go sockets not found');
      }
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { a: v.a, b: v.b, target: `${inner}2`, close };
}

/** Run `f` on a pair, then close it whatever happens. */
export async function withPair<T>(pair: Promise<ReferencePair>, f: (p: ReferencePair) => Promise<T>): Promise<T> {
  const pr = await pair;
  try {
    return await f(pr);
  } finally {
    await pr.close();
  }
}
