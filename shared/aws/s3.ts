import { S3Client } from '@aws-sdk/client-s3';
import { onePerContainer } from './container-clients';
import { type AwsSettings, clientOptions } from './settings';

/** An S3 client for these settings, with the local stand-in's quirks when it points at one. */
export function createS3Client(settings: AwsSettings): S3Client {
  const local = settings.endpoints !== undefined;
  return new S3Client({
    ...clientOptions(settings, 's3'),
    // s3rver needs path-style addressing (no wildcard DNS for bucket.localhost).
    forcePathStyle: local,
    // With SDK defaults a streamed PutObject is sent `aws-chunked` with a trailing CRC;
    // s3rver stores that framing inside the object without any error. Checksums only
    // where an operation requires them keeps local objects byte-identical.
    ...(local && {
      requestChecksumCalculation: 'WHEN_REQUIRED' as const,
      responseChecksumValidation: 'WHEN_REQUIRED' as const,
    }),
  });
}

/** The container's S3 client. */
export const containerS3Client = onePerContainer('s3', createS3Client);
