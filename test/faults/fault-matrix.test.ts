import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..');

describe('npm run faults (the fault matrix, end to end)', () => {
  it('absorbs S3 SlowDown on PUT and 500 on GET, Lambda throttling and a poison row, and says so last', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'local', 'cli', 'faults.ts'),
        '--only',
        'S3 PUT 503,S3 GET 500,TooManyRequestsException ×4 on stage,poison: sc-status -',
      ],
      { cwd: ROOT, maxBuffer: 8 * 1024 * 1024 },
    );
    const lines = stdout.trim().split('\n');
    expect(lines.filter((line) => line.startsWith('survived'))).toHaveLength(4);
    // Each fault really fired: a fault that never reached the run would prove nothing.
    for (const line of lines.filter((line) => line.startsWith('survived') && !line.includes('poison'))) {
      expect(line).toMatch(/fault fired [1-9]\d* time/);
    }
    expect(lines.at(-1)).toBe('faults survived: 4/4; rows lost: 0; rows duplicated: 0');
  }, 300_000);
});
