import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateWorkGroupCommand, GetQueryExecutionCommand } from '@aws-sdk/client-athena';
import { type LocalAthena, startAthena } from '#local/services/athena/index';
import { startS3 } from '#local/services/s3';
import type { RunningService } from '#local/services/service';
import { S3ObjectStore } from '#shared/adapters/object-store';
import {
  AthenaQueryCancelledError,
  AthenaQueryFailedError,
  AthenaQueryRunner,
  AthenaQueryTimeoutError,
  AthenaThrottledError,
} from '#shared/adapters/query-runner';
import type { AwsClients } from '#shared/aws/clients';
import { aggregate } from '#shared/steps/aggregate';
import { localClients } from '../support/clients';
import { silentLog } from '../support/s3';

const BUCKET = 'results';
const noWait = async () => undefined;

describe('Athena adapter and aggregate step against the local Athena (faults injected)', () => {
  const directory = mkdtempSync(join(tmpdir(), 'etl-athena-faults-'));
  let s3: RunningService;
  let athena: LocalAthena;
  let clients: AwsClients;
  let runner: AthenaQueryRunner;

  beforeAll(async () => {
    s3 = await startS3({ directory: join(directory, 's3'), buckets: [BUCKET] });
    const setup = localClients({ s3: s3.endpoint });
    // Queries stay RUNNING for 300 ms so the time-budget case has something to stop.
    athena = await startAthena({
      region: 'us-east-1',
      s3: setup.s3,
      directory: join(directory, 'athena'),
      minQueryMs: 300,
    });
    clients = localClients({ s3: s3.endpoint, athena: athena.endpoint });
    await clients.athena.send(
      new CreateWorkGroupCommand({
        Name: 'wg',
        Configuration: { ResultConfiguration: { OutputLocation: `s3://${BUCKET}/out/` } },
      }),
    );
    runner = new AthenaQueryRunner(clients.athena, {
      sleep: noWait,
      backoff: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 3 },
    });
    setup.destroy();
  }, 60_000);

  afterAll(async () => {
    clients?.destroy();
    await athena?.stop();
    await s3?.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  const settle = async (id: string) => {
    for (;;) {
      const status = await runner.status(id);
      if (status.state !== 'QUEUED' && status.state !== 'RUNNING') return status;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  it('retries a throttled StartQueryExecution and then runs the query', async () => {
    // The SDK itself tries 3 times per call; 4 throttles make the adapter's own retry necessary.
    athena.injectFault({ kind: 'throttle', times: 4 });
    const id = await runner.start('SELECT 42 AS answer', { database: 'default', workGroup: 'wg' });
    expect((await settle(id)).state).toBe('SUCCEEDED');
    const pages = [];
    for await (const page of runner.results(id)) pages.push(...page);
    expect(pages).toEqual([{ answer: '42' }]);
  });

  it('gives up with AthenaThrottledError (for the state machine to retry) when throttling persists', async () => {
    athena.injectFault({ kind: 'throttle', times: 3 * 3 });
    await expect(runner.start('SELECT 1', { database: 'default', workGroup: 'wg' })).rejects.toBeInstanceOf(
      AthenaThrottledError,
    );
  });

  const settings = {
    dataBucket: BUCKET,
    glueDatabase: 'default',
    athenaWorkGroup: 'wg',
    athenaQueryTimeoutSeconds: 60,
    hoursPerExecution: 16,
    sqlDirectory: join(__dirname, '..', '..', 'sql'),
    table: 'unused',
  };
  const store = () => new S3ObjectStore(clients.s3);

  it('turns FAILED into AthenaQueryFailedError carrying the reason and the query id', async () => {
    athena.injectFault({ kind: 'fail', times: 1, reason: 'HIVE_CURSOR_ERROR: injected' });
    const id = await runner.start('SELECT 1', { database: 'default', workGroup: 'wg' });
    await settle(id);
    const check = aggregate(
      {
        action: 'status',
        runId: 'r',
        hour: '2024-07-13T00',
        queryExecutionId: id,
        startedAt: new Date().toISOString(),
      },
      settings,
      store(),
      runner,
      silentLog,
    );
    await expect(check).rejects.toBeInstanceOf(AthenaQueryFailedError);
    await expect(check).rejects.toMatchObject({
      queryExecutionId: id,
      reason: 'HIVE_CURSOR_ERROR: injected',
      name: 'AthenaQueryFailedError',
    });
  });

  it('turns CANCELLED into AthenaQueryCancelledError', async () => {
    athena.injectFault({ kind: 'cancel', times: 1 });
    const id = await runner.start('SELECT 1', { database: 'default', workGroup: 'wg' });
    await settle(id);
    const check = aggregate(
      {
        action: 'status',
        runId: 'r',
        hour: '2024-07-13T00',
        queryExecutionId: id,
        startedAt: new Date().toISOString(),
      },
      settings,
      store(),
      runner,
      silentLog,
    );
    await expect(check).rejects.toBeInstanceOf(AthenaQueryCancelledError);
    await expect(check).rejects.toMatchObject({ queryExecutionId: id });
  });

  it('stops a query past its time budget and raises AthenaQueryTimeoutError', async () => {
    const id = await runner.start('SELECT 1', { database: 'default', workGroup: 'wg' });
    const startedAt = new Date(Date.now() - 61_000).toISOString();
    await expect(
      aggregate(
        { action: 'status', runId: 'r', hour: '2024-07-13T00', queryExecutionId: id, startedAt },
        settings,
        store(),
        runner,
        silentLog,
      ),
    ).rejects.toBeInstanceOf(AthenaQueryTimeoutError);
    const { QueryExecution } = await clients.athena.send(
      new GetQueryExecutionCommand({ QueryExecutionId: id }),
    );
    expect(QueryExecution?.Status?.State).toBe('CANCELLED');
  });
});
