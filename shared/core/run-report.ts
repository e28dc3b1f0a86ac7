import type { BatchMap } from './batch-map';
import type { RunCost } from './run-cost';
import type { TransformSummary } from './run-files';
import type { Window } from './window';

/**
 * The run report's shape (`reports/<runId>.json`): written by the report step
 * (`shared/steps/report.ts`), rendered as HTML by `report-html.ts`, read by other tools. Its
 * content is a contract: add to it, never rename.
 */

export interface HourTotals {
  hour: string;
  requests: number;
  bytes: number;
}

/**
 * MySQL against the aggregate, hour by hour (requests and bytes): after the write every hour the
 * run aggregated must hold exactly its aggregate. `MATCHED`, `DIFFERENT` (the run fails with
 * WarehouseReconciliationError) or `NOT_CHECKED` (nothing aggregated, or MySQL not readable).
 */
export interface Reconciliation {
  status: 'MATCHED' | 'DIFFERENT' | 'NOT_CHECKED';
  hours: number;
  differences: { hour: string; warehouse: Omit<HourTotals, 'hour'>; aggregate: Omit<HourTotals, 'hour'> }[];
}

/** Where the report's Lambda usage comes from in AWS (the steps' outputs). */
export const LAMBDA_FROM_OUTPUTS =
  "transform from its rows at the bench's throughput (shared/core/run-plan.ts), the others from spans between the steps' outputs";

export interface CostSources {
  lambda: typeof LAMBDA_FROM_OUTPUTS | "the handlers' own invocations";
  stepFunctions: string;
  s3: string;
  dynamodb: string;
}

export interface RunReport {
  status: 'SUCCEEDED' | 'FAILED';
  runId: string;
  window: Window | null;
  /** How the parent ran its batches: inline Map, or Distributed Map (a child execution per batch). */
  batchMap: BatchMap;
  startedAt: string;
  finishedAt: string;
  files: TransformSummary['files'];
  quarantinedFiles: TransformSummary['quarantinedFiles'];
  /** This run's rows: its files only (an hour's total may include other runs' files). */
  rows: TransformSummary['rows'];
  /** Per hour the run aggregated, the totals MySQL holds for the whole hour. */
  hours: HourTotals[];
  reconciliation: Reconciliation;
  athena: { queries: number; bytesScanned: number; estimatedCostUsd: number };
  /**
   * The largest history of any execution of the run (parent or child), against the 25,000 cap: the
   * run model (shared/core/run-model.ts) over the run's invocations per batch and per hour.
   */
  maxHistoryEvents: number;
  /**
   * Where the invocation counts came from: in AWS the steps' outputs (Athena polls estimated from
   * each query's engine time), locally the handlers' own metric lines (exact).
   */
  historyEventsSource: "estimated from the steps' outputs" | "counted from the handlers' invocations";
  /** Locally only: the largest history the local runner recorded, which the estimate must cover. */
  measuredHistoryEvents?: number;
  stages: { name: string; durationMs: number; invocations: number }[];
  /**
   * The run's bill by service at list prices (shared/core/run-cost.ts), and where each count came
   * from: Athena per query (rounded up to a MB, 10 MB minimum), Lambda GB-s (durations × each
   * function's memory), state transitions (the run model), S3 requests (estimated), DynamoDB units.
   */
  cost: RunCost & { sources: CostSources };
  /** On failure: the error that ended the run (unwrapped from a child execution's failure). */
  error?: { error: string; cause: string; execution?: string };
}
