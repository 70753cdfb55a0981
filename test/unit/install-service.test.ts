/**
 * `moltnet install-service`: the unit it writes (through the CLI, --dry-run and --unit-dir <temp dir>),
 * checked line by line and by `systemd-analyze verify`; its readiness check run against a control
 * socket; systemctl driven through a fake host; the launchd plist parsed; bad flags refused; and the
 * files in packaging/ kept identical to what the installer writes for the default paths.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { stringify } from 'yaml';
import {
  EXAMPLE_PATHS,
  installService,
  planService,
  renderLaunchdPlist,
  renderSystemdUnit,
  type InstallHost,
} from '../../src/cli/commands/install-service.js';
import { parseConfig } from '../../src/config/load.js';
import { ControlServer } from '../../src/daemon/control-server.js';
import { silentLogger } from '../../src/common/log.js';

/** dist/test/unit/install-service.test.js -> dist/src/cli/main.js, and the repository's packaging/. */
const BIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const PACKAGING = fileURLToPath(new URL('../../../packaging/', import.meta.url));
const UUID = 'daa46e88-46c5-4af7-9268-1482c54c1922';

async function moltnet(...args: string[]) {
  const r = await execa(process.execPath, [BIN, ...args], { reject: false, stripFinalNewline: false, timeout: 20_000, env: { MOLTNET_DEBUG: '' } });
  return { code: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** The value(s) of a directive in a unit's text. */
function directive(unit: string, key: string): string[] {
  return unit
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));
}

function one(unit: string, key: string): string {
  const v = directive(unit, key);
  assert.equal(v.length, 1, `${key}= once, got ${JSON.stringify(v)}`);
  return v[0]!;
}

function fakeHost(o: { running: boolean; reads: boolean }) {
  const calls: string[][] = [];
  const said: string[] = [];
  const out: string[] = [];
  const host: InstallHost = {
    systemdRunning: () => o.running,
    systemdReads: () => o.reads,
    run: async (cmd, args) => void calls.push([cmd, ...args]),
    stdout: (t) => void out.push(t),
    say: (t) => void said.push(t),
    note: (t) => void said.push(t),
  };
  return { host, calls, said, out };
}

