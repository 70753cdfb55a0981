/** `moltnet address <uuid|address>`: the mesh address of a UUID, or the valid form of an address. */
import type { CommandModule } from 'yargs';
import { isUuid, linkLocalFor, normalizeUuid, parseMeshAddress, uuidPrefixOf } from '../../common/address.js';

interface Args {
  uuid: string;
  json: boolean;
}

export const addressCommand: CommandModule<object, Args> = {
  command: 'address <uuid|address>',
  describe: 'Print the mesh address of a UUID (or the valid form of an address)',
  builder: (y) =>
    y
      .positional('uuid', {
        type: 'string',
        demandOption: true,
        describe: 'agent UUID, or a mesh address (any IPv6 spelling, or the spec\'s 9-group form)',
      })
      .option('json', { type: 'boolean', default: false, describe: 'print {address, linkLocal, uuidPrefix, uuid?}' })
      .example('$0 address daa46e88-46c5-4af7-9268-1482c54c1922', 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268')
      .example('$0 address fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268:1482', 'the same (legacy form)'),
  handler: (argv) => {
    const input = String(argv.uuid).trim();
    const address = parseMeshAddress(input);
    if (!argv.json) {
      process.stdout.write(`${address}\n`);
      return;
    }
    const out = {
      address,
      linkLocal: linkLocalFor(address),
      uuidPrefix: uuidPrefixOf(address),
      ...(isUuid(input) ? { uuid: normalizeUuid(input) } : {}),
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  },
};
