/**
 * The wire fuzzer of the robustness test: run inside a namespace, it sends junk and mutated valid
 * messages at one node's ports for a while, from one source address.
 *
 *   node wire-fuzz.js --to <ip> [--from <ip>] --ports udp:4789,tcp:6802,http:6801,dns:53,...
 *                     [--seconds 8] [--seed 1] [--rate 1000]
 *
 *   udp:<port>    datagrams: random bytes, and VXLAN / GRE-in-UDP headers before random inner frames
 *   tcp:<port>    connections that write random chunks (some newline-delimited, some length-prefixed),
 *                 then close or are reset
 *   http:<port>   raw HTTP/1.1: real requests with mutated request lines, headers, lengths and bodies
 *   dns:<port>    UDP: random bytes and mutated real queries; TCP: the same behind 2-byte lengths
 *
 * `--rate` is datagrams per second per UDP target; TCP targets open up to 20 connections per second,
 * 8 at once. Prints {"sent": {...}} on stdout. Sends only to --to, an address of the test's own namespaces.
 */
import { parseArgs } from 'node:util';
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import dnsPacket from 'dns-packet';
import { prng } from './ospf-net.js';

const { values } = parseArgs({
  options: {
    to: { type: 'string' },
    from: { type: 'string' },
    ports: { type: 'string' },
    seconds: { type: 'string', default: '8' },
    seed: { type: 'string', default: '1' },
    rate: { type: 'string', default: '1000' },
  },
});
const to = values.to!;
const from = values.from;
const seconds = Number(values.seconds);
const rate = Number(values.rate);
const rand = prng(Number(values.seed));
const int = (n: number) => Math.floor(rand() * n);
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
const sent: Record<string, number> = {};
const count = (k: string) => (sent[k] = (sent[k] ?? 0) + 1);
const family = to.includes(':') ? 'udp6' : 'udp4';
const deadline = Date.now() + seconds * 1000;

/** A copy of `b` with a few bytes changed, some cut off, or some added. */
function mutate(b: Buffer): Buffer {
  const out = Buffer.from(b);
  const edits = 1 + int(4);
  for (let i = 0; i < edits && out.length > 0; i++) out[int(out.length)] = int(256);
  const r = rand();
  if (r < 0.2) return out.subarray(0, int(out.length + 1));
  if (r < 0.3) return Buffer.concat([out, bytes(int(64))]);
  return out;
}

function vxlanJunk(): Buffer {
  const h = Buffer.alloc(8);
  h[0] = rand() < 0.8 ? 0x08 : int(256);
  h.writeUIntBE(rand() < 0.7 ? 1 : int(1 << 24), 4, 3);
  // An Ethernet header toward some MAC, then IPv6 or anything.
  const eth = bytes(14);
  if (rand() < 0.7) eth.writeUInt16BE(0x86dd, 12);
  const inner = bytes(int(1400));
  if (rand() < 0.6 && inner.length > 40) inner[0] = 0x60;
  return Buffer.concat([h, eth, inner]);
}

function greJunk(): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt16BE(rand() < 0.8 ? 0 : int(65536), 0);
  h.writeUInt16BE(rand() < 0.8 ? 0x86dd : int(65536), 2);
  const inner = bytes(int(1400));
  if (rand() < 0.6 && inner.length > 40) inner[0] = 0x60;
  return Buffer.concat([h, inner]);
}

const DNS_QUERIES = [
  dnsPacket.encode({ type: 'query', id: 1, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: 'carlotta.molt', type: 'AAAA' }] }),
  dnsPacket.encode({ type: 'query', id: 2, questions: [{ name: '2.9.7.8.1.1.3.4.2.1.5.f.3.0.e.c.9.a.8.f.4.7.c.6.f.6.d.6.0.0.d.f.ip6.arpa', type: 'PTR' }] }),
  dnsPacket.encode({ type: 'query', id: 3, questions: [{ name: 'example.com', type: 'A' }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096 }] as never }),
];

function dnsJunk(): Buffer {
  return rand() < 0.3 ? bytes(int(600)) : mutate(DNS_QUERIES[int(DNS_QUERIES.length)]!);
}

const HTTP_REQUESTS = [
  'GET /api/status HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n',
  'GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n',
  'POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 58\r\n\r\n{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}',
  'POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n{"jsonrpc":',
  'GET /mcp/carlotta HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffff\r\n',
];

