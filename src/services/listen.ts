/**
 * How the mesh services bind: a port another program holds (or an address not there) is a reason to
 * report, not to throw, so that the router starts without the one service and says why.
 */
import type { Server } from 'node:net';

/** Listen on host:port; undefined when listening, else why not ("port 53 on ...: EADDRINUSE"). */
export async function listenOrWhy(server: Server, host: string, port: number): Promise<string | undefined> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, ipv6Only: host.includes(':') && host !== '::' }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return undefined;
  } catch (err) {
    return `port ${port} on ${host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
}

/** Close a server, dropping its connections first (HTTP keep-alive ones would hold close() open). */
export async function closeServer(server: (Server & { closeAllConnections?: () => void }) | undefined): Promise<void> {
  if (!server?.listening) return;
  server.closeAllConnections?.();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
