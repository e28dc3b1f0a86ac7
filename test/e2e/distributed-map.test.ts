import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalPipeline, runWindow, seedSource, sourceOf, startLocalPipeline } from '#local/pipeline';
import { writeSampleDirectory } from '#local/sample/index';
import { S3ObjectStore } from '#shared/adapters/object-store';
import { keys } from '#shared/core/run-files';
import { historyEvents, runExecution } from '#shared/core/run-model';

const DAY = '2024-07-13';
const WINDOW = { from: `${DAY}T00`, to: `${DAY}T06` };

describe('the pipeline with batchMapMode distributed (the same ASL file, its Distributed Map run locally)', () => {
  let pipeline: LocalPipeline;
  let work: string;
  let store: S3ObjectStore;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'etl-e2e-dmap-'));
    // Fresh handler modules: ingest reads BATCH_MAP_MODE once per container, as on Lambda.
    jest.resetModules();
    pipeline = await startLocalPipeline({
      directory: join(work, 'stack'),
      waitTimeScale: 0.01,
      environment: { LOG_LEVEL: 'error', BATCH_MAP_MODE: 'distributed' },
    });
    store = new S3ObjectStore(pipeline.stack.clients.s3);
  }, 120_000);

  afterAll(async () => {
    await pipeline?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('runs the sample window to SUCCEEDED with the same rows, and the parent records one map run', async () => {
    const directory = join(work, 'sample');
    const expected = writeSampleDirectory(directory, {
      seed: 11,
      day: DAY,
      hours: 6,
      filesPerHour: 3,
      rowsPerFile: 40,
    });
    await seedSource(store, sourceOf(pipeline.environment), directory);
    const outcome = await runWindow(pipeline, WINDOW, 'e2e-distributed');
    expect(outcome).toMatchObject({ status: 'SUCCEEDED' });
    const report = outcome.report!;
    expect(report.batchMap).toBe('distributed');
    // What the inline parent gives (test/e2e/pipeline.test.ts): the planted expectation, hour by hour.
    expect(report.rows.accepted).toBe(expected.rowsAccepted);
    expect(report.rows.quarantined).toBe(expected.rowsQuarantined);
    expect(report.files.total).toBe(expected.files);
    for (const hour of report.hours) {
      expect({ hour: hour.hour, requests: hour.requests, bytes: hour.bytes }).toEqual({
        hour: hour.hour,
        requests: expected.acceptedByHour[hour.hour] ?? 0,
        bytes: expected.bytesByHour[hour.hour] ?? 0,
      });
    }
    expect(report.reconciliation.status).toBe('MATCHED');

    // Ingest wrote the batch list the ItemReader read, and the batch objects the report reads.
    const bucket = pipeline.environment.DATA_BUCKET ?? '';
    const items = (await store.getJson(bucket, keys.batchItems('e2e-distributed'))) as { batchId: string }[];
    const batchKeys: string[] = [];
    for await (const object of store.list(bucket, 'manifests/e2e-distributed/batches/'))
      batchKeys.push(object.key);
    // Files in batches of at most 8 (stage local's batchMaxFiles).
    expect(items.length).toBe(Math.ceil(expected.files / 8));
    expect(batchKeys).toHaveLength(items.length);

    // The parent: its tasks, the Choice, two Maps, the map run, and 8 events per hour group.
    const hourGroups = Math.ceil(report.athena.queries / Number(pipeline.environment.HOURS_PER_EXECUTION));
    expect(outcome.parentHistoryEvents).toBe(
      historyEvents(runExecution({ batches: items.length, hourGroups, batchMap: 'distributed' })),
    );
    // Parent, a map-run child and a batch child per batch, an hour-group child per group.
    expect(outcome.executions).toBe(1 + 2 * items.length + hourGroups);
    // The run model's estimate covers what the runner counted, within 20 %.
    expect(report.measuredHistoryEvents).toBe(outcome.maxHistoryEvents);
    expect(report.maxHistoryEvents).toBeGreaterThanOrEqual(outcome.maxHistoryEvents);
    expect(report.maxHistoryEvents).toBeLessThanOrEqual(outcome.maxHistoryEvents * 1.2);

    // The ResultWriter's manifest and one result line per batch child, all SUCCEEDED.
    const manifests: string[] = [];
    for await (const object of store.list(bucket, 'map-runs/')) {
      if (object.key.endsWith('/manifest.json')) manifests.push(object.key);
    }
    expect(manifests).toHaveLength(1);
    const manifest = (await store.getJson(bucket, manifests[0]!)) as {
      ResultFiles: { SUCCEEDED: { Key: string }[]; FAILED: unknown[] };
    };
    expect(manifest.ResultFiles.FAILED).toEqual([]);
    const lines = (await store.getJson(bucket, manifest.ResultFiles.SUCCEEDED[0]!.Key)) as {
      Status: string;
      Output: string;
    }[];
    expect(lines.map((line) => (JSON.parse(line.Output) as { batchId: string }).batchId).sort()).toEqual(
      items.map((item) => item.batchId).sort(),
    );
  }, 180_000);
});
