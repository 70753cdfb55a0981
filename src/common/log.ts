/**
 * The logger factory: pino, JSON lines by default, pretty (pino-pretty) on a terminal.
 *
 * Logs go to stderr by default so that commands which print data on stdout (`show --json`,
 * `id sign`, ...) stay pipeable; pass `destination: 1` for stdout. Pretty output is chosen when the
 * destination is a TTY, unless `pretty` says otherwise. The level comes from the option, else
 * MOLTNET_LOG_LEVEL, else "info". Writes are synchronous: logging never runs per packet.
 */
import { createRequire } from 'node:module';
import { isatty } from 'node:tty';
import { pino, type Logger as PinoLogger, type LevelWithSilent } from 'pino';
import type PinoPrettyModule from 'pino-pretty';
import { InvalidInputError } from './errors.js';

export type Logger = PinoLogger;

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface LoggerOptions {
  /** fatal | error | warn | info | debug | trace | silent. Default: MOLTNET_LOG_LEVEL or info. */
  level?: string;
  /** The `name` field of every line (e.g. "moltnet"). */
  name?: string;
  /** Force pretty (true) or JSON (false). Default: pretty when the destination is a TTY. */
  pretty?: boolean;
  /** File descriptor to write to: 2 (stderr, the default) or 1 (stdout). */
  destination?: number;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = resolveLevel(opts.level ?? process.env['MOLTNET_LOG_LEVEL'] ?? 'info');
  const fd = opts.destination ?? 2;
  const pretty = opts.pretty ?? isatty(fd);
  const options = { level, ...(opts.name !== undefined ? { name: opts.name } : {}) };
  if (pretty) {
    // Loaded only for a terminal: a daemon under systemd or a test logs JSON and never carries it.
    const PinoPretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPrettyModule;
    const stream = PinoPretty({
      destination: fd,
      sync: true,
      colorize: isatty(fd),
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
    });
    return pino(options, stream);
  }
  return pino(options, pino.destination({ dest: fd, sync: true }));
}

/** A logger that writes nothing: for tests and library callers that pass none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

function resolveLevel(level: string): LevelWithSilent {
  const l = level.trim().toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(l)) return l as LevelWithSilent;
  throw new InvalidInputError(`unknown log level ${JSON.stringify(level)} (expected one of ${LOG_LEVELS.join('|')})`);
}