describe('install-service', () => {
  let dir: string;
  let config: string;
  let node: string;
  let cli: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'moltnet-install-'));
    config = join(dir, 'moltnet.yaml');
    await writeFile(config, stringify({ uuid: UUID, stateDir: '/var/lib/moltnet', controlSocket: '/run/moltnet/moltnet.sock' }));
    node = await realpath(process.execPath);
    cli = await realpath(BIN);
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('--dry-run prints the unit and writes nothing', async () => {
    const r = await moltnet('install-service', '--config', config, '--dry-run', '--unit-dir', dir);
    assert.equal(r.code, 0, r.stderr);
    const unit = r.stdout;
    assert.equal(one(unit, 'ExecStart'), `${node} ${cli} up --config ${config}`);
    assert.equal(one(unit, 'Type'), 'exec');
    assert.equal(one(unit, 'StateDirectory'), 'moltnet');
    assert.equal(one(unit, 'RuntimeDirectory'), 'moltnet wireguard');
    assert.equal(one(unit, 'AmbientCapabilities'), 'CAP_NET_ADMIN CAP_NET_BIND_SERVICE');
    assert.equal(one(unit, 'CapabilityBoundingSet'), 'CAP_NET_ADMIN CAP_NET_BIND_SERVICE');
    assert.equal(one(unit, 'ProtectSystem'), 'strict');
    assert.equal(one(unit, 'ProtectHome'), 'yes');
    // The config is in a temp dir: a private /tmp would hide it.
    assert.equal(one(unit, 'PrivateTmp'), 'no');
    assert.equal(one(unit, 'NoNewPrivileges'), 'yes');
    assert.equal(one(unit, 'DeviceAllow'), '/dev/net/tun rw');
    assert.equal(one(unit, 'Restart'), 'on-failure');
    assert.equal(one(unit, 'ExecReload'), `${node} ${cli} reload --socket /run/moltnet/moltnet.sock`);
    assert.deepEqual(directive(unit, 'ReadWritePaths'), []);
    assert.match(one(unit, 'ExecStartPost'), /^\/bin\/sh -c '.* show status --json --socket \/run\/moltnet\/moltnet\.sock .*'$/);
    assert.match(r.stderr, /PrivateTmp=no/);
    assert.match(r.stderr, new RegExp(`would write ${join(dir, 'moltnet.service')}`));
    assert.equal(existsSync(join(dir, 'moltnet.service')), false);
  });

  it('--unit-dir writes the same unit (0644), says systemd is not running, and again is "unchanged"', async (t) => {
    const units = join(dir, 'units');
    await mkdir(units);
    const dry = await moltnet('install-service', '--config', config, '--dry-run', '--unit-dir', units);
    const r = await moltnet('install-service', '--config', config, '--unit-dir', units);
    assert.equal(r.code, 0, r.stderr);
    const file = join(units, 'moltnet.service');
    assert.equal(await readFile(file, 'utf8'), dry.stdout);
    assert.equal((await stat(file)).mode & 0o777, 0o644);
    assert.match(r.stdout, new RegExp(`^note: PrivateTmp=no.*\nwrote ${file}\n`));
    if (existsSync('/run/systemd/system')) t.diagnostic('systemd runs here: the "not running" message is not checked');
    else assert.match(r.stdout, /systemd is not running on this host \(no \/run\/systemd\/system\): the unit was written, nothing was enabled\.\non a systemd host: systemctl daemon-reload && systemctl enable --now moltnet\.service\n$/);
    const again = await moltnet('install-service', '--config', config, '--unit-dir', units);
    assert.match(again.stdout, new RegExp(`unchanged ${file}`));
    const rm1 = await moltnet('install-service', '--uninstall', '--unit-dir', units);
    assert.equal(rm1.code, 0, rm1.stderr);
    assert.match(rm1.stdout, /^removed .*moltnet\.service\. The state directory is kept\.\n$/);
    assert.equal(existsSync(file), false);
    const rm2 = await moltnet('install-service', '--uninstall', '--unit-dir', units);
    assert.equal(rm2.code, 0);
    assert.match(rm2.stdout, /does not exist: nothing to remove/);
  });

  it('the written unit passes systemd-analyze verify', async (t) => {
    const which = spawnSync('sh', ['-c', 'command -v systemd-analyze']);
    if (which.status !== 0) {
      t.skip('systemd-analyze is not installed here');
      return;
    }
    // verify reads the unit offline (no systemd as PID 1 needed); it checks that ExecStart's binaries exist.
    const units = join(dir, 'verify');
    await mkdir(units);
    const r = await moltnet('install-service', '--config', config, '--unit-dir', units);
    assert.equal(r.code, 0, r.stderr);
    const v = spawnSync('systemd-analyze', ['verify', join(units, 'moltnet.service')], { encoding: 'utf8', timeout: 30_000 });
    const about = v.stderr.split('\n').filter((l) => l.includes('moltnet.service'));
    assert.equal(v.status, 0, v.stderr);
    assert.deepEqual(about, [], `systemd-analyze verify warned:\n${v.stderr}`);
  });

  it('stateDir and controlSocket elsewhere: ReadWritePaths (made at install), no StateDirectory', async () => {
    const state = join(dir, 'elsewhere', 'state');
    const sockDir = join(dir, 'elsewhere', 'sock');
    const cfgPath = join(dir, 'elsewhere.yaml');
    await writeFile(cfgPath, stringify({ uuid: UUID, stateDir: state, controlSocket: join(sockDir, 'm.sock') }));
    const units = join(dir, 'units2');
    await mkdir(units);
    const r = await moltnet('install-service', '--config', cfgPath, '--unit-dir', units);
    assert.equal(r.code, 0, r.stderr);
    const unit = await readFile(join(units, 'moltnet.service'), 'utf8');
    assert.deepEqual(directive(unit, 'StateDirectory'), []);
    assert.equal(one(unit, 'RuntimeDirectory'), 'wireguard');
    assert.equal(one(unit, 'ReadWritePaths'), `${state} ${sockDir}`);
    assert.equal((await stat(state)).mode & 0o777, 0o700);
    assert.ok((await stat(sockDir)).isDirectory());
    assert.match(r.stdout, /ReadWritePaths=/);
  });

  it('a kernel link in a netns adds CAP_SYS_ADMIN (and says why); homes are read-only, not hidden', () => {
    const cfg = parseConfig(stringify({ uuid: UUID, kernelLinks: [{ name: 'mlink0', netns: 'gw', address: 'fe80::1/64' }] }));
    const plan = planService(cfg, { node: '/home/me/.nvm/node', cli: '/opt/moltnet/dist/src/cli/main.js', config: '/etc/moltnet.yaml' });
    const unit = renderSystemdUnit(plan);
    assert.equal(one(unit, 'CapabilityBoundingSet'), 'CAP_NET_ADMIN CAP_NET_BIND_SERVICE CAP_SYS_ADMIN');
    assert.equal(one(unit, 'AmbientCapabilities'), 'CAP_NET_ADMIN CAP_NET_BIND_SERVICE CAP_SYS_ADMIN');
    assert.equal(one(unit, 'RestrictNamespaces'), 'mnt net');
    assert.deepEqual(directive(unit, 'ProtectKernelTunables'), []);
    assert.equal(one(unit, 'ProtectHome'), 'read-only');
    assert.equal(one(unit, 'PrivateTmp'), 'yes');
    assert.ok(plan.notes.some((n) => n.includes('CAP_SYS_ADMIN')));
    const plain = renderSystemdUnit(planService(parseConfig(`uuid: ${UUID}\n`), EXAMPLE_PATHS));
    assert.equal(one(plain, 'RestrictNamespaces'), 'yes');
    assert.equal(one(plain, 'ProtectKernelTunables'), 'yes');
  });

  it('the readiness check waits for "state": "up" on the control socket, and only for that', async () => {
    const sock = join(dir, 'ready.sock');
    const plan = planService(parseConfig(stringify({ uuid: UUID, controlSocket: sock, stateDir: join(dir, 'rs') })), { node, cli, config });
    const line = one(renderSystemdUnit(plan), 'ExecStartPost');
    const m = /^\/bin\/sh -c '([^']*)'$/.exec(line);
    assert.ok(m, line);
    const script = m[1]!;
    // systemd would expand $ and % and unescape \ inside the quotes: none may appear.
    assert.doesNotMatch(script, /[$%\\']/);
    let calls = 0;
    let state = 'starting';
    const server = new ControlServer(sock, (method, params) => {
      assert.equal(method, 'show');
      assert.equal(params['what'], 'status');
      calls++;
      // A nested "state" must not count: only the top-level field.
      return { version: 'x', state: calls >= 3 ? state : 'starting', links: [{ state: 'up' }] };
    }, silentLogger());
    await server.start();
    const runCheck = (ms: number) =>
      new Promise<number | null>((resolve) => {
        const child = spawn('/bin/sh', ['-c', script], { stdio: 'ignore' });
        const timer = setTimeout(() => child.kill('SIGKILL'), ms);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve(code);
        });
      });
    try {
      state = 'up';
      const t0 = Date.now();
      assert.equal(await runCheck(20_000), 0);
      assert.ok(calls >= 3, `asked ${calls} times`);
      process.stdout.write(`# readiness check: up after ${calls} polls, ${Date.now() - t0} ms\n`);
      state = 'stopping';
      calls = 0;
      // Each poll starts the CLI (about a second on a busy machine): give it time for a few.
      assert.equal(await runCheck(6000), null, 'a daemon that never says up: the check keeps waiting (TimeoutStartSec ends it)');
      assert.ok(calls >= 1, `asked ${calls} times`);
    } finally {
      await server.stop();
    }
    // No daemon at all: it keeps waiting too, and does not fail at once.
    assert.equal(await runCheck(1500), null);
  });

  it('with systemd running it runs daemon-reload and enable; --uninstall disables, removes, reloads', async () => {
    const units = join(dir, 'units3');
    await mkdir(units);
    const f = fakeHost({ running: true, reads: true });
    await installService({ config, unitDir: units, dryRun: false, uninstall: false }, f.host);
    assert.deepEqual(f.calls, [['systemctl', 'daemon-reload'], ['systemctl', 'enable', 'moltnet.service']]);
    assert.match(f.said.at(-1)!, /^enabled moltnet\.service; start it with: systemctl start moltnet\.service/);
    await installService({ config, unitDir: units, dryRun: false, uninstall: false }, f.host);
    assert.match(f.said.at(-1)!, /systemctl restart moltnet\.service/);
    f.calls.length = 0;
    await installService({ config, unitDir: units, dryRun: false, uninstall: true }, f.host);
    assert.deepEqual(f.calls, [['systemctl', 'disable', '--now', 'moltnet.service'], ['systemctl', 'daemon-reload']]);
    assert.equal(existsSync(join(units, 'moltnet.service')), false);
    // A directory systemd does not read: written, not enabled, and said so.
    const g = fakeHost({ running: true, reads: false });
    await installService({ config, unitDir: units, dryRun: false, uninstall: false }, g.host);
    assert.deepEqual(g.calls, []);
    assert.match(g.said.at(-1)!, /systemd does not load units from .*: nothing was enabled/);
    // --dry-run runs nothing.
    const d = fakeHost({ running: true, reads: true });
    await installService({ config, unitDir: units, dryRun: true, uninstall: false }, d.host);
    assert.deepEqual(d.calls, []);
    assert.match(d.out.join(''), /^# MoltNet/);
    assert.ok(d.said.includes('would run: systemctl daemon-reload; systemctl enable moltnet.service'));
  });

  it('macOS: writes a launchd plist that parses (not loaded: untested)', async (t) => {
    const units = join(dir, 'launchd');
    await mkdir(units);
    const f = fakeHost({ running: false, reads: false });
    await installService({ config, unitDir: units, dryRun: false, uninstall: false, platform: 'darwin' }, f.host);
    assert.deepEqual(f.calls, []);
    const file = join(units, 'com.moltnet.daemon.plist');
    const text = await readFile(file, 'utf8');
    assert.match(text, /WRITTEN, NOT TESTED/);
    assert.match(f.said.join('\n'), /launchctl bootstrap system .*not run/);
    const py = spawnSync('python3', ['-c', 'import json,plistlib,sys; print(json.dumps(plistlib.load(open(sys.argv[1], "rb"))))', file], { encoding: 'utf8' });
    if (py.status !== 0 && /not found|No such file/.test(py.stderr + String(py.error ?? ''))) {
      t.skip('python3 (plistlib) is not here to parse the plist');
      return;
    }
    assert.equal(py.status, 0, py.stderr);
    const plist = JSON.parse(py.stdout) as { Label: string; ProgramArguments: string[]; KeepAlive: { SuccessfulExit: boolean } };
    assert.equal(plist.Label, 'com.moltnet.daemon');
    assert.deepEqual(plist.ProgramArguments, [node, cli, 'up', '--config', config]);
    assert.deepEqual(plist.KeepAlive, { SuccessfulExit: false });
  });

  it('bad flags and configs: one clear line, exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['--config', config, '--unit-dir', join(dir, 'nope')], /--unit-dir .*nope does not exist/],
      [['--config', config, '--unit-dir', config], /--unit-dir .* is not a directory/],
      [['--config', config, '--unit-dir', ''], /--unit-dir is empty|not enough arguments/i],
      [['--config', config, '--unit-dir', dir, '--bin', join(dir, 'no-such-cli.js')], /--bin .*no-such-cli\.js does not exist/],
      [['--config', config, '--unit-dir', dir, '--bin', config], /--bin .* is neither a \.js file nor executable/],
      [['--config', join(dir, 'missing.yaml'), '--unit-dir', dir], /config file .*missing\.yaml does not exist: write one first/],
      [['--config', config, '--unit-dir', dir, '--frobnicate'], /unknown argument/i],
    ];
    for (const [args, re] of cases) {
      const r = await moltnet('install-service', ...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^moltnet: /);
      assert.match(r.stderr, re, args.join(' '));
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
    // A flag without its value: yargs' own error, which runCli (src/cli/run.ts) exits 1 with, not 2.
    const noValue = await moltnet('install-service', '--config');
    assert.notEqual(noValue.code, 0);
    assert.equal(noValue.stderr, 'moltnet: Not enough arguments following: config\n');
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, stringify({ uuid: 'not-a-uuid' }));
    const r = await moltnet('install-service', '--config', bad, '--unit-dir', dir);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /uuid/);
    const spaced = join(dir, 'spaced.yaml');
    await writeFile(spaced, stringify({ uuid: UUID, stateDir: '/var/lib/molt net' }));
    const s = await moltnet('install-service', '--config', spaced, '--unit-dir', dir);
    assert.equal(s.code, 2);
    assert.match(s.stderr, /stateDir path "\/var\/lib\/molt net" must be absolute and use only/);
    const inRun = join(dir, 'inrun.yaml');
    await writeFile(inRun, stringify({ uuid: UUID, controlSocket: '/run/moltnet.sock' }));
    const q = await moltnet('install-service', '--config', inRun, '--unit-dir', dir);
    assert.equal(q.code, 2);
    assert.match(q.stderr, /sits in \/run itself/);
  });

  it('packaging/ holds exactly what the installer writes for the default paths', async () => {
    const plan = planService(parseConfig(`uuid: ${UUID}\n`), EXAMPLE_PATHS);
    assert.equal(await readFile(join(PACKAGING, 'systemd', 'moltnet.service'), 'utf8'), renderSystemdUnit(plan));
    assert.equal(await readFile(join(PACKAGING, 'launchd', 'com.moltnet.daemon.plist'), 'utf8'), renderLaunchdPlist(plan));
  });
});
