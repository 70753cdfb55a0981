/** `moltnet peer add ...` and `moltnet peer remove <name>`: peers on a running daemon. */
import type { Argv, CommandModule } from 'yargs';
import { parsePeer } from '../../config/load.js';
import { LINK_KINDS } from '../../config/schema.js';
import { callDaemon } from '../control-client.js';
import { DEFAULT_SOCKET } from './show.js';

interface AddArgs {
  name: string;
  uuid?: string;
  address?: string;
  endpoint: string;
  link: string;
  cost?: number;
  vni?: number;
  moltid?: string;
  authenticate: boolean;
  socket: string;
  json: boolean;
}

const add: CommandModule<object, AddArgs> = {
  command: 'add',
  describe: 'Add a peer to the running daemon (kept in its state directory until removed)',
  builder: (y) =>
    y
      .option('name', { type: 'string', demandOption: true, requiresArg: true, describe: 'the peer\'s name' })
      .option('uuid', { type: 'string', requiresArg: true, describe: 'the peer agent\'s UUID' })
      .option('address', { type: 'string', requiresArg: true, describe: 'or its mesh address (vxlan only)' })
      .option('endpoint', { type: 'string', demandOption: true, requiresArg: true, describe: 'its underlay host:port, [IPv6]:port or DNS name' })
      .option('link', { type: 'string', default: 'vxlan', choices: LINK_KINDS, describe: 'link kind' })
      .option('cost', { type: 'number', requiresArg: true, describe: 'OSPF cost (default 10)' })
      .option('vni', { type: 'number', requiresArg: true, describe: 'VXLAN network identifier' })
      .option('moltid', { type: 'string', requiresArg: true, describe: 'pin the peer\'s MoltID (MOLTID:0x...)' })
      .option('authenticate', { type: 'boolean', default: true, describe: 'peering handshake first (--no-authenticate for a non-MoltNet peer)' })
      .option('socket', { type: 'string', default: DEFAULT_SOCKET, describe: 'the daemon control socket' })
      .option('json', { type: 'boolean', default: false, describe: 'print the new link as JSON' }),
  handler: async (argv) => {
    const input = {
      name: argv.name,
      ...(argv.uuid !== undefined ? { uuid: argv.uuid } : {}),
      ...(argv.address !== undefined ? { address: argv.address } : {}),
      endpoint: argv.endpoint,
      link: argv.link,
      ...(argv.cost !== undefined ? { cost: argv.cost } : {}),
      ...(argv.vni !== undefined ? { vni: argv.vni } : {}),
      ...(argv.moltid !== undefined ? { moltid: argv.moltid } : {}),
      ...(argv.authenticate ? {} : { authenticate: false }),
    };
    parsePeer(input, 'peer add'); // the same checks the daemon makes, with exit 2 before any call
    const peer = (await callDaemon(argv.socket, 'peer.add', { peer: input }, 20_000)) as Record<string, unknown>;
    if (argv.json) process.stdout.write(`${JSON.stringify(peer, null, 2)}\n`);
    else process.stdout.write(`added peer ${String(peer['name'])} (${String(peer['kind'])}, ${String(peer['endpoint'])}, ${String(peer['state'])})\n`);
  },
};

interface RemoveArgs {
  name: string;
  socket: string;
}

const remove: CommandModule<object, RemoveArgs> = {
  command: 'remove <name>',
  describe: 'Remove a peer from the running daemon (its routes are withdrawn at once)',
  builder: (y) =>
    y
      .positional('name', { type: 'string', demandOption: true, describe: 'the peer\'s name' })
      .option('socket', { type: 'string', default: DEFAULT_SOCKET, describe: 'the daemon control socket' }),
  handler: async (argv) => {
    const r = (await callDaemon(argv.socket, 'peer.remove', { name: argv.name })) as { removed: string };
    process.stdout.write(`removed peer ${r.removed}\n`);
  },
};

export const peerCommand: CommandModule = {
  command: 'peer',
  describe: 'Add or remove peers on the running daemon (peer add, peer remove)',
  builder: (y: Argv) => y.command(add).command(remove).demandCommand(1, 'peer needs a subcommand: add or remove'),
  handler: () => {},
};
