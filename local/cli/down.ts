/** `npm run local:down`: stops the background stack and anything it left behind. */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive, parseStackArgs, stackFiles } from './options';

const USAGE = `Usage: npm run local:down -- [--dir .local]
Stops the background stack that npm run local:up started (and a MariaDB server it left behind).`;

async function stop(pid: number, label: string): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 40_000;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) {
    console.warn(`${label} (pid ${pid}) ignored SIGTERM for 40 s; killing it`);
    process.kill(pid, 'SIGKILL');
  }
}

function readPid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

async function main(): Promise<void> {
  const options = parseStackArgs(process.argv.slice(2), USAGE);
  const files = stackFiles(options.directory);
  const stackPid = readPid(files.pid);
  if (stackPid !== undefined) await stop(stackPid, 'local stack');
  // If the stack process was killed hard, its MariaDB server may still run: stop it by its pid file.
  const mariadbPid = readPid(files.mariadbPid);
  if (mariadbPid !== undefined) await stop(mariadbPid, 'mariadbd');
  rmSync(files.pid, { force: true });
  rmSync(files.endpoints, { force: true });
  rmSync(files.awsEnv, { force: true });
  rmSync(files.status, { force: true });
  console.log(stackPid === undefined ? 'local stack was not running' : 'local stack stopped');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
