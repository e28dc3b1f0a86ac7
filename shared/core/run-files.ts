import { z } from 'zod';
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
  curated: (hour: string, fileId: string) =>
    `curated/dt=${hour.slice(0, 10)}/hour=${hour.slice(11, 13)}/${fileId}.parquet`,
  quarantinedRows: (fileId: string) => `quarantine/rows/${fileId}.jsonl`,
  quarantinedFile: (fileId: string) => `quarantine/files/${fileId}.json`,
  fileResult: (runId: string, fileId: string) => `runs/${runId}/files/${fileId}.json`,
  fileResultsPrefix: (runId: string) => `runs/${runId}/files/`,
  transformSummary: (runId: string) => `runs/${runId}/transform-summary.json`,
  hourAggregate: (runId: string, hour: string) => `runs/${runId}/aggregates/${hour}.json`,
  hourAggregatesPrefix: (runId: string) => `runs/${runId}/aggregates/`,
  report: (runId: string) => `reports/${runId}.json`,
} as const;

/** Per-file transform result (`runs/<runId>/files/<fileId>.json`), also returned to the state machine. */
export const TransformResultSchema = z.object({
  fileId: z.string(),
  key: z.string(),
  status: z.enum(['transformed', 'quarantined']),
  rows: z.object({ read: z.number(), accepted: z.number(), quarantined: z.number() }),
  /** Hours (`YYYY-MM-DDTHH`) that received rows from this file. */
  hours: z.array(z.string()),
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
  startedAt: z.string(),
  finishedAt: z.string(),
});
export type Timing = z.infer<typeof TimingSchema>;
