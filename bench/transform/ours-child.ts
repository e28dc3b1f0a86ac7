/**
 * Child process (a) of `npm run bench:transform`: the project's transform, run as the Lambda runs
 * it — `transformFile` from `shared/steps/transform.ts` with the CloudFront dataset — over a local
 * folder standing in for the bucket. Prints one JSON line: rows, time, peak RSS, output bytes.
 * Bundled by esbuild first (as for Lambda), so no TypeScript loader sits in the measured process.
 */
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { folderBytes } from '#shared/core/files';
import { sourceFileId } from '#shared/core/ingest';
import type { Logger } from '#shared/core/log';
import { cloudfront } from '#shared/datasets/cloudfront/index';
import { transformFile } from '#shared/steps/transform';
import { FileObjectStore } from './file-store';
import { cpuMsSince } from './measure';

/** The transform's own account of its spool (its 'file done' log line), kept for the report. */
let spool = {
  spills: 0,
  builders: 0,
  buildersHeld: 0,
  spoolPeakBytes: 0,
  readMs: 0,
  sealMs: 0,
  publishMs: 0,
};
const quiet: Logger = {
  debug() {},
  info(message, fields) {
    if (message === 'transform: file done' && fields !== undefined) {
      spool = {
        spills: Number(fields.spills ?? 0),
        builders: Number(fields.builders ?? 0),
        buildersHeld: Number(fields.buildersHeld ?? 0),
        spoolPeakBytes: Number(fields.spoolPeakBytes ?? 0),
        readMs: Number(fields.readMs ?? 0),
        sealMs: Number(fields.sealMs ?? 0),
        publishMs: Number(fields.publishMs ?? 0),
      };
    }
  },
  warn() {},
  error() {},
  child: () => quiet,
};

async function main(): Promise<void> {
  const [input, work, spoolMb] = process.argv.slice(2);
  if (input === undefined || work === undefined)
    throw new Error('usage: ours-child <input.gz> <work-dir> [spool MB]');
  rmSync(work, { recursive: true, force: true });
  const key = `raw/${basename(input)}`;
  mkdirSync(join(work, 'data', 'raw'), { recursive: true });
  symlinkSync(resolve(input), join(work, 'data', key));
  const store = new FileObjectStore(work);
  const fileId = sourceFileId(key);
  const started = performance.now();
  const cpu = process.cpuUsage();
  const result = await transformFile(
    { runId: 'bench', file: { fileId, key, sourceKey: basename(input), size: 0 } },
    { dataBucket: 'data', ...(spoolMb !== undefined && { spoolBytes: Number(spoolMb) * 1024 * 1024 }) },
    cloudfront,
    store,
    quiet,
  );
  const ms = performance.now() - started;
  if (result.status !== 'transformed') throw new Error(`transform quarantined the file: ${result.reason}`);
  console.log(
    JSON.stringify({
      rows: result.rows.accepted,
      quarantined: result.rows.quarantined,
      hours: result.hours.length,
      ms,
      cpuMs: cpuMsSince(cpu),
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      outputBytes: folderBytes(join(work, 'data', 'curated')),
      ...spool,
    }),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
