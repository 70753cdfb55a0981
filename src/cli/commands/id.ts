/**
 * `moltnet id ...`: the node's MoltID (seed moltid-v0.md), built in (Ed25519 in stateDir) or through a
 * local Minima node (identity.backend in the config).
 *
 *   init        make or check the identity; on a terminal a wizard (backend, name, Static MLS,
 *               permanent address, contacts lockdown); --yes takes the defaults with no questions
 *   info        the identity card (JSON)
 *   claim       the seed's three CLAIMED conditions; exit 1 naming those that fail
 *   challenge   32 random bytes, 0x + 64 hex digits
 *   sign        0x... signature of data (0x... = bytes, else UTF-8)
 *   verify      offline check of a signature: exit 0 valid, 1 not, 2 malformed input
 *   persona     create / verify signed persona objects
 *   contacts    lockdown, allow list add/list/remove, apply, list   (Minima)
 *   setup-mls   set the Static MLS host, auto-detected or given     (Minima)
 *   register-permanent   register the permanent MAX# address         (Minima)
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Argv, CommandModule } from 'yargs';
import { parseDocument } from 'yaml';
import { InvalidInputError } from '../../common/errors.js';
import { loadConfig, parseConfig } from '../../config/load.js';
import { IDENTITY_BACKENDS, type IdentityBackendKind, type MoltnetConfig } from '../../config/schema.js';
import type { MoltIdBackend } from '../../controlplane/identity/backend.js';
import { checkClaim } from '../../controlplane/identity/claim.js';
import { AllowList, applyLockdown } from '../../controlplane/identity/contacts.js';
import { InvalidPersonaError, MinimaBackendRequiredError } from '../../controlplane/identity/errors.js';
import { makeBackend } from '../../controlplane/identity/factory.js';
import { MinimaBackend } from '../../controlplane/identity/minima.js';
import { decideMls, mlsEnv, tcpListening, type MlsDecision } from '../../controlplane/identity/mls.js';
import {
  dataBytes,
  formatMoltId,
  formatPermanentAddress,
  MOLTID_PREFIX,
  parseHex,
  parsePublicKey,
  toHex,
  verifySignature,
} from '../../controlplane/identity/moltid.js';
import { createPersona, verifyPersona } from '../../controlplane/identity/persona.js';

const configOption = { alias: 'c', type: 'string', demandOption: true, requiresArg: true, describe: 'the YAML config file' } as const;

interface ConfigArgs {
  config: string;
}

async function open(configPath: string, kind?: IdentityBackendKind): Promise<{ cfg: MoltnetConfig; backend: MoltIdBackend }> {
  const cfg = await loadConfig(configPath);
  return { cfg, backend: makeBackend(cfg, kind) };
}

function minimaOnly(backend: MoltIdBackend, what: string): MinimaBackend {
  if (backend instanceof MinimaBackend) return backend;
  throw new MinimaBackendRequiredError(`${what} needs the Minima backend (identity.backend: minima in the config); this node uses the builtin Ed25519 key, which has no Static MLS, permanent address or Maxima contacts`);
}

function print(v: unknown): void {
  process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
}

/** A public key given as 0x... or MOLTID:0x... */
function keyArg(text: string): string {
  const s = text.trim();
  return s.startsWith(MOLTID_PREFIX) ? s.slice(MOLTID_PREFIX.length) : s;
}

export async function identityCard(cfg: MoltnetConfig, backend: MoltIdBackend): Promise<Record<string, unknown>> {
  const info = await backend.info();
  return {
    moltid: formatMoltId(info.publicKey),
    publickey: info.publicKey,
    keytype: info.keyType,
    backend: backend.kind,
    name: info.name ?? cfg.name ?? null,
    staticmls: info.staticMls,
    mls: info.mls,
    permanent: info.staticMls && info.mls !== null ? formatPermanentAddress(info.publicKey, info.mls) : null,
    address: cfg.address,
    uuid: cfg.uuid,
  };
}

// ---------------------------------------------------------------------------------------------
// Questions (wizard): prompts on stderr, so stdout stays the JSON result

interface Asker {
  ask(question: string, dflt: string): Promise<string>;
  close(): void;
}

function asker(yes: boolean): Asker {
  if (yes) return { ask: async (_q, d) => d, close: () => {} };
  if (!process.stdin.isTTY) throw new InvalidInputError('standard input is not a terminal, so the wizard cannot ask; pass --yes to take the defaults');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  return {
    ask: async (q, d) => {
      const a = (await rl.question(`${q}${d !== '' ? ` [${d}]` : ''}: `)).trim();
      return a === '' ? d : a;
    },
    close: () => rl.close(),
  };
}

