import type { QueryRunner } from '#shared/adapters/query-runner';
import { keys, type TransformResult, type TransformSummary } from '#shared/core/run-files';
import { type AggregateSettings, aggregate, TransformIncompleteError } from '#shared/steps/aggregate';
import type { Manifest } from '#shared/steps/ingest';
import { localS3, silentLog } from '../support/s3';

const BUCKET = 'data';
const settings: AggregateSettings = {
  dataBucket: BUCKET,
  glueDatabase: 'db',
  athenaWorkGroup: 'wg',
  athenaQueryTimeoutSeconds: 60,
  hoursPerExecution: 1,
  sqlDirectory: 'sql',
  table: 'cloudfront_logs',
};
/** The 'hours' action never queries Athena. */
const noQueries = {} as QueryRunner;

function result(runId: string, fileId: string, accepted: number, hours: string[]): TransformResult {
  return {
    fileId,
    key: `raw/${fileId}.gz`,
    status: 'transformed',
    rows: { read: accepted + 1, accepted, quarantined: 1 },
    hours,
    resultKey: keys.fileResult(runId, fileId),
  };
}

function manifest(runId: string, fileIds: string[]): Manifest {
  return {
    runId,
    window: { from: '2024-07-13T00', to: '2024-07-13T06' },
    files: fileIds.map((fileId) => ({
      fileId,
      sourceKey: `cf/${fileId}.gz`,
      key: `raw/${fileId}.gz`,
      size: 10,
    })),
  };
}

describe("aggregate 'hours': the run's transform totals, checked against its manifest", () => {
  let s3: Awaited<ReturnType<typeof localS3>>;

  beforeAll(async () => {
    s3 = await localS3([BUCKET]);
  });
  afterAll(async () => s3?.stop());

  it('counts only the files of the manifest, ignoring results an earlier run left under the same runId', async () => {
    const runId = 'rerun';
    await s3.store.putJson(BUCKET, keys.manifest(runId), manifest(runId, ['a', 'b']));
    for (const file of [
      result(runId, 'a', 10, ['2024-07-13T01']),
      result(runId, 'b', 5, ['2024-07-13T02']),
      result(runId, 'old', 99, ['2024-07-12T23']),
    ]) {
      await s3.store.putJson(BUCKET, file.resultKey, file);
    }
    const totals = await aggregate({ action: 'hours', runId }, settings, s3.store, noQueries, silentLog);
    expect(totals).toEqual({
      runId,
      hours: ['2024-07-13T01', '2024-07-13T02'],
      hourGroups: [['2024-07-13T01'], ['2024-07-13T02']],
      files: { total: 2, transformed: 2, quarantined: 0 },
      rows: { read: 17, accepted: 15, quarantined: 2, inQuarantinedFiles: 0 },
    });
    const summary = (await s3.store.getJson(BUCKET, keys.transformSummary(runId))) as TransformSummary;
    expect(summary.rows.accepted).toBe(15);
  });

  it('fails with a named error when a file of the manifest has no result', async () => {
    const runId = 'incomplete';
    await s3.store.putJson(BUCKET, keys.manifest(runId), manifest(runId, ['a', 'missing']));
    const present = result(runId, 'a', 3, ['2024-07-13T01']);
    await s3.store.putJson(BUCKET, present.resultKey, present);
    const attempt = aggregate({ action: 'hours', runId }, settings, s3.store, noQueries, silentLog);
    await expect(attempt).rejects.toBeInstanceOf(TransformIncompleteError);
    await expect(attempt).rejects.toThrow(/1 of 2 files .* \(first: cf\/missing\.gz\)/);
  });

  it('counts what is there when a hand run asks for a partial summary', async () => {
    const totals = await aggregate(
      { action: 'hours', runId: 'incomplete', partial: true },
      settings,
      s3.store,
      noQueries,
      silentLog,
    );
    expect(totals).toMatchObject({
      hours: ['2024-07-13T01'],
      files: { total: 1, transformed: 1, quarantined: 0 },
    });
  });
});
