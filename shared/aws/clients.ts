import type { AthenaClient } from '@aws-sdk/client-athena';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createAthenaClient } from './athena';
import { createDocumentClient, createDynamoDbClient } from './dynamodb';
import { createS3Client } from './s3';
import { createSecretsManagerClient } from './secrets-manager';
import type { AwsSettings } from './settings';

export {
  type AwsService,
  type AwsSettings,
  ENDPOINT_VARIABLES,
  endpointVariableSettings,
  LOCAL_CREDENTIALS,
  localAwsSettings,
} from './settings';

/**
 * All four services' clients for tools and tests (the local stack, seeding, benchmarks). Handlers
 * do not use it: each imports only its services' modules (`#shared/aws/s3` and so on), so its
 * bundle carries no SDK client it never calls. Each client is created on first use.
 */
export class AwsClients {
  private s3Client?: S3Client;
  private dynamodbClient?: DynamoDBClient;
  private documentClient?: DynamoDBDocumentClient;
  private athenaClient?: AthenaClient;
  private secretsManagerClient?: SecretsManagerClient;

  constructor(readonly settings: AwsSettings) {}

  get s3(): S3Client {
    this.s3Client ??= createS3Client(this.settings);
    return this.s3Client;
  }

  get dynamodb(): DynamoDBClient {
    this.dynamodbClient ??= createDynamoDbClient(this.settings);
    return this.dynamodbClient;
  }

  /** Document client: native JS values in and out; empty strings and undefined handled explicitly. */
  get documents(): DynamoDBDocumentClient {
    this.documentClient ??= createDocumentClient(this.dynamodb);
    return this.documentClient;
  }

  get athena(): AthenaClient {
    this.athenaClient ??= createAthenaClient(this.settings);
    return this.athenaClient;
  }

  get secretsManager(): SecretsManagerClient {
    this.secretsManagerClient ??= createSecretsManagerClient(this.settings);
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
}
