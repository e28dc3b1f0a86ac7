import { createServer } from 'node:http';
import { createS3Handler } from './s3/server';
import { S3Storage } from './s3/store';
import { closeServer, LOOPBACK, listen, type RunningService } from './service';

export interface S3Options {
  port?: number;
  /** Where objects live on disk (under `.local/s3` for the stack, a temp dir in tests). */
  directory: string;
  /** Buckets created at start if missing. */
  buckets?: string[];
  region?: string;
  /** Where a request that failed inside the stand-in is reported (the stack log). */
  log?: (message: string) => void;
}

/**
 * The local S3: the project's own stand-in (`local/services/s3/`), chosen over s3rver by the
 * conformance tests (test/s3-conformance). Keys are stored under hashed file names with a metadata
 * index, so any key S3 accepts fits on disk; any credentials are accepted.
 */
export async function startS3(options: S3Options): Promise<RunningService> {
  const region = options.region ?? 'us-east-1';
  const storage = await S3Storage.open(options.directory);
  for (const bucket of options.buckets ?? []) {
    if (!storage.hasBucket(bucket)) await storage.createBucket(bucket, region);
  }
  const handler = createS3Handler({
    storage,
    region,
    onInternalError: (error, request) =>
      options.log?.(
        `s3: ${request.method} ${request.resource} failed inside the stand-in: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      ),
  });
  const server = createServer(handler);
  // Idle keep-alive sockets stay open longer than SDK agents keep them: with Node's 5 s default, a
  // client can reuse a socket the server is closing, and a streamed PutObject (not retryable) fails
  // with ECONNRESET on a busy machine.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  // Malformed HTTP gets a 400 and a closed socket; it never reaches the handler.
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  const port = await listen(server, options.port ?? 0);
  return {
    name: 's3',
    endpoint: `http://${LOOPBACK}:${port}`,
    port,
    stop: () => closeServer(server),
  };
}

/** Entry for the stand-in's own process (local/services/supervised.ts); logs go to stderr. */
export function serve(options: S3Options): Promise<RunningService> {
  return startS3({ ...options, log: (message) => console.error(message) });
}
