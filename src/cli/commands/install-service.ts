/**
 * `moltnet install-service`: the daemon as a system service.
 *
 *   Linux (systemd): writes <unit-dir>/moltnet.service with this host's absolute node and CLI paths and
 *   the config's state directory and control socket, then `systemctl daemon-reload` and
 *   `systemctl enable moltnet.service` when systemd runs (/run/systemd/system exists) and reads the
 *   unit directory; otherwise it says the unit was written and how to enable it.
 *   macOS (launchd): writes <unit-dir, default /Library/LaunchDaemons>/com.moltnet.daemon.plist and
 *   prints the launchctl command. The plist is written, never tested here (no macOS host).
 *
 * The unit's text is made here, not read from packaging/ at run time: the package's "files" do not ship
 * packaging/. packaging/systemd/moltnet.service and packaging/launchd/com.moltnet.daemon.plist are the
 * same renderings for the default paths, and a unit test keeps them identical to what this writes.
 *
 * What the unit grants, and why (see the comments in the unit itself):
 *   - CAP_NET_ADMIN (molt0, kernel links, wireguard-go's TUN, `ip`, SO_RCVBUFFORCE, resolvectl) and
 *     CAP_NET_BIND_SERVICE (mesh DNS on port 53), nothing else; CAP_SYS_ADMIN is added only when a
 *     kernel link names a netns, because `ip -n <netns>` enters the namespace with setns(2);
 *   - StateDirectory= for stateDir (keys, peer cache, pins, runtime peers) when it is under /var/lib,
 *     RuntimeDirectory= for the control socket when it is under /run, ReadWritePaths= otherwise.
 */
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { access, constants, mkdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandModule } from 'yargs';
import { InvalidInputError, SystemCommandError } from '../../common/errors.js';
import { loadConfig } from '../../config/load.js';
import type { MoltnetConfig } from '../../config/schema.js';

export const UNIT_NAME = 'moltnet.service';
export const LAUNCHD_LABEL = 'com.moltnet.daemon';
export const DEFAULT_CONFIG = '/etc/moltnet.yaml';
export const SYSTEMD_UNIT_DIR = '/etc/systemd/system';
export const LAUNCHD_DIR = '/Library/LaunchDaemons';
/** Where MOLTBOOK_API_KEY, MINIMA_PASSWORD and the like go: the unit reads it when it exists. */
export const ENVIRONMENT_FILE = '/etc/default/moltnet';
/** The directories systemd loads system units from: only there does `systemctl enable` find the unit. */
const SYSTEMD_SEARCH_PATH = ['/etc/systemd/system', '/run/systemd/system', '/usr/local/lib/systemd/system', '/usr/lib/systemd/system', '/lib/systemd/system'];
/** How long the readiness check and the rest of the start may take. */
export const START_TIMEOUT_SECONDS = 90;
/**
 * The paths of packaging/systemd/moltnet.service and packaging/launchd/com.moltnet.daemon.plist: a
 * global npm install (`npm install -g moltnet` with Debian's node) and the default config.
 */
export const EXAMPLE_PATHS = { node: '/usr/bin/node', cli: '/usr/lib/node_modules/moltnet/dist/src/cli/main.js', config: DEFAULT_CONFIG };
/** Characters a path may have to go into a unit (and a shell command line) unquoted. */
const SAFE_PATH = /^\/[A-Za-z0-9._/+@:,=~-]*$/;

/** The capabilities the daemon runs with, for a config. */
export function serviceCapabilities(cfg: Pick<MoltnetConfig, 'kernelLinks'>): string[] {
  const caps = ['CAP_NET_ADMIN', 'CAP_NET_BIND_SERVICE'];
  if (cfg.kernelLinks.some((k) => k.netns !== undefined)) caps.push('CAP_SYS_ADMIN');
  return caps;
}

