import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { writeSampleDirectory } from '#local/sample/index';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'];

/**
 * `npm run local` in a child process, as a user runs it: everything it prints (stdout and stderr,
 * the handlers' logs included at the level asked for) and the MySQL password of its stack.
 */
async function localRun(directory: string, args: string[]): Promise<{ output: string; password: string }> {
  const { stdout, stderr } = await run(
    process.execPath,
    [TSX, join(ROOT, 'local', 'cli', 'run.ts'), '--dir', directory, ...args],
    { cwd: ROOT, maxBuffer: 256 * 1024 * 1024, env: { ...process.env, FORCE_COLOR: '0' } },
  );
  const endpoints = JSON.parse(readFileSync(join(directory, 'endpoints.json'), 'utf8')) as {
    mysql: { password: string };
  };
  return { output: `${stdout}\n${stderr}`, password: endpoints.mysql.password };
}

/** The handlers' log lines: JSON objects with a level and a message (EMF lines have neither). */
function logLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => typeof line.level === 'string' && typeof line.message === 'string');
}

describe('npm run local: what the handlers log', () => {
  const work = mkdtempSync(join(tmpdir(), 'etl-logs-'));

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('keeps the MySQL password out of every line of a full run at --verbose, and keys every line to its invocation and run', async () => {
    const { output, password } = await localRun(join(work, 'verbose'), ['--verbose']);
    expect(password.length).toBeGreaterThanOrEqual(16);
    expect(output).toContain('status           SUCCEEDED');
    expect(output.includes(password)).toBe(false);

    const lines = logLines(output);
    expect(lines.length).toBeGreaterThan(100);
    // Debug lines are there, and warnings about the planted bad rows and file.
    expect(new Set(lines.map((line) => line.level))).toEqual(new Set(['DEBUG', 'INFO', 'WARN']));
    for (const line of lines) {
      expect(line).toEqual(
        expect.objectContaining({
          service: 'cf-etl',
          function_request_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
          function_name: expect.stringMatching(/^cf-etl-local-(ingest|transform|aggregate|stage|write)$/),
          cold_start: expect.any(Boolean),
          runId: expect.stringMatching(/^local-/),
        }),
      );
    }
    // Each container's first invocation, and only that one, is its cold start (a function whose
    // first invocation logged nothing shows no cold start).
    const byFunction = new Map<unknown, Record<string, unknown>[]>();
    for (const line of lines)
      byFunction.set(line.function_name, [...(byFunction.get(line.function_name) ?? []), line]);
    expect(byFunction.size).toBe(5);
    let coldStarts = 0;
    for (const [name, functionLines] of byFunction) {
      const cold = new Set(
        functionLines.filter((line) => line.cold_start === true).map((line) => line.function_request_id),
      );
      // Transforms run in worker threads locally, one container each (npm run local --workers).
      const containers = name === 'cf-etl-local-transform' ? availableParallelism() : 1;
      expect({ name, coldRequests: cold.size <= containers }).toEqual({ name, coldRequests: true });
      // The context's memory is the function's own (stage local: 512 MB but the transform's 1,024).
      const memory = name === 'cf-etl-local-transform' ? '1024' : '512';
      expect(new Set(functionLines.map((line) => String(line.function_memory_size)))).toEqual(
        new Set([memory]),
      );
      if (cold.size === 0) continue;
      coldStarts++;
    }
    expect(coldStarts).toBeGreaterThanOrEqual(4);
    // Ingest runs once per run: its one invocation is the container's first.
    expect(byFunction.get('cf-etl-local-ingest')?.every((line) => line.cold_start === true)).toBe(true);
    // A transform's lines carry its batch and file.
    expect(lines.some((line) => line.function === 'transform' && line.batchId && line.fileKey)).toBe(true);
    // --verbose also shows the EMF metric lines, keyed to the run.
    const metrics = output.split('\n').filter((line) => line.startsWith('{"_aws"'));
    expect(metrics.length).toBeGreaterThan(100);
    expect(metrics.every((line) => /"runId":"local-/.test(line))).toBe(true);
  }, 600_000);

  it.each(['info', 'warn', 'error'])(
    'keeps the MySQL password out of every line at --log-level %s, and prints no line below it',
    async (level) => {
      const source = join(work, `source-${level}`);
      writeSampleDirectory(source, {
        seed: 5,
        day: '2024-07-13',
        hours: 2,
        filesPerHour: 3,
        rowsPerFile: 40,
      });
      const { output, password } = await localRun(join(work, level), [
        '--source',
        source,
        '--from',
        '2024-07-13T00',
        '--to',
        '2024-07-13T02',
        '--log-level',
        level,
      ]);
      expect(output).toContain('status           SUCCEEDED');
      expect(output.includes(password)).toBe(false);
      const lowest = LEVELS.indexOf(level.toUpperCase());
      for (const line of logLines(output))
        expect(LEVELS.indexOf(String(line.level))).toBeGreaterThanOrEqual(lowest);
      if (level === 'info') expect(logLines(output).length).toBeGreaterThan(10);
    },
    600_000,
  );
});
