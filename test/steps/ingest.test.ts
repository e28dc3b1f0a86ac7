import { RunCostBudgetError } from '#shared/core/errors';
import { keys } from '#shared/core/run-files';
import {
  IngestError,
  type IngestSettings,
  ingest,
  ManifestSchema,
  maxBatchesForWindow,
  runCostBudget,
} from '#shared/steps/ingest';
import { localS3, silentLog } from '../support/s3';

const SOURCE = 'cf-logs';
const DATA = 'data';
const settings: IngestSettings = {
  sourceBucket: SOURCE,
  sourcePrefix: 'cf/',
  dataBucket: DATA,
  lookbackHours: 1,
  windowHours: 1,
  batchMaxFiles: 2,
  batchMaxBytes: 1_000_000,
  hoursPerExecution: 16,
  batchMapMode: 'inline',
  budget: runCostBudget({
    stage: 'test',
    maxRunCostUsd: 25,
    architecture: 'arm64',
    lookbackHours: 1,
    hoursPerExecution: 16,
    batchMaxFiles: 2,
    batchMaxBytes: 1_000_000,
    athenaPollSeconds: 5,
    functionMemoryMb: { ingest: 512, transform: 1024, aggregate: 512, stage: 512, write: 512 },
    transformEphemeralStorageMb: 512,
  }),
};
const window = { from: '2024-07-13T00', to: '2024-07-13T02' };