/** Everything that goes into the unit or the plist, with absolute paths. */
export interface ServicePlan {
  node: string;
  /** The CLI: a .js file run by node, or an executable run directly. */
  cli: string;
  config: string;
  stateDir: string;
  controlSocket: string;
  capabilities: string[];
  /** StateDirectory= (relative to /var/lib), or undefined when stateDir is elsewhere. */
  stateDirectory: string | undefined;
  /** RuntimeDirectory= entry for the socket (relative to /run), or undefined. */
  runtimeDirectory: string | undefined;
  /** Directories the daemon writes outside StateDirectory/RuntimeDirectory: made at install. */
  readWritePaths: string[];
  protectHome: 'yes' | 'read-only';
  privateTmp: boolean;
  /** One line each: what was adjusted from the defaults, and why. */
  notes: string[];
}

export function planService(cfg: MoltnetConfig, o: { node: string; cli: string; config: string }): ServicePlan {
  const notes: string[] = [];
  for (const [what, p] of [['node', o.node], ['CLI', o.cli], ['config', o.config], ['stateDir', cfg.stateDir], ['controlSocket', cfg.controlSocket]] as const) {
    if (!SAFE_PATH.test(p)) throw new InvalidInputError(`${what} path ${JSON.stringify(p)} must be absolute and use only letters, digits and ._/+@:,=~- to go into a unit file`);
  }
  const run = underDir(cfg.controlSocket, '/run') ?? underDir(cfg.controlSocket, '/var/run');
  const socketDir = dirname(cfg.controlSocket);
  let runtimeDirectory: string | undefined;
  const readWritePaths: string[] = [];
  const stateDirectory = underDir(cfg.stateDir, '/var/lib');
  if (stateDirectory === undefined) {
    readWritePaths.push(cfg.stateDir);
    notes.push(`stateDir ${cfg.stateDir} is not under /var/lib: ReadWritePaths=${cfg.stateDir} instead of StateDirectory=`);
  }
  if (run !== undefined) {
    runtimeDirectory = dirname(run);
    if (runtimeDirectory === '.') throw new InvalidInputError(`controlSocket ${cfg.controlSocket} sits in /run itself: put it in a directory of its own (e.g. /run/moltnet/moltnet.sock)`);
  } else if (!isWithin(socketDir, cfg.stateDir) && !readWritePaths.includes(socketDir)) {
    readWritePaths.push(socketDir);
    notes.push(`controlSocket ${cfg.controlSocket} is not under /run: ReadWritePaths=${socketDir}`);
  }
  const read = [o.node, o.cli, o.config, ...(isAbsolute(cfg.wireguard.binary) ? [cfg.wireguard.binary] : [])];
  const all = [...read, cfg.stateDir, cfg.controlSocket];
  const home = all.filter((p) => ['/home', '/root', '/run/user'].some((h) => isWithin(p, h)));
  const protectHome = home.length > 0 ? 'read-only' : 'yes';
  if (home.length > 0) notes.push(`ProtectHome=read-only, not yes: ${home.join(', ')} under a home directory`);
  const tmp = all.filter((p) => isWithin(p, '/tmp') || isWithin(p, '/var/tmp'));
  const privateTmp = tmp.length === 0;
  if (!privateTmp) notes.push(`PrivateTmp=no: ${tmp.join(', ')} under /tmp (a private /tmp would hide it)`);
  const capabilities = serviceCapabilities(cfg);
  if (capabilities.includes('CAP_SYS_ADMIN')) notes.push('CAP_SYS_ADMIN added: a kernel link names a netns, and `ip -n <netns>` enters it with setns(2)');
  return { node: o.node, cli: o.cli, config: o.config, stateDir: cfg.stateDir, controlSocket: cfg.controlSocket, capabilities, stateDirectory, runtimeDirectory, readWritePaths, protectHome, privateTmp, notes };
}

/** The command line that runs the CLI with these arguments. */
function cliArgv(p: ServicePlan, args: string[]): string[] {
  return /\.[cm]?js$/.test(p.cli) ? [p.node, p.cli, ...args] : [p.cli, ...args];
}

/** The readiness check: polls `show status --json` until the daemon says "state": "up". */
export function readinessScript(p: ServicePlan): string {
  const show = cliArgv(p, ['show', 'status', '--json', '--socket', p.controlSocket]).join(' ');
  // No $, %, \ or ' in here: systemd would expand or unquote them. The loop is bounded by TimeoutStartSec.
  return `until ${show} 2>/dev/null | grep -Eq "^  .state.: .up."; do sleep 0.5; done`;
}