async function yesNo(a: Asker, q: string, dflt: boolean): Promise<boolean> {
  for (;;) {
    const r = (await a.ask(`${q} (y/n)`, dflt ? 'y' : 'n')).toLowerCase();
    if (['y', 'yes'].includes(r)) return true;
    if (['n', 'no'].includes(r)) return false;
    process.stderr.write('please answer y or n\n');
  }
}

function note(text: string): void {
  process.stderr.write(`moltnet: ${text}\n`);
}

/** Sets keys in the YAML file in place (comments kept); the file is written only if the result validates. */
async function updateConfig(path: string, changes: [string[], unknown][]): Promise<MoltnetConfig> {
  const doc = parseDocument(await readFile(path, 'utf8'));
  for (const [keyPath, value] of changes) doc.setIn(keyPath, value);
  const text = doc.toString();
  parseConfig(text, path, { baseDir: dirname(resolve(path)) });
  await writeFile(path, text);
  return loadConfig(path);
}

async function detectMls(minima: MinimaBackend): Promise<MlsDecision> {
  const env = mlsEnv(process.env);
  const info = await minima.info();
  const listening = env.autoDetect ? await tcpListening(env.p2pPort) : null;
  return decideMls({ ...env, p2pIdentity: info.p2pIdentity, listening });
}

// ---------------------------------------------------------------------------------------------
// init

interface InitArgs extends ConfigArgs {
  backend?: string;
  yes: boolean;
}

const init: CommandModule<object, InitArgs> = {
  command: 'init',
  describe: 'Make (built in) or check (Minima) the node\'s MoltID; a wizard on a terminal, --yes for the defaults',
  builder: (y) =>
    y
      .option('config', configOption)
      .option('backend', { type: 'string', choices: IDENTITY_BACKENDS, requiresArg: true, describe: 'identity backend (default: the config\'s identity.backend); written to the config' })
      .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'no questions: take every default' }),
  handler: async (argv) => {
    let cfg = await loadConfig(argv.config);
    const a = asker(argv.yes);
    try {
      let kind = (argv.backend as IdentityBackendKind | undefined) ?? cfg.identity.backend;
      if (!argv.yes) {
        for (;;) {
          const k = await a.ask(`identity backend (${IDENTITY_BACKENDS.join('|')})`, kind);
          if ((IDENTITY_BACKENDS as readonly string[]).includes(k)) {
            kind = k as IdentityBackendKind;
            break;
          }
          process.stderr.write(`please answer one of ${IDENTITY_BACKENDS.join(', ')}\n`);
        }
      }
      const name = await a.ask('agent name (letters, digits, "-"; empty for none)', cfg.name ?? '');
      const changes: [string[], unknown][] = [];
      if (kind !== cfg.identity.backend) changes.push([['identity', 'backend'], kind]);
      if (name !== (cfg.name ?? '')) changes.push([['name'], name]);
      if (changes.length > 0) {
        cfg = await updateConfig(argv.config, changes);
        note(`${argv.config}: set ${changes.map(([k, v]) => `${k.join('.')} = ${String(v)}`).join(', ')}`);
      }
      const backend = makeBackend(cfg);
      const { created } = await backend.init();
      if (backend.kind === 'builtin') note(created ? `made a new Ed25519 MoltID key in ${cfg.stateDir}` : `the MoltID key in ${cfg.stateDir} is already there; kept it`);
      if (backend instanceof MinimaBackend) await minimaWizard(backend, cfg, a);
      print(await identityCard(cfg, backend));
    } finally {
      a.close();
    }
  },
};

async function minimaWizard(minima: MinimaBackend, cfg: MoltnetConfig, a: Asker): Promise<void> {
  const info = await minima.info();
  let selfMls = info.staticMls && info.mls !== null && info.mls === info.p2pIdentity;
  if (!info.staticMls || !(await yesNo(a, `Static MLS is ${info.mls}; keep it`, true))) {
    const d = await detectMls(minima);
    note(`MLS auto-detection: ${d.mode} (${d.reason})`);
    const host = await a.ask('Static MLS host (a p2pidentity, Mx...@ip:port; empty to skip)', d.host ?? '');
    if (host === '') {
      note('Static MLS not set: the MoltID cannot be CLAIMED until it is (moltnet id setup-mls)');
    } else {
      await minima.setStaticMls(host);
      selfMls = host === info.p2pIdentity;
      note(`Static MLS set to ${host}`);
    }
  }
  const now = await minima.info();
  if (now.staticMls && now.mls !== null) {
    const permanent = formatPermanentAddress(now.publicKey, now.mls);
    if (!(await minima.permanentRegistered(permanent))) {
      if (selfMls && (await yesNo(a, 'this node is its own MLS: register the permanent MAX# address on it', true))) {
        await minima.addPermanent(now.publicKey);
        note(`registered ${permanent}`);
      } else if (!selfMls) {
        note(`to register the permanent address, the operator of MLS ${now.mls} runs: moltnet id register-permanent --config <file> --publickey ${now.publicKey}`);
      }
    }
  }
  if (await yesNo(a, 'lock down contacts (no unsolicited contact requests; allow list only)', true)) {
    const keys = await new AllowList(cfg.stateDir).list();
    await applyLockdown(minima, keys);
    note(`contacts locked down (${keys.length} allowed key${keys.length === 1 ? '' : 's'})`);
  }
}

