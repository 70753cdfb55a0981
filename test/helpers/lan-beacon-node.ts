/**
 * A LanBeacons node as a program, for the namespace tests: a process cannot change its namespace, so
 * each node runs as `ip netns exec <ns> node lan-beacon-node.js '<json options>'`. It makes an Ed25519
 * MoltID key (or takes one from a seed), signs a real binding per interface whose endpoint is that
 * interface's address and port 4789, and talks JSON lines:
 *
 *   stdout  {"event":"ready","uuid","moltid","interfaces":[...]}   once the sockets are bound
 *           {"event":"candidate", ...}                            per beacon heard
 *           {"event":"counters","counters":{...}}                 on request, and last before exit
 *   stdin   a line "counters" asks for the counters; end of input stops the node and exits 0.
 *   stderr  the module's log (JSON)
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createInterface } from 'node:readline';
import { isIP } from 'node:net';
import { meshAddressBytes } from '../../src/common/address.js';
import { createLogger } from '../../src/common/log.js';
import { signBinding } from '../../src/controlplane/peering/handshake.js';
import { LanBeacons } from '../../src/controlplane/discovery/lan.js';

export interface BeaconNodeOptions {
  uuid: string;
  intervalMs: number;
  port?: number;
  exclude?: string[];
  interfaces?: string[];
  /** 32 bytes hex: a fixed Ed25519 key (deterministic beacons, for captures). */
  seedHex?: string;
  /** A fixed binding timestamp (wall ms) instead of the clock. */
  timestampMs?: number;
  /** The signer refuses every time (as a Minima node that is down would). */
  signerFails?: boolean;
}

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function key(seedHex: string | undefined): KeyObject {
  if (seedHex === undefined) return generateKeyPairSync('ed25519').privateKey;
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, Buffer.from(seedHex, 'hex')]), format: 'der', type: 'pkcs8' });
}

function line(o: unknown): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

async function main(): Promise<void> {
  const o = JSON.parse(process.argv[2] ?? '{}') as BeaconNodeOptions;
  const priv = key(o.seedHex);
  const der = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  const moltid = `MOLTID:0x${der.toString('hex')}`;
  const beacons = new LanBeacons({
    ownUuid: o.uuid,
    intervalMs: o.intervalMs,
    ...(o.port !== undefined ? { port: o.port } : {}),
    ...(o.exclude ? { exclude: o.exclude } : {}),
    ...(o.interfaces ? { interfaces: o.interfaces } : {}),
    log: createLogger({ pretty: false, destination: 2, level: process.env['MOLTNET_LOG_LEVEL'] ?? 'debug' }),
    makeBeacon: async ({ address }) => {
      if (o.signerFails) throw new Error('the signer is down');
      return signBinding(
        {
          uuid: o.uuid,
          meshAddress: meshAddressBytes(o.uuid),
          moltidKey: der,
          endpoint: isIP(address) === 6 ? `[${address}]:4789` : `${address}:4789`,
          linkKinds: ['vxlan'],
          timestampMs: o.timestampMs ?? Date.now(),
        },
        (d) => sign(null, d, priv),
      );
    },
  });
  beacons.on('candidate', (c) =>
    line({ event: 'candidate', uuid: c.uuid, address: c.address, moltid: c.moltid, endpoint: c.endpoint, interface: c.interface, from: c.from, timestampMs: c.binding.timestampMs, seenAt: c.seenAt }),
  );
  await beacons.start();
  line({ event: 'ready', uuid: o.uuid, moltid, interfaces: beacons.activeInterfaces() });
  const input = createInterface({ input: process.stdin });
  input.on('line', (l) => {
    if (l.trim() === 'counters') line({ event: 'counters', counters: beacons.counters });
  });
  input.on('close', () => {
    beacons.stop();
    line({ event: 'counters', counters: beacons.counters });
    process.exitCode = 0;
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