export function renderSystemdUnit(p: ServicePlan): string {
  const caps = p.capabilities.join(' ');
  const netns = p.capabilities.includes('CAP_SYS_ADMIN');
  const runtimeDirs = [...new Set([...(p.runtimeDirectory !== undefined ? [p.runtimeDirectory] : []), 'wireguard'])].join(' ');
  const lines = [
    '# MoltNet: the mesh router daemon as a systemd service. Written by `moltnet install-service`',
    '# with this host\'s paths; run it again after moving node, the CLI or the config.',
    '# Logs: journald (`journalctl -u moltnet`), one JSON object a line: with no terminal the daemon',
    '# writes plain JSON lines to stderr, no pretty-printer and no colour codes.',
    '[Unit]',
    'Description=MoltNet userspace IPv6 mesh router',
    'After=network-online.target',
    'Wants=network-online.target',
    'StartLimitIntervalSec=120',
    'StartLimitBurst=5',
    '',
    '[Service]',
    '# Readiness: Type=exec with an ExecStartPost= check, not Type=notify. Node has no unix datagram',
    '# sockets for sd_notify, and `systemd-notify --ready` run by the daemon (NotifyAccess=all) is',
    '# racy: systemd before v254 may not tie a message from a process that has already exited to this',
    '# unit, and the start would time out. The check asks the daemon itself on its control socket',
    '# until `show status` says "up" (molt0, the links and the services are running); units ordered',
    `# After=moltnet.service start only then. TimeoutStartSec= bounds it; a daemon that dies fails it.`,
    'Type=exec',
    `ExecStart=${cliArgv(p, ['up', '--config', p.config]).join(' ')}`,
    `ExecStartPost=/bin/sh -c '${readinessScript(p)}'`,
    '# `moltnet reload` re-reads the config; a bad one is refused, and so is the reload.',
    `ExecReload=${cliArgv(p, ['reload', '--socket', p.controlSocket]).join(' ')}`,
    `TimeoutStartSec=${START_TIMEOUT_SECONDS}`,
    '# SIGTERM to the daemon only: it stops wireguard-go and closes molt0 itself; what is left after',
    '# TimeoutStopSec= is killed. After a crash or a SIGKILL nothing blocks the next start: the TUN',
    '# devices go with the process, a stale control socket is replaced, an orphaned wireguard-go (found',
    '# by its pid file in the state directory) is ended.',
    'KillMode=mixed',
    'TimeoutStopSec=20',
    'Restart=on-failure',
    'RestartSec=2',
    '# glibc keeps up to 8 malloc arenas per core, one per thread that allocates; two are enough (the',
    '# forwarding loop does not malloc) and save about 3 MiB resident. The file below may override it.',
    'Environment=MALLOC_ARENA_MAX=2',
    `# MOLTBOOK_API_KEY=..., MINIMA_PASSWORD=... (the names the config's *Env keys give), if any.`,
    `EnvironmentFile=-${ENVIRONMENT_FILE}`,
    'SyslogIdentifier=moltnet',
    '',
    '# State (identity keys, WireGuard key, peer cache, pinned peers, runtime peers) survives restarts',
    '# and reinstalls; the control socket lives in /run. /run/wireguard holds wireguard-go\'s UAPI',
    '# sockets and is shared with any other wireguard-go on the host, hence Preserve=yes.',
    ...(p.stateDirectory !== undefined ? [`StateDirectory=${p.stateDirectory}`, 'StateDirectoryMode=0700'] : []),
    `RuntimeDirectory=${runtimeDirs}`,
    'RuntimeDirectoryMode=0700',
    'RuntimeDirectoryPreserve=yes',
    ...(p.readWritePaths.length > 0 ? [`ReadWritePaths=${p.readWritePaths.join(' ')}`] : []),
    'UMask=0077',
    '',
    '# Root with only these capabilities: CAP_NET_ADMIN for molt0, the kernel links, wireguard-go and',
    '# `ip`; CAP_NET_BIND_SERVICE for the mesh DNS on port 53.',
    ...(netns ? ['# CAP_SYS_ADMIN: a kernel link names a netns, and `ip -n <netns>` enters it with setns(2).'] : []),
    `AmbientCapabilities=${caps}`,
    `CapabilityBoundingSet=${caps}`,
    '# Not granted: CAP_NET_RAW. Where ping carries file capabilities (Debian: cap_net_raw=ep) the kernel',
    '# refuses to run it without, so the MCP `diagnose` tool reports no ping; to have it, add',
    '# `CapabilityBoundingSet=CAP_NET_RAW` in a drop-in (systemctl edit moltnet).',
    'NoNewPrivileges=yes',
    '# The control-plane thread raises its own priority (nice -10) without CAP_SYS_NICE.',
    'LimitNICE=-10',
    '',
    'ProtectSystem=strict',
    `ProtectHome=${p.protectHome}`,
    ...(p.privateTmp ? ['PrivateTmp=yes'] : ['# Not private: a path of this service is under /tmp.', 'PrivateTmp=no']),
    'DevicePolicy=closed',
    'DeviceAllow=/dev/net/tun rw',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    ...(netns
      ? ['# `ip -n <netns>` makes a mount namespace and mounts that netns\'s /sys: no ProtectKernelTunables=.', 'RestrictNamespaces=mnt net']
      : ['ProtectKernelTunables=yes', 'RestrictNamespaces=yes']),
    'ProtectControlGroups=yes',
    'ProtectClock=yes',
    'ProtectHostname=yes',
    'LockPersonality=yes',
    'RestrictRealtime=yes',
    'RestrictSUIDSGID=yes',
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
    'SystemCallArchitectures=native',
    '# No MemoryDenyWriteExecute= (V8 compiles code) and no SystemCallFilter= (untested with libuv\'s',
    '# io_uring); no PrivateDevices= (it would hide /dev/net/tun).',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  ];
  return lines.join('\n') + '\n';
}

