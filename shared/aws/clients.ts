import { AthenaClient } from '@aws-sdk/client-athena';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** The services the pipeline calls, as the endpoints file and `AWS_ENDPOINT_URL_<SERVICE>` name them. */
export type AwsService = 's3' | 'dynamodb' | 'athena' | 'secretsmanager';

/** Where the AWS clients point. Omit `endpoints` in AWS: the SDK defaults are right there. */
export interface AwsSettings {
  region: string;
  /** Local stand-ins or another endpoint set: one URL per service (a missing one uses the SDK default). */
  endpoints?: Partial<Record<AwsService, string>>;
  /** Local stand-ins only; otherwise the default provider chain (the Lambda role, AWS_ACCESS_KEY_ID, …). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * Static credentials for the local stack, so the SDK never walks the provider chain (IMDS). Every
 * local service accepts any key pair (the LocalStack convention); `test`/`test` is the one users know.
 */
export const LOCAL_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;

/** The standard per-service endpoint variables the AWS CLI and current SDKs read (`AWS_ENDPOINT_URL` is the fallback). */
export const ENDPOINT_VARIABLES: Record<AwsService, string> = {
  s3: 'AWS_ENDPOINT_URL_S3',
  dynamodb: 'AWS_ENDPOINT_URL_DYNAMODB',
  athena: 'AWS_ENDPOINT_URL_ATHENA',
  secretsmanager: 'AWS_ENDPOINT_URL_SECRETS_MANAGER',
};

/**
 * Settings from `AWS_ENDPOINT_URL_<SERVICE>` and `AWS_ENDPOINT_URL` values (passed in by the config
 * module, the one reader of the environment): the project's code then runs against any endpoint set
 * (a LocalStack, a moto server, the local stack's `.local/aws.env`) with the default credentials chain.
 */
export function endpointVariableSettings(
  region: string,
  variables: Partial<Record<string, string | undefined>>,
): AwsSettings {
  const endpoints: Partial<Record<AwsService, string>> = {};
  for (const [service, name] of Object.entries(ENDPOINT_VARIABLES) as [AwsService, string][]) {
    const url = variables[name] ?? variables.AWS_ENDPOINT_URL;
    if (url) endpoints[service] = url;
  }
  return Object.keys(endpoints).length === 0 ? { region } : { region, endpoints };
}

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
    const endpoint = this.settings.endpoints?.s3;
    this.s3Client ??= new S3Client({
      ...this.common(endpoint),
      // A local endpoint has no wildcard DNS for <bucket>.127.0.0.1: address buckets in the path.
      forcePathStyle: endpoint !== undefined,
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