function httpJunk(): Buffer {
  const base = Buffer.from(HTTP_REQUESTS[int(HTTP_REQUESTS.length)]!);
  const r = rand();
  if (r < 0.15) return bytes(int(2000));
  if (r < 0.25) return Buffer.concat([base.subarray(0, base.indexOf('\r\n') + 2), Buffer.from(`X-${'a'.repeat(int(20000))}: b\r\n\r\n`)]);
  return r < 0.6 ? mutate(base) : base;
}

function rpcJunk(): Buffer {
  const lines = ['{this is not json', '{"id":1,"method":"ping"}', `{"id":"x","from":"::1","to":"::2","method":"${'m'.repeat(int(100))}","params":[1,2,3]}`, '[]', 'null', '{"id":{"a":[[[[[[]]]]]]}}'];
  const r = rand();
  if (r < 0.2) return bytes(int(4000));
  if (r < 0.3) return Buffer.from(`${'x'.repeat(70_000)}\n`);
  return Buffer.from(`${Array.from({ length: 1 + int(5) }, () => lines[int(lines.length)]).join('\n')}\n`);
}

function framedJunk(): Buffer {
  // Length-prefixed, as the peering protocol and DNS over TCP frame their messages.
  const body = bytes(int(600));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(rand() < 0.7 ? body.length : int(2 ** 32));
  return Buffer.concat([rand() < 0.5 ? len : len.subarray(2), body]);
}

async function udpTarget(port: number, make: () => Buffer, key: string): Promise<void> {
  const s = createSocket({ type: family });
  s.on('error', () => undefined);
  if (from) await new Promise<void>((r) => s.bind({ address: from, port: 0 }, () => r()));
  const perTick = Math.max(1, Math.round(rate / 100));
  while (Date.now() < deadline) {
    for (let i = 0; i < perTick; i++) {
      s.send(make(), port, to);
      count(key);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise<void>((r) => s.close(() => r()));
}

const sockets = new Set<Socket>();

async function tcpTarget(port: number, make: () => Buffer, key: string): Promise<void> {
  let open = 0;
  while (Date.now() < deadline) {
    if (open < 8) {
      open++;
      count(key);
      const s: Socket = connect({ host: to, port, ...(from ? { localAddress: from } : {}) });
      s.setTimeout(2000, () => s.destroy());
      s.on('error', () => undefined);
      s.on('data', () => undefined);
      sockets.add(s);
      s.once('close', () => {
        open--;
        sockets.delete(s);
      });
      s.once('connect', () => {
        const chunks = 1 + int(4);
        for (let i = 0; i < chunks; i++) s.write(make());
        if (rand() < 0.3) s.resetAndDestroy();
        else if (rand() < 0.7) s.end();
        // else: left open until the server (or the timeout) closes it
      });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

const jobs: Promise<void>[] = [];
for (const spec of (values.ports ?? '').split(',').filter(Boolean)) {
  const [kind, p] = spec.split(':');
  const port = Number(p);
  if (kind === 'udp') jobs.push(udpTarget(port, () => (rand() < 0.5 ? bytes(int(1500)) : port === 4754 ? greJunk() : vxlanJunk()), spec));
  else if (kind === 'dns') {
    jobs.push(udpTarget(port, dnsJunk, `${spec}/udp`));
    jobs.push(tcpTarget(port, () => {
      const q = dnsJunk();
      const len = Buffer.alloc(2);
      len.writeUInt16BE(rand() < 0.8 ? q.length : int(65536));
      return Buffer.concat([len, q]);
    }, `${spec}/tcp`));
  } else if (kind === 'http') jobs.push(tcpTarget(port, httpJunk, spec));
  else if (kind === 'rpc') jobs.push(tcpTarget(port, rpcJunk, spec));
  else if (kind === 'tcp') jobs.push(tcpTarget(port, () => (rand() < 0.5 ? bytes(int(2000)) : framedJunk()), spec));
  else throw new Error(`unknown target kind ${kind}`);
}
await Promise.all(jobs);
// Streams a server keeps open (an SSE feed, say) would hold the process past its time.
for (const s of sockets) s.destroy();
process.stdout.write(`${JSON.stringify({ sent })}\n`);
process.exit(0);
