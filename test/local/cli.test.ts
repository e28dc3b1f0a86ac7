import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ListWorkGroupsCommand } from '@aws-sdk/client-athena';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { createConnection } from 'mysql2/promise';
import { AwsClients, localAwsSettings } from '#shared/aws/clients';
import { readEndpointsFile } from '#shared/aws/endpoints';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm run local:up / local:down (background stack)', () => {
  const directory = mkdtempSync(join(tmpdir(), 'etl-stack-'));
  const ports = [
    '--s3-port',
    '0',
    '--dynamodb-port',
    '0',
    '--athena-port',
    '0',
    '--secretsmanager-port',
    '0',
    '--mysql-port',
    '0',
  ];
  const cli = (script: string, args: string[]) =>
    run(process.execPath, [TSX, join(ROOT, 'local', 'cli', script), '--dir', directory, ...args], {
      cwd: ROOT,
    });

  afterAll(async () => {
    await cli('down.ts', []).catch(() => undefined);
    rmSync(directory, { recursive: true, force: true });
  });

  it('starts every service, writes the endpoints file, provisions stage local, and stops with nothing left behind', async () => {
    await cli('up.ts', ports);
    const endpoints = readEndpointsFile(join(directory, 'endpoints.json'));
    const stackPid = Number(readFileSync(join(directory, 'stack.pid'), 'utf8'));
    const mariadbPid = Number(readFileSync(join(directory, 'mysql', 'mariadbd.pid'), 'utf8'));
    expect(isAlive(stackPid)).toBe(true);
    expect(isAlive(mariadbPid)).toBe(true);

    const clients = new AwsClients(localAwsSettings(endpoints));
    try {
      const buckets = await clients.s3.send(new ListBucketsCommand({}));
      expect(buckets.Buckets?.map((bucket) => bucket.Name)).toEqual(
        expect.arrayContaining(['etl-local-data', 'etl-local-source']),
      );
      const tables = await clients.dynamodb.send(new ListTablesCommand({}));
      expect(tables.TableNames).toContain('cf-etl-local-staging');
      const workgroups = await clients.athena.send(new ListWorkGroupsCommand({}));
      expect(workgroups.WorkGroups?.map((group) => group.Name)).toContain('cf-etl-local');
      const secret = await clients.secretsManager.send(
        new GetSecretValueCommand({ SecretId: 'etl/local/mysql' }),
      );
      expect(JSON.parse(secret.SecretString ?? '{}')).toMatchObject({
        username: 'etl',
        port: endpoints.mysql.port,
      });
    } finally {
      clients.destroy();
    }
    const connection = await createConnection(endpoints.mysql);
    await connection.query('SELECT 1');
    await connection.end();

    await cli('down.ts', []);
    expect(isAlive(stackPid)).toBe(false);
    expect(isAlive(mariadbPid)).toBe(false);
    expect(existsSync(join(directory, 'endpoints.json'))).toBe(false);
    expect(existsSync(join(directory, 'stack.pid'))).toBe(false);
  }, 180_000);
});
