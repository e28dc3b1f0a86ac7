/**
 * `npm run test:s3-conformance -- --endpoint URL`: the S3 conformance tests against any S3
 * endpoint (a moto server, a LocalStack, the local stack's S3). Without --endpoint they run against
 * the project's local S3, as in `npm test`.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const USAGE = `Usage: npm run test:s3-conformance -- [--endpoint URL] [jest options after --]
Runs test/s3-conformance against URL (path-style, region us-east-1, any credentials); each test
group creates its own buckets (conf-<random>-…) and deletes them afterwards.
Without --endpoint the tests start the project's local S3 in a temp folder.`;

function main(): number {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : error}\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  const endpoint = parsed.values.endpoint;
  if (endpoint !== undefined && !/^https?:\/\/[^/]+\/?$/.test(endpoint)) {
    console.error(`--endpoint must be a URL such as http://127.0.0.1:5000, not '${endpoint}'\n${USAGE}`);
    return 2;
  }
  const jest = require.resolve('jest/bin/jest');
  const result = spawnSync(
    process.execPath, // --roots takes every value after it: it goes last, after the caller's own jest arguments.
    [jest, ...parsed.positionals, '--roots', join(__dirname)],
    {
      stdio: 'inherit',
      cwd: join(__dirname, '..', '..'),
      env: {
        ...process.env,
        ...(endpoint !== undefined && { S3_CONFORMANCE_ENDPOINT: endpoint.replace(/\/$/, '') }),
      },
    },
  );
  return result.status ?? 1;
}

function parse() {
  return parseArgs({
    options: { endpoint: { type: 'string' }, help: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
}

process.exit(main());
