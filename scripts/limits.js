/**
 * Settings that would break AWS limits at run time, checked when the service is packaged.
 * Pure functions over the resolved config, so they are unit-tested (test/serverless/limits.test.ts).
 */

/** Athena's default quota: about 20 concurrent DML queries per account and region. */
const ATHENA_CONCURRENT_QUERY_QUOTA = 20;
/** Lambda keeps at least 100 of the account's concurrency unreserved. */
const MIN_UNRESERVED_CONCURRENCY = 100;

function checkLimits({ athenaConcurrency, reservedConcurrency, accountConcurrencyLimit }) {
  const problems = [];
  if (
    !Number.isInteger(athenaConcurrency) ||
    athenaConcurrency < 1 ||
    athenaConcurrency > ATHENA_CONCURRENT_QUERY_QUOTA
  ) {
    problems.push(
      `athenaConcurrency is ${athenaConcurrency}: the aggregate Map must start at most ${ATHENA_CONCURRENT_QUERY_QUOTA} queries at once (Athena's concurrent-query quota)`,
    );
  }
  const reserved = Object.values(reservedConcurrency).reduce((sum, value) => sum + (Number(value) || 0), 0);
  const unreserved = accountConcurrencyLimit - reserved;
  if (unreserved < MIN_UNRESERVED_CONCURRENCY) {
    problems.push(
      `reserved concurrency totals ${reserved} of the account's ${accountConcurrencyLimit}, leaving ${unreserved} unreserved; Lambda requires at least ${MIN_UNRESERVED_CONCURRENCY}`,
    );
  }
  return problems;
}

module.exports = { checkLimits, ATHENA_CONCURRENT_QUERY_QUOTA, MIN_UNRESERVED_CONCURRENCY };
