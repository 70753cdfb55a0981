/** `moltnet reload`: the daemon re-reads its config file (the same as SIGHUP); a bad one is refused. */
import type { CommandModule } from 'yargs';
import { callDaemon } from '../control-client.js';
import { DEFAULT_SOCKET } from './show.js';
// Types only: the CLI does not load the daemon.
import type { ReloadSummary as Summary } from '../../daemon/daemon.js';

interface Args {
  socket: string;
  json: boolean;
}


export const reloadCommand: CommandModule<object, Args> = {
  command: 'reload',
  describe: 'Re-read the daemon\'s config file and apply what changed (as SIGHUP); a bad config changes nothing',
  builder: (y) =>
    y
      .option('socket', { type: 'string', default: DEFAULT_SOCKET, describe: 'the daemon control socket' })
      .option('json', { type: 'boolean', default: false, describe: 'print what changed as JSON' }),
  handler: async (argv) => {
    const s = (await callDaemon(argv.socket, 'reload', {}, 30_000)) as Summary;
    if (argv.json) {
      process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
      return;
    }
    if (!s.changed) {
      process.stdout.write('reloaded: nothing changed\n');
      return;
    }
    const parts = [
      s.added.length ? `added ${s.added.join(', ')}` : '',
      s.removed.length ? `removed ${s.removed.join(', ')}` : '',
      s.remade.length ? `re-made ${s.remade.join(', ')}` : '',
      s.cost.length ? `cost changed on ${s.cost.join(', ')}` : '',
      s.routes ? 'static routes replaced' : '',
      s.services.restarted.length ? `restarted ${s.services.restarted.join(', ')}` : '',
      s.services.started.length ? `started ${s.services.started.join(', ')}` : '',
      s.services.stopped.length ? `stopped ${s.services.stopped.join(', ')}` : '',
      s.services.changed.length ? `reconfigured ${s.services.changed.join(', ')}` : '',
    ].filter(Boolean);
    process.stdout.write(`reloaded: ${parts.join('; ') || 'other settings changed'}\n`);
  },
};
