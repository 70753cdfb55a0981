/**
 * `moltnet rpc <address|name> <method> [json-params]`: one agent RPC call from this node to another, over
 * the mesh. A name is looked up in this node's mesh DNS names (`show dns`); the call leaves from this
 * node's mesh address, as the receiver checks. With --config, the request is signed with the node's MoltID
 * (a locked-down receiver serves only signed requests of its contacts).
 */
import type { CommandModule } from 'yargs';
import { callDaemon } from '../control-client.js';
import { DEFAULT_SOCKET } from './show.js';
import { InvalidInputError } from '../../common/errors.js';
import { isMeshAddress } from '../../common/address.js';
import { RpcClient } from '../../services/rpc/client.js';
import { loadConfig } from '../../config/load.js';
import { makeBackend } from '../../controlplane/identity/factory.js';

interface Args {
  target: string;
  method: string;
  params?: string;
  socket: string;
  timeout: number;
  config?: string;
}

export const rpcCommand: CommandModule<object, Args> = {
  command: 'rpc <target> <method> [params]',
  describe: 'Call a method of another agent over the mesh (agent RPC, TCP 6800) and print its result as JSON',
  builder: (y) =>
    y
      .positional('target', { type: 'string', demandOption: true, describe: 'a MoltNet address, or a name (name or name.molt)' })
      .positional('method', { type: 'string', demandOption: true, describe: 'ping, info, or a method the agent serves' })
      .positional('params', { type: 'string', describe: 'the params as a JSON object' })
      .option('socket', { type: 'string', default: DEFAULT_SOCKET, describe: 'the daemon control socket' })
      .option('timeout', { type: 'number', default: 10, describe: 'seconds to wait for the answer' })
      .option('config', { type: 'string', describe: 'this node\'s config: sign the request with its MoltID' }),
  handler: async (argv) => {
    let params: Record<string, unknown> | undefined;
    if (argv.params !== undefined) {
      try {
        params = JSON.parse(argv.params) as Record<string, unknown>;
      } catch (err) {
        throw new InvalidInputError(`params: not JSON: ${(err as Error).message}`);
      }
      if (!params || typeof params !== 'object' || Array.isArray(params)) throw new InvalidInputError('params: expected a JSON object, e.g. \'{"question": "..."}\'');
    }
    if (!(argv.timeout > 0)) throw new InvalidInputError(`--timeout: expected seconds above 0, got ${argv.timeout}`);
    const status = (await callDaemon(argv.socket, 'show', { what: 'status' })) as { address: string };
    const to = isMeshAddress(argv.target) ? argv.target : await resolveName(argv.socket, argv.target);
    const backend = argv.config !== undefined ? makeBackend(await loadConfig(argv.config)) : undefined;
    const client = new RpcClient({ from: status.address, timeoutMs: argv.timeout * 1000, ...(backend ? { sign: (data: Buffer) => backend.sign(data) } : {}) });
    try {
      const result = await client.call(to, argv.method, params);
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } finally {
      client.close();
    }
  },
};

async function resolveName(socket: string, target: string): Promise<string> {
  const name = target.toLowerCase().replace(/\.$/, '').replace(/\.molt$/, '');
  const dns = (await callDaemon(socket, 'show', { what: 'dns' })) as { names: { name: string; address: string }[] };
  const hit = dns.names.find((n) => n.name === name);
  if (!hit) throw new InvalidInputError(`no node named "${name}" is known here (known: ${dns.names.map((n) => n.name).join(', ') || 'none'})`);
  return hit.address;
}
