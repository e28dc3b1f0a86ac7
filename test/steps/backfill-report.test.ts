import type { BackfillReport } from '#shared/core/backfill-report';
import { BackfillReportInputSchema, writeBackfillReport } from '#shared/steps/backfill-report';
import { EventSchema as WriteEventSchema } from '../../functions/write/handler';
import { localS3, silentLog } from '../support/s3';

const BUCKET = 'data';

describe('write action backfillReport (against the local S3)', () => {
  let s3: Awaited<ReturnType<typeof localS3>>;

  beforeAll(async () => {
    s3 = await localS3([BUCKET]);
  });

  afterAll(async () => {
    await s3?.stop();
  });

  it("reads the windows' run reports and writes reports/backfill-<id>.json, returning the counts the Choice reads", async () => {
    const startedAt = '2024-08-01T10:00:00.000Z';
    const runReport = (status: 'SUCCEEDED' | 'FAILED', accepted: number) => ({
      status,
      runId: 'ignored',
      startedAt: '2024-08-01T10:00:02.000Z',
      files: { total: 2, transformed: 2, quarantined: 0 },
      rows: { read: accepted, accepted, quarantined: 0, inQuarantinedFiles: 0 },
      hours: [],
      ...(status === 'FAILED' && {
        error: { error: 'WarehouseReconciliationError', cause: 'hour 01 differs' },
      }),
    });
    await s3.store.putJson(BUCKET, 'reports/step-bf-2024071300.json', runReport('SUCCEEDED', 7));
    await s3.store.putJson(BUCKET, 'reports/step-bf-2024071400.json', runReport('FAILED', 0));
    const input = BackfillReportInputSchema.parse({
      action: 'backfillReport',
      backfillId: 'step-bf',
      window: { from: '2024-07-13T00', to: '2024-07-15T00' },
      hoursPerRun: 24,
      results: [
        { runId: 'step-bf-2024071300', status: 'SUCCEEDED' },
        { runId: 'step-bf-2024071400', status: 'FAILED', error: 'States.TaskFailed' },
      ],
      startedAt,
    });
    // The Summarize state's event is one the write function takes.
    expect(WriteEventSchema.safeParse(input).success).toBe(true);

    const output = await writeBackfillReport(
      input,
      { dataBucket: BUCKET },
      s3.store,
      silentLog,
      () => new Date('2024-08-01T10:09:00.000Z'),
    );
    expect(output).toEqual({
      backfillId: 'step-bf',
      status: 'FAILED',
      reportKey: 'reports/backfill-step-bf.json',
      windows: 2,
      succeeded: 1,
      failed: 1,
    });
    const written = (await s3.store.getJson(BUCKET, output.reportKey)) as BackfillReport;
    expect(written.finishedAt).toBe('2024-08-01T10:09:00.000Z');
    expect(written.totals.rowsAccepted).toBe(7);
    expect(written.failed).toEqual([
      {
        runId: 'step-bf-2024071400',
        window: { from: '2024-07-14T00', to: '2024-07-15T00' },
        error: { error: 'WarehouseReconciliationError', cause: 'hour 01 differs' },
        report: 'reports/step-bf-2024071400.json',
      },
    ]);
  });

  it('refuses a result that is neither SUCCEEDED nor FAILED', () => {
    const parsed = BackfillReportInputSchema.safeParse({
      action: 'backfillReport',
      backfillId: 'bf',
      window: { from: '2024-07-13T00', to: '2024-07-14T00' },
      hoursPerRun: 24,
      results: [{ runId: 'bf-2024071300', status: 'RUNNING' }],
      startedAt: '2024-08-01T10:00:00.000Z',
    });
    expect(parsed.success).toBe(false);
  });
});
