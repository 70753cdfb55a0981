/**
 * `moltnet demo [--nodes N] [--link vxlan|gre]`: a chain of N nodes in network namespaces on this host,
 * left running (detached) until `moltnet demo down`.
 */
import type { CommandModule } from 'yargs';
import { readFile, writeFile, mkdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InvalidInputError, MoltnetError } from '../../common/errors.js';
import { buildChain, destroyChain, type Chain } from '../../demo/chain.js';
import { alive } from '../../demo/netns.js';

const DEMO_DIR = '/run/moltnet-demo';
const STATE = `${DEMO_DIR}/demo.json`;

interface DemoArgs {
  action?: string;
  nodes: number;
  link: string;
  underlay: string;
}

export const demoCommand: CommandModule<object, DemoArgs> = {
  command: 'demo [action]',
  describe: 'a local mesh in network namespaces ("demo down" removes it)',
  builder: (y) =>
    y
      .positional('action', { type: 'string', describe: 'down: stop the demo and remove its namespaces' })
      .option('nodes', { type: 'number', default: 3, describe: 'how many nodes (2..16), in a chain' })
      .option('link', { type: 'string', default: 'vxlan', describe: 'vxlan | gre' })
      .option('underlay', { type: 'string', default: 'ipv6', describe: 'ipv6 | ipv4' }),
  handler: async (args) => {
    if (args.action === 'down') return down();
    if (args.action !== undefined) throw new InvalidInputError(`unknown demo action "${args.action}": expected "down"`);
    if (!Number.isInteger(args.nodes) || args.nodes < 2 || args.nodes > 16) {
      throw new InvalidInputError(`--nodes must be a whole number from 2 to 16, got ${args.nodes}`);
    }
    if (args.link !== 'vxlan' && args.link !== 'gre') throw new InvalidInputError(`--link must be vxlan or gre, got "${args.link}"`);
    if (args.underlay !== 'ipv6' && args.underlay !== 'ipv4') {
      throw new InvalidInputError(`--underlay must be ipv6 or ipv4, got "${args.underlay}"`);
    }
    if (process.getuid?.() !== 0) throw new MoltnetError('the demo creates network namespaces: run it as root');
    if (existsSync(STATE)) {
      process.stderr.write('a demo is already running; replacing it\n');
      await down(true);
    }
    await mkdir(DEMO_DIR, { recursive: true, mode: 0o700 });
    const cliPath = fileURLToPath(new URL('../main.js', import.meta.url));
    const chain = await buildChain({
      prefix: 'mdemo',
      nodes: args.nodes,
      link: args.link,
      underlay: args.underlay,
      dir: DEMO_DIR,
      cliPath,
      detached: true,
    });
    await writeFile(STATE, JSON.stringify(chain, null, 2), { mode: 0o600 });
    print(chain);
  },
};

function print(chain: Chain): void {
  const first = chain.nodes[0]!;
  const last = chain.nodes[chain.nodes.length - 1]!;
  const w = Math.max(...chain.nodes.map((n) => n.name.length));
  const lines = [
    `MoltNet demo: ${chain.nodes.length} nodes in a chain over ${chain.link.toUpperCase()} (${chain.underlay} underlay)`,
    '',
    ...chain.nodes.map((n) => `  ${n.name.padEnd(w)}  ${n.address.padEnd(39)}  netns ${n.ns}`),
    '',
    `Try, from ${first.name}'s host to ${last.name} through the middle:`,
    `  ip netns exec ${first.ns} ping -c 3 ${last.address}`,
    `  ip netns exec ${first.ns} ping -c 1 -t 1 ${last.address}     # Time Exceeded from the next node`,
    `  node ${process.argv[1]} show routes --socket ${first.socket}`,
    `  node ${process.argv[1]} show links --socket ${first.socket}`,
    `  node ${process.argv[1]} show ospf neighbors --socket ${first.socket}`,
    `  node ${process.argv[1]} show bfd --socket ${first.socket}`,
    `Logs: ${chain.dir}/node*.log`,
    `Stop: node ${process.argv[1]} demo down`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

async function down(quiet = false): Promise<void> {
  if (!existsSync(STATE)) {
    if (!quiet) process.stdout.write('no demo is running\n');
    return;
  }
  const chain = JSON.parse(await readFile(STATE, 'utf8')) as Chain;
  const running = chain.nodes.filter((n) => n.pid !== undefined && alive(n.pid)).length;
  await destroyChain(chain, false);
  await rm(STATE, { force: true });
  await rm(DEMO_DIR, { recursive: true, force: true });
  if (!quiet) process.stdout.write(`demo stopped (${running} daemons, ${chain.nodes.length} namespaces removed)\n`);
}
