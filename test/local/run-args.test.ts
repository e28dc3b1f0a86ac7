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
