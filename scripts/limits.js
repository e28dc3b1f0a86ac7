/**
 * Settings that would break AWS limits at run time, checked when the service is packaged.
 * Pure functions over the resolved config, so they are unit-tested (test/serverless/limits.test.ts).
 */

/** Athena's default quota: about 20 concurrent DML queries per account and region. */
const ATHENA_CONCURRENT_QUERY_QUOTA = 20;
/** Lambda keeps at least 100 of the account's concurrency unreserved. */
const MIN_UNRESERVED_CONCURRENCY = 100;
/** The transform accepts rows from this date on (shared/datasets/table.ts PROJECTION_START_MS). */
const EARLIEST_ROW_DATE = '2008-01-01';
/** A Standard workflow execution's history is capped at 25,000 events; keep a margin for retries. */
const HISTORY_EVENT_BUDGET = 20_000;
/** Lambda's ephemeral storage (/tmp): 512 MB to 10,240 MB. */
const EPHEMERAL_STORAGE_MB = { min: 512, max: 10_240 };
/** /tmp the transform leaves to everything but its spool (shared/config.ts spoolBytes). */
const SPOOL_HEADROOM_MB = 64;
/**
 * Spool bytes per byte of raw text in the worst row order (every hour interleaved: rows spilled as
 * column buffers, plus the Parquet output): 1.47 measured on the bench's 1,000,000 rows (588 MB of
 * spool for 399.5 MiB of text, docs/transform.md), rounded up.
 */
const SPOOL_PER_TEXT_BYTE = 1.6;

/**
 * The transform's worst spool, in MB: the largest raw file allowed, expanded to text (gzip's ratio,
 * `rawExpansion`), times what interleaved rows spool per text byte; plus the headroom.
 */
function transformDiskMb({ maxRawFileBytes, rawExpansion }) {
  return Math.ceil((maxRawFileBytes * rawExpansion * SPOOL_PER_TEXT_BYTE) / 1024 / 1024) + SPOOL_HEADROOM_MB;
}

/**
 * Worst-case history events of one hours-group execution: per hour a Map iteration (2), StartQuery,
 * FetchResults and StageRows (5 each) and, per poll, Wait (2) + CheckQuery (5) + Choice (2); polls
 * are bounded by the query's time budget over the poll interval. Plus the execution and its Map.
 */
function hoursGroupEvents({ hoursPerExecution, athenaQueryTimeoutSeconds, athenaPollSeconds }) {
  const polls = Math.ceil(athenaQueryTimeoutSeconds / athenaPollSeconds) + 1;
  return 10 + hoursPerExecution * (2 + 15 + polls * 9);
}

/** Worst-case history events of one batch execution: per file a Map iteration and a Lambda task. */
function batchEvents({ batchMaxFiles }) {
  return 15 + batchMaxFiles * (2 + 5);
}

function checkLimits({
  athenaConcurrency,
  reservedConcurrency,
  accountConcurrencyLimit,
  athenaPollSeconds,
  athenaQueryTimeoutSeconds,
  hoursPerExecution,
  batchMaxFiles,
  projectionStartDate,
  ephemeralStorageTransform,
  maxRawFileBytes,
  rawExpansion,
}) {
  const problems = [];
  if (ephemeralStorageTransform !== undefined) {
    const size = ephemeralStorageTransform;
    if (!(Number.isInteger(size) && size >= EPHEMERAL_STORAGE_MB.min && size <= EPHEMERAL_STORAGE_MB.max)) {
      problems.push(
        `ephemeralStorageTransform is ${size}: Lambda's /tmp is ${EPHEMERAL_STORAGE_MB.min} to ${EPHEMERAL_STORAGE_MB.max} MB`,
      );
    } else {
      const needed = transformDiskMb({ maxRawFileBytes, rawExpansion });
      if (!(needed <= size)) {
        problems.push(
          `ephemeralStorageTransform is ${size} MB, but a raw file of maxRawFileBytes ${maxRawFileBytes} expanding ${rawExpansion}x (rawExpansion) can spool ${needed} MB when its rows are interleaved: raise ephemeralStorageTransform or lower maxRawFileBytes`,
        );
      }
    }
  }
  if (projectionStartDate !== undefined && !(String(projectionStartDate) <= EARLIEST_ROW_DATE)) {
    problems.push(
      `projectionStartDate is ${projectionStartDate}: the transform accepts rows from ${EARLIEST_ROW_DATE} on, and Athena's partition projection would never see those before the start`,
    );
  }
  if (hoursPerExecution !== undefined) {
    const events = hoursGroupEvents({ hoursPerExecution, athenaQueryTimeoutSeconds, athenaPollSeconds });
    if (!(events <= HISTORY_EVENT_BUDGET)) {
      problems.push(
        `hoursPerExecution ${hoursPerExecution} with a ${athenaQueryTimeoutSeconds} s query budget polled every ${athenaPollSeconds} s can reach ${events} history events per execution (budget ${HISTORY_EVENT_BUDGET} of the 25,000 cap): lower hoursPerExecution or the budget, or poll less often`,
      );
    }
  }
  if (batchMaxFiles !== undefined) {
    // 1,000 also keeps a batch's file list (its state) under the 256 KB payload cap for usual keys.
    if (
      !(
        batchMaxFiles >= 1 &&
        batchMaxFiles <= 1_000 &&
        batchEvents({ batchMaxFiles }) <= HISTORY_EVENT_BUDGET
      )
    ) {
      problems.push(`batchMaxFiles is ${batchMaxFiles}: a batch execution holds at most 1,000 files`);
    }
  }
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

module.exports = {
  checkLimits,
  hoursGroupEvents,
  transformDiskMb,
  SPOOL_HEADROOM_MB,
  ATHENA_CONCURRENT_QUERY_QUOTA,
  MIN_UNRESERVED_CONCURRENCY,
  HISTORY_EVENT_BUDGET,
  EARLIEST_ROW_DATE,
};
