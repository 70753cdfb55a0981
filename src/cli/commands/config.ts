/** `moltnet config check --config F` and `moltnet config example --uuid U`. */
import type { Argv, CommandModule } from 'yargs';
import { exampleConfig, formatConfigYaml, loadConfig } from '../../config/load.js';

interface CheckArgs {
  config: string;
  json: boolean;
}

const check: CommandModule<object, CheckArgs> = {
  command: 'check',
  describe: 'Validate a config file and print it with every default filled in',
  builder: (y) =>
    y
      .option('config', { alias: 'c', type: 'string', demandOption: true, requiresArg: true, describe: 'the YAML config file' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON (with derived fields) instead of YAML' }),
  handler: async (argv) => {
    const cfg = await loadConfig(argv.config);
    process.stdout.write(argv.json ? `${JSON.stringify(cfg, null, 2)}\n` : formatConfigYaml(cfg));
  },
};

interface ExampleArgs {
  uuid: string;
}

const example: CommandModule<object, ExampleArgs> = {
  command: 'example',
  describe: 'Print a documented config for a UUID',
  builder: (y) =>
    y.option('uuid', { alias: 'u', type: 'string', demandOption: true, requiresArg: true, describe: "the agent's UUID" }),
  handler: (argv) => {
    process.stdout.write(exampleConfig(argv.uuid));
  },
};

export const configCommand: CommandModule = {
  command: 'config',
  describe: 'Check a config file (config check) or print an example (config example)',
  builder: (y: Argv) => y.command(check).command(example).demandCommand(1, 'config needs a subcommand: check or example'),
  handler: () => {},
};
