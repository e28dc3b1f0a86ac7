import * as z from 'zod';
import { AggregateRowSchema } from './aggregate-row';
import { HourSchema } from './window';

/**
 * The layout of the data bucket, and the shapes of the bookkeeping files steps hand each other
 * through it. Steps pass keys, never lists, between states: Step Functions caps a state's
 * payload at 256 KB. Every key is deterministic, so a retried or re-run step overwrites its own
 * output instead of adding a second copy.
 */
export const keys = {
  manifest: (runId: string) => `manifests/${runId}/files.json`,
  batch: (runId: string, batchId: string) => `manifests/${runId}/batches/${batchId}.json`,
  /** The batch list a Distributed Map reads (its ItemReader): beside `batches/`, not in it. */
  batchItems: (runId: string) => `manifests/${runId}/batch-items.json`,
  curated: (hour: string, fileId: string) =>
    `curated/dt=${hour.slice(0, 10)}/hour=${hour.slice(11, 13)}/${fileId}.parquet`,
  /** The hours a raw file has curated files for (what a re-run of a changed file must replace). */
  curatedHours: (fileId: string) => `curated-hours/${fileId}.json`,
  quarantinedRows: (fileId: string) => `quarantine/rows/${fileId}.jsonl`,
  quarantinedFile: (fileId: string) => `quarantine/files/${fileId}.json`,
  fileResult: (runId: string, fileId: string) => `runs/${runId}/files/${fileId}.json`,
  fileResultsPrefix: (runId: string) => `runs/${runId}/files/`,
  transformSummary: (runId: string) => `runs/${runId}/transform-summary.json`,
  hourAggregate: (runId: string, hour: string) => `runs/${runId}/aggregates/${hour}.json`,
  hourAggregatesPrefix: (runId: string) => `runs/${runId}/aggregates/`,
  report: (runId: string) => `reports/${runId}.json`,
  /** The same report as a page a person reads (`shared/core/report-html.ts`). */
  reportHtml: (runId: string) => `reports/${runId}.html`,
  /** A backfill's summary: its windows' run ids, which succeeded, which failed and why. */
  backfillReport: (backfillId: string) => `reports/backfill-${backfillId}.json`,
} as const;

/**
 * Run ids name folders of the data bucket (`runs/<runId>/`, `reports/<runId>.json`) and, locally,
 * of the disk under `.local/`: letters, digits and `. _ : -`, starting with a letter or digit, so
 * `..` or a slash can never reach a key. Execution names fit (1–80 characters).
 */
export const RunIdSchema = z
  .string()
  .min(1)
  .max(80)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._:-]*$/,
    'runId may hold letters, digits and . _ : - only, first a letter or digit',
  );

/** A file id (`sourceFileId`): the source name's safe characters plus a hash. */
export const FileIdSchema = z
  .string()
  .max(160)
  .regex(/^[A-Za-z0-9._-]+$/, 'fileId may hold letters, digits and . _ - only')
  .refine((id) => id !== '.' && id !== '..', 'fileId may not be . or ..');

/** A batch id (`0001`, …). */
export const BatchIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,32}$/, 'batchId may hold letters, digits, _ and - only');

/**
 * A key of the data bucket an event may name, under `prefix`: no empty, `.` or `..` segment, no
 * backslash or control character (the local S3 keeps objects as files, and a key must never name
 * one outside its folder), at most 1,024 bytes (S3's limit).
 */
export function dataKeySchema(prefix: string) {
  return z
    .string()
    .refine((key) => key.startsWith(prefix), `key must start with ${prefix}`)
    .refine((key) => Buffer.byteLength(key) <= 1024, 'key longer than 1,024 bytes')
    .refine(
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
      (key) => !/[\u0000-\u001f\u007f\\]/.test(key),
      'key may hold no control character or backslash',
    )
    .refine(
      (key) => key.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..'),
      'key may hold no empty, . or .. segment',
    );
}

/** Per-file transform result (`runs/<runId>/files/<fileId>.json`), also returned to the state machine. */
export const TransformResultSchema = z.object({
  fileId: z.string(),
  key: z.string(),
  status: z.enum(['transformed', 'quarantined']),
  rows: z.object({ read: z.number(), accepted: z.number(), quarantined: z.number() }),
  /** Hours (`YYYY-MM-DDTHH`) that received rows from this file. */
  hours: z.array(z.string()),
  /**
   * Hours an earlier transform of this file fed that it no longer does (its content changed, or it
   * is now quarantined whole): their curated files were deleted, so they are aggregated again.
   */
  hoursRemoved: z.array(z.string()).optional(),
  /** Why the whole file was quarantined. */
  reason: z.string().optional(),
  resultKey: z.string(),
});
export type TransformResult = z.infer<typeof TransformResultSchema>;

/** The run's transform totals (`runs/<runId>/transform-summary.json`), written before aggregation. */
export const TransformSummarySchema = z.object({
  runId: z.string(),
  hours: z.array(z.string()),
  files: z.object({ total: z.number(), transformed: z.number(), quarantined: z.number() }),
  /** read = accepted + quarantined + inQuarantinedFiles (rows of files quarantined whole, never published). */
  rows: z.object({
    read: z.number(),
    accepted: z.number(),
    quarantined: z.number(),
    inQuarantinedFiles: z.number(),
  }),
  quarantinedFiles: z.array(z.object({ key: z.string(), reason: z.string() })),
});
export type TransformSummary = z.infer<typeof TransformSummarySchema>;

/** One hour's aggregate as the aggregate step stores it for the stage step. */
export const HourAggregateSchema = z.object({
  runId: z.string(),
  hour: HourSchema,
  queryExecutionId: z.string(),
  bytesScanned: z.number(),
  engineMs: z.number(),
  rows: z.array(AggregateRowSchema),
});
export type HourAggregate = z.infer<typeof HourAggregateSchema>;

/**
 * One handler invocation's span, as the report's `stages` need it: from the handlers' EMF lines
 * locally, from the steps' outputs in AWS (`shared/steps/run-timings.ts`).
 */
export const TimingSchema = z.object({
  function: z.string(),
  action: z.string().optional(),
  /** The batch a transform belongs to, the hour an aggregate step works on: where it ran (the run model). */
  batchId: z.string().optional(),
  hour: z.string().optional(),
  startedAt: z.string(),
  finishedAt: z.string(),
});
export type Timing = z.infer<typeof TimingSchema>;
