import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
} from '@aws-sdk/client-secrets-manager';
import { AwsClients, LOCAL_CREDENTIALS, localAwsSettings } from '#shared/aws/clients';
import type { LocalEndpoints } from '#shared/aws/endpoints';
import { lockDirectory } from './lock';
import { LOCAL_ATHENA_RESULTS_BUCKET } from './provision';
import { type LocalAthena, startAthena } from './services/athena';
import { type LocalDynamoDb, startDynamoDb } from './services/dynamodb';
import { type LocalMariaDb, startMariaDb } from './services/mariadb';
import { startSecretsManager } from './services/secrets-manager';
import { LOOPBACK, type RunningService } from './services/service';
import { type ServiceStatus, startSupervised } from './services/supervised';

/** Preferred ports of `npm run local:up`; any one already taken is replaced by a free port. */
export const DEFAULT_PORTS = {
  s3: 4569,
  dynamodb: 4570,
  athena: 4571,
  secretsmanager: 4572,
  mysql: 4573,
} as const;
export type StackPorts = { [K in keyof typeof DEFAULT_PORTS]: number };

export interface StackOptions {
  /** Root of all local data (`.local` for the CLI, a temp dir in tests). */
  directory: string;
  region?: string;
  /** 0 = any free port (tests). */
  ports?: Partial<StackPorts>;
  /** Name of the Secrets Manager secret that holds the MySQL credentials. */
  mysqlSecretName?: string;
  /** Athena stand-in knobs (tests). */
  athena?: { maxConcurrentQueries?: number; minQueryMs?: number };
  log?: (message: string) => void;
  /** Called after a service that died was started again (the background stack rewrites its status file). */
  onRestart?: () => void;
}

export interface LocalStack {
  readonly endpoints: LocalEndpoints;
  readonly directory: string;
  readonly mysqlSecretName: string;
  readonly athena: LocalAthena;
  readonly dynamodb: LocalDynamoDb;
  readonly mysql: LocalMariaDb;
  /** Clients pointed at this stack, built by the one client factory. */
  readonly clients: AwsClients;
  /** Each service with its process and restarts (`npm run local:status`). */
  services(): ServiceStatus[];
  stop(): Promise<void>;
}

export const DEFAULT_REGION = 'us-east-1';
export const DEFAULT_MYSQL_SECRET = 'etl/local/mysql';

/**
 * Locks the data folder (`stack.lock`; DirectoryLockedError names the pid holding it), starts every
 * stand-in, stores the MySQL credentials in the local Secrets Manager (the shape RDS
 * uses: host, port, username, password, dbname) and returns the endpoints. If any service fails to
 * start, the ones already running are stopped before the error propagates.
 */
export async function startStack(options: StackOptions): Promise<LocalStack> {
  const directory = resolve(options.directory);
  const region = options.region ?? DEFAULT_REGION;
  const ports = { s3: 0, dynamodb: 0, athena: 0, secretsmanager: 0, mysql: 0, ...options.ports };
  const mysqlSecretName = options.mysqlSecretName ?? DEFAULT_MYSQL_SECRET;
  mkdirSync(directory, { recursive: true });
  // One stack per data folder: a second one would share MariaDB's files and the S3 folders.
  const lock = lockDirectory(directory, 'local stack');

  const started: RunningService[] = [];
  const track = <T extends RunningService>(service: T): T => {
    started.push(service);
    return service;
  };
  const stopAll = async () => {
    const errors: unknown[] = [];
    for (const service of started.splice(0).reverse()) {
      await service.stop().catch((error: unknown) => errors.push(error));
    }
    if (errors.length > 0) throw new AggregateError(errors, 'Some local services did not stop cleanly');
  };

  try {
    const [s3, dynamodb, secretsManager, mysql] = await Promise.all([
      // S3 runs in its own process: it takes whatever users' scripts send, and if it ever dies
      // the others keep running while it is started again on the same port.
      startSupervised({
        name: 's3',
        module: 's3.ts',
        options: {
          directory: join(directory, 's3'),
          port: ports.s3,
          buckets: [LOCAL_ATHENA_RESULTS_BUCKET],
          region,
        },
        log: options.log,
        onRestart: options.onRestart,
      }).then(track),
      startDynamoDb({ port: ports.dynamodb }).then(track),
      startSecretsManager({ region, port: ports.secretsmanager, file: join(directory, 'secrets.json') }).then(
        track,
      ),
      startMariaDb({ directory: join(directory, 'mysql'), port: ports.mysql, log: options.log }).then(track),
    ]);
    // Athena reads table data and writes results through the same kind of S3 client every
    // adapter uses; its own endpoint is not known yet, and it never calls itself.
    const partial = localAwsSettings({
      region,
      s3: s3.endpoint,
      dynamodb: dynamodb.endpoint,
      athena: `http://${LOOPBACK}:0`,
      secretsmanager: secretsManager.endpoint,
    });
    const serviceClients = new AwsClients(partial);
    const athena = track(
      await startAthena({
        region,
        port: ports.athena,
        s3: serviceClients.s3,
        directory: join(directory, 'athena'),
        ...options.athena,
      }),
    );
    const endpoints: LocalEndpoints = {
      region,
      s3: s3.endpoint,
      dynamodb: dynamodb.endpoint,
      athena: athena.endpoint,
      secretsmanager: secretsManager.endpoint,
      mysql: mysql.credentials,
    };
    const clients = new AwsClients(localAwsSettings(endpoints));
    await storeMysqlSecret(clients, mysqlSecretName, mysql.credentials);

    return {
      endpoints,
      directory,
      mysqlSecretName,
      athena,
      dynamodb,
      mysql,
      clients,
      services: () => [
        s3.status(),
        ...[dynamodb, secretsManager, athena].map((service) => ({
          name: service.name,
          endpoint: service.endpoint,
          pid: process.pid,
          restarts: 0,
        })),
        { name: 'mysql', endpoint: `mysql://${LOOPBACK}:${mysql.port}`, pid: mysql.pid, restarts: 0 },
      ],
      async stop() {
        clients.destroy();
        serviceClients.destroy();
        try {
          await stopAll();
        } finally {
          lock.release();
        }
      },
    };
  } catch (error) {
    await stopAll().catch(() => undefined);
    lock.release();
    throw error;
  }
}

