/**
 * The fake Moltbook as a process of its own, for namespace tests: `node fake-moltbook-main.js <host>
 * <port> <agents JSON>` listens, prints "ready <url>", and on SIGTERM prints every request it saw
 * (one JSON line) and exits, so the test can check what crossed the wire.
 */
import { FakeMoltbook, type FakeAgent } from './fake-moltbook.js';

const [host, port, agentsJson] = process.argv.slice(2);
const fake = new FakeMoltbook({ agents: JSON.parse(agentsJson!) as Record<string, FakeAgent>, host: host!, port: Number(port) });
const url = await fake.start();
process.stdout.write(`ready ${url}\n`);
process.on('SIGTERM', () => {
  process.stdout.write(`${JSON.stringify({ requests: fake.requests.map((r) => ({ method: r.method, url: r.url, headers: r.headers, body: r.body })), posts: fake.posts.length })}\n`);
  void fake.close().then(() => process.exit(0));
});
