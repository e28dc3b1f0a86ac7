export function checkLimits(settings: {
  athenaConcurrency: number;
  reservedConcurrency: Record<string, number>;
  accountConcurrencyLimit: number;
}): string[];
export const ATHENA_CONCURRENT_QUERY_QUOTA: number;
export const MIN_UNRESERVED_CONCURRENCY: number;
