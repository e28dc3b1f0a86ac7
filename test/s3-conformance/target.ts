import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { startS3 } from '#local/services/s3';

/**
 * Where the conformance tests run: the endpoint in `S3_CONFORMANCE_ENDPOINT` (set by
 * `npm run test:s3-conformance -- --endpoint URL`), or the project's local S3 started in a temp
 * folder (what `npm test` checks).
 */
export interface ConformanceTarget {
  endpoint: string;
  /** An SDK client as a user's script would build it: SDK defaults, path-style, any credentials. */
  s3: S3Client;
  /** A fresh bucket for one group of tests; emptied and removed by `stop`. */
  bucket(label: string): Promise<string>;
  stop(): Promise<void>;
}

export async function conformanceTarget(): Promise<ConformanceTarget> {
  // The conformance tests read their one setting here (the runner sets it; npm test leaves it unset).
  const external = process.env.S3_CONFORMANCE_ENDPOINT;
  let stopService = async () => {};
  let endpoint: string;
  if (external) endpoint = external;
  else {
    const directory = mkdtempSync(join(tmpdir(), 'etl-s3-conformance-'));
    const service = await startS3({ directory });
    endpoint = service.endpoint;
    stopService = async () => {
      await service.stop();
      rmSync(directory, { recursive: true, force: true });
    };
  }
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: {
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    },
  });
  const created: string[] = [];
  const run = randomBytes(3).toString('hex');
  return {
    endpoint,
    s3,
    async bucket(label) {
      const name = `conf-${run}-${label}`.slice(0, 63);
      await s3.send(new CreateBucketCommand({ Bucket: name }));
      created.push(name);
      return name;
    },
    async stop() {
      for (const bucket of created) await emptyAndDelete(s3, bucket).catch(() => undefined);
      s3.destroy();
      await stopService();
    },
  };
}

async function emptyAndDelete(s3: S3Client, bucket: string): Promise<void> {
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  for (const upload of uploads.Uploads ?? [])
    await s3.send(
      new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }),
    );
  for (;;) {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    const keys = (page.Contents ?? []).map((object) => ({ Key: object.Key }));
    if (keys.length === 0) break;
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
}

/** The error an SDK call failed with: S3's code (the SDK's `name`) and the HTTP status. */
export async function s3Failure(
  call: Promise<unknown>,
): Promise<{ code: string; status: number | undefined }> {
  try {
    await call;
  } catch (error) {
    const failure = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
    return { code: failure.Code ?? failure.name ?? 'unknown', status: failure.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail, it succeeded');
}
