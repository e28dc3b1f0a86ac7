/**
 * The background process behind `npm run local:up`: starts the stack, writes the endpoints and pid
 * files, and on SIGTERM / SIGINT stops every service and removes them again.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { provisionFromServerless } from '../provision';
import { loadServerlessConfig } from '../serverless-config';
import { freePort } from '../services/ports';
import { startStack, writeAwsEnvFile, writeEndpointsFile } from '../stack';
import { parseStackArgs, stackFiles } from './options';

async function main(): Promise<void> {
  const options = parseStackArgs(process.argv.slice(2));
  const files = stackFiles(options.directory);
  mkdirSync(options.directory, { recursive: true });
  // Preferred ports that are taken fall back to free ones instead of failing the whole stack.
  const ports = {
    s3: await freePort(options.ports.s3),
    dynamodb: await freePort(options.ports.dynamodb),
    athena: await freePort(options.ports.athena),
    secretsmanager: await freePort(options.ports.secretsmanager),
    mysql: options.ports.mysql,
  };
  const stack = await startStack({
    directory: options.directory,
    region: options.region,
    ports,
    log: console.log,
    onRestart: () => writeStatus(),
  });
  const writeStatus = () =>
    writeFileSync(
      files.status,
      `${JSON.stringify({ pid: process.pid, services: stack.services() }, null, 2)}\n`,
    );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping the local stack`);
    rmSync(files.endpoints, { force: true });
    rmSync(files.awsEnv, { force: true });
    rmSync(files.status, { force: true });
    try {
      await stack.stop();
    } finally {
      rmSync(files.pid, { force: true });
      process.exit(0);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  writeFileSync(files.pid, `${process.pid}\n`);
  // The resources of stage `local` (buckets, staging table, workgroup, Glue tables), from serverless.yml.
  const created = await provisionFromServerless(await loadServerlessConfig('local'), stack.clients);
  console.log(`provisioned: ${created.join(', ')}`);
  writeAwsEnvFile(files.awsEnv, stack.endpoints);
  writeStatus();
  writeEndpointsFile(files.endpoints, stack.endpoints);
  console.log(
    `local stack ready: ${JSON.stringify({ ...stack.endpoints, mysql: { ...stack.endpoints.mysql, password: '***' } })}`,
  );
}

main().catch((error: unknown) => {
  console.error('local stack failed to start:', error);
  process.exit(1);
});
