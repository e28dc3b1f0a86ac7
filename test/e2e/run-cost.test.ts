import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AthenaClient, ListQueryExecutionsCommand } from '@aws-sdk/client-athena';
import { type LocalPipeline, runWindow, seedSource, sourceOf, startLocalPipeline } from '#local/pipeline';
import { writeSampleDirectory } from '#local/sample/index';
import { S3ObjectStore } from '#shared/adapters/object-store';
import { keys } from '#shared/core/run-files';

const DAY = '2024-07-13';

/** Every query the local Athena has been asked to run in the workgroup so far. */
async function queryExecutions(athena: AthenaClient, workGroup: string): Promise<number> {
  let count = 0;
  let nextToken: string | undefined;
  do {
    const page = await athena.send(
      new ListQueryExecutionsCommand({ WorkGroup: workGroup, ...(nextToken && { NextToken: nextToken }) }),
    );
    count += page.QueryExecutionIds?.length ?? 0;
    nextToken = page.NextToken;
  } while (nextToken);
  return count;
}

describe('the per-stage run budget (maxRunCostUsd) on the local stack', () => {
  let pipeline: LocalPipeline;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'etl-cost-'));
    // The stage's budget as the functions receive it, a millionth of a dollar: any window is over it.
    pipeline = await startLocalPipeline({
      directory: join(work, 'stack'),
      waitTimeScale: 0.01,
      environment: { LOG_LEVEL: 'error', MAX_RUN_COST_USD: '0.000001' },
    });
  }, 120_000);

  afterAll(async () => {
    await pipeline?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('fails the run with RunCostBudgetError in its report before any file is copied or Athena query started', async () => {
    const directory = join(work, 'sample');
    writeSampleDirectory(directory, {
      seed: 3,
      day: DAY,
      hours: 2,
      filesPerHour: 2,
      rowsPerFile: 20,
      plant: false,
    });
    await seedSource(new S3ObjectStore(pipeline.clients.s3), sourceOf(pipeline.environment), directory);
    const workGroup = pipeline.environment.ATHENA_WORKGROUP ?? '';
    const queriesBefore = await queryExecutions(pipeline.clients.athena, workGroup);

    const outcome = await runWindow(pipeline, { from: `${DAY}T00`, to: `${DAY}T02` }, 'e2e-over-budget');

    expect(outcome.status).toBe('FAILED');
    const report = outcome.report!;
    expect(report.status).toBe('FAILED');
    expect(report.error?.error).toBe('RunCostBudgetError');
    expect(report.error?.cause).toMatch(
      /^run e2e-over-budget \(window 2024-07-13T00\.\.2024-07-13T02, 4 files, \d+ bytes\) is estimated at \$0\.\d+ .* over the budget maxRunCostUsd \$0\.000001 of stage local \(serverless\.yml params\)/,
    );
    // Nothing ran after ingest: no Athena query, no transform, no manifest; the failure report only.
    expect(await queryExecutions(pipeline.clients.athena, workGroup)).toBe(queriesBefore);
    expect(report.athena.queries).toBe(0);
    const functions = new Set(pipeline.timings('e2e-over-budget').map((timing) => timing.function));
    expect([...functions].sort()).toEqual(['ingest', 'write']);
    const bucket = pipeline.environment.DATA_BUCKET ?? '';
    expect(await new S3ObjectStore(pipeline.clients.s3).head(bucket, keys.manifest('e2e-over-budget'))).toBe(
      undefined,
    );
    // What the failed run did cost: its two invocations.
    expect(report.cost.lambda.requests).toBe(2);
    expect(report.cost.athena.usd).toBe(0);
  }, 180_000);
});
