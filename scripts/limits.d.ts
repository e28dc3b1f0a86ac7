export function checkLimits(settings: {
  athenaConcurrency: number;
  reservedConcurrency: Record<string, number>;
  accountConcurrencyLimit: number;
  athenaPollSeconds?: number;
  athenaQueryTimeoutSeconds?: number;
  hoursPerExecution?: number;
  batchMaxFiles?: number;
  projectionStartDate?: string;
  /** With the next two: the transform's /tmp (MB) against its worst spool. */
  ephemeralStorageTransform?: number;
  maxRawFileBytes?: number;
  rawExpansion?: number;
}): string[];
export function transformDiskMb(settings: { maxRawFileBytes: number; rawExpansion: number }): number;
export const SPOOL_HEADROOM_MB: number;
export function hoursGroupEvents(settings: {
  hoursPerExecution: number;
  athenaQueryTimeoutSeconds: number;
  athenaPollSeconds: number;
}): number;
export const ATHENA_CONCURRENT_QUERY_QUOTA: number;
export const MIN_UNRESERVED_CONCURRENCY: number;
export const HISTORY_EVENT_BUDGET: number;
export const EARLIEST_ROW_DATE: string;
