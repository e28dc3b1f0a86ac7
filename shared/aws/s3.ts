import { S3Client } from '@aws-sdk/client-s3';
import { onePerContainer } from './container-clients';
import { type AwsSettings, clientOptions } from './settings';

/** An S3 client for these settings. */
export function createS3Client(settings: AwsSettings): S3Client {
  return new S3Client({
    ...clientOptions(settings, 's3'),
    // An endpoint of our own (the local stack, a LocalStack, a moto server) has no wildcard DNS for
    // <bucket>.host: address buckets in the path.
    forcePathStyle: settings.endpoints?.s3 !== undefined,
  });
}

/** The container's S3 client. */
export const containerS3Client = onePerContainer('s3', createS3Client);
