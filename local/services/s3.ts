import { mkdirSync } from 'node:fs';
import S3rver from 's3rver';
import { LOOPBACK, type RunningService } from './service';

export interface S3Options {
  port?: number;
  /** Where objects live on disk (under `.local/s3` for the stack, a temp dir in tests). */
  directory: string;
  /** Buckets created at start if missing. */
  buckets?: string[];
}

/**
 * S3 through s3rver. Clients must use path-style addressing and `WHEN_REQUIRED` checksums
 * (see shared/aws/clients.ts): s3rver silently stores `aws-chunked` framing otherwise. One s3rver
 * bug is mended in front of it: it reads `x-amz-copy-source` with `decodeURI`, so a copy of a key
 * holding `=`, `+`, `&`, … (Hive partitions such as `year=2025/`) fails with NoSuchKey, although
 * the header is URL-encoded as S3 requires. The header is re-encoded so `decodeURI` gives the key.
 */
export async function startS3(options: S3Options): Promise<RunningService> {
  mkdirSync(options.directory, { recursive: true });
  const server = new S3rver({
    address: LOOPBACK,
    port: options.port ?? 0,
    directory: options.directory,
    silent: true,
    configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
  });
  // Koa composes its middleware when it starts listening: this one runs before s3rver's own.
  server.middleware.unshift(async (ctx, next) => {
    const source = ctx.get('x-amz-copy-source');
    if (source) ctx.request.headers['x-amz-copy-source'] = encodeURI(decodeURIComponent(source));
    await next();
  });
  const { port } = await server.run();
  return {
    name: 's3',
    endpoint: `http://${LOOPBACK}:${port}`,
    port,
    stop: () => server.close(),
  };
}
