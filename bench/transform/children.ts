/**
 * The measured child processes of the transform benches (`npm run bench:transform`, and
 * `bench:transform:ab`): each run is its own process, bundled by esbuild first as for Lambda (no
 * TypeScript loader in the measured process), printing one JSON line (`ChildReport`).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { build } from 'esbuild';
import { functionEnvironment, loadServerlessConfig } from '#local/serverless-config';
import type { ChildReport } from './measure';

/** serverless.yml's default `ephemeralStorageTransform` (MB) less the 64 MB the transform leaves free. */
export const DEFAULT_SPOOL_MB = 4096 - 64;

const COMMON = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  logLevel: 'warning',
} as const;

/**
 * Bundles the child that runs the project's `transformFile` (`bench/transform/ours-child.ts`) of
 * the checkout at `root`, with that checkout's own esbuild plugins, into `outfile`.
 */
export async function bundleOurs(root: string, outfile: string): Promise<string> {
  const plugins = require(join(root, 'scripts', 'esbuild-plugins.js'));
  await build({
    ...COMMON,
    absWorkingDir: root,
    entryPoints: [join(root, 'bench', 'transform', 'ours-child.ts')],
    outfile,
    plugins,
  });
  return outfile;
}

/** Bundles the DuckDB child (`bench/transform/duckdb-child.ts`; DuckDB's native package stays outside). */
export async function bundleDuckdb(root: string, outfile: string): Promise<string> {
  await build({
    ...COMMON,
    absWorkingDir: root,
    entryPoints: [join(root, 'bench', 'transform', 'duckdb-child.ts')],
    outfile,
    external: ['@duckdb/*'],
  });
  return outfile;
}

/**
 * The process-level settings of the transform function (NODE_OPTIONS: its V8 young generation),
 * so ours runs as the Lambda runs, not with this machine's Node defaults.
 */
export async function transformRuntimeOptions(root: string): Promise<Record<string, string>> {
  const environment = functionEnvironment(await loadServerlessConfig('dev', { root }), 'transform');
  return environment.NODE_OPTIONS === undefined ? {} : { NODE_OPTIONS: environment.NODE_OPTIONS };
}

export interface ChildOptions {
  /** The project checkout the child runs in (its node_modules serve the DuckDB bundle). */
  root: string;
  environment?: Record<string, string>;
  /** Pins the child to this CPU (`taskset -c`). */
  pinnedCpu?: string;
}

/** Runs a bundled child to its end and returns the report it printed last. */
export function runChild(bundle: string, args: string[], options: ChildOptions): Promise<ChildReport> {
  return new Promise((resolvePromise, reject) => {
    const command = [process.execPath, bundle, ...args];
    if (options.pinnedCpu !== undefined) command.unshift('taskset', '-c', options.pinnedCpu);
    // NODE_PATH lets the DuckDB bundle find its native package from the project's node_modules.
    const child = spawn(command[0]!, command.slice(1), {
      cwd: options.root,
      env: { ...process.env, NODE_PATH: join(options.root, 'node_modules'), ...options.environment },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${bundle} exited with ${code}`));
      try {
        resolvePromise(JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as ChildReport);
      } catch (error) {
        reject(new Error(`${bundle} printed no report: ${stdout}`, { cause: error }));
      }
    });
  });
}
