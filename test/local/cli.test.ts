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
import { writeSampleDirectory } from '#local/sample/index';
import { AwsClients, endpointVariableSettings, localAwsSettings } from '#shared/aws/clients';
import { readEndpointsFile } from '#shared/aws/endpoints';
import { processRuns } from '#shared/core/process';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

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
    expect(processRuns(stackPid)).toBe(true);
    expect(processRuns(mariadbPid)).toBe(true);

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

    // aws.env: the standard variables, which the client factory honours without the endpoints file.
    const awsEnv = Object.fromEntries(
      [...readFileSync(join(directory, 'aws.env'), 'utf8').matchAll(/^export (\w+)=(.*)$/gm)].map((match) => [
        match[1],
        match[2],
      ]),
    );
    expect(awsEnv).toMatchObject({
      AWS_ENDPOINT_URL_S3: endpoints.s3,
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      AWS_ENDPOINT_URL_ATHENA: endpoints.athena,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoints.secretsmanager,
      AWS_REGION: endpoints.region,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
    const fromVariables = new AwsClients({
      ...endpointVariableSettings(endpoints.region, awsEnv),
      // A real-looking key pair: every local service accepts any credentials.
      credentials: {
        accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
        secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      },
    });
    try {
      expect((await fromVariables.dynamodb.send(new ListTablesCommand({}))).TableNames).toContain(
        'cf-etl-local-staging',
      );
      expect((await fromVariables.s3.send(new ListBucketsCommand({}))).Buckets?.length).toBeGreaterThan(0);
      await fromVariables.secretsManager.send(new GetSecretValueCommand({ SecretId: 'etl/local/mysql' }));
      await fromVariables.athena.send(new ListWorkGroupsCommand({}));
    } finally {
      fromVariables.destroy();
    }

    const status = await cli('status.ts', []);
    for (const service of ['s3', 'dynamodb', 'secretsmanager', 'athena', 'mysql'])
      expect(status.stdout).toMatch(new RegExp(`^${service}\\s+\\S+\\s+\\d+\\s+up\\s+0$`, 'm'));

    // `npm run local -- --endpoints` twice against this stack: both succeed, MySQL ends the same,
    // and the stack is still up afterwards.
    const source = join(directory, 'source');
    writeSampleDirectory(source, {
      seed: 3,
      day: '2024-07-13',
      hours: 2,
      filesPerHour: 1,
      rowsPerFile: 20,
      plant: false,
    });
    const runAgainstStack = () =>
      run(
        process.execPath,
        [
          TSX,
          join(ROOT, 'local', 'cli', 'run.ts'),
          '--endpoints',
          join(directory, 'endpoints.json'),
          '--source',
          source,
          '--from',
          '2024-07-13T00',
          '--to',
          '2024-07-13T02',
          '--dir',
          join(directory, 'run'),
        ],
        { cwd: ROOT },
      );
    const tableContents = async () => {
      const mysql = await createConnection({ ...endpoints.mysql, dateStrings: true });
      try {
        const [rows] = await mysql.query(
          'SELECT hour_start, host, status, requests, bytes_sent FROM cloudfront_hourly ORDER BY hour_start, host, status',
        );
        return rows;
      } finally {
        await mysql.end();
      }
    };
    expect((await runAgainstStack()).stdout).toContain('SUCCEEDED');
    const first = await tableContents();
    expect((first as unknown[]).length).toBeGreaterThan(0);
    expect((await runAgainstStack()).stdout).toContain('SUCCEEDED');
    expect(await tableContents()).toEqual(first);
    expect(processRuns(stackPid)).toBe(true);

    await cli('down.ts', []);
    expect(processRuns(stackPid)).toBe(false);
    expect(processRuns(mariadbPid)).toBe(false);
    expect(existsSync(join(directory, 'endpoints.json'))).toBe(false);
    expect(existsSync(join(directory, 'stack.pid'))).toBe(false);
    expect(existsSync(join(directory, 'aws.env'))).toBe(false);
  }, 300_000);
});

describe('every CLI answers --help with its own usage (exit 0) and an unknown flag with exit 2', () => {
  const commands: [string, string][] = [
    ['local/cli/run.ts', 'Usage: npm run local --'],
    ['local/cli/up.ts', 'Usage: npm run local:up'],
    ['local/cli/down.ts', 'Usage: npm run local:down'],
    ['local/cli/seed.ts', 'Usage: npm run local:seed'],
    ['local/cli/status.ts', 'Usage: npm run local:status'],
    ['local/cli/plan.ts', 'Usage: npm run plan --'],
    ['local/sample/cli.ts', 'Usage: npx tsx local/sample/cli.ts'],
    ['test/s3-conformance/cli.ts', 'Usage: npm run test:s3-conformance'],
  ];

  it.each(commands)(
    '%s',
    async (script, usage) => {
      const help = await run(process.execPath, [TSX, join(ROOT, script), '--help'], { cwd: ROOT });
      expect(help.stdout.startsWith(usage)).toBe(true);
      const wrong = await run(process.execPath, [TSX, join(ROOT, script), '--no-such-flag'], {
        cwd: ROOT,
      }).then(
        () => undefined,
        (error: unknown) => error as { code: number; stderr: string },
      );
      expect(wrong?.code).toBe(2);
      expect(wrong?.stderr).toContain(usage);
    },
    60_000,
  );
});