// ---------------------------------------------------------------------------------------------
// info, claim, challenge, sign, verify

const info: CommandModule<object, ConfigArgs> = {
  command: 'info',
  describe: 'Print the identity card as JSON (moltid, publickey, name, staticmls, mls, permanent, address, uuid)',
  builder: (y) => y.option('config', configOption),
  handler: async (argv) => {
    const { cfg, backend } = await open(argv.config);
    print(await identityCard(cfg, backend));
  },
};

const claim: CommandModule<object, ConfigArgs> = {
  command: 'claim',
  describe: 'Check the three CLAIMED conditions (Static MLS, permanent address, proof of control); exit 1 naming those that fail',
  builder: (y) => y.option('config', configOption),
  handler: async (argv) => {
    const { backend } = await open(argv.config);
    const r = await checkClaim(backend);
    print(r);
    if (!r.claimed) {
      for (const c of r.checks.filter((x) => !x.ok)) note(`not claimed: ${c.name}: ${c.detail}`);
      process.exitCode = 1;
    }
  },
};

const challenge: CommandModule<object, object> = {
  command: 'challenge',
  describe: 'Print a fresh 32-byte challenge (0x + 64 hex digits)',
  handler: () => {
    process.stdout.write(`${toHex(randomBytes(32))}\n`);
  },
};

interface SignArgs extends ConfigArgs {
  data: string;
}

const signCmd: CommandModule<object, SignArgs> = {
  command: 'sign <data>',
  describe: 'Sign data with the MoltID key (0x... is bytes, else UTF-8); prints the 0x... signature',
  builder: (y) => y.positional('data', { type: 'string', demandOption: true, describe: 'the data' }).option('config', configOption),
  handler: async (argv) => {
    const data = dataBytes(String(argv.data));
    const { backend } = await open(argv.config);
    process.stdout.write(`${toHex(await backend.sign(data))}\n`);
  },
};

interface VerifyArgs {
  data: string;
  publickey: string;
  signature: string;
}

const verify: CommandModule<object, VerifyArgs> = {
  command: 'verify',
  describe: 'Verify a signature offline (RSA as Maxima, or Ed25519): exit 0 valid, 1 invalid, 2 malformed input',
  builder: (y) =>
    y
      .option('data', { type: 'string', demandOption: true, requiresArg: true, describe: 'the signed data (0x... bytes, else UTF-8)' })
      .option('publickey', { type: 'string', demandOption: true, requiresArg: true, describe: 'the signer\'s key: 0x... or MOLTID:0x...' })
      .option('signature', { type: 'string', demandOption: true, requiresArg: true, describe: 'the 0x... signature' }),
  handler: (argv) => {
    const data = dataBytes(String(argv.data));
    const key = parsePublicKey(keyArg(String(argv.publickey)));
    const sig = parseHex(String(argv.signature), 'signature');
    const ok = verifySignature(data, key, sig);
    process.stdout.write(ok ? 'valid\n' : 'invalid\n');
    if (!ok) process.exitCode = 1;
  },
};

// ---------------------------------------------------------------------------------------------
// persona

interface PersonaCreateArgs extends ConfigArgs {
  handle: string;
  tag: string[];
  'linked-to-root': boolean;
}

const personaCreate: CommandModule<object, PersonaCreateArgs> = {
  command: 'create',
  describe: 'Make a persona signed by the MoltID root key (JSON on stdout)',
  builder: (y) =>
    y
      .option('config', configOption)
      .option('handle', { type: 'string', demandOption: true, requiresArg: true, describe: 'the persona\'s handle' })
      .option('tag', { type: 'string', array: true, default: [], describe: 'a tag (repeat for more)' })
      .option('linked-to-root', { type: 'boolean', default: true, describe: 'policy.linked_to_root' }),
  handler: async (argv) => {
    const { backend } = await open(argv.config);
    const pub = (await backend.info()).publicKey;
    const p = await createPersona(pub, { handle: argv.handle, tags: argv.tag.map(String), linkedToRoot: argv['linked-to-root'] }, (d) => backend.sign(d));
    print(p);
  },
};

