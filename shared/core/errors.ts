/**
 * Base of the project's named errors. Step Functions matches `Retry`/`Catch` on the error's name,
 * so every subclass keeps its class name as `name`, and passes `cause` on.
 */
export class EtlError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A required setting is missing or malformed. */
export class ConfigError extends EtlError {}

/**
 * A run's estimated cost is over its stage's budget (`maxRunCostUsd`): stopped before it
 * transforms a file or starts an Athena query.
 */
export class RunCostBudgetError extends EtlError {}

/**
 * A backfill's window needs more runs than one backfill execution holds (its history budget, or
 * its run list against the 256 KB state payload): refused before any run starts.
 */
export class BackfillTooLongError extends EtlError {}
