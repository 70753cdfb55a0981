import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { toHex } from '../../src/controlplane/identity/moltid.js';
import { MinimaStub } from '../helpers/minima-stub.js';

const BIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const UUID = 'daa46e88-46c5-4af7-9268-1482c54c1922';
const ADDR = 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'moltid-cli-'));
});
after(() => rm(dir, { recursive: true, force: true }));

async function moltnet(args: string[], opts: { input?: string; env?: Record<string, string> } = {}) {
  const r = await execa('node', [BIN, ...args], {
    reject: false,
    stripFinalNewline: false,
    timeout: 20_000,
    input: opts.input ?? '',
    env: { MOLTNET_DEBUG: '', AUTO_DETECT_MLS: '', PREFER_SOVEREIGN_MLS: '', COMMUNITY_MLS_HOST: '', P2P_PORT: '', ...opts.env },
  });
  return { code: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

function oneLine(r: { stdout: string; stderr: string }, re: RegExp): void {
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^moltnet: /);
  assert.match(lines[0]!, re);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

async function config(name: string, extra = ''): Promise<string> {
  const f = join(dir, `${name}.yaml`);
  await writeFile(f, `# test config\nuuid: ${UUID}\nstateDir: ./${name}-state\n${extra}`);
  return f;
}

describe('cli: moltnet id (builtin)', () => {
  let cfg: string;
  before(async () => {
    cfg = await config('b', 'name: agenticmesh\n');
  });

  it('init --yes makes the key (0600 in a 0700 directory) and prints the card; a second init keeps it', async () => {
    const r = await moltnet(['id', 'init', '--config', cfg, '--yes']);
    assert.equal(r.code, 0, r.stderr);
    const card = JSON.parse(r.stdout);
    assert.match(card.moltid, /^MOLTID:0x302A300506032B6570032100[0-9A-F]{64}$/);
    assert.equal(card.publickey, card.moltid.slice(7));
    assert.equal(card.name, 'agenticmesh');
    assert.equal(card.address, ADDR);
    assert.equal(card.uuid, UUID);
    assert.equal(card.staticmls, false);
    assert.equal(card.permanent, null);
    assert.equal((await stat(join(dir, 'b-state'))).mode & 0o777, 0o700);
    assert.equal((await stat(join(dir, 'b-state', 'moltid-ed25519.pem'))).mode & 0o777, 0o600);
    const again = await moltnet(['id', 'init', '--config', cfg, '--yes']);
    assert.equal(JSON.parse(again.stdout).moltid, card.moltid);
    const info = await moltnet(['id', 'info', '--config', cfg]);
    assert.equal(info.code, 0, info.stderr);
    assert.deepEqual(JSON.parse(info.stdout), card);
  });

  it('init without a terminal and without --yes: a clear error, no hang', async () => {
    const r = await moltnet(['id', 'init', '--config', cfg]);
    assert.equal(r.code, 2);
    oneLine(r, /not a terminal.*--yes/);
  });

  it('challenge: 0x + 64 hex digits, fresh each time', async () => {
    const a = await moltnet(['id', 'challenge']);
    const b = await moltnet(['id', 'challenge']);
    assert.match(a.stdout, /^0x[0-9A-F]{64}\n$/);
    assert.notEqual(a.stdout, b.stdout);
  });

  it('sign and verify: exit 0 valid, 1 invalid, 2 malformed', async () => {
    const card = JSON.parse((await moltnet(['id', 'info', '-c', cfg])).stdout);
    for (const data of ['hello world', '0xDEADBEEF']) {
      const s = await moltnet(['id', 'sign', data, '--config', cfg]);
      assert.equal(s.code, 0, s.stderr);
      assert.match(s.stdout, /^0x[0-9A-F]{128}\n$/);
      const sig = s.stdout.trim();
      const ok = await moltnet(['id', 'verify', '--data', data, '--publickey', card.moltid, '--signature', sig]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, 'valid\n');
      const ok2 = await moltnet(['id', 'verify', '--data', data, '--publickey', card.publickey, '--signature', sig]);
      assert.equal(ok2.code, 0);
      const bad = await moltnet(['id', 'verify', '--data', `${data}00`, '--publickey', card.publickey, '--signature', sig]);
      assert.equal(bad.code, 1);
      assert.equal(bad.stdout, 'invalid\n');
    }
    const sig = (await moltnet(['id', 'sign', 'x', '-c', cfg])).stdout.trim();
    const badKey = await moltnet(['id', 'verify', '--data', 'x', '--publickey', '0x1234', '--signature', sig]);
    assert.equal(badKey.code, 2);
    oneLine(badKey, /public key is not a DER SubjectPublicKeyInfo/);
    const badSig = await moltnet(['id', 'verify', '--data', 'x', '--publickey', card.publickey, '--signature', 'zz']);
    assert.equal(badSig.code, 2);
    oneLine(badSig, /signature must be 0x/);
    const badData = await moltnet(['id', 'verify', '--data', '0xABC', '--publickey', card.publickey, '--signature', sig]);
    assert.equal(badData.code, 2);
    oneLine(badData, /data has an odd number of hex digits/);
  });

  it('verify an RSA signature made by openssl as Maxima signs', async () => {
    const key = join(dir, 'rsa.pem');
    execFileSync('openssl', ['genrsa', '-out', key, '2048'], { stdio: 'ignore' });
    const pub = execFileSync('openssl', ['rsa', '-in', key, '-pubout', '-outform', 'DER'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const data = join(dir, 'challenge.bin');
    const challenge = Buffer.alloc(32, 7);
    await writeFile(data, challenge);
    const sig = execFileSync('openssl', ['dgst', '-sha256', '-sign', key, data]);
    const r = await moltnet(['id', 'verify', '--data', toHex(challenge), '--publickey', `MOLTID:${toHex(pub)}`, '--signature', toHex(sig)]);
    assert.equal(r.code, 0, r.stderr);
  });

  it('claim: exit 1 naming the failing conditions', async () => {
    const r = await moltnet(['id', 'claim', '--config', cfg]);
    assert.equal(r.code, 1);
    const out = JSON.parse(r.stdout);
    assert.equal(out.claimed, false);
    assert.match(r.stderr, /not claimed: staticmls/);
    assert.match(r.stderr, /not claimed: permanent/);
    assert.doesNotMatch(r.stderr, /not claimed: proof/);
  });

  it('persona create and verify; a tampered persona is invalid (1), a malformed one exit 2', async () => {
    const r = await moltnet(['id', 'persona', 'create', '--config', cfg, '--handle', 'researcher', '--tag', 'defi', '--tag', 'ml']);
    assert.equal(r.code, 0, r.stderr);
    const p = JSON.parse(r.stdout);
    assert.deepEqual(p.tags, ['defi', 'ml']);
    assert.deepEqual(p.policy, { linked_to_root: true });
    const f = join(dir, 'persona.json');
    await writeFile(f, r.stdout);
    assert.equal((await moltnet(['id', 'persona', 'verify', f])).code, 0);
    assert.equal((await moltnet(['id', 'persona', 'verify', '-'], { input: r.stdout })).code, 0);
    await writeFile(f, JSON.stringify({ ...p, handle: 'impostor' }));
    assert.equal((await moltnet(['id', 'persona', 'verify', f])).code, 1);
    await writeFile(f, '{"handle": 1}');
    const bad = await moltnet(['id', 'persona', 'verify', f]);
    assert.equal(bad.code, 2);
    oneLine(bad, /bad persona/);
  });

  it('contacts lockdown, contacts list, setup-mls, register-permanent need the Minima backend', async () => {
    for (const args of [['contacts', 'lockdown'], ['contacts', 'list'], ['setup-mls'], ['register-permanent']]) {
      const r = await moltnet(['id', ...args, '--config', cfg]);
      assert.equal(r.code, 2, args.join(' '));
      oneLine(r, /needs the Minima backend/);
    }
  });

  it('the allow list works with the builtin key too (locked-down agent RPC reads it)', async () => {
    const other = toHex(generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }));
    const add = await moltnet(['id', 'contacts', 'allow', 'add', `MOLTID:${other}`, '--config', cfg]);
    assert.equal(add.code, 0, add.stderr);
    assert.deepEqual(JSON.parse(add.stdout), { key: other, added: true });
    assert.deepEqual(JSON.parse((await moltnet(['id', 'contacts', 'allow', 'list', '--config', cfg])).stdout), { allowed: [other] });
    assert.equal((await moltnet(['id', 'contacts', 'allow', 'remove', other, '--config', cfg])).code, 0);
    assert.deepEqual(JSON.parse((await moltnet(['id', 'contacts', 'allow', 'list', '--config', cfg])).stdout), { allowed: [] });
    const junk = await moltnet(['id', 'contacts', 'allow', 'add', '0x1234', '--config', cfg]);
    assert.equal(junk.code, 2);
    oneLine(junk, /public key/);
  });
});

describe('cli: moltnet id (minima, against a stub Minima RPC)', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const SELF = 'MxG18HSELF@127.0.0.1:9001';
  const stub = new MinimaStub({ privateKey: rsa.privateKey, p2pIdentity: SELF, password: 'pw' });
  let cfg: string;
  const env = { MINIMA_PASSWORD: 'pw' };
  before(async () => {
    await stub.start();
    cfg = await config('m', `identity:\n  minima: { url: "${stub.url}" }\n`);
  });
  after(() => stub.stop());

  it('init --backend minima --yes: writes the backend to the config, sets the community MLS, locks down contacts', async () => {
    stub.setStarting(2);
    const r = await moltnet(['id', 'init', '--config', cfg, '--backend', 'minima', '--yes'], { env: { ...env, COMMUNITY_MLS_HOST: 'MxCOMMUNITY@198.51.100.7:9001' } });
    assert.equal(r.code, 0, r.stderr);
    const text = await readFile(cfg, 'utf8');
    assert.match(text, /^# test config/);
    assert.match(text, /backend: minima/);
    assert.match(r.stderr, /MLS auto-detection: community \(127\.0\.0\.1 is loopback/);
    assert.match(r.stderr, /operator of MLS MxCOMMUNITY@198\.51\.100\.7:9001 runs/);
    const card = JSON.parse(r.stdout);
    assert.equal(card.moltid, `MOLTID:${stub.publicKey}`);
    assert.equal(card.keytype, 'rsa');
    assert.equal(card.staticmls, true);
    assert.equal(card.mls, 'MxCOMMUNITY@198.51.100.7:9001');
    assert.equal(card.permanent, `MAX#${stub.publicKey}#MxCOMMUNITY@198.51.100.7:9001`);
    assert.equal(stub.allowAll, false);
  });

  it('wrong password: a clear error', async () => {
    const r = await moltnet(['id', 'info', '--config', cfg], { env: { MINIMA_PASSWORD: 'wrong' } });
    assert.equal(r.code, 1);
    oneLine(r, /refused the credentials/);
  });

  it('setup-mls with a host, then register-permanent on its own MLS, then claim succeeds', async () => {
    const s = await moltnet(['id', 'setup-mls', SELF, '--config', cfg], { env });
    assert.equal(s.code, 0, s.stderr);
    assert.equal(stub.mls, SELF);
    const reg = await moltnet(['id', 'register-permanent', '--config', cfg], { env });
    assert.equal(reg.code, 0, reg.stderr);
    assert.deepEqual(JSON.parse(reg.stdout), { permanent: `MAX#${stub.publicKey}#${SELF}`, mls: SELF, selfMls: true, registered: true });
    const c = await moltnet(['id', 'claim', '--config', cfg], { env });
    assert.equal(c.code, 0, c.stderr);
    assert.equal(JSON.parse(c.stdout).claimed, true);
  });

  it('setup-mls with nothing detectable and no host: exit 2 saying what to give', async () => {
    const r = await moltnet(['id', 'setup-mls', '--config', cfg, '--yes'], { env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no MLS host detected .*loopback/);
  });

  it('sign through maxsign verifies offline; the verify command is offline', async () => {
    const s = await moltnet(['id', 'sign', 'hello', '--config', cfg], { env });
    assert.equal(s.code, 0, s.stderr);
    const v = await moltnet(['id', 'verify', '--data', 'hello', '--publickey', `MOLTID:${stub.publicKey}`, '--signature', s.stdout.trim()]);
    assert.equal(v.code, 0, v.stderr);
  });

  it('contacts: allow add / list / remove, kept in stateDir and re-applied', async () => {
    const other = toHex(generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }));
    const add = await moltnet(['id', 'contacts', 'allow', 'add', `MOLTID:${other}`, '--config', cfg], { env });
    assert.equal(add.code, 0, add.stderr);
    assert.deepEqual(stub.allowed, [other]);
    const list = await moltnet(['id', 'contacts', 'allow', 'list', '--config', cfg], { env });
    assert.deepEqual(JSON.parse(list.stdout).allowed, [other]);
    assert.equal((await stat(join(dir, 'm-state', 'moltid-allowed.json'))).mode & 0o777, 0o600);
    stub.allowed.length = 0; // the node restarted: Maxima forgot its allow list
    stub.allowAll = true;
    const apply = await moltnet(['id', 'contacts', 'apply', '--config', cfg], { env });
    assert.equal(apply.code, 0, apply.stderr);
    assert.deepEqual(stub.allowed, [other]);
    assert.equal(stub.allowAll, false);
    const rm = await moltnet(['id', 'contacts', 'allow', 'remove', other, '--config', cfg], { env });
    assert.equal(rm.code, 0, rm.stderr);
    assert.deepEqual(stub.allowed, []);
    assert.equal((await moltnet(['id', 'contacts', 'list', '--config', cfg], { env })).code, 0);
  });
});

describe('scripts/moltid: the seed\'s nine scripts over moltnet id', () => {
  const SCRIPTS = fileURLToPath(new URL('../../../scripts/moltid/', import.meta.url));
  const NAMES = ['init', 'setup_mls', 'register_permanent', 'lockdown_contacts', 'claim', 'info', 'challenge', 'sign', 'verify'];
  let cfg: string;
  before(async () => {
    cfg = await config('s');
  });
  async function script(name: string, args: string[] = [], extraEnv: Record<string, string> = {}) {
    const r = await execa(join(SCRIPTS, `moltid_${name}.sh`), args, {
      reject: false,
      timeout: 20_000,
      env: { MOLTNET_CONFIG: cfg, MOLTNET_BIN: `node ${BIN}`, MOLTNET_DEBUG: '', ...extraEnv },
    });
    return { code: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
  }

  it('all nine exist and are executable', async () => {
    for (const n of NAMES) assert.equal((await stat(join(SCRIPTS, `moltid_${n}.sh`))).mode & 0o111, 0o111, n);
  });

  it('init, info, challenge, sign, verify, claim work as the seed documents them', async () => {
    assert.equal((await script('init', ['--yes'])).code, 0);
    const card = JSON.parse((await script('info')).stdout);
    const challenge = (await script('challenge')).stdout.trim();
    assert.match(challenge, /^0x[0-9A-F]{64}$/);
    const sig = (await script('sign', [challenge])).stdout.trim();
    assert.equal((await script('verify', [challenge, card.moltid, sig])).code, 0);
    assert.equal((await script('verify', [challenge, card.publickey, sig.replace(/.$/, (c) => (c === '0' ? '1' : '0'))])).code, 1);
    assert.equal((await script('verify', [challenge])).code, 2);
    assert.equal((await script('sign')).code, 2);
    assert.equal((await script('claim')).code, 1);
    const mls = await script('setup_mls');
    assert.equal(mls.code, 2);
    assert.match(mls.stderr, /needs the Minima backend/);
  });
});
