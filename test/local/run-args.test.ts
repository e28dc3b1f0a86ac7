import { parseRunArgs, UsageError } from '#local/cli/run-args';

describe('npm run local flags: --pipeline and --rows', () => {
  it('runs the CloudFront pipeline unless told db-sync, with 100,000 rows by default', () => {
    expect(parseRunArgs([])).toMatchObject({ pipeline: 'cloudfront', rows: 100_000 });
    expect(parseRunArgs(['--pipeline', 'db-sync', '--rows', '2000'])).toMatchObject({
      pipeline: 'db-sync',
      rows: 2_000,
    });
  });

  it.each([
    [['--pipeline', 'mysql'], '--pipeline mysql is not one of cloudfront, db-sync'],
    [['--pipeline', 'db-sync', '--rows', 'many'], '--rows many is not a whole number from 100'],
    [['--pipeline', 'db-sync', '--rows', '10'], '--rows 10 is not a whole number from 100'],
  ])('refuses %j before starting anything', (argv, message) => {
    expect(() => parseRunArgs(argv)).toThrow(UsageError);
    expect(() => parseRunArgs(argv)).toThrow(message);
  });
});

describe('npm run local flags: --backfill and --backfill-id', () => {
  it('runs one window unless told --backfill, then names the backfill after its window', () => {
    expect(parseRunArgs(['--days', '3']).backfillId).toBeUndefined();
    expect(parseRunArgs(['--days', '3', '--backfill'])).toMatchObject({
      days: 3,
      backfillId: 'local-backfill-2024071300-2024071600',
    });
    expect(parseRunArgs(['--from', '2024-07-13T05', '--to', '2024-07-14T05', '--backfill']).backfillId).toBe(
      'local-backfill-2024071305-2024071405',
    );
    expect(parseRunArgs(['--backfill', '--backfill-id', 'july-2024']).backfillId).toBe('july-2024');
  });

  it.each([
    [['--backfill-id', 'july'], '--backfill-id needs --backfill'],
    [['--backfill', '--backfill-id', '../up'], '--backfill-id ../up: runId may hold'],
    [['--backfill', '--report', 'out.html'], "--report with --backfill copies the backfill's summary"],
    [['--backfill', '--pipeline', 'db-sync'], '--backfill runs the CloudFront pipeline'],
  ])('refuses %j before starting anything', (argv, message) => {
    expect(() => parseRunArgs(argv)).toThrow(UsageError);
    expect(() => parseRunArgs(argv)).toThrow(message);
  });
});
