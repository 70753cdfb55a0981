/**
 * The yargs setup behind `moltnet`: strict parsing, and one way out for every failure.
 *   - usage errors (unknown command/flag, missing argument): `moltnet: <message>` on stderr, exit 2;
 *   - MoltnetError (and subclasses): its message, one line per line, exit with its exitCode;
 *   - anything else: the message, exit 1 (the stack only with MOLTNET_DEBUG=1).
 */
import yargs, { type CommandModule } from 'yargs';
import { MoltnetError } from '../common/errors.js';
import { VERSION } from '../common/version.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCommand = CommandModule<any, any>;

export async function runCli(commands: readonly AnyCommand[], args: string[]): Promise<void> {
  const cli = yargs(args)
    .scriptName('moltnet')
    .usage('$0 <command> [options]\n\nMoltNet: a userspace IPv6 mesh router for AI agents (fd00:6d6f:6c74::/48).')
    .command(commands as AnyCommand[])
    .demandCommand(1, 'no command given')
    .strict()
    .help()
    .alias('h', 'help')
    .version(VERSION)
    .epilogue('Exit status: 0 ok, 1 failure, 2 bad input, config or usage.')
    .fail((msg, err) => exitWith(err ?? new UsageError(msg ?? 'bad usage')));
  cli.wrap(Math.min(100, cli.terminalWidth()));
  try {
    await cli.parseAsync();
  } catch (err) {
    exitWith(err);
  }
}

class UsageError extends MoltnetError {
  override readonly exitCode = 2;
  constructor(message: string) {
    super(`${message.charAt(0).toLowerCase()}${message.slice(1).replace(/\s*\n\s*/g, '; ')} (see moltnet --help)`);
  }
}

function exitWith(err: unknown): never {
  let code = 1;
  let message: string;
  if (err instanceof MoltnetError) {
    code = err.exitCode;
    message = err.message;
  } else if (err instanceof Error) {
    message = process.env['MOLTNET_DEBUG'] ? (err.stack ?? err.message) : err.message || err.name;
  } else {
    message = String(err);
  }
  const lines = message.split('\n').filter((l) => l.length > 0);
  process.stderr.write(lines.map((l) => `moltnet: ${l}\n`).join(''));
  process.exit(code);
}
