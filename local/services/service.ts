import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A stand-in that the local stack started and must stop again. */
export interface RunningService {
  readonly name: string;
  /** `http://127.0.0.1:<port>` for HTTP services. */
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Every stand-in binds loopback only: nothing here is meant to be reachable from the network. */
export const LOOPBACK = '127.0.0.1';

/** Listens on `port` (0 = any free port) and resolves to the port actually bound. */
export function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, LOOPBACK, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Closes a server, dropping idle keep-alive sockets so `close` does not wait for them. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

/** Reads a whole request body (stand-in requests are small JSON documents). */
export async function readBody(stream: AsyncIterable<Buffer | string>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}
