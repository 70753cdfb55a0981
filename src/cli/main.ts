#!/usr/bin/env node
/**
 * The `moltnet` command. To add a command, write a yargs CommandModule in commands/ and list it here.
 */
import { hideBin } from 'yargs/helpers';
import { addressCommand } from './commands/address.js';
import { configCommand } from './commands/config.js';
import { demoCommand } from './commands/demo.js';
import { idCommand } from './commands/id.js';
import { installServiceCommand } from './commands/install-service.js';
import { peerCommand } from './commands/peer.js';
import { announceCommand } from './commands/announce.js';
import { rpcCommand } from './commands/rpc.js';
import { reloadCommand } from './commands/reload.js';
import { showCommand } from './commands/show.js';
import { upCommand } from './commands/up.js';
import { runCli, type AnyCommand } from './run.js';

const commands: AnyCommand[] = [
  addressCommand,
  configCommand,
  upCommand,
  showCommand,
  demoCommand,
  peerCommand,
  announceCommand,
  rpcCommand,
  reloadCommand,
  idCommand,
  installServiceCommand,
];

await runCli(commands, hideBin(process.argv));
