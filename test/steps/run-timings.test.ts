import type { ObjectStore } from '#shared/adapters/object-store';
import type { SourceObject } from '#shared/core/ingest';
import { keys } from '#shared/core/run-files';
import { collectMetricLines, publishInvocationMetrics } from '#shared/observability/metrics';
import { stageDurations } from '#shared/steps/report';
import { runShapeFromTimings, timingsFromMetricLines, timingsFromOutputs } from '#shared/steps/run-timings';

const RUN = 'run-1';
const at = (seconds: number) => new Date(Date.UTC(2024, 6, 13, 1, 0, seconds));

/** Listings with write times, and the batch objects' JSON: all `timingsFromOutputs` reads. */
function listingStore(objects: { key: string; writtenAt: Date; json?: unknown }[]): ObjectStore {
  const list = async function* (_bucket: string, prefix: string): AsyncIterable<SourceObject> {
    for (const object of objects) {
      if (object.key.startsWith(prefix))
        yield { key: object.key, size: 1, etag: 'e', lastModified: object.writtenAt };
    }
  };
  const getJson = async (_bucket: string, key: string) => objects.find((object) => object.key === key)?.json;
  return { list, getJson } as unknown as ObjectStore;
}

describe('run timings', () => {
  it("reads one timing per invocation of the run from the handlers' EMF lines, skipping other lines and runs", () => {
    const lines: string[] = ['{"level":"INFO","message":"not a metric","runId":"run-1"}', 'plain text'];
    const restore = collectMetricLines((line) => lines.push(line));
    try {
      const emit = (fn: string, action: string | undefined, runId: string, from: number, to: number) =>
        publishInvocationMetrics(
          { stage: 'local', functionName: fn, action, runId },
          { startedAt: at(from), finishedAt: at(to) },
          {},
        );
      emit('ingest', undefined, RUN, 0, 2);
      publishInvocationMetrics(
        { stage: 'local', functionName: 'transform', action: 'file', runId: RUN, batchId: '0001' },
        { startedAt: at(3), finishedAt: at(5) },
        {},
      );
      emit('transform', 'file', 'other-run', 3, 50);
      emit('write', 'report', RUN, 9, 10);
    } finally {
      restore();
    }
    const timings = timingsFromMetricLines(lines, RUN);
    expect(timings).toEqual([
      { function: 'ingest', startedAt: at(0).toISOString(), finishedAt: at(2).toISOString() },
      {
        function: 'transform',
        action: 'file',
        batchId: '0001',
        startedAt: at(3).toISOString(),
        finishedAt: at(5).toISOString(),
      },
      {
        function: 'write',
        action: 'report',
        startedAt: at(9).toISOString(),
        finishedAt: at(10).toISOString(),
      },
    ]);
    expect(stageDurations(timings)).toEqual([
      { name: 'ingest', durationMs: 2000, invocations: 1 },
      { name: 'transform', durationMs: 2000, invocations: 1 },
    ]);
  });

  it('bounds each step by the write times of the outputs it leaves, and counts invocations from them', async () => {
    const store = listingStore([
      { key: keys.manifest(RUN), writtenAt: at(1) },
      { key: keys.batch(RUN, '0000'), writtenAt: at(2), json: { files: [{ fileId: 'a' }, { fileId: 'b' }] } },
      { key: keys.batch(RUN, '0001'), writtenAt: at(2), json: { files: [{ fileId: 'c' }] } },
      { key: keys.fileResult(RUN, 'a'), writtenAt: at(4) },
      { key: keys.fileResult(RUN, 'b'), writtenAt: at(6) },
      { key: keys.fileResult(RUN, 'c'), writtenAt: at(5) },
      { key: keys.transformSummary(RUN), writtenAt: at(7) },
    ]);
    const timings = await timingsFromOutputs(
      store,
      'bucket',
      RUN,
      { startedAt: at(0).toISOString(), finishedAt: at(20), athenaPollSeconds: 5 },
      // Two hours: one query took 12 s of engine time (3 polls at 5 s), one under a poll (1).
      [
        { hour: '2024-07-13T01', writtenAt: at(15), engineMs: 12_000 },
        { hour: '2024-07-13T00', writtenAt: at(11), engineMs: 800 },
      ],
    );
    // What the run model reads: files per batch, and per hour group (hours in order) the polls.
    expect(runShapeFromTimings(timings, 16)).toEqual({ batchFiles: [2, 1], hourGroupPolls: [[1, 3]] });
    expect(runShapeFromTimings(timings, 1)).toEqual({ batchFiles: [2, 1], hourGroupPolls: [[1], [3]] });
    expect(stageDurations(timings)).toEqual([
      { name: 'ingest', durationMs: 2000, invocations: 1 },
      { name: 'transform', durationMs: 4000, invocations: 2 + 3 },
      { name: 'aggregate', durationMs: 9000, invocations: 1 + 2 * 2 + 3 + 1 },
      { name: 'stage', durationMs: 4000, invocations: 2 },
      { name: 'write', durationMs: 5000, invocations: 1 },
    ]);
  });

  it('reports only the steps a failed run got through', async () => {
    const store = listingStore([{ key: keys.manifest(RUN), writtenAt: at(3) }]);
    const timings = await timingsFromOutputs(
      store,
      'bucket',
      RUN,
      { startedAt: at(0).toISOString(), finishedAt: at(9), athenaPollSeconds: 5 },
      [],
    );
    expect(stageDurations(timings)).toEqual([{ name: 'ingest', durationMs: 3000, invocations: 1 }]);
  });
});
