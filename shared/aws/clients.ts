import { AthenaClient } from '@aws-sdk/client-athena';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Where the AWS clients point. Omit `endpoints` in AWS: the SDK defaults are right there. */
export interface AwsSettings {
  region: string;
  /** Local stand-ins only: one URL per service. */
  endpoints?: {
    s3: string;
    dynamodb: string;
    athena: string;
    secretsmanager: string;
  };
  /** Local stand-ins only; in AWS the default provider chain (the Lambda role) is used. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * Static credentials for the local stack, so the SDK never walks the provider chain (IMDS).
 * s3rver accepts only this pair; the other stand-ins accept any.
 */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/**
 * The one place that builds AWS clients. Adapters receive clients from here (or a test's own),
 * so no other module reads endpoints or constructs a client. Each client is created on first
 * use and kept for the container's lifetime.
 */
export class AwsClients {
  private s3Client?: S3Client;
  private dynamodbClient?: DynamoDBClient;
  private documentClient?: DynamoDBDocumentClient;
  private athenaClient?: AthenaClient;
  private secretsManagerClient?: SecretsManagerClient;

  constructor(readonly settings: AwsSettings) {}

  get s3(): S3Client {
    const local = this.settings.endpoints;
    this.s3Client ??= new S3Client({
      ...this.common(local?.s3),
      // s3rver needs path-style addressing (no wildcard DNS for bucket.localhost).
      forcePathStyle: local !== undefined,
      // With SDK defaults a streamed PutObject is sent `aws-chunked` with a trailing CRC;
      // s3rver stores that framing inside the object without any error. Checksums only
      // where an operation requires them keeps local objects byte-identical.
      ...(local && {
        requestChecksumCalculation: 'WHEN_REQUIRED' as const,
        responseChecksumValidation: 'WHEN_REQUIRED' as const,
      }),
    });
    return this.s3Client;
  }

  get dynamodb(): DynamoDBClient {
    this.dynamodbClient ??= new DynamoDBClient(this.common(this.settings.endpoints?.dynamodb));
    return this.dynamodbClient;
  }

  /** Document client: native JS values in and out; empty strings and undefined handled explicitly. */
  get documents(): DynamoDBDocumentClient {
    this.documentClient ??= DynamoDBDocumentClient.from(this.dynamodb, {
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    });
    return this.documentClient;
  }

  get athena(): AthenaClient {
    this.athenaClient ??= new AthenaClient(this.common(this.settings.endpoints?.athena));
    return this.athenaClient;
  }

  get secretsManager(): SecretsManagerClient {
    this.secretsManagerClient ??= new SecretsManagerClient(
      this.common(this.settings.endpoints?.secretsmanager),
    );
    return this.secretsManagerClient;
  }

  /** Releases sockets (tests and CLI tools; Lambda containers simply freeze). */
  destroy(): void {
    for (const client of [this.s3Client, this.dynamodbClient, this.athenaClient, this.secretsManagerClient]) {
      client?.destroy();
    }
    this.s3Client = this.dynamodbClient = this.athenaClient = this.secretsManagerClient = undefined;
    this.documentClient = undefined;
  }

  private common(endpoint: string | undefined) {
    return {
      region: this.settings.region,
      ...(endpoint !== undefined && { endpoint }),
      ...(this.settings.credentials !== undefined && { credentials: this.settings.credentials }),
    };
  }
}

/** Settings for clients that talk to the local stack described by an endpoints file. */
export function localAwsSettings(endpoints: {
  region: string;
  s3: string;
  dynamodb: string;
  athena: string;
  secretsmanager: string;
}): AwsSettings {
  return {
    region: endpoints.region,
    endpoints: {
      s3: endpoints.s3,
      dynamodb: endpoints.dynamodb,
      athena: endpoints.athena,
      secretsmanager: endpoints.secretsmanager,
    },
    credentials: { ...LOCAL_CREDENTIALS },
  };
}
