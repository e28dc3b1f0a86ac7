import {
  backfillExecution,
  batchExecution,
  chooseBatchMap,
  HISTORY_EVENT_BUDGET,
  HISTORY_EVENT_CAP,
  historyEvents,
  hourGroups,
  hourGroupsForWindow,
  hoursExecution,
  mapRunChildExecution,
  maxBackfillWindows,
  maxBatchesPerRun,
  runExecution,
  runHistory,
  stateTransitions,
  worstBatchExecutionEvents,
  worstHoursExecutionEvents,
} from '#shared/core/run-model';

describe('run model: history events per execution', () => {
  it('counts the parent as 32 events plus 8 per batch and per hour group', () => {
    expect(historyEvents(runExecution({ batches: 0, hourGroups: 0 }))).toBe(32);
    expect(historyEvents(runExecution({ batches: 2, hourGroups: 1 }))).toBe(32 + 8 * 3);
  });

  it('counts a distributed parent as 34 events plus 8 per hour group, whatever its batches', () => {
    const distributed = (batches: number) =>
      historyEvents(runExecution({ batches, hourGroups: 550, batchMap: 'distributed' }));
    // The map run adds MapRunStarted and MapRunSucceeded to the Map's 4 events.
    expect(distributed(0)).toBe(34 + 8 * 550);
    expect(distributed(182_500)).toBe(34 + 8 * 550);
    // Each batch's map-run child: ExecutionStarted, the .sync:2 task's 6 events, ExecutionSucceeded.
    expect(historyEvents(mapRunChildExecution())).toBe(8);
    expect(maxBatchesPerRun(550, 'distributed')).toBe(Number.POSITIVE_INFINITY);
  });

  it('bills a distributed run one transition per child execution started, beside its states', () => {
    const shape = { batchFiles: [5, 4], hourGroupPolls: [[1, 3]] };
    const inline = runHistory(shape);
    const distributed = runHistory({ ...shape, batchMap: 'distributed' });
    // Inline: the parent's RunBatch task per batch. Distributed: per batch the child's start and
    // its RunBatchInMapRun task: one transition a batch more.
    expect(distributed.transitions - inline.transitions).toBe(2);
    expect(distributed.run).toBe(34 + 8);
    expect(distributed.batch).toBe(inline.batch);
  });

  it('lets auto take the Distributed Map only when the inline parent cannot hold the batches', () => {
    expect(chooseBatchMap('auto', 2494, 2494)).toBe('inline');
    expect(chooseBatchMap('auto', 2495, 2494)).toBe('distributed');
    expect(chooseBatchMap('inline', 5000, 2494)).toBe('inline');
    expect(chooseBatchMap('distributed', 1, 2494)).toBe('distributed');
  });

  it('counts a batch child as 13 events plus 7 per file', () => {
    expect(historyEvents(batchExecution({ files: 0 }))).toBe(13);
    expect(historyEvents(batchExecution({ files: 100 }))).toBe(13 + 7 * 100);
  });

  it('counts an hour-group child as 8 events plus 17 per hour and 9 per status poll', () => {
    expect(historyEvents(hoursExecution({ hours: 6, polls: 6 }))).toBe(8 + 17 * 6 + 9 * 6);
  });

  it('counts one billed state transition per state entered, in the parent and every child', () => {
    // Parent: 4 Lambda tasks, the Choice, 2 Maps, 1 child task per batch and per group.
    expect(stateTransitions(runExecution({ batches: 3, hourGroups: 1 }))).toBe(7 + 4);
    // Batch: LoadBatch, the Map, Done, one task per file.
    expect(stateTransitions(batchExecution({ files: 5 }))).toBe(3 + 5);
    // Hours: the Map, Done; per hour 3 tasks; per poll Wait, CheckQuery and Choice.
    expect(stateTransitions(hoursExecution({ hours: 2, polls: 4 }))).toBe(2 + 6 + 12);
    const run = runHistory({ batchFiles: [5, 4], hourGroupPolls: [[1, 3]] });
    expect(run.transitions).toBe(7 + 2 + 1 + (3 + 5) + (3 + 4) + (2 + 6 + 12));
  });

  it("gives the run's largest execution: the biggest batch and the busiest hour group, not averages", () => {
    const history = runHistory({ batchFiles: [8, 4], hourGroupPolls: [[1, 1], [9]] });
    expect(history).toMatchObject({ run: 32 + 8 * 4, batch: 13 + 7 * 8 });
    // The group of one hour polled 9 times (8 + 17 + 81 = 106) outgrows the group of two (8 + 34 + 18).
    expect(history.hours).toBe(8 + 17 + 9 * 9);
    expect(history.max).toBe(106);
  });

  it('cuts hours into groups as PlanHours does, in order', () => {
    expect(hourGroups(['a', 'b', 'c', 'd', 'e'], 2)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(hourGroupsForWindow({ windowHours: 24, lookbackHours: 2, hoursPerExecution: 16 })).toBe(2);
  });
});

describe('run model: limits', () => {
  it('keeps the shipped settings inside the budget in the worst case, and says by how much', () => {
    // 16 hours polled every 5 s up to 600 s: 121 polls each.
    expect(
      worstHoursExecutionEvents({
        hoursPerExecution: 16,
        athenaQueryTimeoutSeconds: 600,
        athenaPollSeconds: 5,
      }),
    ).toBe(8 + 16 * (17 + 9 * 121));
    expect(worstBatchExecutionEvents({ batchMaxFiles: 1_000 })).toBe(7_013);
    expect(worstBatchExecutionEvents({ batchMaxFiles: 1_000 })).toBeLessThanOrEqual(HISTORY_EVENT_BUDGET);
  });

  it("derives a run's batch limit from the parent's budget left beside its hour groups", () => {
    expect(maxBatchesPerRun(0)).toBe(Math.floor((20_000 - 32) / 8));
    expect(maxBatchesPerRun(2)).toBe(2494);
    const batches = maxBatchesPerRun(550);
    expect(historyEvents(runExecution({ batches, hourGroups: 550 }))).toBeLessThanOrEqual(
      HISTORY_EVENT_BUDGET,
    );
    expect(historyEvents(runExecution({ batches: batches + 1, hourGroups: 550 }))).toBeGreaterThan(
      HISTORY_EVENT_BUDGET,
    );
  });
});

describe('backfill history', () => {
  it('records 20 events plus 8 per window (a Map iteration and a startExecution.sync:2 task) on its success path', () => {
    expect(historyEvents(backfillExecution({ windows: 0 }))).toBe(20);
    expect(historyEvents(backfillExecution({ windows: 365 }))).toBe(20 + 365 * 8);
  });

  it('adds 2 events per failed window (its WindowFailed Pass) and ends in one Fail state instead of Done', () => {
    expect(historyEvents(backfillExecution({ windows: 3, failedWindows: 1 }))).toBe(20 + 3 * 8 + 2 - 1);
    expect(historyEvents(backfillExecution({ windows: 3, failedWindows: 3 }))).toBe(20 + 3 * 8 + 6 - 1);
  });

  it('holds 2,497 windows within the 20,000-event budget, and every one of them failing still stays under 25,000', () => {
    const most = maxBackfillWindows();
    expect(most).toBe(2497);
    expect(historyEvents(backfillExecution({ windows: most }))).toBeLessThanOrEqual(HISTORY_EVENT_BUDGET);
    expect(historyEvents(backfillExecution({ windows: most + 1 }))).toBeGreaterThan(HISTORY_EVENT_BUDGET);
    expect(historyEvents(backfillExecution({ windows: most, failedWindows: most }))).toBeLessThanOrEqual(
      HISTORY_EVENT_CAP,
    );
  });

  it('bills one transition per state entered: each window its task, a failed one its Pass too', () => {
    expect(stateTransitions(backfillExecution({ windows: 3 }))).toBe(2 + 3 + 1 + 2);
    expect(stateTransitions(backfillExecution({ windows: 3, failedWindows: 1 }))).toBe(2 + 3 + 1 + 1 + 1 + 1);
  });
});
