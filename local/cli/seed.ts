/**
 * `npm run local:seed`: puts a seeded sample day of CloudFront logs into the source bucket of the
 * stack that `npm run local:up` started, so `sls invoke local --stage local` has input to work on.
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { S3ObjectStore } from '#shared/adapters/object-store';
import { AwsClients, localAwsSettings } from '#shared/aws/clients';
import { readEndpointsFile } from '#shared/aws/endpoints';
import { seedSource, sourceOf } from '../pipeline';
import { writeSampleDirectory } from '../sample/index';
import { functionEnvironment, loadServerlessConfig } from '../serverless-config';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string', default: '20240713' },
      day: { type: 'string', default: '2024-07-13' },
      'files-per-hour': { type: 'string', default: '2' },
      dir: { type: 'string', default: '.local' },
    },
    strict: true,
  });
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
