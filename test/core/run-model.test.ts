import {
  batchExecution,
  HISTORY_EVENT_BUDGET,
  historyEvents,
  hourGroups,
  hourGroupsForWindow,
  hoursExecution,
  maxBatchesPerRun,
  runExecution,
  runHistory,
  stateTransitions,
  worstBatchExecutionEvents,
  worstHoursExecutionEvents,
} from '#shared/core/run-model';

describe('run model: history events per execution', () => {
  it('counts the parent as 30 events plus 8 per batch and per hour group', () => {
    expect(historyEvents(runExecution({ batches: 0, hourGroups: 0 }))).toBe(30);
    expect(historyEvents(runExecution({ batches: 2, hourGroups: 1 }))).toBe(30 + 8 * 3);
  });

  it('counts a batch child as 13 events plus 7 per file', () => {
    expect(historyEvents(batchExecution({ files: 0 }))).toBe(13);
    expect(historyEvents(batchExecution({ files: 100 }))).toBe(13 + 7 * 100);
  });

  it('counts an hour-group child as 8 events plus 17 per hour and 9 per status poll', () => {
    expect(historyEvents(hoursExecution({ hours: 6, polls: 6 }))).toBe(8 + 17 * 6 + 9 * 6);
  });

  it('counts one billed state transition per state entered, in the parent and every child', () => {
    // Parent: 4 Lambda tasks, 2 Maps, 1 child task per batch and per group.
    expect(stateTransitions(runExecution({ batches: 3, hourGroups: 1 }))).toBe(6 + 4);
    // Batch: LoadBatch, the Map, Done, one task per file.
    expect(stateTransitions(batchExecution({ files: 5 }))).toBe(3 + 5);
    // Hours: the Map, Done; per hour 3 tasks; per poll Wait, CheckQuery and Choice.
    expect(stateTransitions(hoursExecution({ hours: 2, polls: 4 }))).toBe(2 + 6 + 12);
    const run = runHistory({ batchFiles: [5, 4], hourGroupPolls: [[1, 3]] });
    expect(run.transitions).toBe(6 + 2 + 1 + (3 + 5) + (3 + 4) + (2 + 6 + 12));
  });

  it("gives the run's largest execution: the biggest batch and the busiest hour group, not averages", () => {
    const history = runHistory({ batchFiles: [8, 4], hourGroupPolls: [[1, 1], [9]] });
    expect(history).toMatchObject({ run: 30 + 8 * 4, batch: 13 + 7 * 8 });
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
    expect(maxBatchesPerRun(0)).toBe(Math.floor((20_000 - 30) / 8));
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
