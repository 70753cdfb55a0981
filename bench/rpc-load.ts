/**
 * Run inside a namespace by rpc.bench.ts:
 *   rpc <from> <to> <n>            n sequential RPC pings over one connection: round trips/s, p50, p99
 *   echo-server <address> <port>   a line echo server (the reference)
 *   echo <from> <to> <port> <n>    n sequential line round trips to it
 * Prints one JSON line.
 */
import { connect, createServer } from 'node:net';
import { RpcClient } from '../src/services/rpc/client.js';

const [mode, a, b, c, d] = process.argv.slice(2);

function summary(times: number[], total: number): { perSecond: number; p50us: number; p99us: number } {
  const s = [...times].sort((x, y) => x - y);
  return { perSecond: times.length / (total / 1000), p50us: s[Math.floor(s.length * 0.5)]! * 1000, p99us: s[Math.floor(s.length * 0.99)]! * 1000 };
}

if (mode === 'echo-server') {
  createServer((s) => s.pipe(s)).listen({ host: a, port: Number(b) });
} else if (mode === 'rpc') {
  const client = new RpcClient({ from: a!, timeoutMs: 5000 });
  const n = Number(c);
  await client.call(b!, 'ping');
  const times: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await client.call(b!, 'ping');
    times.push(performance.now() - t);
  }
  const total = performance.now() - t0;
  client.close();
  process.stdout.write(`${JSON.stringify(summary(times, total))}\n`);
} else if (mode === 'echo') {
  const s = connect({ host: b!, port: Number(c), localAddress: a! });
  await new Promise((r) => s.once('connect', r));
  s.setNoDelay(true);
  const n = Number(d);
  const line = `${JSON.stringify({ id: 'x'.repeat(36), from: a, to: b, method: 'ping', timestamp: new Date().toISOString() })}\n`;
  let buf = '';
  let waiter: (() => void) | undefined;
  s.on('data', (x) => {
    buf += x.toString();
    if (buf.endsWith('\n')) {
      buf = '';
      waiter?.();
    }
  });
  const once = () => new Promise<void>((r) => ((waiter = r), s.write(line)));
  await once();
  const times: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await once();
    times.push(performance.now() - t);
  }
  const total = performance.now() - t0;
  s.destroy();
  process.stdout.write(`${JSON.stringify(summary(times, total))}\n`);
}
