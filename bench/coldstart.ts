/**
 * `npm run bench:coldstart`: how long each packaged function takes to load, next to a handler that
 * imports only `@aws-sdk/client-s3`.
 *
 * Packages stage prod offline (`sls package`, or takes `--package DIR` from an earlier one), unpacks
 * every function's zip, and for each one starts a fresh Node 22 process (the Lambda runtime's
 * major, the pinned `node` devDependency) `--runs` times that `require`s the handler and prints
 * how long the require took. The baseline is built with the same esbuild options. Figures are
 * medians, of wall time and of CPU time (steadier when other jobs share the machine). The last
 * line is always `coldstart worst/baseline ratio: R`, of wall times (the issue's goal: ≤ 1.5).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { build } from 'esbuild';
import JSZip from 'jszip';
import { median } from './stats';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..');
const NODE_22 = join(ROOT, 'node_modules', 'node', 'bin', 'node');
const USAGE =
  'Usage: npm run bench:coldstart -- [--runs 10] [--package DIR (an earlier `sls package` output)]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '10' },
      package: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer\n${USAGE}`);
  const work = mkdtempSync(join(tmpdir(), 'coldstart-'));
  const packageDirectory = values.package === undefined ? await packageProd(work) : resolve(values.package);

  const handlers: { name: string; file: string; zipBytes: number }[] = [];
  for (const zipName of readdirSync(packageDirectory)
    .filter((name) => name.endsWith('.zip'))
    .sort()) {
    const name = zipName.replace(/\.zip$/, '');
    const zipFile = join(packageDirectory, zipName);
    const folder = join(work, 'functions', name);
    const entries = await unzip(zipFile, folder);
    // The zip is named after the function's key (syncExtract), its handler after its folder
    // (functions/sync-extract/handler.js).
    const handler = entries.find((entry) => /^functions\/[^/]+\/handler\.js$/.test(entry));
    if (handler === undefined) throw new Error(`${zipFile} holds no functions/<name>/handler.js`);
    handlers.push({ name, file: join(folder, handler), zipBytes: statSync(zipFile).size });
  }
  if (handlers.length === 0) throw new Error(`no function zips in ${packageDirectory}`);
  const baseline = await buildBaseline(join(work, 'baseline'));

  console.log(
    `node ${(await run(NODE_22, ['--version'])).stdout.trim()}, ${runs} fresh processes per handler`,
  );
  // Rounds visit every handler once, in turn, so a busy moment on the machine hits all of them
  // alike instead of the one being measured then.
  const files = [baseline, ...handlers.map((handler) => handler.file)];
  const wall = files.map(() => [] as number[]);
  const cpu = files.map(() => [] as number[]);
  for (let round = 0; round < runs; round++) {
    for (const [index, file] of files.entries()) {
      const measured = await requireMs(file);
      wall[index]!.push(measured.wallMs);
      cpu[index]!.push(measured.cpuMs);
    }
  }
  const [baselineMs, ...handlerMs] = wall.map(median) as [number, ...number[]];
  const [baselineCpuMs, ...handlerCpuMs] = cpu.map(median) as [number, ...number[]];
  const row = (name: string, zip: string, ms: number, cpuMs: number) =>
    console.log(
      `${name.padEnd(22)} ${zip.padStart(7)} ${ms.toFixed(1).padStart(20)} ${cpuMs.toFixed(1).padStart(16)}`,
    );
  console.log(
    `${'handler'.padEnd(22)} ${'zip KB'.padStart(7)} ${'require ms (median)'.padStart(20)} ${'CPU ms (median)'.padStart(16)}`,
  );
  row('baseline (client-s3)', '', baselineMs, baselineCpuMs);
  for (const [index, handler] of handlers.entries()) {
    row(handler.name, (handler.zipBytes / 1024).toFixed(0), handlerMs[index]!, handlerCpuMs[index]!);
  }
  // CPU time moves less than wall time when other jobs share the machine.
  console.log(`CPU worst/baseline ratio: ${(Math.max(...handlerCpuMs) / baselineCpuMs).toFixed(2)}`);
  console.log(`coldstart worst/baseline ratio: ${(Math.max(...handlerMs) / baselineMs).toFixed(2)}`);
}

async function packageProd(work: string): Promise<string> {
  const directory = join(work, 'package');
  console.log('packaging stage prod (offline)…');
  await run(
    process.execPath,
    [
      join(ROOT, 'node_modules/serverless/bin/serverless.js'),
      'package',
      '--stage',
      'prod',
      '--package',
      directory,
    ],
    {
      cwd: ROOT,
      maxBuffer: 16 * 1024 * 1024,
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: 'offline',
        AWS_SECRET_ACCESS_KEY: 'offline',
        SLS_TELEMETRY_DISABLED: '1',
      },
    },
  );
  return directory;
}

/** Unpacks a zip into `folder`; returns the paths of the files it held. */
async function unzip(zipFile: string, folder: string): Promise<string[]> {
  const zip = await JSZip.loadAsync(readFileSync(zipFile));
  const names: string[] = [];
  for (const [name, entry] of Object.entries(zip.files)) {
    if (entry.dir) continue;
    const target = join(folder, name);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, await entry.async('nodebuffer'));
    names.push(name);
  }
  return names;
}

/** A handler importing only the S3 client, bundled as serverless.yml bundles the functions. */
async function buildBaseline(folder: string): Promise<string> {
  mkdirSync(folder, { recursive: true });
  const source = join(folder, 'handler.ts');
  writeFileSync(
    source,
    "import { S3Client } from '@aws-sdk/client-s3';\nlet s3: S3Client | undefined;\nexport const handler = async () => { s3 ??= new S3Client({}); return s3.config.serviceId; };\n",
  );
  const outfile = join(folder, 'handler.js');
  await build({
    entryPoints: [source],
    bundle: true,
    minify: true,
    keepNames: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    mainFields: ['module', 'main'],
    nodePaths: [join(ROOT, 'node_modules')],
    outfile,
    logLevel: 'error',
  });
  return outfile;
}

/** In a fresh process, the time `require(file)` takes (module loading and top-level code), wall and CPU. */
async function requireMs(file: string): Promise<{ wallMs: number; cpuMs: number }> {
  const script = [
    'const cpu = process.cpuUsage(); const t = performance.now();',
    `require(${JSON.stringify(file)});`,
    'const wall = performance.now() - t; const used = process.cpuUsage(cpu);',
    'process.stdout.write(JSON.stringify([wall, (used.user + used.system) / 1000]));',
  ].join(' ');
  const { stdout } = await run(NODE_22, ['-e', script], {
    cwd: dirname(file),
    env: { PATH: process.env.PATH },
  });
  const [wallMs, cpuMs] = JSON.parse(stdout) as [number, number];
  if (!Number.isFinite(wallMs) || !Number.isFinite(cpuMs))
    throw new Error(`requiring ${file} printed ${stdout}`);
  return { wallMs, cpuMs };
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
