export function checkLimits(settings: {
  athenaConcurrency: number;
  reservedConcurrency: Record<string, number>;
  accountConcurrencyLimit: number;
  athenaPollSeconds?: number;
  athenaQueryTimeoutSeconds?: number;
  hoursPerExecution?: number;
  batchMaxFiles?: number;
  projectionStartDate?: string;
}): string[];
export function hoursGroupEvents(settings: {
  hoursPerExecution: number;
  athenaQueryTimeoutSeconds: number;
  athenaPollSeconds: number;
}): number;
export const ATHENA_CONCURRENT_QUERY_QUOTA: number;
export const MIN_UNRESERVED_CONCURRENCY: number;
export const HISTORY_EVENT_BUDGET: number;
export const EARLIEST_ROW_DATE: string;
