/**
 * Contacts lockdown (seed "Contacts Model"): no unsolicited contact adds, and an allow list of public
 * keys. Maxima keeps its allow list in RAM only, so the list lives in `stateDir/moltid-allowed.json`
 * (0600) and apply() re-sends it (after a restart of the Minima node, and at every change).
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KeyFileError } from './errors.js';
import type { MinimaBackend } from './minima.js';
import { parsePublicKey } from './moltid.js';

export const ALLOW_FILE = 'moltid-allowed.json';

export class AllowList {
  readonly path: string;
  constructor(private readonly stateDir: string) {
    this.path = join(stateDir, ALLOW_FILE);
  }

  async list(): Promise<string[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new KeyFileError(`${this.path}: ${(err as Error).message}`);
    }
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      throw new KeyFileError(`${this.path}: not JSON`);
    }
    const keys = (v as { allowed?: unknown }).allowed;
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) throw new KeyFileError(`${this.path}: expected {"allowed": [public keys]}`);
    return keys as string[];
  }

  /** Adds a key (canonical hex); false when it was there already. */
  async add(publicKey: string): Promise<{ key: string; added: boolean }> {
    const key = parsePublicKey(publicKey).hex;
    const keys = await this.list();
    if (keys.includes(key)) return { key, added: false };
    await this.save([...keys, key]);
    return { key, added: true };
  }

  async remove(publicKey: string): Promise<{ key: string; removed: boolean }> {
    const key = parsePublicKey(publicKey).hex;
    const keys = await this.list();
    if (!keys.includes(key)) return { key, removed: false };
    await this.save(keys.filter((k) => k !== key));
    return { key, removed: true };
  }

  private async save(keys: string[]): Promise<void> {
    await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify({ allowed: keys }, null, 2)}\n`, { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, this.path);
  }
}

/** Lockdown on the node: unsolicited contacts off, the allow list re-sent in full. */
export async function applyLockdown(minima: MinimaBackend, keys: readonly string[]): Promise<void> {
  await minima.allowAllContacts(false);
  await minima.clearAllowed();
  for (const k of keys) await minima.addAllowed(k);
}
