import { createServer } from 'node:net';
import { LOOPBACK } from './service';

/**
 * A port for a server we cannot hand port 0 to (mariadbd). Uses `preferred` when it is free,
 * otherwise any free port, so two stacks (or a stack and a test run) never clash.
 */
export async function freePort(preferred = 0): Promise<number> {
  try {
    return await probe(preferred);
  } catch {
    return probe(0);
  }
}

function probe(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, LOOPBACK, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : port;
      server.close(() => resolve(bound));
    });
  });
}
