/**
 * Reading the YAML config: YAML syntax -> zod schema -> MoltnetConfig, with every problem reported as
 * one line `<source>: <key path>: <what is wrong>` inside a single ConfigError.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDocument, stringify } from 'yaml';
import type { ZodIssue, ZodTypeAny } from 'zod';
import { ConfigError } from '../common/errors.js';
import { buildConfigSchema, configSchema, formatHostPort, peerSchema, type MoltnetConfig, type PeerConfig } from './schema.js';

export { exampleConfig } from './example.js';

export interface ParseConfigOptions {
  /** Resolve relative stateDir/controlSocket against this directory. */
  baseDir?: string;
}

/** Parses and validates config text. `source` names it in messages (default "config"). */
export function parseConfig(text: string, source = 'config', opts: ParseConfigOptions = {}): MoltnetConfig {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => `${source}${lineCol(e.linePos)}: YAML syntax error: ${firstLine(e.message)}`).join('\n'));
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError(`${source}: YAML error: ${firstLine((err as Error).message)}`);
  }
  data = dropNulls(data);
  if (data === undefined) throw new ConfigError(`${source}: empty config; it needs at least "uuid: <your agent's UUID>"`);
  const schema = opts.baseDir !== undefined ? buildConfigSchema(opts.baseDir) : configSchema;
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const lines = result.error.issues.flatMap((issue) => formatIssue(issue, data, schema)).map(oneLine);
  throw new ConfigError([...new Set(lines)].map((l) => `${source}: ${l}`).join('\n'));
}

/**
 * One peer as the config's `peers:` entries take it (from `moltnet peer add` or the peer cache), with
 * the same messages: `<source>: <key>: <what is wrong>`.
 */
export function parsePeer(data: unknown, source = 'peer'): PeerConfig {
  const clean = dropNulls(data);
  const result = peerSchema.safeParse(clean);
  if (result.success) return result.data;
  const lines = result.error.issues.flatMap((issue) => formatIssue(issue, clean, peerSchema)).map(oneLine);
  throw new ConfigError([...new Set(lines)].map((l) => `${source}: ${l}`).join('\n'));
}

/** A peer in the input shape (what parsePeer takes back). */
export function peerInput(p: PeerConfig): Record<string, unknown> {
  const { name, endpoint, uuid, address, ...rest } = p;
  return { name, ...(uuid !== undefined ? { uuid } : { address }), endpoint: formatHostPort(endpoint), ...rest };
}

/** Reads, parses and validates a config file. Relative paths inside resolve against its directory. */
export async function loadConfig(path: string): Promise<MoltnetConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new ConfigError(`${path}: cannot read config: ${why}`);
  }
  return parseConfig(text, path, { baseDir: dirname(resolve(path)) });
}

/**
 * The config as YAML in the input shape (re-loadable: parseConfig(formatConfigYaml(c)) equals c),
 * with the derived mesh address as a comment.
 */
export function formatConfigYaml(cfg: MoltnetConfig): string {
  const { address, ...rest } = cfg;
  const doc = {
    ...rest,
    peers: rest.peers.map(peerInput),
  };
  return `# mesh address: ${address}\n${stringify(doc, { lineWidth: 0 })}`;
}

// ---------------------------------------------------------------------------------------------
// Messages

function formatIssue(issue: ZodIssue, data: unknown, schema: ZodTypeAny): string[] {
  const where = formatPath(issue.path);
  const at = (msg: string) => (where ? `${where}: ${msg}` : msg);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(schema, issue.path);
      return issue.keys.map((k) => {
        const path = formatPath([...issue.path, k]);
        const close = known.find((c) => similar(c, k));
        const hint = close ? `did you mean "${close}"?` : known.length > 0 ? `known keys: ${known.join(', ')}` : '';
        return `${path}: unknown key${hint ? ` (${hint})` : ''}`;
      });
    }
    case 'invalid_type': {
      if (issue.received === 'undefined') return [at(issue.path.length === 1 && issue.path[0] === 'uuid' ? "required: the agent's UUID" : 'required')];
      const got = describe(valueAt(data, issue.path));
      const expected = issue.message.startsWith('expected') ? issue.message : `expected ${typeName(issue.expected)}`;
      const value = valueAt(data, issue.path);
      const hint = typeof value === 'number' && Math.abs(value) >= 1e15 ? ' (a long number: quote it)' : '';
      return [at(`${expected}, got ${got}${hint}`)];
    }
    case 'invalid_enum_value':
      return [at(`expected one of ${issue.options.join('|')}, got ${describe(issue.received)}`)];
    default:
      return [at(issue.message.charAt(0).toLowerCase() + issue.message.slice(1))];
  }
}

/** One problem, one line: line breaks a message quotes from the input are written as \n. */
function oneLine(line: string): string {
  return line.replace(/\r/g, '\\r').replace(/\n/g, '\\n').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** peers[0].endpoint */
function formatPath(path: (string | number)[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(p)) out += out ? `.${p}` : p;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out;
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v);
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

function typeName(t: string): string {
  return t === 'object' ? 'a mapping' : t === 'array' ? 'a list' : t;
}

function valueAt(data: unknown, path: (string | number)[]): unknown {
  let v = data;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}

/** The keys the schema allows at a path (for "did you mean"). */
function knownKeys(schema: ZodTypeAny, path: (string | number)[]): string[] {
  let s: ZodTypeAny | undefined = schema;
  for (let i = 0; ; i++) {
    s = unwrap(s);
    if (!s) return [];
    if (i === path.length) break;
    const p = path[i]!;
    const def = s._def as { typeName?: string; type?: ZodTypeAny };
    if (def.typeName === 'ZodArray' && typeof p === 'number') s = def.type;
    else if (def.typeName === 'ZodObject' && typeof p === 'string') s = (s as unknown as { shape: Record<string, ZodTypeAny> }).shape[p];
    else return [];
  }
  return (s._def as { typeName?: string }).typeName === 'ZodObject'
    ? Object.keys((s as unknown as { shape: Record<string, ZodTypeAny> }).shape)
    : [];
}

function unwrap(s: ZodTypeAny | undefined): ZodTypeAny | undefined {
  while (s) {
    const def = s._def as { typeName?: string; schema?: ZodTypeAny; innerType?: ZodTypeAny };
    if (def.typeName === 'ZodEffects') s = def.schema;
    else if (def.typeName === 'ZodDefault' || def.typeName === 'ZodOptional') s = def.innerType;
    else return s;
  }
  return s;
}

/** Same word ignoring case, or a typo away: edit distance 1 for short words, 2 from 5 letters. */
function similar(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (x === y) return true;
  const shortest = Math.min(x.length, y.length);
  if (shortest < 3) return false;
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[y.length]! <= (shortest < 5 ? 1 : 2);
}

function lineCol(pos: { line: number; col: number }[] | undefined): string {
  return pos && pos[0] ? `:${pos[0].line}:${pos[0].col}` : '';
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

/** A key set to nothing (`peers:` with every entry commented out) means "use the default". */
function dropNulls(v: unknown): unknown {
  if (v === null) return undefined;
  if (Array.isArray(v)) return v.map((x) => (x === null ? x : dropNulls(x)));
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      // defineProperty: a "__proto__" key stays an ordinary (and then unknown) key
      if (x !== null) Object.defineProperty(out, k, { value: dropNulls(x), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return v;
}
