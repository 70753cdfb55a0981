/**
 * Peers added with `moltnet peer add`, kept in the state directory (runtime-peers.json, mode 0600) so a
 * restarted daemon has them again; `moltnet peer remove` takes them out. Entries are in the config's
 * input shape and are validated again on load: a damaged file is logged and skipped, never fatal.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../common/log.js';
import type { PeerConfig } from '../config/schema.js';
import { parsePeer, peerInput } from '../config/load.js';

const FILE = 'runtime-peers.json';

export class RuntimePeers {
  private peers = new Map<string, PeerConfig>();
  private readonly path: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, FILE);
  }

  async load(log: Logger): Promise<PeerConfig[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch {
      return [];
    }
    let list: unknown;
    try {
      list = JSON.parse(text);
    } catch (err) {
      log.warn({ file: this.path, err: (err as Error).message }, 'runtime peers file is not JSON; ignored');
      return [];
    }
    if (!Array.isArray(list)) return [];
    list.forEach((entry, i) => {
      try {
        const p = parsePeer(entry, `${this.path}[${i}]`);
        this.peers.set(p.name.toLowerCase(), p);
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'runtime peer skipped');
      }
    });
    return [...this.peers.values()];
  }

  async put(p: PeerConfig): Promise<void> {
    this.peers.set(p.name.toLowerCase(), p);
    await this.save();
  }

  async delete(name: string): Promise<void> {
    if (this.peers.delete(name.toLowerCase())) await this.save();
  }

  private async save(): Promise<void> {
    const tmp = `${this.path}.tmp`;
    await writeFile(tmp, JSON.stringify([...this.peers.values()].map(peerInput), null, 2) + '\n', { mode: 0o600 });
    await rename(tmp, this.path);
  }
}
