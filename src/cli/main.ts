#!/usr/bin/env node
/**
 * The `moltnet` command. To add a command, write a yargs CommandModule in commands/ and list it here.
 *
 * Each command's module is loaded only when it runs: `moltnet up` (the daemon, which stays resident)
 * does not carry the demo's, the identity tools' or install-service's imports. `--help`, no command or
 * an unknown one loads them all, so yargs lists every command and names the unknown one.
 */
import { hideBin } from 'yargs/helpers';
import { runCli, type AnyCommand } from './run.js';
import { limitYoungGeneration } from '../daemon/heap.js';

const COMMANDS: Record<string, () => Promise<AnyCommand>> = {
  address: async () => (await import('./commands/address.js')).addressCommand,
  config: async () => (await import('./commands/config.js')).configCommand,
  up: async () => (await import('./commands/up.js')).upCommand,
  show: async () => (await import('./commands/show.js')).showCommand,
  demo: async () => (await import('./commands/demo.js')).demoCommand,
  peer: async () => (await import('./commands/peer.js')).peerCommand,
  announce: async () => (await import('./commands/announce.js')).announceCommand,
  rpc: async () => (await import('./commands/rpc.js')).rpcCommand,
  reload: async () => (await import('./commands/reload.js')).reloadCommand,
  id: async () => (await import('./commands/id.js')).idCommand,
  'install-service': async () => (await import('./commands/install-service.js')).installServiceCommand,
};

const args = hideBin(process.argv);
const first = args[0];
// The daemon stays resident: its young generation is kept small before its modules load (daemon/heap.ts).
if (first === 'up' && process.env['MOLTNET_YOUNG_GROWTH'] !== '0') limitYoungGeneration();
const names = first !== undefined && Object.hasOwn(COMMANDS, first) ? [first] : Object.keys(COMMANDS);
await runCli(await Promise.all(names.map((n) => COMMANDS[n]!())), args);
