/**
 * Peers discovery has seen work, kept in stateDir/discovered-peers.json (0600) so a restarted node
 * dials them at once instead of waiting for the next Moltbook poll. Bounded: the least recently seen go
 * first. A file that does not parse is logged by the caller and replaced: unlike pinned keys, losing
 * this cache only costs a poll.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { LRUCache } from 'lru-cache';
import { join } from 'node:path';
import { isUuid } from '../../common/address.js';
import type { HostPort } from '../../config/schema.js';

export const CACHE_FILE = 'discovered-peers.json';

export interface CachedPeer {
  uuid: string;
  endpoint: HostPort;
  name?: string;
  source: 'moltbook' | 'lan' | 'exchange';
  /** Wall-clock ms. */
  lastSeen: number;
}

export class PeerCache {
  private readonly peers: LRUCache<string, CachedPeer>;
  readonly path: string;
  private writing: Promise<void> = Promise.resolve();

  constructor(stateDir: string, max = 512) {
    this.path = join(stateDir, CACHE_FILE);
    this.peers = new LRUCache({ max });
  }

  /** Load; returns an error message when the file was unusable (the cache then starts empty). */
  async load(): Promise<string | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : (err as Error).message;
    }
    try {
      const list = JSON.parse(text) as unknown;
      if (!Array.isArray(list)) return `${this.path}: expected a list`;
      for (const p of list as CachedPeer[]) {
        if (!p || typeof p !== 'object' || !isUuid(String(p.uuid)) || typeof p.endpoint?.host !== 'string' || !Number.isInteger(p.endpoint?.port)) continue;
        if (p.source !== 'moltbook' && p.source !== 'lan' && p.source !== 'exchange') continue;
        this.put({ uuid: p.uuid, endpoint: { host: p.endpoint.host, port: p.endpoint.port }, ...(typeof p.name === 'string' ? { name: p.name } : {}), source: p.source, lastSeen: Number(p.lastSeen) || 0 });
      }
      return undefined;
    } catch (err) {
      return `${this.path}: ${(err as Error).message}`;
    }
  }

  /** Least recently seen first: the order the file keeps, so a reload restores the recency. */
  list(): CachedPeer[] {
    return [...this.peers.rvalues()].filter((p): p is CachedPeer => p !== undefined);
  }

  get size(): number {
    return this.peers.size;
  }

  put(p: CachedPeer): void {
    this.peers.set(p.uuid, p);
  }

  delete(uuid: string): boolean {
    return this.peers.delete(uuid);
  }

  /** Write the file (one write at a time, atomically). */
  save(): Promise<void> {
    this.writing = this.writing.then(async () => {
      const tmp = `${this.path}.tmp`;
      await writeFile(tmp, `${JSON.stringify(this.list(), null, 1)}\n`, { mode: 0o600 });
      await rename(tmp, this.path);
    });
    return this.writing;
  }
}
