/** The CLI's side of the control socket (see daemon/control-server.ts). */
import { createConnection } from 'node:net';
import { ControlSocketError, InvalidInputError, MoltnetError } from '../common/errors.js';

export async function callDaemon(
  socketPath: string,
  method: string,
  params: Record<string, unknown> = {},
  timeoutMs = 5000,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(socketPath);
    let buffered = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new ControlSocketError(`no answer from the daemon on ${socketPath} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.once('connect', () => sock.write(JSON.stringify({ id: 1, method, params }) + '\n'));
    sock.on('data', (chunk: string) => {
      buffered += chunk;
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      sock.destroy();
      try {
        const reply = JSON.parse(buffered.slice(0, nl)) as { result?: unknown; error?: { message: string; exitCode?: number } };
        // The daemon says which errors are the caller's input (exit 2), as the CLI would locally.
        if (reply.error) reject(reply.error.exitCode === 2 ? new InvalidInputError(reply.error.message) : new MoltnetError(reply.error.message));
        else resolve(reply.result);
      } catch {
        reject(new ControlSocketError(`the daemon on ${socketPath} sent a reply that is not JSON`));
      }
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why =
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
          ? 'is the daemon running? (moltnet up --config ...)'
          : err.code === 'EACCES'
            ? 'permission denied: run as root'
            : err.message;
      reject(new ControlSocketError(`cannot reach the daemon at ${socketPath}: ${why}`));
    });
  });
}
