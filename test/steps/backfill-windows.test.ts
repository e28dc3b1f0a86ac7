import { BackfillTooLongError } from '#shared/core/errors';
import { BackfillWindowsInputSchema, backfillWindows } from '#shared/steps/backfill-windows';
import { IngestInputSchema } from '#shared/steps/ingest';

describe('ingest action backfillWindows', () => {
  it('splits the backfill window into runs named after the backfill execution', async () => {
    const input = BackfillWindowsInputSchema.parse({
      action: 'backfillWindows',
      input: { window: { from: '2024-07-01T00', to: '2024-07-03T00' } },
      executionName: 'year-2024',
      hoursPerRun: 24,
    });
    expect(await backfillWindows(input)).toEqual({
      backfillId: 'year-2024',
      window: { from: '2024-07-01T00', to: '2024-07-03T00' },
      hoursPerRun: 24,
      windows: [
        { runId: 'year-2024-2024070100', window: { from: '2024-07-01T00', to: '2024-07-02T00' } },
        { runId: 'year-2024-2024070200', window: { from: '2024-07-02T00', to: '2024-07-03T00' } },
      ],
    });
  });

  it('names the runs after the backfillId of the input when one is given, so a re-run starts the same runs', async () => {
    const input = (executionName: string) =>
      BackfillWindowsInputSchema.parse({
        action: 'backfillWindows',
        input: { backfillId: 'year-2024', window: { from: '2024-07-01T00', to: '2024-07-03T00' } },
        executionName,
        hoursPerRun: 24,
      });
    const first = await backfillWindows(input('3f1c0a52-first-attempt'));
    const again = await backfillWindows(input('9b7e44d1-second-attempt'));
    expect(first.backfillId).toBe('year-2024');
    expect(again).toEqual(first);
  });

  it('refuses a backfill window in the wrong order, as the run parent does', () => {
    const parsed = BackfillWindowsInputSchema.safeParse({
      action: 'backfillWindows',
      input: { window: { from: '2024-07-03T00', to: '2024-07-01T00' } },
      executionName: 'bf',
      hoursPerRun: 24,
    });
    expect(parsed.success).toBe(false);
  });

  it('keeps a 365-window year under 256 KB of state payload', async () => {
    const output = await backfillWindows({
      action: 'backfillWindows',
      input: { window: { from: '2025-01-01T00', to: '2026-01-01T00' } },
      executionName: 'x'.repeat(80),
      hoursPerRun: 24,
    });
    expect(output.windows).toHaveLength(365);
    expect(Buffer.byteLength(JSON.stringify(output))).toBeLessThan(256 * 1024);
  });

  it('refuses more runs than one backfill holds, naming backfillHoursPerRun and the length that fits', async () => {
    // Eight years of daily runs: 2,922 windows, 2,497 at most.
    const attempt = backfillWindows({
      action: 'backfillWindows',
      input: { window: { from: '2017-01-01T00', to: '2025-01-01T00' } },
      executionName: 'eight-years',
      hoursPerRun: 24,
    });
    await expect(attempt).rejects.toThrow(BackfillTooLongError);
    await expect(attempt).rejects.toThrow(
      /2922 runs of ≤ 24 h \(backfillHoursPerRun\), and one backfill holds at most 2497 .*raise backfillHoursPerRun to 29 or more/,
    );
  });

  it('refuses a run list over the state payload it may hold, naming the backfill id as the way out', async () => {
    // 2,400 runs fit the history, but 71-character run ids make the list about 310 KB.
    const attempt = backfillWindows({
      action: 'backfillWindows',
      input: { window: { from: '2024-01-01T00', to: '2024-04-10T00' } },
      executionName: 'x'.repeat(80),
      hoursPerRun: 1,
    });
    await expect(attempt).rejects.toThrow(BackfillTooLongError);
    await expect(attempt).rejects.toThrow(
      /2400 runs .* run list of \d+ bytes, over the 200000 .*shorter backfill id/,
    );
  });

  it('leaves an ordinary run input to ingest', () => {
    const run = { input: { window: { from: '2024-07-01T00', to: '2024-07-02T00' } }, executionName: 'r1' };
    expect(BackfillWindowsInputSchema.safeParse(run).success).toBe(false);
    expect(IngestInputSchema.safeParse(run).success).toBe(true);
  });
});
