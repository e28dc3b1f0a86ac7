/** `npm run local:up`: starts the local stack in the background and waits until it is ready. */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readEndpointsFile } from '#shared/aws/endpoints';
import { processRuns } from '#shared/core/process';
import { parseStackArgs, stackFiles } from './options';

const READY_TIMEOUT_MS = 180_000;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const options = parseStackArgs(args);
  const files = stackFiles(options.directory);

  const runningPid = existsSync(files.pid) ? Number(readFileSync(files.pid, 'utf8')) : undefined;
  if (runningPid !== undefined && processRuns(runningPid) && existsSync(files.endpoints)) {
    console.log(`local stack already running (pid ${runningPid}); endpoints in ${files.endpoints}`);
    return;
  }
  rmSync(files.endpoints, { force: true });
  mkdirSync(dirname(files.log), { recursive: true });
  const log = openSync(files.log, 'a');
  // The same Node binary (22, from the pinned devDependency) with tsx as a loader; detached so the
  // stack outlives this command, in its own process group so Ctrl-C here does not reach it.
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'serve.ts'), ...args], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  let exitCode: number | null | undefined;
  child.once('exit', (code) => {
    exitCode = code;
  });
  child.unref();

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      const tail = readFileSync(files.log, 'utf8').split('\n').slice(-30).join('\n');
      throw new Error(`local stack exited with code ${exitCode} before it was ready; ${files.log}:\n${tail}`);
    }
    if (existsSync(files.endpoints)) {
      const endpoints = readEndpointsFile(files.endpoints);
      console.log(`local stack up (pid ${child.pid}), logs in ${files.log}`);
      console.log(`endpoints (${files.endpoints}):`);
      console.log(`  region          ${endpoints.region}`);
      console.log(`  s3              ${endpoints.s3}`);
      console.log(`  dynamodb        ${endpoints.dynamodb}`);
      console.log(`  athena          ${endpoints.athena}`);
      console.log(`  secretsmanager  ${endpoints.secretsmanager}`);
      console.log(
        `  mysql           ${endpoints.mysql.user}@${endpoints.mysql.host}:${endpoints.mysql.port}/${endpoints.mysql.database}`,
      );
      return;
    }
    await sleep(200);
  }
  throw new Error(`local stack not ready after ${READY_TIMEOUT_MS / 1000} s; see ${files.log}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
