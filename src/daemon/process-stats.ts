/**
 * What a long-running daemon may leak besides memory, for `show status`: its open file descriptors and
 * the handles and requests that keep its event loop alive, by kind (Timeout, TCPServerWrap, ...).
 * A count that climbs while the mesh is steady is a leak.
 */
import { readdirSync } from 'node:fs';

export interface ProcessResources {
  /** Open file descriptors of the process (every thread), or null where /proc is missing. */
  fds: number | null;
  /** The main thread's active libuv handles and requests, by kind. */
  handles: Record<string, number>;
}

export function processResources(): ProcessResources {
  let fds: number | null = null;
  try {
    fds = readdirSync('/proc/self/fd').length - 1; // less the one readdir itself holds open
  } catch {
    fds = null;
  }
  const handles: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) handles[kind] = (handles[kind] ?? 0) + 1;
  return { fds, handles };
}
