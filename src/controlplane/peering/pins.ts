/**
 * The MoltIDs pinned by first handshakes (as SSH's known_hosts): stateDir/known-peers.json, a JSON
 * object uuid -> MoltID, file mode 0600, replaced atomically so a crash never leaves half a file.
 * A file that does not parse is an error, not an empty list: silently forgetting pins would let any
 * key take over a uuid.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MoltnetError } from '../../common/errors.js';
import { canonicalEntry } from './trust.js';

export const PINS_FILE = 'known-peers.json';

export class PinStoreError extends MoltnetError {}

export class PinStore {
  readonly path: string;
  private writing: Promise<void> = Promise.resolve();
  constructor(stateDir: string) {
    this.path = join(stateDir, PINS_FILE);
  }

  async load(): Promise<Map<string, string>> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw new PinStoreError(`cannot read ${this.path}: ${(err as Error).message}`);
    }
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (err) {
      throw new PinStoreError(`${this.path} is not JSON (${(err as Error).message}); fix or remove it to forget every pinned peer`);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new PinStoreError(`${this.path}: expected an object of uuid -> MoltID`);
    const out = new Map<string, string>();
    for (const [uuid, moltid] of Object.entries(obj)) {
      if (typeof moltid !== 'string' || !/^MOLTID:0x[0-9a-f]+$/i.test(moltid)) throw new PinStoreError(`${this.path}: ${uuid}: expected a MoltID, got ${JSON.stringify(moltid)}`);
      out.set(uuid.toLowerCase(), canonicalEntry(moltid));
    }
    return out;
  }

  /** Write the pins; saves run one at a time (two handshakes finishing together share one temp file). */
  save(pins: Iterable<[string, string]>): Promise<void> {
    const text = `${JSON.stringify(Object.fromEntries(pins), null, 2)}\n`;
    const run = this.writing.then(async () => {
      const tmp = `${this.path}.tmp`;
      await writeFile(tmp, text, { mode: 0o600 });
      await rename(tmp, this.path);
    });
    this.writing = run.catch(() => undefined);
    return run;
  }
}
