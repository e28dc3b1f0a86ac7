import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type { RunningService } from './service';

/** What `npm run local:status` shows per service. */
export interface ServiceStatus {
  name: string;
  endpoint: string;
  pid: number | undefined;
  restarts: number;
}

export interface SupervisedService extends RunningService {
  status(): ServiceStatus;
}

export interface SupervisedOptions {
  name: string;
  /** File under local/services exporting `serve(options)` (e.g. `s3.ts`). */
  module: string;
  /** JSON options for `serve`; `port` is replaced by the port first bound, so a restart keeps it. */
  options: { port?: number } & Record<string, unknown>;
  log?: (message: string) => void;
  /** Called after each restart (the stack rewrites its status file). */
  onRestart?: () => void;
}

type ChildMessage = { type: 'ready'; port: number } | { type: 'fatal'; error: string };

const ROOT = join(__dirname, '..', '..');
const CHILD = join(__dirname, 'service-child.ts');
const READY_TIMEOUT_MS = 60_000;

/**
 * Runs a stand-in in its own Node process, so a failure there cannot stop the other services, and
 * starts it again on the same port when it dies, logging the death and its cause.
 */
export async function startSupervised(options: SupervisedOptions): Promise<SupervisedService> {
  const log = options.log ?? (() => {});
  let restarts = 0;
  let stopping = false;
  let lastError: string | undefined;

  const spawnChild = (port: number): Promise<{ child: ChildProcess; port: number }> =>
    new Promise((resolve, reject) => {
      // The same Node binary with tsx as its loader, as `npm run local:up` starts the stack itself.
      const child = fork(CHILD, [options.module, JSON.stringify({ ...options.options, port })], {
        cwd: ROOT,
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${options.name} did not start within ${READY_TIMEOUT_MS / 1000} s`));
      }, READY_TIMEOUT_MS);
      const onMessage = (message: ChildMessage) => {
        if (message.type === 'fatal') lastError = message.error;
        if (message.type !== 'ready') return;
        clearTimeout(timer);
        resolve({ child, port: message.port });
      };
      child.on('message', onMessage);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(
          new Error(
            `${options.name} exited (${signal ?? `code ${code}`}) before it was ready${lastError ? `: ${lastError}` : ''}`,
          ),
        );
      });
    });

  let current = await spawnChild(options.options.port ?? 0);
  const port = current.port;
  let restarting: Promise<void> | undefined;
  const isRunning = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

  const watch = (child: ChildProcess) => {
    child.once('exit', (code, signal) => {
      if (stopping) return;
      restarts++;
      log(
        `${options.name} (pid ${child.pid}) died (${signal ?? `exit code ${code}`})${lastError ? `: ${lastError}` : ''}; restarting it on port ${port} (restart ${restarts})`,
      );
      lastError = undefined;
      spawnChild(port).then(
        (next) => {
          current = next;
          watch(next.child);
          options.onRestart?.();
        },
        (error: unknown) =>
          log(`${options.name} could not be restarted: ${error instanceof Error ? error.message : error}`),
      );
    });
  };
  watch(current.child);

  return {
    name: options.name,
    endpoint: `http://127.0.0.1:${port}`,
    port,
    status: () => ({
      name: options.name,
      endpoint: `http://127.0.0.1:${port}`,
      pid: isRunning(current.child) ? current.child.pid : undefined,
      restarts,
    }),
    async stop() {
      stopping = true;
      await restarting;
      const child = current.child;
      if (!isRunning(child)) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
