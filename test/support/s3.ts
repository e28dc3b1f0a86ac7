import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startS3 } from '#local/services/s3';
import type { RunningService } from '#local/services/service';
import { S3ObjectStore } from '#shared/adapters/object-store';
import { AwsClients, localAwsSettings } from '#shared/aws/clients';

/** The real local S3 in a temp dir with the given buckets, and an ObjectStore over it. */
export async function localS3(buckets: string[]): Promise<{
  clients: AwsClients;
  store: S3ObjectStore;
  service: RunningService;
  stop(): Promise<void>;
}> {
  const directory = mkdtempSync(join(tmpdir(), 'etl-s3-'));
  const service = await startS3({ directory, buckets });
  const endpoint = service.endpoint;
  const clients = new AwsClients(
    localAwsSettings({
      region: 'us-east-1',
      s3: endpoint,
      dynamodb: endpoint,
      athena: endpoint,
      secretsmanager: endpoint,
    }),
  );
  return {
    clients,
    store: new S3ObjectStore(clients.s3),
    service,
    async stop() {
      clients.destroy();
      await service.stop();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** A logger that keeps quiet in tests. */
export const silentLog = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLog;
  },
};
