import type { CommandModule } from 'yargs';
import { loadConfig } from '../../config/load.js';
import { createLogger } from '../../common/log.js';

interface UpArgs {
  config: string;
  'log-level'?: string;
}

export const upCommand: CommandModule<object, UpArgs> = {
  command: 'up',
  describe: 'run the daemon in the foreground until SIGINT/SIGTERM',
  builder: (y) =>
    y
      .option('config', { type: 'string', demandOption: true, describe: 'the YAML config file' })
      .option('log-level', { type: 'string', describe: 'fatal|error|warn|info|debug|trace|silent' }),
  handler: async (args) => {
    const config = await loadConfig(args.config);
    const log = createLogger({ level: args['log-level'], name: 'moltnet' });
    // Loaded here, not at the top: the other commands must not pay for (or fail on) the daemon's imports.
    const { Daemon } = await import('../../daemon/daemon.js');
    const daemon = new Daemon(config, log, { loadConfig: () => loadConfig(args.config) });
    const stopped = new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log.info({ signal }, 'stopping');
        void daemon.stop().then(resolve);
      };
      // `on`, not `once`: with no listener left, signal-exit (execa's, loaded with wireguard-go) re-raises
      // the signal and the process dies before stop() has removed what it made. stop() runs once anyway.
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    });
    // SIGHUP re-reads the config, as `moltnet reload` does; a bad file is logged and changes nothing.
    process.on('SIGHUP', () => {
      daemon.reload().catch((err: Error) => log.error({ error: err.message }, 'reload refused; the running config stays'));
    });
    try {
      await daemon.start();
    } catch (err) {
      await daemon.stop();
      throw err;
    }
    await stopped;
  },
};