export function renderLaunchdPlist(p: ServicePlan): string {
  const s = (v: string) => `<string>${xmlEscape(v)}</string>`;
  const argv = cliArgv(p, ['up', '--config', p.config]).map((a) => `    ${s(a)}`);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<!--',
    '  MoltNet as a launchd daemon on macOS, written by `moltnet install-service`.',
    '  WRITTEN, NOT TESTED: MoltNet is developed and tested on Linux; no macOS host has loaded this file.',
    `  Load: sudo launchctl bootstrap system ${LAUNCHD_DIR}/${LAUNCHD_LABEL}.plist`,
    `  Unload: sudo launchctl bootout system/${LAUNCHD_LABEL}`,
    '  It runs as root (utun needs it); KeepAlive restarts it when it exits with a failure.',
    '  Logs: JSON lines in /var/log/moltnet.log (not rotated by this file).',
    '-->',
    '<plist version="1.0">',
    '<dict>',
    '  <key>Label</key>',
    `  ${s(LAUNCHD_LABEL)}`,
    '  <key>ProgramArguments</key>',
    '  <array>',
    ...argv,
    '  </array>',
    '  <key>RunAtLoad</key>',
    '  <true/>',
    '  <key>KeepAlive</key>',
    '  <dict>',
    '    <key>SuccessfulExit</key>',
    '    <false/>',
    '  </dict>',
    '  <key>ThrottleInterval</key>',
    '  <integer>5</integer>',
    '  <key>EnvironmentVariables</key>',
    '  <dict>',
    '    <key>PATH</key>',
    `    ${s('/opt/homebrew/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin')}`,
    '  </dict>',
    '  <key>StandardOutPath</key>',
    `  ${s('/var/log/moltnet.log')}`,
    '  <key>StandardErrorPath</key>',
    `  ${s('/var/log/moltnet.log')}`,
    '</dict>',
    '</plist>',
    '',
  ].join('\n');
}

export interface InstallOptions {
  config: string;
  unitDir?: string | undefined;
  bin?: string | undefined;
  dryRun: boolean;
  uninstall: boolean;
  /** Default: process.platform. */
  platform?: NodeJS.Platform;
  /** Default: process.execPath. */
  node?: string;
}