/** Stores the MySQL secret only when the stack has none (a stack someone else started keeps its own). */
export async function ensureMysqlSecret(
  clients: AwsClients,
  name: string,
  mysql: LocalEndpoints['mysql'],
): Promise<void> {
  try {
    await clients.secretsManager.send(new DescribeSecretCommand({ SecretId: name }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    await storeMysqlSecret(clients, name, mysql);
  }
}

/** Writes the endpoints file other tools read (`.local/endpoints.json`). */
export function writeEndpointsFile(path: string, endpoints: LocalEndpoints): void {
  writeFileSync(path, `${JSON.stringify(endpoints, null, 2)}\n`, { mode: 0o600 });
}

/**
 * Writes `aws.env`: the standard variables the AWS CLI and current SDKs read, so
 * `source .local/aws.env && aws s3 ls` reaches the local stack with no flags.
 */
export function writeAwsEnvFile(path: string, endpoints: LocalEndpoints): void {
  const lines = [
    '# Written by npm run local:up: `source` it to point the AWS CLI and SDKs at the local stack.',
    `export AWS_ENDPOINT_URL_S3=${endpoints.s3}`,
    `export AWS_ENDPOINT_URL_DYNAMODB=${endpoints.dynamodb}`,
    `export AWS_ENDPOINT_URL_ATHENA=${endpoints.athena}`,
    `export AWS_ENDPOINT_URL_SECRETS_MANAGER=${endpoints.secretsmanager}`,
    `export AWS_REGION=${endpoints.region}`,
    `export AWS_DEFAULT_REGION=${endpoints.region}`,
    // Every local service accepts any key pair; these override a real profile for this shell only.
    `export AWS_ACCESS_KEY_ID=${LOCAL_CREDENTIALS.accessKeyId}`,
    `export AWS_SECRET_ACCESS_KEY=${LOCAL_CREDENTIALS.secretAccessKey}`,
    'unset AWS_SESSION_TOKEN AWS_PROFILE',
  ];
  writeFileSync(path, `${lines.join('\n')}\n`, { mode: 0o600 });
}

/** Stores (or replaces) a MySQL secret in the shape RDS writes: host, port, username, password, dbname. */
export async function storeMysqlSecret(
  clients: AwsClients,
  name: string,
  mysql: LocalEndpoints['mysql'],
): Promise<void> {
  const { host, port, user, password, database } = mysql;
  const SecretString = JSON.stringify({
    engine: 'mysql',
    host,
    port,
    username: user,
    password,
    dbname: database,
  });
  try {
    await clients.secretsManager.send(new CreateSecretCommand({ Name: name, SecretString }));
  } catch (error) {
    if (!(error instanceof ResourceExistsException)) throw error;
    await clients.secretsManager.send(new PutSecretValueCommand({ SecretId: name, SecretString }));
  }
}
