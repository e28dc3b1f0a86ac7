/**
 * `npm run local:seed`: puts a seeded sample day of CloudFront logs into the source bucket of the
 * stack that `npm run local:up` started, so `sls invoke local --stage local` has input to work on.
 */
import { join, resolve } from 'node:path';
import { S3ObjectStore } from '#shared/adapters/object-store';
import { AwsClients, localAwsSettings } from '#shared/aws/clients';
import { readEndpointsFile } from '#shared/aws/endpoints';
import { seedSource, sourceOf } from '../pipeline';
import { writeSampleDirectory } from '../sample/index';
import { functionEnvironment, loadServerlessConfig } from '../serverless-config';
import { parseCli, usageError } from './args';

const USAGE = `Usage: npm run local:seed -- [--seed 20240713] [--day 2024-07-13] [--files-per-hour 2] [--dir .local]
Empties the source bucket of the stack npm run local:up started (endpoints in DIR/endpoints.json) and
puts a seeded sample day of CloudFront logs into it, for sls invoke local --stage local.`;

async function main(): Promise<void> {
  const values = parseCli(USAGE, {
    seed: { type: 'string', default: '20240713' },
    day: { type: 'string', default: '2024-07-13' },
    'files-per-hour': { type: 'string', default: '2' },
    dir: { type: 'string', default: '.local' },
    help: { type: 'boolean' },
  });
  for (const flag of ['seed', 'files-per-hour'] as const)
    if (!/^\d+$/.test(values[flag]))
      usageError(`--${flag} must be a whole number, got '${values[flag]}'`, USAGE);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(values.day))
    usageError(`--day must be YYYY-MM-DD, got '${values.day}'`, USAGE);
  const directory = resolve(values.dir);
  const endpoints = readEndpointsFile(join(directory, 'endpoints.json'));
  const config = await loadServerlessConfig('local');
  const environment = functionEnvironment(config, Object.keys(config.functions)[0] ?? 'ingest');
  const sample = join(directory, `sample-${values.seed}-${values.day}`);
  const expected = writeSampleDirectory(sample, {
    seed: Number(values.seed),
    day: values.day,
    filesPerHour: Number(values['files-per-hour']),
  });
  const clients = new AwsClients(localAwsSettings(endpoints));
  const target = sourceOf(environment);
  const count = await seedSource(new S3ObjectStore(clients.s3), target, sample);
  clients.destroy();
  console.log(
    `seeded s3://${target.bucket}/${target.prefix} with ${count} files (${expected.rowsAccepted} good rows) from ${sample}`,
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