/** The system the installer acts on, behind one seam so tests can fake it. */
export interface InstallHost {
  /** systemd is PID 1 (/run/systemd/system exists). */
  systemdRunning(): boolean;
  /** systemd loads units from this directory. */
  systemdReads(dir: string): boolean;
  run(cmd: string, args: string[]): Promise<void>;
  /** Data (the unit with --dry-run). */
  stdout(text: string): void;
  /** What was done, what to do next (stdout). */
  say(text: string): void;
  /** The same with --dry-run (stderr, so that stdout is the unit alone). */
  note(text: string): void;
}

export const realHost: InstallHost = {
  systemdRunning: () => existsSync('/run/systemd/system'),
  systemdReads: (dir) => SYSTEMD_SEARCH_PATH.includes(dir),
  run: async (cmd, args) => {
    try {
      await execa(cmd, args, { timeout: 30_000 });
    } catch (err) {
      const e = err as { stderr?: string; shortMessage?: string };
      throw new SystemCommandError(`${cmd} ${args.join(' ')}: ${(e.stderr || e.shortMessage || String(err)).trim()}`);
    }
  },
  stdout: (t) => process.stdout.write(t),
  say: (t) => process.stdout.write(`${t}\n`),
  note: (t) => process.stderr.write(`${t}\n`),
};

export async function installService(o: InstallOptions, host: InstallHost = realHost): Promise<void> {
  const platform = o.platform ?? process.platform;
  if (platform !== 'linux' && platform !== 'darwin') throw new InvalidInputError(`install-service knows systemd (Linux) and launchd (macOS), not ${platform}`);
  const launchd = platform === 'darwin';
  const say = (t: string) => (o.dryRun ? host.note(t) : host.say(t));
  const dir = await unitDir(o.unitDir, launchd);
  const file = join(dir, launchd ? `${LAUNCHD_LABEL}.plist` : UNIT_NAME);
  const systemd = !launchd && host.systemdRunning() && host.systemdReads(dir);

  if (o.uninstall) {
    const present = existsSync(file);
    if (o.dryRun) {
      say(present ? `would remove ${file}` : `${file} does not exist: nothing to remove`);
      if (systemd) say(`would run: systemctl disable --now ${UNIT_NAME}; systemctl daemon-reload`);
      return;
    }
    if (launchd) say(`first: sudo launchctl bootout system/${LAUNCHD_LABEL} (not run: untested)`);
    if (systemd && present) await host.run('systemctl', ['disable', '--now', UNIT_NAME]);
    if (!present) {
      say(`${file} does not exist: nothing to remove`);
      return;
    }
    await rm(file).catch((err: NodeJS.ErrnoException) => {
      throw new SystemCommandError(`cannot remove ${file}: ${err.code === 'EACCES' ? 'permission denied (run it as root)' : err.message}`);
    });
    if (systemd) await host.run('systemctl', ['daemon-reload']);
    say(`removed ${file}${systemd ? `; ${UNIT_NAME} stopped and disabled` : ''}. The state directory is kept.`);
    return;
  }

  const config = resolve(o.config);
  if (!existsSync(config)) {
    throw new InvalidInputError(`config file ${config} does not exist: write one first (moltnet config example --uuid <your agent's UUID> > ${config})`);
  }
  const cfg = await loadConfig(config);
  const plan = planService(cfg, { node: await realpath(o.node ?? process.execPath), cli: await cliPath(o.bin), config });
  const text = launchd ? renderLaunchdPlist(plan) : renderSystemdUnit(plan);
  if (!launchd) for (const n of plan.notes) say(`note: ${n}`);

  if (o.dryRun) {
    host.stdout(text);
    say(`would write ${file}`);
    if (plan.readWritePaths.length > 0) say(`would create ${plan.readWritePaths.join(', ')} (mode 0700)`);
    if (systemd) say(`would run: systemctl daemon-reload; systemctl enable ${UNIT_NAME}`);
    return;
  }
  // ReadWritePaths= that do not exist fail the start (status 226/NAMESPACE): make them now.
  for (const p of plan.readWritePaths) await mkdir(p, { recursive: true, mode: 0o700 });
  const before = await readFile(file, 'utf8').catch(() => undefined);
  await writeAtomically(file, text);
  say(`${before === undefined ? 'wrote' : before === text ? 'unchanged' : 'updated'} ${file}`);
  if (launchd) {
    say(`load it with: sudo launchctl bootstrap system ${file} (not run: the launchd plist is untested)`);
    return;
  }
  if (systemd) {
    await host.run('systemctl', ['daemon-reload']);
    await host.run('systemctl', ['enable', UNIT_NAME]);
    say(`enabled ${UNIT_NAME}; start it with: systemctl ${before === undefined ? 'start' : 'restart'} ${UNIT_NAME}   (logs: journalctl -u moltnet -f)`);
  } else if (!host.systemdRunning()) {
    say(`systemd is not running on this host (no /run/systemd/system): the unit was written, nothing was enabled.`);
    say(`on a systemd host: systemctl daemon-reload && systemctl enable --now ${UNIT_NAME}`);
  } else {
    say(`systemd does not load units from ${dir}: nothing was enabled. Use --unit-dir ${SYSTEMD_UNIT_DIR}, or: systemctl link ${file} && systemctl enable --now ${UNIT_NAME}`);
  }
}