interface PersonaVerifyArgs {
  file: string;
}

const personaVerify: CommandModule<object, PersonaVerifyArgs> = {
  command: 'verify <file>',
  describe: 'Verify a persona object (a file, or - for stdin): exit 0 valid, 1 invalid, 2 malformed',
  builder: (y) => y.positional('file', { type: 'string', demandOption: true, describe: 'the persona JSON file, or -' }),
  handler: async (argv) => {
    let text: string;
    // yargs hands a lone "-" over as an empty string
    const fromStdin = argv.file === '-' || argv.file === '';
    try {
      text = fromStdin ? await readStdin() : await readFile(argv.file, 'utf8');
    } catch (err) {
      throw new InvalidInputError(`${argv.file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      throw new InvalidPersonaError(`${argv.file}: not JSON`);
    }
    const ok = verifyPersona(v);
    process.stdout.write(ok ? 'valid\n' : 'invalid\n');
    if (!ok) process.exitCode = 1;
  },
};

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of process.stdin) {
    size += (c as Buffer).length;
    if (size > 1024 * 1024) throw new InvalidInputError('stdin: more than 1 MiB');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const persona: CommandModule = {
  command: 'persona',
  describe: 'Signed persona objects: persona create, persona verify',
  builder: (y: Argv) => y.command(personaCreate).command(personaVerify).demandCommand(1, 'persona needs a subcommand: create or verify'),
  handler: () => {},
};

// ---------------------------------------------------------------------------------------------
// contacts (Minima)

interface KeyArgs extends ConfigArgs {
  publickey: string;
}

async function openMinima(configPath: string, what: string): Promise<{ cfg: MoltnetConfig; minima: MinimaBackend }> {
  const { cfg, backend } = await open(configPath);
  return { cfg, minima: minimaOnly(backend, what) };
}

const lockdown: CommandModule<object, ConfigArgs> = {
  command: ['lockdown', 'apply'],
  describe: 'No unsolicited contact requests; re-send the allow list (Maxima keeps it in RAM only: run at start)',
  builder: (y) => y.option('config', configOption),
  handler: async (argv) => {
    const { cfg, minima } = await openMinima(argv.config, 'contacts lockdown');
    const keys = await new AllowList(cfg.stateDir).list();
    await applyLockdown(minima, keys);
    print({ allowallcontacts: false, allowed: keys });
  },
};

// The allow list is the node's own (stateDir): agent RPC locked down serves it with either backend, and
// a Minima node also gets it as its Maxima allow list.
const allowAdd: CommandModule<object, KeyArgs> = {
  command: 'add <publickey>',
  describe: 'Allow a MoltID contact (0x... or MOLTID:0x...): contact requests (Minima) and locked-down agent RPC',
  builder: (y) => y.positional('publickey', { type: 'string', demandOption: true }).option('config', configOption),
  handler: async (argv) => {
    const { cfg, backend } = await open(argv.config);
    const r = await new AllowList(cfg.stateDir).add(keyArg(argv.publickey));
    if (backend instanceof MinimaBackend) await backend.addAllowed(r.key);
    print(r);
  },
};

const allowRemove: CommandModule<object, KeyArgs> = {
  command: 'remove <publickey>',
  describe: 'Stop allowing a key',
  builder: (y) => y.positional('publickey', { type: 'string', demandOption: true }).option('config', configOption),
  handler: async (argv) => {
    const { cfg, backend } = await open(argv.config);
    const list = new AllowList(cfg.stateDir);
    const r = await list.remove(keyArg(argv.publickey));
    if (backend instanceof MinimaBackend) await applyLockdown(backend, await list.list());
    print(r);
  },
};

const allowList: CommandModule<object, ConfigArgs> = {
  command: 'list',
  describe: 'The allow list (kept in stateDir) and, with Minima, what the node has',
  builder: (y) => y.option('config', configOption),
  handler: async (argv) => {
    const { cfg, backend } = await open(argv.config);
    const allowed = await new AllowList(cfg.stateDir).list();
    print(backend instanceof MinimaBackend ? { allowed, node: await backend.listAllowed() } : { allowed });
  },
};

const allow: CommandModule = {
  command: 'allow',
  describe: 'The contacts allow list: allow add, allow list, allow remove',
  builder: (y: Argv) => y.command(allowAdd).command(allowList).command(allowRemove).demandCommand(1, 'allow needs a subcommand: add, list or remove'),
  handler: () => {},
};

const contactsList: CommandModule<object, ConfigArgs> = {
  command: 'list',
  describe: 'The node\'s Maxima contacts (maxcontacts)',
  builder: (y) => y.option('config', configOption),
  handler: async (argv) => {
    const { minima } = await openMinima(argv.config, 'contacts list');
    print(await minima.contacts());
  },
};

const contacts: CommandModule = {
  command: 'contacts',
  describe: 'Contacts: the allow list (either backend), the lockdown and Maxima contacts (Minima backend)',
  builder: (y: Argv) => y.command(lockdown).command(allow).command(contactsList).demandCommand(1, 'contacts needs a subcommand: lockdown, apply, allow or list'),
  handler: () => {},
};

// ---------------------------------------------------------------------------------------------
// setup-mls, register-permanent (Minima)

interface SetupMlsArgs extends ConfigArgs {
  host?: string;
  yes: boolean;
}

const setupMls: CommandModule<object, SetupMlsArgs> = {
  command: 'setup-mls [host]',
  describe: 'Set the Static MLS host: the one given, else auto-detected (AUTO_DETECT_MLS, PREFER_SOVEREIGN_MLS, COMMUNITY_MLS_HOST, P2P_PORT)',
  builder: (y) =>
    y
      .positional('host', { type: 'string', describe: 'the MLS p2pidentity (Mx...@ip:port)' })
      .option('config', configOption)
      .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'no questions: use the detected host' }),
  handler: async (argv) => {
    const { minima } = await openMinima(argv.config, 'setup-mls');
    let decision: MlsDecision;
    if (argv.host !== undefined && argv.host !== '') {
      decision = { mode: 'manual', host: argv.host, reason: 'given on the command line' };
    } else {
      decision = await detectMls(minima);
      note(`MLS auto-detection: ${decision.mode} (${decision.reason})`);
      if (decision.host === null) {
        if (argv.yes || !process.stdin.isTTY) throw new InvalidInputError(`no MLS host detected (${decision.reason}); give one: moltnet id setup-mls <Mx...@ip:port> --config <file>`);
        const a = asker(false);
        try {
          const h = await a.ask('Static MLS host (a p2pidentity, Mx...@ip:port)', '');
          if (h === '') throw new InvalidInputError('no MLS host given');
          decision = { mode: 'manual', host: h, reason: 'entered by hand' };
        } finally {
          a.close();
        }
      }
    }
    await minima.setStaticMls(decision.host!);
    print(decision);
  },
};

interface RegisterArgs extends ConfigArgs {
  publickey?: string;
}

const registerPermanent: CommandModule<object, RegisterArgs> = {
  command: 'register-permanent',
  describe: 'Register the permanent MAX# address: on this node when it is its own MLS (or --publickey, as an MLS host); exit 1 while not registered',
  builder: (y) =>
    y.option('config', configOption).option('publickey', { type: 'string', requiresArg: true, describe: 'register this key on this node (it is the MLS host of that key)' }),
  handler: async (argv) => {
    const { minima } = await openMinima(argv.config, 'register-permanent');
    if (argv.publickey !== undefined) {
      const key = parsePublicKey(keyArg(argv.publickey)).hex;
      await minima.addPermanent(key);
      const me = await minima.info();
      print({ registered: key, mls: me.p2pIdentity });
      return;
    }
    const me = await minima.info();
    if (!me.staticMls || me.mls === null) {
      throw new InvalidInputError('Static MLS is not enabled; run moltnet id setup-mls first');
    }
    const permanent = formatPermanentAddress(me.publicKey, me.mls);
    const self = me.mls === me.p2pIdentity;
    if (self) await minima.addPermanent(me.publicKey);
    const registered = await minima.permanentRegistered(permanent);
    print({ permanent, mls: me.mls, selfMls: self, registered });
    if (!registered) {
      note(`${permanent} is not registered on MLS ${me.mls}; its operator runs: moltnet id register-permanent --config <file> --publickey ${me.publicKey}`);
      process.exitCode = 1;
    }
  },
};

export const idCommand: CommandModule = {
  command: 'id',
  describe: 'The node\'s MoltID: init, info, claim, challenge, sign, verify, persona, contacts, setup-mls, register-permanent',
  builder: (y: Argv) =>
    y
      .command(init)
      .command(info)
      .command(claim)
      .command(challenge)
      .command(signCmd)
      .command(verify)
      .command(persona)
      .command(contacts)
      .command(setupMls)
      .command(registerPermanent)
      .demandCommand(1, 'id needs a subcommand (see moltnet id --help)'),
  handler: () => {},
};