describe('ingest (real local S3)', () => {
  let s3: Awaited<ReturnType<typeof localS3>>;

  beforeAll(async () => {
    s3 = await localS3([SOURCE, DATA]);
    for (const name of [
      'E1.2024-07-12-22.old.gz', // before the lookback
      'E1.2024-07-12-23.late.gz', // in the lookback
      'E1.2024-07-13-00.a.gz',
      'E1.2024-07-13-01.b.gz',
      'E1.2024-07-13-02.after.gz', // after the window
      'site-a/access.log',
      'site-b/access.log',
    ]) {
      await s3.store.put(SOURCE, `cf/${name}`, `contents of ${name}`);
    }
  });
  afterAll(async () => s3?.stop());

  it('copies the window (plus lookback) server-side, writes the manifest and the planned batches', async () => {
    const output = await ingest(
      { input: { runId: 'r1', window }, executionName: 'x1' },
      settings,
      s3.store,
      silentLog,
    );
    expect(output).toMatchObject({ runId: 'r1', files: 5, copied: 5, alreadyPresent: 0 });
    const manifest = ManifestSchema.parse(await s3.store.getJson(DATA, keys.manifest('r1')));
    expect(manifest.files.map((file) => file.key).sort()).toEqual([
      'raw/E1.2024-07-12-23.late.gz',
      'raw/E1.2024-07-13-00.a.gz',
      'raw/E1.2024-07-13-01.b.gz',
      'raw/site-a/access.log',
      'raw/site-b/access.log',
    ]);
    expect(new Set(manifest.files.map((file) => file.fileId)).size).toBe(5);
    expect(output.batches.map((batch) => batch.files).reduce((a, b) => a + b, 0)).toBe(5);
    for (const batch of output.batches) {
      expect(batch.files).toBeLessThanOrEqual(2);
      const stored = (await s3.store.getJson(DATA, keys.batch('r1', batch.batchId))) as { files: unknown[] };
      expect(stored.files).toHaveLength(batch.files);
    }
    const copy = await s3.store.getStream(DATA, 'raw/site-b/access.log');
    expect(Buffer.concat(await copy.toArray()).toString()).toBe('contents of site-b/access.log');
  });

  it('copies nothing twice on a re-run', async () => {
    const output = await ingest(
      { input: { runId: 'r2', window }, executionName: 'x2' },
      settings,
      s3.store,
      silentLog,
    );
    expect(output).toMatchObject({ files: 5, copied: 0, alreadyPresent: 5 });
  });

  it('refuses a window that would need more batches than one run can hold, naming the fix', async () => {
    const attempt = ingest(
      { input: { runId: 'r3', window }, executionName: 'x3' },
      { ...settings, batchMaxFiles: 1, maxBatches: 4 },
      s3.store,
      silentLog,
    );
    await expect(attempt).rejects.toBeInstanceOf(IngestError);
    await expect(attempt).rejects.toThrow(
      /needs 5 batches of 5 files; one run holds at most 4 .*set batchMapMode to distributed or auto .* several shorter windows, or raise batchMaxFiles/,
    );
  });

  it('in distributed mode writes the batch list for the ItemReader and returns no batch refs', async () => {
    const output = await ingest(
      { input: { runId: 'r-distributed', window }, executionName: 'x6' },
      { ...settings, batchMaxFiles: 1, batchMapMode: 'distributed' },
      s3.store,
      silentLog,
    );
    expect(output).toMatchObject({
      batchMap: 'distributed',
      batches: [],
      batchCount: 5,
      batchItemsKey: keys.batchItems('r-distributed'),
    });
    const items = (await s3.store.getJson(DATA, keys.batchItems('r-distributed'))) as {
      batchId: string;
      files: number;
    }[];
    expect(items.map((item) => item.batchId)).toEqual(['0001', '0002', '0003', '0004', '0005']);
    for (const item of items) {
      const batch = (await s3.store.getJson(DATA, keys.batch('r-distributed', item.batchId))) as {
        files: unknown[];
      };
      expect(batch.files).toHaveLength(item.files);
    }
  });

  it('in auto mode stays inline while the parent holds the batches, and goes distributed above', async () => {
    const auto = { ...settings, batchMaxFiles: 1, batchMapMode: 'auto' as const };
    const inline = await ingest(
      { input: { runId: 'r-auto-inline', window }, executionName: 'x7' },
      { ...auto, maxBatches: 5 },
      s3.store,
      silentLog,
    );
    expect(inline).toMatchObject({ batchMap: 'inline', batchCount: 5 });
    expect(inline.batches).toHaveLength(5);
    expect(inline.batchItemsKey).toBeUndefined();
    expect(await s3.store.head(DATA, keys.batchItems('r-auto-inline'))).toBeUndefined();
    const distributed = await ingest(
      { input: { runId: 'r-auto-distributed', window }, executionName: 'x8' },
      { ...auto, maxBatches: 4 },
      s3.store,
      silentLog,
    );
    expect(distributed).toMatchObject({ batchMap: 'distributed', batches: [], batchCount: 5 });
  });

  it('stops a run whose estimated cost is over the budget before copying a file, naming the budget', async () => {
    const attempt = ingest(
      { input: { runId: 'r-budget', window }, executionName: 'x4' },
      { ...settings, budget: { ...settings.budget, maxRunCostUsd: 0.000001 } },
      s3.store,
      silentLog,
    );
    await expect(attempt).rejects.toBeInstanceOf(RunCostBudgetError);
    await expect(attempt).rejects.toThrow(
      /run r-budget \(window 2024-07-13T00\.\.2024-07-13T02, 5 files, \d+ bytes\) is estimated at \$0\.\d+ \(Athena \$0\.\d+, .*\), over the budget maxRunCostUsd \$0\.000001 of stage test/,
    );
    expect(await s3.store.head(DATA, keys.manifest('r-budget'))).toBeUndefined();
  });

  it('lets a run under the budget go on', async () => {
    // 3 Athena queries alone bill 30 MB (≈ $0.00014); the whole run is under a cent.
    const output = await ingest(
      { input: { runId: 'r-under', window }, executionName: 'x5' },
      { ...settings, budget: { ...settings.budget, maxRunCostUsd: 0.01 } },
      s3.store,
      silentLog,
    );
    expect(output.files).toBe(5);
  });

  it("holds as many batches as the parent's history budget leaves beside the window's hour groups", () => {
    const day = { from: '2024-07-13T00', to: '2024-07-14T00' };
    // 24 + 2 lookback hours in 2 groups: 32 + 8 × 2 events, then 8 per batch, within 20,000.
    expect(maxBatchesForWindow(day, { lookbackHours: 2, hoursPerExecution: 16 })).toBe(2494);
    // A leap year's 8,784 + 2 hours in 550 groups take their share of the same budget.
    const year = { from: '2024-01-01T00', to: '2025-01-01T00' };
    expect(maxBatchesForWindow(year, { lookbackHours: 2, hoursPerExecution: 16 })).toBe(1946);
  });
});
