import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { processRuns } from '#shared/core/process';

/** The lock file of a local data folder: one stack (or `npm run local`) per folder at a time. */
export const LOCK_FILE = 'stack.lock';

export interface LockOwner {
  pid: number;
  purpose: string;
  startedAt: string;
}

/** The folder is used by another live process; its message names the pid. */
export class DirectoryLockedError extends Error {
  constructor(
    readonly directory: string,
    readonly owner: LockOwner,
  ) {
    super(
      `${directory} is in use by pid ${owner.pid} (${owner.purpose}, since ${owner.startedAt}): wait for it, stop it with npm run local:down, or use another --dir`,
    );
    this.name = 'DirectoryLockedError';
  }
}

export interface DirectoryLock {
  release(): void;
}

/** Locks this process holds, by lock file, with how many holders (the CLI, then the stack it starts). */
const held = new Map<string, number>();
let exitHookInstalled = false;

/** The owner recorded in a lock file, or undefined when there is none or it is unreadable. */
export function readLockOwner(path: string): LockOwner | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const owner = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>;
    if (typeof owner.pid !== 'number' || !Number.isInteger(owner.pid) || owner.pid <= 0) return undefined;
    return { pid: owner.pid, purpose: String(owner.purpose ?? ''), startedAt: String(owner.startedAt ?? '') };
  } catch {
    return undefined;
  }
}

/**
 * Takes the folder's lock (`stack.lock`, created exclusively) or throws DirectoryLockedError naming
 * the live process that holds it. A lock left by a process that is gone (killed hard) is taken
 * over. Re-entrant within a process: `npm run local` locks its folder before any work, and the
 * stack it starts there locks it again. The file goes when the last holder releases it, or when
 * the process exits.
 */
export function lockDirectory(directory: string, purpose: string): DirectoryLock {
  const path = join(resolve(directory), LOCK_FILE);
  const release = () => {
    const count = held.get(path) ?? 0;
    if (count > 1) {
      held.set(path, count - 1);
      return;
    }
    if (count === 0) return;
    held.delete(path);
    if (readLockOwner(path)?.pid === process.pid) rmSync(path, { force: true });
  };
  const count = held.get(path);
  if (count !== undefined) {
    held.set(path, count + 1);
    return { release };
  }
  mkdirSync(resolve(directory), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const descriptor = openSync(path, 'wx', 0o600);
      const owner: LockOwner = { pid: process.pid, purpose, startedAt: new Date().toISOString() };
      writeSync(descriptor, `${JSON.stringify(owner)}\n`);
      closeSync(descriptor);
      held.set(path, 1);
      installExitHook();
      return { release };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = readLockOwner(path);
      if (owner !== undefined && owner.pid !== process.pid && processRuns(owner.pid)) {
        throw new DirectoryLockedError(resolve(directory), owner);
      }
      rmSync(path, { force: true }); // left by a process that is gone
    }
  }
  throw new Error(`could not lock ${directory}: ${path} keeps coming back`);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const path of held.keys()) {
      if (readLockOwner(path)?.pid === process.pid) rmSync(path, { force: true });
    }
    held.clear();
  });
}
