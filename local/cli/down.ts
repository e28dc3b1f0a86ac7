/**
 * `npm run local:down`: stops every local stack under the data folder (`.local` by default: the
 * background stack of `local:up` and `npm run local`'s in `.local/run`, any other `--dir` below
 * it) and any MariaDB server a killed one left behind on those folders.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processRuns } from '#shared/core/process';
import { LOCK_FILE, readLockOwner } from '../lock';
import { stopOrphanedServer } from '../services/mariadb';
import { parseStackArgs, stackFiles } from './options';

const USAGE = `Usage: npm run local:down -- [--dir .local]
Stops every local stack under the data folder (the background stack of npm run local:up, the one
npm run local runs in .local/run, any other --dir below it) and any MariaDB server a killed one
left behind.`;

/** How deep below the data folder stacks are looked for (`.local/run`, `.local/x/y`). */
const MAX_DEPTH = 3;

async function stop(pid: number, label: string): Promise<boolean> {
  if (!processRuns(pid)) return false;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 40_000;
  while (processRuns(pid) && Date.now() < deadline) await sleep(100);
  if (processRuns(pid)) {
    console.warn(`${label} (pid ${pid}) ignored SIGTERM for 40 s; killing it`);
    process.kill(pid, 'SIGKILL');
  }
  return true;
}

function readPid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** The folder and every folder below it, to MAX_DEPTH, that holds stack files. */
function stackFolders(root: string, depth = 0): string[] {
  if (!existsSync(root)) return [];
  const folders: string[] = [];
  const entries = readdirSync(root, { withFileTypes: true });
  const names = new Set(entries.map((entry) => entry.name));
  if (names.has(LOCK_FILE) || names.has('stack.pid') || names.has('mysql')) folders.push(root);
  if (depth >= MAX_DEPTH) return folders;
  for (const entry of entries) {
    // A stack's own service folders hold no other stack.
    if (!entry.isDirectory() || ['mysql', 's3', 'athena', 'logs'].includes(entry.name)) continue;
    folders.push(...stackFolders(join(root, entry.name), depth + 1));
  }
  return folders;
}

async function main(): Promise<void> {
  const options = parseStackArgs(process.argv.slice(2), USAGE);
  let stopped = 0;
  for (const folder of stackFolders(options.directory)) {
    const name = relative(process.cwd(), folder) || '.';
    const files = stackFiles(folder);
    const owners = new Set<number>();
    const lockOwner = readLockOwner(join(folder, LOCK_FILE));
    if (lockOwner !== undefined) owners.add(lockOwner.pid);
    const stackPid = readPid(files.pid);
    if (stackPid !== undefined) owners.add(stackPid);
    for (const pid of owners) {
      if (pid === process.pid) continue;
      if (await stop(pid, `stack in ${name}`)) {
        console.log(`${name}: stopped pid ${pid}${lockOwner?.pid === pid ? ` (${lockOwner.purpose})` : ''}`);
        stopped++;
      }
    }
    // A stack killed hard (kill -9) leaves its MariaDB server running: stop it by its pid file.
    const orphan = await stopOrphanedServer(join(folder, 'mysql'));
    if (orphan !== undefined) {
      console.log(`${name}: stopped an orphaned mariadbd (pid ${orphan})`);
      stopped++;
    }
    for (const file of [files.pid, files.endpoints, files.awsEnv, files.status, join(folder, LOCK_FILE)]) {
      // The lock of a process still alive (it ignored us) stays; anything else is stale now.
      if (file.endsWith(LOCK_FILE) && lockOwner !== undefined && processRuns(lockOwner.pid)) continue;
      rmSync(file, { force: true });
    }
  }
  console.log(stopped === 0 ? 'no local stack was running' : `stopped ${stopped} process(es)`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
