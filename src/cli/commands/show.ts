import type { CommandModule } from 'yargs';
import { callDaemon } from '../control-client.js';
import { InvalidInputError } from '../../common/errors.js';

export const DEFAULT_SOCKET = '/run/moltnet/moltnet.sock';
const WHATS = ['status', 'links', 'routes', 'ospf', 'bfd', 'peers', 'peering', 'discovery', 'wireguard', 'identity', 'registry', 'rpc', 'mcp', 'mcp-proxy', 'dns', 'http'] as const;
const OSPF_WHATS = ['neighbors', 'database', 'routes', 'interfaces', 'status', 'topology'] as const;

interface ShowArgs {
  what: string;
  sub?: string;
  json: boolean;
  socket: string;
}

export const showCommand: CommandModule<object, ShowArgs> = {
  command: 'show <what> [sub]',
  describe: `show the running daemon's state: ${WHATS.join(', ')} (ospf: ${OSPF_WHATS.join(', ')})`,
  builder: (y) =>
    y
      .positional('what', { type: 'string', demandOption: true, describe: WHATS.join(' | ') })
      .positional('sub', { type: 'string', describe: `after ospf: ${OSPF_WHATS.join(' | ')}` })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
      .option('socket', { type: 'string', default: DEFAULT_SOCKET, describe: 'the daemon control socket' }),
  handler: async (args) => {
    if (!(WHATS as readonly string[]).includes(args.what)) {
      throw new InvalidInputError(`cannot show "${args.what}": expected one of ${WHATS.join(', ')}`);
    }
    let what = args.what;
    if (what === 'ospf') {
      const sub = args.sub ?? 'neighbors';
      if (!(OSPF_WHATS as readonly string[]).includes(sub)) {
        throw new InvalidInputError(`cannot show ospf "${sub}": expected one of ${OSPF_WHATS.join(', ')}`);
      }
      what = `ospf ${sub}`;
    } else if (args.sub !== undefined) {
      throw new InvalidInputError(`"show ${args.what}" takes no further argument (got "${args.sub}")`);
    }
    const result = await callDaemon(args.socket, 'show', { what });
    if (args.json) {
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      return;
    }
    process.stdout.write(render(what, result));
  },
};

function render(what: string, r: unknown): string {
  if (what === 'status') {
    const s = r as Record<string, unknown> & {
      interface: { name: string; mtu: number };
      counters: Record<string, number>;
      forwarding?: { workers: number; steeredByFlow: boolean; perWorker: { hostRx: number; underlayRx: number }[] };
    };
    const f = s.forwarding;
    const lines = [
      `address    ${s['address']}`,
      `uuid       ${s['uuid']}${s['name'] ? `  (${s['name']})` : ''}`,
      `link-local ${s['linkLocal']}`,
      `interface  ${s.interface.name} mtu ${s.interface.mtu}`,
      `state      ${s['state']}   uptime ${s['uptimeSeconds']} s`,
      `links      ${s['links']}    routes ${s['routes']}`,
      ...(f && f.workers > 1
        ? [`forwarding ${f.workers} workers${f.steeredByFlow ? ', steered by inner flow' : ', spread by peer'}; packets in (host/underlay): ${f.perWorker.map((w) => `${w.hostRx}/${w.underlayRx}`).join('  ')}`]
        : []),
      'counters:',
      ...Object.entries(s.counters)
        .filter(([, v]) => v !== 0)
        .map(([k, v]) => `  ${k.padEnd(26)} ${v}`),
    ];
    return lines.join('\n') + '\n';
  }
  if (what === 'dns') {
    const d = r as { listen: string; serving: boolean; error?: string; names: { name: string; address: string; source: string }[]; counters: Record<string, number> };
    const head = `mesh DNS on ${d.listen}: ${d.serving ? 'serving' : `not serving (${d.error ?? '?'})`}\n`;
    const names = table(['NAME', 'ADDRESS', 'FROM'], d.names.map((n) => [`${n.name}.molt`, n.address, n.source]));
    const counts = Object.entries(d.counters)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    return `${head}${names}${counts}\n`;
  }
  if (what === 'peers') {
    const rows = (r as Array<Record<string, unknown>>).map((p) => {
      const link = p['link'] as { id: number; state: string; downReasons?: string[] } | null;
      const path = p['path'] === 'relayed' ? `relayed via ${String(p['via'])}` : String(p['path'] ?? '-');
      return [
        String(p['name']),
        String(p['kind']),
        String(p['source']),
        // Where its packets really come from (a NAT's mapping) when that is known, else where it is dialled.
        String(p['observedEndpoint'] ?? p['endpoint']),
        `${String(p['state'])}${p['session'] === 'mesh' ? ' (over mesh)' : ''}`,
        path,
        link ? `${link.id} ${link.state}${link.downReasons ? ` (${link.downReasons.join(',')})` : ''}` : '-',
        p['lastHeardSeconds'] !== undefined ? `${String(p['lastHeardSeconds'])}s ago` : '-',
        p['moltid'] ? shortMoltid(String(p['moltid'])) : '-',
        String(p['reason'] ?? ''),
      ];
    });
    return table(['NAME', 'KIND', 'SOURCE', 'ENDPOINT', 'PEERING', 'PATH', 'LINK', 'HEARD', 'MOLTID', 'REASON'], rows);
  }
  if (what === 'links') {
    const rows = (r as Array<Record<string, unknown> & { counters: Record<string, number> }>).map((l) => [
      String(l['id']),
      String(l['name']),
      String(l['kind']),
      String(l['state']) + (Array.isArray(l['downReasons']) ? ` (${(l['downReasons'] as string[]).join(',')})` : ''),
      String(l['endpoint']),
      String(l['peer'] ?? '-'),
      String(l['cost']),
      String(l['counters']['rx_packets'] ?? 0),
      String(l['counters']['tx_packets'] ?? 0),
      String((l['counters']['rx_drops'] ?? 0) + (l['counters']['tx_drops'] ?? 0)),
    ]);
    return table(['ID', 'NAME', 'KIND', 'STATE', 'ENDPOINT', 'PEER', 'COST', 'RX', 'TX', 'DROPS'], rows);
  }
  if (what === 'routes') {
    const rows = (r as Array<{ prefix: string; via: string[]; source: string; cost?: number }>).map((x) => [
      x.prefix,
      x.via.join(','),
      x.source,
      x.cost === undefined ? '' : String(x.cost),
    ]);
    return table(['PREFIX', 'VIA', 'SOURCE', 'COST'], rows);
  }
  if (what === 'identity') {
    return Object.entries(r as Record<string, unknown>)
      .map(([k, v]) => `${k.padEnd(18)} ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`)
      .join('\n') + '\n';
  }
  // ospf ..., bfd: generic tables of the objects' scalar fields.
  return genericTable(r);
}

function shortMoltid(m: string): string {
  return m.length > 28 ? `${m.slice(0, 14)}…${m.slice(-8)}` : m;
}

function genericTable(r: unknown): string {
  const list = Array.isArray(r) ? (r as Record<string, unknown>[]) : [r as Record<string, unknown>];
  if (list.length === 0) return '(none)\n';
  const cols = Object.keys(list[0]!).filter((k) => list.every((o) => typeof o[k] !== 'object' || o[k] === null));
  const rows = list.map((o) => cols.map((c) => String(o[c] ?? '')));
  return table(cols.map((c) => c.toUpperCase()), rows);
}

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  return [fmt(head), ...rows.map(fmt)].join('\n') + '\n';
}
