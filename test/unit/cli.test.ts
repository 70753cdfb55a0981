import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { parse as parseYaml } from 'yaml';

/** The built bin: dist/test/unit/cli.test.js -> dist/src/cli/main.js */
const BIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const UUID = 'daa46e88-46c5-4af7-9268-1482c54c1922';
const ADDR = 'fd00:6d6f:6c74:daa4:6e88:46c5:4af7:9268';

async function moltnet(...args: string[]) {
  const r = await execa('node', [BIN, ...args], {
    reject: false,
    stripFinalNewline: false,
    timeout: 20_000,
    env: { MOLTNET_DEBUG: '' },
  });
  return { code: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** A one-line `moltnet: ...` on stderr, nothing on stdout, no stack trace. */
function assertOneLineError(r: { stdout: string; stderr: string }, re?: RegExp): void {
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^moltnet: /);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  if (re) assert.match(lines[0]!, re);
}

describe('cli: moltnet address', () => {
  it('prints the mesh address of a UUID', async () => {
    const r = await moltnet('address', UUID);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${ADDR}\n`);
    assert.equal(r.stderr, '');
  });

  it('maps the legacy 9-group form to the valid address', async () => {
    const r = await moltnet('address', 'fd00:6d6f:6c74:8883:3763:60b7:47db:8703:349c');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'fd00:6d6f:6c74:8883:3763:60b7:47db:8703\n');
  });

  it('a bare 32-digit UUID stays a string (not a number)', async () => {
    const r = await moltnet('address', '12345678123412341234123456789012');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'fd00:6d6f:6c74:1234:5678:1234:1234:1234\n');
  });

  it('--json', async () => {
    const r = await moltnet('address', UUID, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      address: ADDR,
      linkLocal: 'fe80::6e88:46c5:4af7:9268',
      uuidPrefix: 'daa46e88-46c5-4af7-9268',
      uuid: UUID,
    });
    const r2 = await moltnet('address', '--json', ADDR);
    assert.deepEqual(JSON.parse(r2.stdout), {
      address: ADDR,
      linkLocal: 'fe80::6e88:46c5:4af7:9268',
      uuidPrefix: 'daa46e88-46c5-4af7-9268',
    });
  });

  it('bad input: exit 2 and a one-line error naming it', async () => {
    const r = await moltnet('address', 'xyz');
    assert.equal(r.code, 2);
    assertOneLineError(r, /not a UUID or MoltNet address: "xyz"/);
  });

  it('an address outside the mesh prefix: exit 2', async () => {
    const r = await moltnet('address', 'fd00::1');
    assert.equal(r.code, 2);
    assertOneLineError(r, /outside the MoltNet prefix fd00:6d6f:6c74::\/48/);
  });

  it('missing argument: exit 2', async () => {
    const r = await moltnet('address');
    assert.equal(r.code, 2);
    assertOneLineError(r);
  });

  it('extra argument: exit 2', async () => {
    const r = await moltnet('address', UUID, UUID);
    assert.equal(r.code, 2);
    assertOneLineError(r, /unknown argument/i);
  });
});

describe('cli: usage errors', () => {
  it('unknown flag: exit 2', async () => {
    const r = await moltnet('address', UUID, '--bogus');
    assert.equal(r.code, 2);
    assertOneLineError(r, /unknown argument: bogus/i);
  });

  it('unknown command: exit 2', async () => {
    const r = await moltnet('frobnicate');
    assert.equal(r.code, 2);
    assertOneLineError(r, /frobnicate/);
  });

  it('no command: exit 2', async () => {
    const r = await moltnet();
    assert.equal(r.code, 2);
    assertOneLineError(r, /no command given/);
  });

  it('--help: exit 0 and lists the commands', async () => {
    const r = await moltnet('--help');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /moltnet address <uuid\|address>/);
    assert.match(r.stdout, /moltnet config/);
  });

  it('--version prints the package version', async () => {
    const r = await moltnet('--version');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^\d+\.\d+\.\d+/);
  });
});

describe('cli: moltnet config', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'moltnet-cli-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('check: a good file prints the defaulted config as YAML, exit 0', async () => {
    const file = join(dir, 'good.yaml');
    await writeFile(file, `uuid: ${UUID}\npeers:\n  - { name: clawdboy, uuid: 88833763-60b7-47db-8703-349c6b2c70ff, endpoint: "[fd00:1::2]" }\n`);
    const r = await moltnet('config', 'check', '--config', file);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^# mesh address: ${ADDR}\n`));
    const doc = parseYaml(r.stdout) as Record<string, unknown>;
    assert.equal(doc['uuid'], UUID);
    assert.deepEqual(doc['interface'], { name: 'molt0', mtu: 1380, offload: true, workers: 'auto', busyPollUs: 200 });
    assert.equal((doc['peers'] as { endpoint: string }[])[0]!.endpoint, '[fd00:1::2]:4789');
    // the output is itself a valid config
    const again = join(dir, 'again.yaml');
    await writeFile(again, r.stdout);
    const r2 = await moltnet('config', 'check', '-c', again);
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(r2.stdout, r.stdout);
  });

  it('check --json prints the config with derived fields', async () => {
    const file = join(dir, 'min.yaml');
    await writeFile(file, `uuid: ${UUID}\n`);
    const r = await moltnet('config', 'check', '--config', file, '--json');
    assert.equal(r.code, 0, r.stderr);
    const cfg = JSON.parse(r.stdout) as { address: string; ospf: { helloInterval: number } };
    assert.equal(cfg.address, ADDR);
    assert.equal(cfg.ospf.helloInterval, 10);
  });

  it('check: a bad file exits 2 with one line per problem, naming file and key', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, `uuid: ${UUID}\nbogus: 1\ninterface: { mtu: 99999 }\n`);
    const r = await moltnet('config', 'check', '--config', file);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 2, r.stderr);
    assert.ok(lines.includes(`moltnet: ${file}: interface.mtu: expected an integer from 1280 to 9000, got 99999`), r.stderr);
    assert.ok(lines.some((l) => l.startsWith(`moltnet: ${file}: bogus: unknown key`)), r.stderr);
  });

  it('check: a single problem is a single line', async () => {
    const file = join(dir, 'enum.yaml');
    await writeFile(file, `uuid: ${UUID}\npeers:\n  - { name: a, uuid: 88833763-60b7-47db-8703-349c6b2c70ff, endpoint: 192.0.2.1, link: ipip }\n`);
    const r = await moltnet('config', 'check', '--config', file);
    assert.equal(r.code, 2);
    assertOneLineError(r, /peers\[0\]\.link: expected one of vxlan\|gre\|wireguard, got "ipip"$/);
  });

  it('check: a missing file exits 2', async () => {
    const r = await moltnet('config', 'check', '--config', join(dir, 'missing.yaml'));
    assert.equal(r.code, 2);
    assertOneLineError(r, /cannot read config: no such file/);
  });

  it('check without --config exits 2', async () => {
    const r = await moltnet('config', 'check');
    assert.equal(r.code, 2);
    assertOneLineError(r, /config/);
  });

  it('example prints a config that check accepts', async () => {
    const r = await moltnet('config', 'example', '--uuid', UUID);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(ADDR));
    const file = join(dir, 'example.yaml');
    await writeFile(file, r.stdout);
    const r2 = await moltnet('config', 'check', '--config', file);
    assert.equal(r2.code, 0, r2.stderr);
  });

  it('example with a bad UUID exits 2', async () => {
    const r = await moltnet('config', 'example', '--uuid', 'nope');
    assert.equal(r.code, 2);
    assertOneLineError(r, /not a UUID: "nope"/);
  });

  it('config with no subcommand exits 2', async () => {
    const r = await moltnet('config');
    assert.equal(r.code, 2);
    assertOneLineError(r, /check or example/);
  });
});
