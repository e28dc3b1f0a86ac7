import { BackfillWindowsInputSchema, backfillWindows } from '#shared/steps/backfill-windows';
import { IngestInputSchema } from '#shared/steps/ingest';

describe('ingest action backfillWindows', () => {
  it('splits the backfill window into runs named after the backfill execution', async () => {
    const input = BackfillWindowsInputSchema.parse({
      action: 'backfillWindows',
      input: { from: '2024-07-01T00', to: '2024-07-03T00' },
      executionName: 'year-2024',
      hoursPerRun: 24,
    });
    expect(await backfillWindows(input)).toEqual({
      backfillId: 'year-2024',
      windows: [
        { runId: 'year-2024-2024070100', window: { from: '2024-07-01T00', to: '2024-07-02T00' } },
        { runId: 'year-2024-2024070200', window: { from: '2024-07-02T00', to: '2024-07-03T00' } },
      ],
    });
  });

  it('refuses a backfill window in the wrong order, as the run parent does', () => {
    const parsed = BackfillWindowsInputSchema.safeParse({
      action: 'backfillWindows',
      input: { from: '2024-07-03T00', to: '2024-07-01T00' },
      executionName: 'bf',
      hoursPerRun: 24,
    });
    expect(parsed.success).toBe(false);
  });

  it('keeps a 365-window year under 256 KB of state payload', async () => {
    const output = await backfillWindows({
      action: 'backfillWindows',
      input: { from: '2025-01-01T00', to: '2026-01-01T00' },
      executionName: 'x'.repeat(80),
      hoursPerRun: 24,
    });
    expect(output.windows).toHaveLength(365);
    expect(Buffer.byteLength(JSON.stringify(output))).toBeLessThan(256 * 1024);
  });

  it('leaves an ordinary run input to ingest', () => {
    const run = { input: { window: { from: '2024-07-01T00', to: '2024-07-02T00' } }, executionName: 'r1' };
    expect(BackfillWindowsInputSchema.safeParse(run).success).toBe(false);
    expect(IngestInputSchema.safeParse(run).success).toBe(true);
  });
});
