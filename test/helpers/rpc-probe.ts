/**
 * Run inside a node's namespace by the RPC test: agent RPC cases a CLI call cannot make.
 *   node rpc-probe.js raw <from> <to>            a malformed line, then a ping, on one connection
 *   node rpc-probe.js signed <from> <to> <stateDir> [bad]   a ping signed with the node's key (or junk)
 * Prints one JSON line with what came back.
 */
import { connect } from 'node:net';
import { RpcClient, RpcCallError } from '../../src/services/rpc/client.js';
import { BuiltinBackend } from '../../src/controlplane/identity/builtin.js';

const [mode, from, to, stateDir, bad] = process.argv.slice(2);

async function raw(): Promise<unknown> {
  const s = connect({ host: to!, port: 6800, localAddress: from! });
  await new Promise((r) => s.once('connect', r));
  let buf = '';
  const lines: unknown[] = [];
  const done = new Promise<void>((resolve) =>
    s.on('data', (d) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        lines.push(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
      }
      if (lines.length === 2) resolve();
    }),
  );
  s.write('{this is not json\n');
  s.write(`${JSON.stringify({ id: 'p1', from, to, method: 'ping', timestamp: new Date().toISOString() })}\n`);
  await done;
  s.destroy();
  return lines;
}

async function signed(): Promise<unknown> {
  const backend = new BuiltinBackend({ stateDir: stateDir! });
  const client = new RpcClient({ from: from!, sign: bad ? () => Buffer.alloc(64, 7) : (data) => backend.sign(data) });
  try {
    return { result: await client.call(to!, 'ping') };
  } catch (err) {
    return { error: (err as Error).message, code: err instanceof RpcCallError ? err.code : undefined };
  } finally {
    client.close();
  }
}

const out = mode === 'raw' ? await raw() : await signed();
process.stdout.write(`${JSON.stringify(out)}\n`);
