import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
// scripts/limits.js hands the plugin this same module (through tsx); the `sls package` test below
// proves that bridge end to end.
import { checkLimits, EARLIEST_ROW_DATE, transformDiskMb } from '#shared/core/run-model';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..');

describe('AWS limit checks at package time', () => {
  it('accepts the shipped settings', () => {
    expect(
      checkLimits({
        athenaConcurrency: 20,
        reservedConcurrency: { transform: 200, write: 2 },
        accountConcurrencyLimit: 1000,
      }),
    ).toEqual([]);
  });

  it('rejects an Athena Map cap above the 20-query quota', () => {
    const problems = checkLimits({
      athenaConcurrency: 21,
      reservedConcurrency: {},
      accountConcurrencyLimit: 1000,
    });
    expect(problems).toEqual([expect.stringMatching(/athenaConcurrency is 21/)]);
  });

  it("rejects a batchMapMode it does not know, a tolerance outside 0-100, and a map run's concurrency above 10,000", () => {
    const base = { athenaConcurrency: 20, reservedConcurrency: {}, accountConcurrencyLimit: 1000 };
    const distributed = {
      batchMapMode: 'distributed',
      toleratedBatchFailurePercentage: 5,
      batchConcurrency: 8,
    };
    expect(checkLimits({ ...base, ...distributed })).toEqual([]);
    expect(checkLimits({ ...base, ...distributed, batchMapMode: 'fast' })).toEqual([
      'batchMapMode is fast: it is one of inline, distributed, auto',
    ]);
    expect(checkLimits({ ...base, ...distributed, toleratedBatchFailurePercentage: 101 })).toEqual([
      expect.stringMatching(/toleratedBatchFailurePercentage is 101: .*0 to 100/),
    ]);
    expect(checkLimits({ ...base, ...distributed, batchMapMode: 'auto', batchConcurrency: 10_001 })).toEqual([
      expect.stringMatching(/batchConcurrency is 10001: a Distributed Map runs 1 to 10000 child executions/),
    ]);
    // Inline, the batch Map's concurrency is not a map run's.
    expect(
      checkLimits({ ...base, ...distributed, batchMapMode: 'inline', batchConcurrency: 10_001 }),
    ).toEqual([]);
  });

  it("rejects backfill settings its runs cannot share: Athena's quota, the writer's reservation, the inline Map's 40", () => {
    const prod = {
      athenaConcurrency: 20,
      reservedConcurrency: { transform: 200, write: 2 },
      accountConcurrencyLimit: 1000,
      backfillHoursPerRun: 24,
      lookbackHours: 2,
      hoursPerExecution: 16,
    };
    expect(checkLimits({ ...prod, backfillConcurrency: 1 })).toEqual([]);
    expect(checkLimits({ ...prod, backfillConcurrency: 2 })).toEqual([
      'backfillConcurrency is 2: its runs at once, each with athenaConcurrency 20, could start 40 Athena queries at once, over the 20-query quota: lower backfillConcurrency or athenaConcurrency',
    ]);
    // dev's Athena cap lets 2 runs share the quota; a third would also pass the writer's reservation.
    const dev = { ...prod, athenaConcurrency: 10 };
    expect(checkLimits({ ...dev, backfillConcurrency: 2 })).toEqual([]);
    expect(checkLimits({ ...dev, athenaConcurrency: 5, backfillConcurrency: 3 })).toEqual([
      expect.stringMatching(
        /backfillConcurrency is 3, but the write function's reserved concurrency \(reservedWrite\) is 2/,
      ),
    ]);
    // Without a reservation (stage local), the writer sets no bound.
    expect(
      checkLimits({
        ...dev,
        athenaConcurrency: 5,
        backfillConcurrency: 3,
        reservedConcurrency: { write: 0 },
      }),
    ).toEqual([]);
    expect(
      checkLimits({ ...dev, athenaConcurrency: 1, backfillConcurrency: 41, reservedConcurrency: {} }),
    ).toEqual(["backfillConcurrency is 41: the backfill's inline Map runs 1 to 40 windows at once"]);
  });

  it('rejects a backfillHoursPerRun that is not whole hours, or whose hour groups fill a run before any batch', () => {
    const base = {
      athenaConcurrency: 10,
      reservedConcurrency: {},
      accountConcurrencyLimit: 1000,
      lookbackHours: 2,
      hoursPerExecution: 16,
    };
    expect(checkLimits({ ...base, backfillHoursPerRun: 8784 })).toEqual([]);
    expect(checkLimits({ ...base, backfillHoursPerRun: 0.5 })).toEqual([
      "backfillHoursPerRun is 0.5: a backfill's run is a whole number of hours, 1 or more",
    ]);
    // 2,496 hour groups: 32 + 8 × (2,496 + 1 batch) = 20,008 events of the parent, over 20,000.
    expect(checkLimits({ ...base, backfillHoursPerRun: 2496 * 16 - 2 })).toEqual([
      expect.stringMatching(
        /backfillHoursPerRun is 39934: one run of it aggregates 2496 hour groups .* at 20008 events with no room for its batches/,
      ),
    ]);
    expect(checkLimits({ ...base, backfillHoursPerRun: 2495 * 16 - 2 })).toEqual([]);
  });

  it('rejects reserved concurrency that leaves fewer than 100 unreserved', () => {
    const problems = checkLimits({
      athenaConcurrency: 10,
      reservedConcurrency: { transform: 850, write: 51 },
      accountConcurrencyLimit: 1000,
    });
    expect(problems).toEqual([expect.stringMatching(/leaving 99 unreserved/)]);
  });

  it('rejects an hours group whose worst-case polling could near the 25,000-event history cap', () => {
    const shipped = { athenaQueryTimeoutSeconds: 600, athenaPollSeconds: 5, hoursPerExecution: 16 };
    const base = { athenaConcurrency: 10, reservedConcurrency: {}, accountConcurrencyLimit: 1000 };
    expect(checkLimits({ ...base, ...shipped })).toEqual([]);
    expect(checkLimits({ ...base, ...shipped, athenaPollSeconds: 1 })).toEqual([
      expect.stringMatching(/hoursPerExecution 16 with a 600 s query budget polled every 1 s/),
    ]);
    expect(checkLimits({ ...base, batchMaxFiles: 1_001 })).toEqual([
      expect.stringMatching(/batchMaxFiles is 1001/),
    ]);
  });

  it("rejects a projection start later than the transform's earliest row date", async () => {
    const base = { athenaConcurrency: 10, reservedConcurrency: {}, accountConcurrencyLimit: 1000 };
    const { PROJECTION_START_MS } = await import('#shared/datasets/table');
    expect(EARLIEST_ROW_DATE).toBe(new Date(PROJECTION_START_MS).toISOString().slice(0, 10));
    expect(checkLimits({ ...base, projectionStartDate: '2008-01-01' })).toEqual([]);
    expect(checkLimits({ ...base, projectionStartDate: '2020-01-01' })).toEqual([
      expect.stringMatching(/projectionStartDate is 2020-01-01/),
    ]);
  });

  it("rejects a transform /tmp that the largest raw file's worst-order spool could overflow", () => {
    const base = { athenaConcurrency: 10, reservedConcurrency: {}, accountConcurrencyLimit: 1000 };
    const shipped = { ephemeralStorageTransform: 4096, maxRawFileBytes: 256 * 1024 ** 2, rawExpansion: 8 };
    expect(checkLimits({ ...base, ...shipped })).toEqual([]);
    // 256 MiB × 8 × 1.6 spool per text byte + 64 MB of headroom = 3,341 MB.
    expect(transformDiskMb(shipped)).toBe(3341);
    expect(checkLimits({ ...base, ...shipped, ephemeralStorageTransform: 2048 })).toEqual([
      expect.stringMatching(
        /ephemeralStorageTransform is 2048 MB, .*maxRawFileBytes 268435456.* can spool 3341 MB/,
      ),
    ]);
    expect(checkLimits({ ...base, ...shipped, ephemeralStorageTransform: 20_000 })).toEqual([
      expect.stringMatching(/ephemeralStorageTransform is 20000: Lambda's \/tmp is 512 to 10240 MB/),
    ]);
  });

  it('refuses to deploy with the placeholder secret ARN, and accepts a real one', () => {
    const EtlPlugin = require('../../scripts/serverless-etl-plugin.js');
    const pluginWith = (secret: string) =>
      new EtlPlugin({
        service: { provider: { environment: { DB_SECRET_ID: secret } } },
        classes: { Error },
      }) as { checkDeploySettings(): void };
    expect(() =>
      pluginWith(
        'arn:aws:secretsmanager:us-east-1:123456789012:secret:cf-etl/dev/mysql',
      ).checkDeploySettings(),
    ).toThrow(/dbSecretId is the placeholder .* --param="dbSecretId=/);
    expect(() =>
      pluginWith('arn:aws:secretsmanager:eu-west-1:210987654321:secret:rds-etl-AbCdEf').checkDeploySettings(),
    ).not.toThrow();
  });

  it('refuses `sls deploy --stage local` with a one-line reason, before any AWS call', async () => {
    const attempt = run(
      process.execPath,
      [join(ROOT, 'node_modules/serverless/bin/serverless.js'), 'deploy', '--stage', 'local'],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          SLS_TELEMETRY_DISABLED: '1',
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
        },
      },
    );
    const failure = (await attempt.then(
      () => undefined,
      (error: unknown) => error,
    )) as { code?: number; stdout: string; stderr: string } | undefined;
    expect(failure?.code).toBe(1);
    const output = `${failure?.stdout}${failure?.stderr}`;
    expect(output).toContain(
      'Stage local is the local stack (npm run local / local:up) and cannot be deployed',
    );
    expect(output).not.toMatch(/Packaging|Uploading|CloudFormation/);
  }, 120_000);
  it('refuses to deploy a template naming a documentation account anywhere, and says where', () => {
    const EtlPlugin = require('../../scripts/serverless-etl-plugin.js');
    const pluginWith = (template: unknown) =>
      new EtlPlugin({
        service: {
          provider: {
            environment: {
              DB_SECRET_ID: 'arn:aws:secretsmanager:eu-west-1:210987654321:secret:rds-etl-AbCdEf',
            },
            compiledCloudFormationTemplate: template,
          },
        },
        classes: { Error },
      }) as { checkDeploySettings(): void };
    const role = (arn: string) => ({ Resources: { WriteRole: { Properties: { RoleArn: arn } } } });
    expect(() => pluginWith(role('arn:aws:iam::111122223333:role/rds')).checkDeploySettings()).toThrow(
      /placeholder account 111122223333 at Resources\.WriteRole\.Properties\.RoleArn/,
    );
    expect(() => pluginWith(role('arn:aws:iam::210987654321:role/rds')).checkDeploySettings()).not.toThrow();
    // An id that merely contains the digits is not the placeholder.
    expect(() =>
      pluginWith(role('arn:aws:iam::912345678901:role/x1234567890123')).checkDeploySettings(),
    ).not.toThrow();
  });

  it('grants exactly one secret: a complete ARN as it is, an ARN or a name without its suffix with -??????', () => {
    const { secretGrant } = require('../../scripts/secret-grant.js');
    expect(secretGrant('arn:aws:secretsmanager:eu-west-1:210987654321:secret:rds-etl-AbCdEf')).toBe(
      'arn:aws:secretsmanager:eu-west-1:210987654321:secret:rds-etl-AbCdEf',
    );
    expect(secretGrant('arn:aws:secretsmanager:eu-west-1:210987654321:secret:cf-etl/prod/mysql')).toBe(
      'arn:aws:secretsmanager:eu-west-1:210987654321:secret:cf-etl/prod/mysql-??????',
    );
    expect(secretGrant('etl/local/mysql')).toEqual({
      'Fn::Sub':
        // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax, not JavaScript's
        'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:etl/local/mysql-??????',
    });
    expect(() => secretGrant('arn:aws:s3:::bucket')).toThrow(/not a Secrets Manager secret ARN/);
  });

  it('fails `sls package` for a stage parameter that breaks a limit', async () => {
    const attempt = run(
      process.execPath,
      [
        join(ROOT, 'node_modules/serverless/bin/serverless.js'),
        'package',
        '--stage',
        'dev',
        '--param=athenaConcurrency=25',
        '--package',
        mkdtempSync(join(tmpdir(), 'sls-limits-')),
      ],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          AWS_ACCESS_KEY_ID: 'offline',
          AWS_SECRET_ACCESS_KEY: 'offline',
          SLS_TELEMETRY_DISABLED: '1',
        },
      },
    );
    await expect(attempt).rejects.toMatchObject({ stdout: expect.anything() });
    const error = (await attempt.catch((failure: { stdout: string; stderr: string }) => failure)) as {
      stdout: string;
      stderr: string;
    };
    expect(`${error.stdout}${error.stderr}`).toMatch(/athenaConcurrency is 25/);
  }, 120_000);

  it('fails `sls package` for a backfillConcurrency whose runs would pass the Athena quota, naming it', async () => {
    const attempt = run(
      process.execPath,
      [
        join(ROOT, 'node_modules/serverless/bin/serverless.js'),
        'package',
        '--stage',
        'prod',
        '--param=backfillConcurrency=2',
        '--package',
        mkdtempSync(join(tmpdir(), 'sls-limits-')),
      ],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          AWS_ACCESS_KEY_ID: 'offline',
          AWS_SECRET_ACCESS_KEY: 'offline',
          SLS_TELEMETRY_DISABLED: '1',
        },
      },
    );
    const error = (await attempt.then(
      () => ({ stdout: 'packaged', stderr: '' }),
      (failure: { stdout: string; stderr: string }) => failure,
    )) as { stdout: string; stderr: string };
    expect(`${error.stdout}${error.stderr}`).toMatch(
      /backfillConcurrency is 2: its runs at once, each with athenaConcurrency 20, could start 40 Athena queries/,
    );
  }, 120_000);
});
