import {
  type AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  TooManyRequestsException,
} from '@aws-sdk/client-athena';
import { type BackoffPolicy, fullJitterDelay, sleep as realSleep, type Sleep } from '#shared/core/backoff';
import { EtlError } from '#shared/core/errors';

/** Athena kept refusing StartQueryExecution (concurrent-query quota, 20 by default). Retryable. */
export class AthenaThrottledError extends EtlError {}
/** The query ended FAILED; `reason` is Athena's StateChangeReason. */
export class AthenaQueryFailedError extends EtlError {
  constructor(
    readonly queryExecutionId: string,
    readonly reason: string,
  ) {
    super(`Athena query ${queryExecutionId} FAILED: ${reason}`);
  }
}
/** The query ended CANCELLED (stopped by a user, the workgroup's bytes-scanned cutoff, or us). */
export class AthenaQueryCancelledError extends EtlError {
  constructor(
    readonly queryExecutionId: string,
    readonly reason: string,
  ) {
    super(`Athena query ${queryExecutionId} CANCELLED: ${reason}`);
  }
}
/** The query ran past its time budget and was stopped. */
export class AthenaQueryTimeoutError extends EtlError {}

const QUERY_STATES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type QueryState = (typeof QUERY_STATES)[number];
const isQueryState = (state: string | undefined): state is QueryState =>
  QUERY_STATES.includes(state as QueryState);

export interface QueryStatus {
  queryExecutionId: string;
  state: QueryState;
  reason?: string;
  submittedAt?: string;
  bytesScanned: number;
  engineMs: number;
}

/** The port the aggregate step uses: start a query, look at it, page its results, stop it. */
export interface QueryRunner {
  start(
    sql: string,
    options: { database: string; workGroup: string; clientRequestToken?: string },
  ): Promise<string>;
  status(queryExecutionId: string): Promise<QueryStatus>;
  /** Result rows as objects keyed by column name (header row consumed), page by page. */
  results(queryExecutionId: string): AsyncGenerator<Record<string, string | null>[]>;
  stop(queryExecutionId: string): Promise<void>;
}

export const DEFAULT_START_BACKOFF: BackoffPolicy = { baseDelayMs: 500, maxDelayMs: 10_000, maxAttempts: 6 };

export class AthenaQueryRunner implements QueryRunner {
  constructor(
    private readonly athena: AthenaClient,
    private readonly options: { backoff?: BackoffPolicy; sleep?: Sleep } = {},
  ) {}

  /**
   * Starts a query. TooManyRequestsException (past the concurrent-query quota) is retried with
   * capped full-jitter backoff; after the last attempt AthenaThrottledError lets the state
   * machine's Retry take over. A ClientRequestToken makes a retried start return the same query.
   */
  async start(sql: string, options: { database: string; workGroup: string; clientRequestToken?: string }) {
    const backoff = this.options.backoff ?? DEFAULT_START_BACKOFF;
    const wait = this.options.sleep ?? realSleep;
    for (let attempt = 0; ; attempt++) {
      try {
        const { QueryExecutionId } = await this.athena.send(
          new StartQueryExecutionCommand({
            QueryString: sql,
            WorkGroup: options.workGroup,
            QueryExecutionContext: { Database: options.database },
            ClientRequestToken: options.clientRequestToken,
          }),
        );
        if (!QueryExecutionId) throw new EtlError('StartQueryExecution returned no QueryExecutionId');
        return QueryExecutionId;
      } catch (error) {
        if (!(error instanceof TooManyRequestsException)) throw error;
        if (attempt + 1 >= backoff.maxAttempts) {
          throw new AthenaThrottledError(`Athena throttled StartQueryExecution ${attempt + 1} times`, {
            cause: error,
          });
        }
        await wait(fullJitterDelay(backoff, attempt));
      }
    }
  }

  async status(queryExecutionId: string): Promise<QueryStatus> {
    const { QueryExecution } = await this.athena.send(
      new GetQueryExecutionCommand({ QueryExecutionId: queryExecutionId }),
    );
    const state = QueryExecution?.Status?.State;
    if (!isQueryState(state)) {
      throw new EtlError(`GetQueryExecution ${queryExecutionId} returned state ${String(state)}`);
    }
    return {
      queryExecutionId,
      state,
      reason: QueryExecution?.Status?.StateChangeReason,
      submittedAt: QueryExecution?.Status?.SubmissionDateTime?.toISOString(),
      bytesScanned: QueryExecution?.Statistics?.DataScannedInBytes ?? 0,
      engineMs: QueryExecution?.Statistics?.EngineExecutionTimeInMillis ?? 0,
    };
  }

  /** GetQueryResults pages of at most 1,000 rows; the first row of the first page is the header. */
  async *results(queryExecutionId: string): AsyncGenerator<Record<string, string | null>[]> {
    let NextToken: string | undefined;
    let header: string[] | undefined;
    do {
      const page = await this.athena.send(
        new GetQueryResultsCommand({ QueryExecutionId: queryExecutionId, NextToken, MaxResults: 1000 }),
      );
      const rows = page.ResultSet?.Rows ?? [];
      const cells = rows.map((row) => (row.Data ?? []).map((datum) => datum.VarCharValue ?? null));
      if (header === undefined) {
        header = page.ResultSet?.ResultSetMetadata?.ColumnInfo?.map((column) => column.Name ?? '') ?? [];
        cells.shift();
      }
      const names = header;
      yield cells.map((values) =>
        Object.fromEntries(names.map((name, index) => [name, values[index] ?? null])),
      );
      NextToken = page.NextToken;
    } while (NextToken !== undefined);
  }

  async stop(queryExecutionId: string): Promise<void> {
    await this.athena.send(new StopQueryExecutionCommand({ QueryExecutionId: queryExecutionId }));
  }
}
