import type { Timing } from '#shared/core/run-files';
import { historyEventsFromTimings, rootFailure } from '#shared/steps/report';

describe('report helpers', () => {
  it("reports a child execution's own error, not the parent's States.TaskFailed", () => {
    const child = {
      ExecutionArn: 'arn:aws:states:us-east-1:1:execution:cf-etl-dev-hours:abc',
      Status: 'FAILED',
      Error: 'AthenaQueryFailedError',
      Cause: 'Athena query q1 FAILED: HIVE_BAD_DATA',
    };
    expect(rootFailure('States.TaskFailed', JSON.stringify(child))).toEqual({
      error: 'AthenaQueryFailedError',
      cause: 'Athena query q1 FAILED: HIVE_BAD_DATA',
      execution: child.ExecutionArn,
    });
    expect(rootFailure('States.TaskFailed', 'Lambda failed')).toEqual({
      error: 'States.TaskFailed',
      cause: 'Lambda failed',
    });
    expect(rootFailure('IngestError', '{"Error": "not this"}')).toEqual({
      error: 'IngestError',
      cause: '{"Error": "not this"}',
    });
  });

  it('estimates the largest history over the parent, the batch children and the hour-group children', () => {
    const timing = (fn: string, action: string): Timing => ({
      function: fn,
      action,
      startedAt: '2024-07-13T00:00:00Z',
      finishedAt: '2024-07-13T00:00:01Z',
    });
    const times = (n: number, fn: string, action: string) =>
      Array.from({ length: n }, () => timing(fn, action));
    // 720 hours (a month) with 3 polls each, in groups of 16: no execution nears the cap.
    const month = [...times(720, 'aggregate', 'start'), ...times(2160, 'aggregate', 'status')];
    const events = historyEventsFromTimings(month, 16);
    expect(events).toBeLessThan(25_000);
    // The same month in one execution (the layout before hour groups) would not fit.
    expect(historyEventsFromTimings(month, 720)).toBeGreaterThan(25_000);
  });
});
