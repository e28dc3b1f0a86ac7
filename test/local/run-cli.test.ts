import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { processRuns } from '#shared/core/process';
import { RUN_USAGE } from '../../local/cli/run-args';
import { LEGACY_HEADER, legacyRow } from '../support/cloudfront-logs';

const ROOT = resolve(__dirname, '..', '..');
const RUN = join(ROOT, 'local', 'cli', 'run.ts');
const DOWN = join(ROOT, 'local', 'cli', 'down.ts');
const WINDOW = ['--from', '2024-07-13T10', '--to', '2024-07-13T11'];
const execute = promisify(execFile);

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/** `npm run local` as a terminal starts it: its own process group, output captured. */
function start(command: string, args: string[]): { child: ChildProcess; finished: Promise<Finished> } {
  const child = spawn(command, args, { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const finished = new Promise<Finished>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, output })),
  );
  return { child, finished };
}

/** The run CLI in one Node process (what `npm run local` runs). */
const runCli = (args: string[]) => start(process.execPath, ['--import', 'tsx', RUN, ...args]);

describe('npm run local: inputs checked before work, one run per folder, Ctrl-C and kill -9 leave nothing behind', () => {
  const work = mkdtempSync(join(tmpdir(), 'etl-run-cli-'));
  const source = join(work, 'source');
  const data = join(work, 'data');

  beforeAll(() => {
    mkdirSync(source);
    const rows = Array.from({ length: 20 }, (_, index) => legacyRow('2024-07-13', `10:00:${10 + index}`));
    writeFileSync(join(source, 'E1.2024-07-13-10.a.gz'), gzipSync(`${LEGACY_HEADER}${rows.join('\n')}\n`));
  });

  afterAll(async () => {
    await execute(process.execPath, ['--import', 'tsx', DOWN, '--dir', work], { cwd: ROOT }).catch(
      () => undefined,
    );
    rmSync(work, { recursive: true, force: true });
  });

  /** The mariadbd of a data folder, once its pid file is written. */
  const mariadbPid = (folder: string) => Number(readFileSync(join(folder, 'mysql', 'mariadbd.pid'), 'utf8'));

  it.each([
    [['--from', '2024-07-13T11', '--to', '2024-07-13T10'], /--from 2024-07-13T11 must be before --to/],
    [['--from', '2024-02-30T00', '--to', '2024-03-01T00'], /--from 2024-02-30T00 does not exist/],
    [['--from', '2024-07-13 10', '--to', '2024-07-13T11'], /is not an hour \(YYYY-MM-DDTHH, UTC\)/],
    [['--from', '2024-07-13T10'], /--from and --to are both required/],
    [['--source', '/nonexistent/logs', ...WINDOW], /--source \/nonexistent\/logs is not a folder/],
    [['--window', 'x'], /Unknown option '--window'/],
    [['--workers', 'two'], /--workers two is not a whole number \(0 runs every handler in-process\)/],
    [['--workers', '1.5'], /--workers 1.5 is not a whole number/],
    [['--batch-map', 'sideways'], /--batch-map sideways is not one of inline, distributed, auto/],
    [['--days', '0'], /--days 0 is not a whole number of days from 1 to 366/],
    [
      ['--days', '2', '--source', '.', ...WINDOW],
      /--days sizes the sample; with --source give --from and --to/,
    ],
  ])(
    'refuses %j with the problem on one line, then the usage, and exit 2, before starting anything',
    async (args, message) => {
      const folder = join(work, 'refused');
      const { finished } = runCli(['--dir', folder, ...args]);
      const { code, output } = await finished;
      expect(code).toBe(2);
      const [problem, ...usage] = output.trim().split('\n');
      expect(problem).toMatch(message);
      expect(usage.join('\n')).toBe(RUN_USAGE.trim());
      expect(existsSync(folder)).toBe(false);
    },
    60_000,
  );

  it("exits at once when the folder is in use, naming the running run's pid", async () => {
    const folder = join(data, 'busy');
    const first = runCli(['--dir', folder, '--source', source, ...WINDOW]);
    await until(() => existsSync(join(folder, 'stack.lock')), 60_000);
    const owner = JSON.parse(readFileSync(join(folder, 'stack.lock'), 'utf8')) as { pid: number };
    const second = await runCli(['--dir', folder, '--source', source, ...WINDOW]).finished;
    expect(second.code).toBe(1);
    expect(second.output).toContain(`is in use by pid ${owner.pid} (npm run local`);
    const done = await first.finished;
    expect({ code: done.code, output: done.output }).toEqual({
      code: 0,
      output: expect.stringContaining('status           SUCCEEDED'),
    });
    expect(existsSync(join(folder, 'stack.lock'))).toBe(false);
  }, 180_000);

  // A terminal's Ctrl-C signals the whole foreground group (npm and node), so SIGINT arrives twice.
  it.each([
    [['--workers', '0'], 'transforms in-process'],
    [['--workers', '1'], 'transforms in up to 1 worker threads'],
  ])(
    'runs %j to SUCCEEDED with the same report',
    async (workers, mode) => {
      const folder = join(data, `workers-${workers[1]}`);
      const report = join(folder, 'out.json');
      mkdirSync(folder, { recursive: true });
      const { code, output } = await runCli([
        '--dir',
        folder,
        '--source',
        source,
        ...WINDOW,
        ...workers,
        '--report',
        report,
      ]).finished;
      expect({ code, output }).toEqual({ code: 0, output: expect.stringContaining(mode) });
      const { rows, files } = JSON.parse(readFileSync(report, 'utf8')) as { rows: unknown; files: unknown };
      expect({ rows, files }).toEqual({
        rows: expect.objectContaining({ read: 20, accepted: 20, quarantined: 0 }),
        files: expect.objectContaining({ total: 1, transformed: 1, quarantined: 0 }),
      });
    },
    180_000,
  );

  it('runs the window through the backfill state machine with --backfill: each run and the summary, copied to --report', async () => {
    const folder = join(data, 'backfill');
    const report = join(folder, 'summary.json');
    mkdirSync(folder, { recursive: true });
    // 25 hours: a day's run, then a run of the last hour (stage local's backfillHoursPerRun, 24).
    const args = ['--dir', folder, '--source', source, '--from', '2024-07-13T10', '--to', '2024-07-14T11'];
    const { code, output } = await runCli([
      ...args,
      '--backfill',
      '--backfill-id',
      'cli-bf',
      '--workers',
      '0',
      '--report',
      report,
    ]).finished;
    expect({ code, output }).toEqual({
      code: 0,
      output: expect.stringContaining('status           SUCCEEDED'),
    });
    expect(output).toContain('2 runs of ≤ 24 h (backfillHoursPerRun), 1 at a time (backfillConcurrency)');
    expect(output).toMatch(
      /^ {2}cli-bf-2024071310 \[2024-07-13T10, 2024-07-14T10\) {2}SUCCEEDED {2}1 files, 20 rows accepted/m,
    );
    expect(output).toMatch(
      /^ {2}cli-bf-2024071410 \[2024-07-14T10, 2024-07-14T11\) {2}SUCCEEDED {2}0 files/m,
    );
    expect(output).toContain('history events   backfill 36 recorded, 36 by the run model');
    const summary = JSON.parse(readFileSync(report, 'utf8')) as { status: string; windows: number };
    expect(summary).toMatchObject({ status: 'SUCCEEDED', windows: 2 });
    expect(readFileSync(join(folder, 'reports', 'backfill-cli-bf.json'), 'utf8')).toBe(
      readFileSync(report, 'utf8'),
    );
    expect(existsSync(join(folder, 'reports', 'cli-bf-2024071310.html'))).toBe(true);
  }, 180_000);

  it.each([0, 300, 1_000, 2_000, 3_500])(
    'stops everything on Ctrl-C %i ms after MariaDB started (5 times in a row)',
    async (delayMs) => {
      const folder = join(data, `ctrl-c-${delayMs}`);
      const { child, finished } = start('npm', [
        'run',
        '--silent',
        'local',
        '--',
        '--dir',
        folder,
        '--source',
        source,
        ...WINDOW,
      ]);
      await until(() => existsSync(join(folder, 'mysql', 'mariadbd.pid')), 90_000);
      const server = mariadbPid(folder);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      const group = -child.pid!;
      try {
        process.kill(group, 'SIGINT');
        process.kill(group, 'SIGINT');
      } catch {
        // the run may have ended on its own already: it must have stopped everything too
      }
      await finished;
      await until(() => !processRuns(server), 10_000);
      await until(() => !existsSync(join(folder, 'stack.lock')), 10_000);
    },
    120_000,
  );

  it('after kill -9, local:down stops the orphaned mariadbd, and a new run stops one on its folder itself', async () => {
    const folder = join(data, 'killed');
    const killAfterStart = async () => {
      const { child, finished } = runCli(['--dir', folder, '--source', source, ...WINDOW]);
      await until(() => existsSync(join(folder, 'mysql', 'mariadbd.pid')), 90_000);
      const server = mariadbPid(folder);
      await until(() => processRuns(server), 10_000);
      child.kill('SIGKILL');
      await finished;
      return server;
    };

    const first = await killAfterStart();
    expect(processRuns(first)).toBe(true); // left behind
    const down = await execute(process.execPath, ['--import', 'tsx', DOWN, '--dir', work], { cwd: ROOT });
    expect(down.stdout).toContain(`stopped an orphaned mariadbd (pid ${first})`);
    expect(processRuns(first)).toBe(false);

    const second = await killAfterStart();
    expect(processRuns(second)).toBe(true);
    const rerun = await runCli(['--dir', folder, '--source', source, ...WINDOW]).finished;
    expect(rerun.output).toContain(`stopped an orphaned mariadbd (pid ${second})`);
    expect(rerun.output).toContain('status           SUCCEEDED');
    expect(rerun.code).toBe(0);
    expect(processRuns(second)).toBe(false);
  }, 300_000);
});
