/**
 * The servers a load benchmark needs, started by the benchmark itself in a temp directory (never
 * the stack's `.local/`): a private MariaDB, the Secrets Manager stand-in holding the database
 * secret as RDS writes it, and DynamoDB (dynalite). `stop()` releases everything it started, in
 * reverse order, and is safe to call twice; SIGINT/SIGTERM stop the servers before exiting.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { Connection } from 'mysql2/promise';
import { type LocalDynamoDb, startDynamoDb } from '#local/services/dynamodb';
import { type LocalMariaDb, rootConnection, startMariaDb } from '#local/services/mariadb';
import { startSecretsManager } from '#local/services/secrets-manager';
import type { RunningService } from '#local/services/service';
import { DatabaseCredentialsProvider } from '#shared/adapters/secrets';
import { AwsClients, localAwsSettings } from '#shared/aws/clients';

export const BENCH_SECRET_ID = 'etl/bench/mysql';
const REGION = 'us-east-1';

export interface BenchStack {
  directory: string;
  mariadb: LocalMariaDb;
  secretsManager: RunningService;
  dynamodb?: LocalDynamoDb;
  clients: AwsClients;
  /** Root over the socket: DDL between rounds and reading tables back, never the measured path. */
  admin: Connection;
  /** A fresh provider over the stand-in, as the write handler builds one per container. */
  credentialsProvider(): DatabaseCredentialsProvider;
  /** Registers something to release on stop (pools, connections), before the servers go. */
  onStop(release: () => Promise<unknown> | unknown): void;
  stop(): Promise<void>;
}

export async function startBenchStack(options: { dynamodb: boolean }): Promise<BenchStack> {
  const directory = mkdtempSync(join(tmpdir(), 'etl-bench-'));
  const releases: (() => Promise<unknown> | unknown)[] = [
    () => rmSync(directory, { recursive: true, force: true }),
  ];
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      for (const release of releases.reverse()) {
        try {
          await release();
        } catch (error) {
          console.error('bench: cleanup step failed:', error);
        }
      }
    })();
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`bench: ${signal}, stopping the servers`);
    void stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    // One at a time: a server that started is registered before the next may fail.
    const mariadb = await startMariaDb({ directory: join(directory, 'mysql') });
    releases.push(() => mariadb.stop());
    const secretsManager = await startSecretsManager({ region: REGION });
    releases.push(() => secretsManager.stop());
    let dynamodb: LocalDynamoDb | undefined;
    if (options.dynamodb) {
      const started = await startDynamoDb();
      releases.push(() => started.stop());
      dynamodb = started;
    }
    const clients = new AwsClients(
      localAwsSettings({
        region: REGION,
        // S3 and Athena are never called here; the settings need a URL for each.
        s3: secretsManager.endpoint,
        athena: secretsManager.endpoint,
        secretsmanager: secretsManager.endpoint,
        dynamodb: dynamodb?.endpoint ?? secretsManager.endpoint,
      }),
    );
    releases.push(() => clients.destroy());
    const { host, port, user, password, database } = mariadb.credentials;
    await clients.secretsManager.send(
      new CreateSecretCommand({
        Name: BENCH_SECRET_ID,
        SecretString: JSON.stringify({
          engine: 'mariadb',
          host,
          port,
          username: user,
          password,
          dbname: database,
        }),
      }),
    );
    const admin = await rootConnection(mariadb, database);
    releases.push(() => admin.end());
    return {
      directory,
      mariadb,
      secretsManager,
      ...(dynamodb !== undefined && { dynamodb }),
      clients,
      admin,
      credentialsProvider: () => new DatabaseCredentialsProvider(clients.secretsManager, BENCH_SECRET_ID),
      onStop: (release) => releases.push(release),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
