import { priceRun, roundCost } from '#shared/core/run-cost';
import type { Timing } from '#shared/core/run-files';
import type { RunReport } from '#shared/core/run-report';
import { addHours } from '#shared/core/window';

/**
 * A run report as the report step writes it, for a day of `hours` hours from 2024-07-13T00 with
 * one quarantined file, and one timing per invocation the way the local runner collects them.
 */
export function sampleReport(
  options: {
    hours?: number;
    quarantinedFiles?: RunReport['quarantinedFiles'];
    status?: RunReport['status'];
  } = {},
): { report: RunReport; timings: Timing[] } {
  const hourCount = options.hours ?? 24;
  const hours = Array.from({ length: hourCount }, (_, index) => ({
    hour: addHours('2024-07-13T00', index),
    requests: 1000 + 37 * index,
    bytes: 5_000_000 + 123_457 * index,
  }));
  const accepted = hours.reduce((sum, hour) => sum + hour.requests, 0);
  const quarantinedFiles = options.quarantinedFiles ?? [
    { key: 'raw/dt=2024-07-13/E123.2024-07-13-05.corrupt.gz', reason: 'gzip: unexpected end of file' },
  ];
  const started = Date.parse('2024-07-14T00:05:00.000Z');
  const at = (ms: number) => new Date(started + ms).toISOString();
  const timings: Timing[] = [{ function: 'ingest', startedAt: at(10), finishedAt: at(400) }];
  for (const batchId of ['0001', '0002']) {
    timings.push({
      function: 'transform',
      action: 'batch',
      batchId,
      startedAt: at(420),
      finishedAt: at(440),
    });
    for (let file = 0; file < 4; file++) {
      timings.push({
        function: 'transform',
        action: 'file',
        batchId,
        startedAt: at(450 + 100 * file),
        finishedAt: at(900 + 100 * file),
      });
    }
  }
  timings.push({ function: 'aggregate', action: 'hours', startedAt: at(1400), finishedAt: at(1450) });
  for (const [index, { hour }] of hours.entries()) {
    const begin = 1500 + 40 * index;
    timings.push({
      function: 'aggregate',
      action: 'start',
      hour,
      startedAt: at(begin),
      finishedAt: at(begin + 5),
    });
    timings.push({
      function: 'aggregate',
      action: 'status',
      hour,
      startedAt: at(begin + 20),
      finishedAt: at(begin + 22),
    });
    timings.push({
      function: 'aggregate',
      action: 'results',
      hour,
      startedAt: at(begin + 25),
      finishedAt: at(begin + 30),
    });
    timings.push({ function: 'stage', hour, startedAt: at(begin + 31), finishedAt: at(begin + 38) });
  }
  const aggregated = 1500 + 40 * hourCount;
  timings.push({
    function: 'write',
    action: 'write',
    startedAt: at(aggregated),
    finishedAt: at(aggregated + 300),
  });
  timings.push({
    function: 'write',
    action: 'report',
    startedAt: at(aggregated + 310),
    finishedAt: at(aggregated + 400),
  });
  const cost = roundCost(
    priceRun({
      architecture: 'arm64',
      athenaBytesScanned: hours.map(() => 80_000),
      lambda: {
        ingest: { invocations: 1, durationMs: 390, memoryMb: 512, ephemeralStorageMb: 512 },
        transform: { invocations: 10, durationMs: 3640, memoryMb: 1024, ephemeralStorageMb: 512 },
      },
      stateTransitions: 40 + 9 * hourCount,
      s3: { putCopyListRequests: 60, getRequests: 90 },
      dynamodb: { writeUnits: 3 * hourCount, readUnits: hourCount + 1 },
    }),
  );
  const report: RunReport = {
    status: options.status ?? 'SUCCEEDED',
    runId: 'local-2024-07-13T00-2024-07-14T00-test',
    window: { from: '2024-07-13T00', to: '2024-07-14T00' },
    batchMap: 'inline',
    startedAt: at(0),
    finishedAt: at(aggregated + 420),
    files: { total: 8, transformed: 8 - quarantinedFiles.length, quarantined: quarantinedFiles.length },
    quarantinedFiles,
    rows: { read: accepted + 17 + 250, accepted, quarantined: 17, inQuarantinedFiles: 250 },
    hours,
    reconciliation: { status: 'MATCHED', hours: hourCount, differences: [] },
    athena: { queries: hourCount, bytesScanned: 80_000 * hourCount, estimatedCostUsd: cost.athena.usd },
    maxHistoryEvents: 168,
    historyEventsSource: "counted from the handlers' invocations",
    measuredHistoryEvents: 168,
    stages: [
      { name: 'ingest', durationMs: 390, invocations: 1 },
      { name: 'transform', durationMs: 1180, invocations: 10 },
      { name: 'aggregate', durationMs: 40 * hourCount, invocations: 1 + 3 * hourCount },
      { name: 'stage', durationMs: 40 * hourCount, invocations: hourCount },
      { name: 'write', durationMs: 300, invocations: 1 },
    ],
    cost: {
      ...cost,
      sources: {
        lambda: "the handlers' own invocations",
        stepFunctions: "the run model over the handlers' invocations per batch and per hour",
        s3: 'estimated from the files, batches and queries',
        dynamodb: "the staged items' sizes",
      },
    },
  };
  return { report, timings };
}