async function unitDir(given: string | undefined, launchd: boolean): Promise<string> {
  if (given !== undefined && given.trim() === '') throw new InvalidInputError('--unit-dir is empty');
  const dir = resolve(given ?? (launchd ? LAUNCHD_DIR : SYSTEMD_UNIT_DIR));
  const s = await stat(dir).catch(() => undefined);
  if (!s) throw new InvalidInputError(`--unit-dir ${dir} does not exist`);
  if (!s.isDirectory()) throw new InvalidInputError(`--unit-dir ${dir} is not a directory`);
  return dir;
}

/** The CLI the unit runs: --bin (a path, symlinks followed) or this very CLI. */
async function cliPath(bin: string | undefined): Promise<string> {
  if (bin !== undefined && bin.trim() === '') throw new InvalidInputError('--bin is empty');
  const given = bin !== undefined ? resolve(bin) : fileURLToPath(new URL('../main.js', import.meta.url));
  const real = await realpath(given).catch(() => undefined);
  if (real === undefined) throw new InvalidInputError(`--bin ${given} does not exist`);
  if (!(await stat(real)).isFile()) throw new InvalidInputError(`--bin ${given} is not a file`);
  if (!/\.[cm]?js$/.test(real)) {
    await access(real, constants.X_OK).catch(() => {
      throw new InvalidInputError(`--bin ${given} is neither a .js file nor executable`);
    });
  }
  return real;
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, text, { mode: 0o644 });
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    const e = err as NodeJS.ErrnoException;
    throw new SystemCommandError(`cannot write ${file}: ${e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied (run it as root, or choose --unit-dir)' : e.message}`);
  }
}

/** `p` relative to `dir` when it lies strictly inside it. */
function underDir(p: string, dir: string): string | undefined {
  const r = relative(dir, p);
  return r !== '' && !r.startsWith('..') && !isAbsolute(r) ? r : undefined;
}

function isWithin(p: string, dir: string): boolean {
  return p === dir || underDir(p, dir) !== undefined;
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

interface InstallArgs {
  config: string;
  'unit-dir'?: string;
  bin?: string;
  'dry-run': boolean;
  uninstall: boolean;
}

export const installServiceCommand: CommandModule<object, InstallArgs> = {
  command: 'install-service',
  describe: 'install the daemon as a systemd service (a launchd daemon on macOS, untested)',
  builder: (y) =>
    y
      .option('config', { type: 'string', default: DEFAULT_CONFIG, requiresArg: true, describe: 'the config file the service runs with' })
      .option('unit-dir', { type: 'string', requiresArg: true, describe: `where the unit goes (default ${SYSTEMD_UNIT_DIR}; macOS ${LAUNCHD_DIR})` })
      .option('bin', { type: 'string', requiresArg: true, describe: 'the moltnet CLI to run (default: this one)' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'print the unit and what would be done; change nothing' })
      .option('uninstall', { type: 'boolean', default: false, describe: 'stop, disable and remove the unit (the state directory stays)' }),
  handler: (args) =>
    installService({ config: args.config, unitDir: args['unit-dir'], bin: args.bin, dryRun: args['dry-run'], uninstall: args.uninstall }),
};
