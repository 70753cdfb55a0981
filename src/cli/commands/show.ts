import type { CommandModule } from 'yargs';
import { callDaemon } from '../control-client.js';
import { InvalidInputError } from '../../common/errors.js';

const DEFAULT_SOCKET = '/run/moltnet/moltnet.sock';
const WHATS = ['status', 'links', 'routes'] as const;

interface ShowArgs {
  what: string;
  json: boolean;
  socket: string;
}

export const showCommand: CommandModule<object, ShowArgs> = {
  command: 'show <what>',
  describe: `show the running daemon's state: ${WHATS.join(', ')}`,
  builder: (y) =>
    y
      .positional('what', { type: 'string', demandOption: true, describe: WHATS.join(' | ') })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
      .option('socket', { type: 'string', default: DEFAULT_SOCKET, describe: 'the daemon control socket' }),
  handler: async (args) => {
    if (!(WHATS as readonly string[]).includes(args.what)) {
      throw new InvalidInputError(`cannot show "${args.what}": expected one of ${WHATS.join(', ')}`);
    }
    const result = await callDaemon(args.socket, 'show', { what: args.what });
    if (args.json) {
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      return;
    }
    process.stdout.write(render(args.what, result));
  },
};

function render(what: string, r: unknown): string {
  if (what === 'status') {
    const s = r as Record<string, unknown> & { interface: { name: string; mtu: number }; counters: Record<string, number> };
    const lines = [
      `address    ${s['address']}`,
      `uuid       ${s['uuid']}${s['name'] ? `  (${s['name']})` : ''}`,
      `link-local ${s['linkLocal']}`,
      `interface  ${s.interface.name} mtu ${s.interface.mtu}`,
      `uptime     ${s['uptimeSeconds']} s`,
      `links      ${s['links']}    routes ${s['routes']}`,
      'counters:',
      ...Object.entries(s.counters)
        .filter(([, v]) => v !== 0)
        .map(([k, v]) => `  ${k.padEnd(26)} ${v}`),
    ];
    return lines.join('\n') + '\n';
  }
  if (what === 'links') {
    const rows = (r as Array<Record<string, unknown> & { counters: Record<string, number> }>).map((l) => [
      String(l['name']),
      String(l['kind']),
      String(l['endpoint']),
      String(l['peer'] ?? '-'),
      String(l['counters']['rx_packets'] ?? 0),
      String(l['counters']['tx_packets'] ?? 0),
      String((l['counters']['rx_drops'] ?? 0) + (l['counters']['tx_drops'] ?? 0)),
    ]);
    return table(['NAME', 'KIND', 'ENDPOINT', 'PEER', 'RX', 'TX', 'DROPS'], rows);
  }
  const rows = (r as Array<{ prefix: string; via: string[]; source: string }>).map((x) => [x.prefix, x.via.join(','), x.source]);
  return table(['PREFIX', 'VIA', 'SOURCE'], rows);
}

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  return [fmt(head), ...rows.map(fmt)].join('\n') + '\n';
}
