import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import * as z from 'zod';

const run = promisify(execFile);

/** The parts of the resolved Serverless config the local stack and runner use. */
const ServerlessConfigSchema = z.object({
  service: z.string(),
  provider: z.object({
    region: z.string(),
    stage: z.string(),
    environment: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  }),
  functions: z
    .record(
      z.string(),
      z.object({
        handler: z.string(),
        name: z.string(),
        timeout: z.number().optional(),
        memorySize: z.number().optional(),
        environment: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
      }),
    )
    .default({}),
  stepFunctions: z
    .object({
      stateMachines: z
        .record(
          z.string(),
          z.object({
            name: z.string().optional(),
            id: z.string().optional(),
            definition: z.record(z.string(), z.unknown()),
          }),
        )
        .default({}),
    })
    .optional(),
  resources: z
    .object({
      Resources: z
        .record(
          z.string(),
          z.object({ Type: z.string(), Properties: z.record(z.string(), z.unknown()).optional() }),
        )
        .default({}),
    })
    .optional(),
});
export type ServerlessConfig = z.infer<typeof ServerlessConfigSchema>;

/** Files whose content decides the resolved config; a change in any of them invalidates the cache. */
function inputsDigest(root: string): string {
  const hash = createHash('sha256');
  const files = ['serverless.yml'];
  for (const folder of ['statemachines', 'scripts']) {
    const path = join(root, folder);
    if (existsSync(path))
      files.push(
        ...readdirSync(path)
          .sort()
          .map((name) => join(folder, name)),
      );
  }
  for (const file of files) {
    hash.update(file);
    hash.update(readFileSync(join(root, file)));
  }
  return hash.digest('hex');
}

/**
 * The Serverless config of a stage with every variable resolved, exactly as `sls package` resolves
 * it (`sls print`), so the local stack provisions and runs what the deployed template describes.
 * Cached under `.local/` by a digest of the inputs: `sls print` takes a few seconds.
 */
export async function loadServerlessConfig(
  stage: string,
  options: { root?: string; cacheDirectory?: string } = {},
): Promise<ServerlessConfig> {
  return ServerlessConfigSchema.parse(await resolveServerlessConfig(stage, options));
}

/**
 * The whole resolved config of a stage (every section, unchecked), as `sls print` gives it; cached
 * like `loadServerlessConfig`. `npm run plan` reads `custom.limits` and the functions from it.
 */
export async function resolveServerlessConfig(
  stage: string,
  options: { root?: string; cacheDirectory?: string } = {},
): Promise<unknown> {
  const root = resolve(options.root ?? '.');
  const cacheDirectory = options.cacheDirectory ?? join(root, '.local', 'cache');
  const cacheFile = join(cacheDirectory, `serverless-${stage}.json`);
  const digest = inputsDigest(root);
  if (existsSync(cacheFile)) {
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as { digest?: string; config?: unknown };
    if (cached.digest === digest) return cached.config;
  }
  const sls = join(root, 'node_modules', 'serverless', 'bin', 'serverless.js');
  const { stdout } = await run(process.execPath, [sls, 'print', '--stage', stage, '--format', 'json'], {
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
    // Printing needs no AWS account; dummy credentials keep the framework from probing for one.
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
    },
  });
  const start = stdout.indexOf('{');
  if (start < 0) throw new Error(`sls print --stage ${stage} printed no JSON:\n${stdout.slice(0, 2000)}`);
  const raw: unknown = JSON.parse(stdout.slice(start));
  mkdirSync(cacheDirectory, { recursive: true });
  writeFileSync(cacheFile, JSON.stringify({ digest, config: raw }));
  return raw;
}

/** The environment a function sees: provider-level variables overlaid by the function's own. */
export function functionEnvironment(config: ServerlessConfig, functionKey: string): Record<string, string> {
  const fn = config.functions[functionKey];
  if (fn === undefined) throw new Error(`No function '${functionKey}' in serverless.yml`);
  const merged = { ...config.provider.environment, ...fn.environment };
  return Object.fromEntries(Object.entries(merged).map(([key, value]) => [key, String(value)]));
}
