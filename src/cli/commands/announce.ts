/** `moltnet announce`: the running daemon posts this node's announcement to Moltbook now. */
import type { CommandModule } from 'yargs';
import { callDaemon } from '../control-client.js';
import { DEFAULT_SOCKET } from './show.js';

interface Args {
  socket: string;
  json: boolean;
}

export const announceCommand: CommandModule<object, Args> = {
  command: 'announce',
  describe: 'Post this node\'s announcement (address, endpoint, signed MoltID binding) to Moltbook now',
  builder: (y) =>
    y
      .option('socket', { type: 'string', default: DEFAULT_SOCKET, describe: 'the daemon control socket' })
      .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' }),
  handler: async (argv) => {
    const r = (await callDaemon(argv.socket, 'announce', {}, 120_000)) as { id: string; endpoint: string };
    process.stdout.write(argv.json ? `${JSON.stringify(r, null, 2)}\n` : `${r.id}\n`);
  },
};
