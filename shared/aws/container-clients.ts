import type { AwsSettings } from './settings';

interface Destroyable {
  destroy(): void;
}

/** Clients built for this container, by service, so the local runner can release their sockets. */
const built = new Map<string, Destroyable>();

/**
 * A getter for one service's client of this container: built on the first call, then reused for
 * every invocation the container serves (a client per invocation would redo TLS handshakes and
 * credential lookups each time).
 */
export function onePerContainer<Client extends Destroyable>(
  service: string,
  build: (settings: AwsSettings) => Client,
): (settings: AwsSettings) => Client {
  return (settings) => {
    const existing = built.get(service) as Client | undefined;
    if (existing !== undefined) return existing;
    const client = build(settings);
    built.set(service, client);
    return client;
  };
}

/** Releases the container's clients (local runs and tests end cleanly; Lambda never calls it). */
export function destroyContainerClients(): void {
  for (const client of built.values()) client.destroy();
  built.clear();
}
