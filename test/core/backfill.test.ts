import { splitBackfillWindow } from '#shared/core/backfill';

describe('splitBackfillWindow', () => {
  it('splits a window on run boundaries counted in hours from its start', () => {
    expect(splitBackfillWindow('bf', { from: '2024-07-13T05', to: '2024-07-15T05' }, 24)).toEqual([
      { runId: 'bf-2024071305', window: { from: '2024-07-13T05', to: '2024-07-14T05' } },
      { runId: 'bf-2024071405', window: { from: '2024-07-14T05', to: '2024-07-15T05' } },
    ]);
  });

  it('ends with a shorter window when the hours do not divide evenly', () => {
    const windows = splitBackfillWindow('bf', { from: '2024-07-13T00', to: '2024-07-14T03' }, 24);
    expect(windows.map((run) => run.window)).toEqual([
      { from: '2024-07-13T00', to: '2024-07-14T00' },
      { from: '2024-07-14T00', to: '2024-07-14T03' },
    ]);
  });

  it('keeps a window shorter than one run as a single run', () => {
    expect(splitBackfillWindow('bf', { from: '2024-02-28T22', to: '2024-02-29T02' }, 24)).toEqual([
      { runId: 'bf-2024022822', window: { from: '2024-02-28T22', to: '2024-02-29T02' } },
    ]);
  });

  it('plans a year as 365 daily runs with distinct ids', () => {
    const windows = splitBackfillWindow('year', { from: '2025-01-01T00', to: '2026-01-01T00' }, 24);
    expect(windows).toHaveLength(365);
    expect(new Set(windows.map((run) => run.runId)).size).toBe(365);
    expect(windows.at(-1)?.window).toEqual({ from: '2025-12-31T00', to: '2026-01-01T00' });
  });

  it('derives the same run ids when the same backfill runs again', () => {
    const window = { from: '2024-07-01T00', to: '2024-07-04T00' };
    expect(splitBackfillWindow('bf-1', window, 24)).toEqual(splitBackfillWindow('bf-1', window, 24));
  });

  it('keeps run ids within 80 characters and without a colon for a long backfill name', () => {
    const name = 'x'.repeat(80);
    const [first] = splitBackfillWindow(name, { from: '2024-07-01T00', to: '2024-07-02T00' }, 24);
    expect(first?.runId.length).toBeLessThanOrEqual(80);
    expect(first?.runId).not.toContain(':');
    expect(
      splitBackfillWindow(`${name}y`, { from: '2024-07-01T00', to: '2024-07-02T00' }, 24)[0]?.runId,
    ).not.toBe(first?.runId);
  });

  it('refuses a run length that is not a whole number of hours', () => {
    expect(() => splitBackfillWindow('bf', { from: '2024-07-01T00', to: '2024-07-02T00' }, 0)).toThrow(
      RangeError,
    );
  });
});
