import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

/** `npm run plan` as a user runs it: stage prod's settings resolved from serverless.yml. */
async function plan(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, [TSX, join(ROOT, 'local', 'cli', 'plan.ts'), ...args], { cwd: ROOT }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

describe('npm run plan (stage settings from serverless.yml)', () => {
  it("prints a day of 100,000 files with prod's settings: the table, and that one run carries it", async () => {
    const { code, stdout } = await plan([
      '--files',
      '100000',
      '--mean-size',
      '40KB',
      '--days',
      '1',
      '--stage',
      'prod',
    ]);
    expect(stdout).toContain('plan             stage prod: 100,000 files a day of 40.0 KB × 1 day');
    expect(stdout).toContain(
      'batches          500 of ≤ 200 files (batchMaxFiles 200); one run holds ≤ 2,494',
    );
    expect(stdout).toContain('child executions 500 batch, 2 hour-group');
    expect(stdout).toMatch(/run \(parent\) {3}4,048 {2}ok/);
    expect(stdout).toMatch(/hour group {5}\d[\d,]* expected, 17,704 worst/);
    expect(stdout).toContain('athena           26 queries, 16 at once (athenaConcurrency 20, quota 20)');
    expect(stdout).toContain('against reservedTransform 200; reserved 202 of 1,000, 798 unreserved');
    expect(stdout).toMatch(/^cost per run {5}\$\d+\.\d\d/m);
    for (const service of ['Athena', 'Lambda', 'Step Functions', 'S3', 'DynamoDB']) {
      expect(stdout).toMatch(new RegExp(`^  ${service} +\\$`, 'm'));
    }
    expect(stdout).not.toContain('REFUSED');
    expect(stdout).toContain('verdict          fits');
    expect(code).toBe(0);
  }, 120_000);

  it('plans the year as a backfill of 365 daily runs that fits', async () => {
    const { code, stdout } = await plan([
      '--files',
      '100000',
      '--mean-size',
      '40KB',
      '--days',
      '365',
      '--stage',
      'prod',
    ]);
    expect(stdout).toContain('plan             stage prod: 100,000 files a day of 40.0 KB × 1 day');
    expect(stdout).toContain('backfill         365 runs of ≤ 24 h (backfillHoursPerRun)');
    expect(stdout).toContain('history 2,940 / 25,000 events (one backfill holds ≤ 2,497 runs)');
    expect(stdout).toContain('verdict          fits as a backfill');
    expect(code).toBe(0);
  }, 120_000);

  it('refuses the year as one inline run, naming the batch limit and the fixes', async () => {
    const { code, stdout } = await plan([
      '--files',
      '100000',
      '--mean-size',
      '40KB',
      '--days',
      '365',
      '--stage',
      'prod',
      '--single-run',
    ]);
    expect(stdout).toMatch(/run \(parent\) {3}1,464,416 {2}OVER THE CAP/);
    expect(stdout).toMatch(/REFUSED +182,500 batches of ≤ 200 files; one inline run holds at most 1,948/);
    expect(stdout).toMatch(
      /fix +run the backfill as 92 windows of ≤ 4 days .* batchMapMode distributed or auto/,
    );
    expect(code).toBe(1);
  }, 120_000);

  it('sizes the year as one run with the Distributed Map: the parent fits, ingest and PlanHours still refuse it', async () => {
    const { code, stdout } = await plan([
      '--files',
      '100000',
      '--mean-size',
      '40KB',
      '--days',
      '365',
      '--stage',
      'prod',
      '--batch-map',
      'distributed',
      '--single-run',
    ]);
    expect(stdout).toMatch(/^batch map +Distributed Map \(ItemReader from S3.*batchMapMode distributed$/m);
    expect(stdout).toContain('182,500 map-run children');
    expect(stdout).toMatch(/run \(parent\) {3}4,418 {2}ok/);
    expect(stdout).not.toMatch(/REFUSED +182,500 batches/);
    expect(stdout).toMatch(/REFUSED +ingest would run/);
    expect(stdout).toMatch(/REFUSED +aggregate would run/);
    expect(code).toBe(1);
  }, 120_000);

  it('says which value is wrong, exit 2', async () => {
    const { code, stderr } = await plan(['--files', '100000', '--mean-size', 'big', '--days', '1']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--mean-size must be a size such as 40000, 40KB or 1.5MiB, got big/);
  });
});
