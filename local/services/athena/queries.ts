import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, HeadBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { AwsServiceError, type JsonObject, optionalString, requireString } from '../aws-json';
import type { QueryEngine } from './engine';
import {
  type AthenaErrorInfo,
  CANCELLED_BY_USER,
  errorMessage,
  errorName,
  type FinalState,
  internalError,
  QueryFailure,
  resultWriteError,
} from './errors';
import { parseS3Url } from './object-cache';
import {
  type Cell,
  columnInfo,
  decodePageToken,
  encodePageToken,
  MAX_PAGE_ROWS,
  parseCsv,
  ResultCache,
  type ResultColumn,
  rowShape,
} from './results';
import type { StoredWorkGroup } from './store';
import { classifyStatement, type StatementClass } from './trino';
import { optionalInteger, optionalObject, optionalStringList, pageOf, validationError } from './validation';
import { EFFECTIVE_ENGINE_VERSION, validOutputLocation, type WorkGroups } from './workgroups';

export type QueryState = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | FinalState;

/** A fault for the next queries: throttled at start, or ending FAILED / CANCELLED. */
export interface Fault {
  kind: 'fail' | 'cancel' | 'throttle';
  times?: number;
  reason?: string;
}

interface QueryRecord {
  id: string;
  query: string;
  statement: StatementClass;
  substatementType: string;
  workGroup: StoredWorkGroup;
  context: { database?: string; catalog?: string };
  output: { bucket: string; key: string };
  state: QueryState;
  reason?: string;
  athenaError?: AthenaErrorInfo;
  submittedAt: number;
  startedAt?: number;
  completedAt?: number;
  dataScannedInBytes: number;
  columns?: ResultColumn[];
  clientRequestToken?: string;
  abort: AbortController;
  fault?: QueryFailure;
  settled?: Promise<void>;
}

/** Athena's limit on QueryString (262,144 bytes). */
const MAX_QUERY_BYTES = 262_144;

const CONCURRENCY_MESSAGE =
  'You have exceeded the limit for the number of queries you can run concurrently. Reduce the number of ' +
  'concurrent queries submitted by this account. Contact customer support to request a concurrent query limit increase.';

export interface QueryExecutionsOptions {
  engine: QueryEngine;
  workGroups: WorkGroups;
  s3: S3Client;
  directory: string;
  maxConcurrentQueries: number;
  minQueryMs: number;
}

/**
 * The asynchronous query lifecycle: QUEUED → RUNNING → SUCCEEDED | FAILED | CANCELLED, the
 * concurrency quota, idempotency tokens, result files in S3 and GetQueryResults paging.
 */
export class QueryExecutions {
  private readonly records = new Map<string, QueryRecord>();
  private readonly tokens = new Map<string, string>();
  private readonly results = new ResultCache();
  private throttleFaults = 0;
  private readonly outcomeFaults: QueryFailure[] = [];

  constructor(private readonly options: QueryExecutionsOptions) {}

  /** Drops every fault not yet consumed (a test's afterEach, whatever the test did). */
  clearFaults(): void {
    this.throttleFaults = 0;
    this.outcomeFaults.length = 0;
  }

  /** Injected throttles not yet answered. */
  get pendingThrottles(): number {
    return this.throttleFaults;
  }

  injectFault(fault: Fault): void {
    const times = fault.times ?? 1;
    if (fault.kind === 'throttle') {
      this.throttleFaults += times;
      return;
    }
    for (let i = 0; i < times; i++) {
      this.outcomeFaults.push(
        fault.kind === 'fail'
          ? new QueryFailure(
              fault.reason ?? 'GENERIC_INTERNAL_ERROR: fault injected into the local Athena stand-in',
              { category: 1, type: 200, retryable: true },
              'FAILED',
            )
          : new QueryFailure(
              fault.reason ?? 'Query cancelled by user',
              { category: 2, type: 1011, retryable: false },
              'CANCELLED',
            ),
      );
    }
  }

  async start(input: JsonObject): Promise<JsonObject> {
    const query = requireString(input, 'QueryString');
    if (Buffer.byteLength(query) > MAX_QUERY_BYTES) {
      throw validationError(
        '…',
        'queryString',
        `Member must have length less than or equal to ${MAX_QUERY_BYTES}`,
      );
    }
    const token = optionalString(input, 'ClientRequestToken');
    if (token !== undefined && (token.length < 32 || token.length > 128)) {
      throw validationError(
        token,
        'clientRequestToken',
        'Member must have length greater than or equal to 32',
      );
    }
    const workGroup = this.options.workGroups.require(optionalString(input, 'WorkGroup') ?? 'primary');
    if (token !== undefined) {
      const existing = this.records.get(this.tokens.get(token) ?? '');
      if (existing !== undefined) {
        // Idempotency: the same token returns the query already started, never a second one.
        if (existing.query !== query || existing.workGroup.name !== workGroup.name) {
          throw new AwsServiceError(
            'InvalidRequestException',
            'Idempotent parameters do not match: the ClientRequestToken was used for a different query.',
          );
        }
        return { QueryExecutionId: existing.id };
      }
    }
    if (workGroup.state !== 'ENABLED') {
      throw new AwsServiceError('InvalidRequestException', `WorkGroup ${workGroup.name} is disabled.`);
    }
    const context = optionalObject(input, 'QueryExecutionContext') ?? {};
    const requested = optionalObject(input, 'ResultConfiguration') ?? {};
    const location = outputLocation(workGroup, optionalString(requested, 'OutputLocation'));
    const statement = classifyStatement(query);

    if (this.throttleFaults > 0) {
      this.throttleFaults--;
      throw new AwsServiceError('TooManyRequestsException', 'Rate exceeded');
    }
    const output = parseS3Url(location);
    if (output === undefined)
      throw new AwsServiceError('InvalidRequestException', 'outputLocation is not a valid S3 path.');
    try {
      await this.options.s3.send(new HeadBucketCommand({ Bucket: output.bucket }));
    } catch {
      throw new AwsServiceError(
        'InvalidRequestException',
        `Unable to verify/create output bucket ${output.bucket}`,
      );
    }
    // Checked after the await so concurrent starts cannot all slip under the quota.
    this.checkConcurrency(statement);

    const id = randomUUID();
    const prefix = output.prefix === '' || output.prefix.endsWith('/') ? output.prefix : `${output.prefix}/`;
    const database = optionalString(context, 'Database');
    const catalog = optionalString(context, 'Catalog');
    const fault = this.outcomeFaults.shift();
    const record: QueryRecord = {
      id,
      query,
      statement,
      substatementType: statement.substatementType,
      workGroup,
      context: {
        ...(database !== undefined && { database }),
        ...(catalog !== undefined && { catalog }),
      },
      output: { bucket: output.bucket, key: `${prefix}${id}.${statement.route === 'ddl' ? 'txt' : 'csv'}` },
      state: 'QUEUED',
      submittedAt: Date.now(),
      dataScannedInBytes: 0,
      abort: new AbortController(),
      ...(token !== undefined && { clientRequestToken: token }),
      ...(fault !== undefined && { fault }),
    };
    this.records.set(id, record);
    if (token !== undefined) this.tokens.set(token, id);
    record.settled = this.execute(record);
    return { QueryExecutionId: id };
  }

  /** Default quota: 20 active DML and 20 active DDL queries per account and region. */
  private checkConcurrency(statement: StatementClass): void {
    const isDml = statement.statementType === 'DML';
    let active = 0;
    for (const record of this.records.values()) {
      if (
        (record.state === 'QUEUED' || record.state === 'RUNNING') &&
        (record.statement.statementType === 'DML') === isDml
      ) {
        active++;
      }
    }
    if (active >= this.options.maxConcurrentQueries) {
      throw new AwsServiceError('TooManyRequestsException', CONCURRENCY_MESSAGE);
    }
  }

  private async execute(record: QueryRecord): Promise<void> {
    const signal = record.abort.signal;
    // StartQueryExecution returns first; the query is QUEUED until the next turn of the loop.
    await new Promise((resolve) => setImmediate(resolve));
    if (record.state !== 'QUEUED') return;
    record.state = 'RUNNING';
    record.startedAt = Date.now();
    const minimumRunning = sleep(this.options.minQueryMs, signal);
    const resultFile = join(
      this.options.directory,
      `${record.id}.${record.output.key.endsWith('.txt') ? 'txt' : 'csv'}`,
    );
    try {
      if (record.fault !== undefined) {
        await minimumRunning;
        throw record.fault;
      }
      await mkdir(this.options.directory, { recursive: true });
      const outcome = await this.options.engine.run({
        sql: record.query,
        statement: record.statement,
        database: record.context.database ?? 'default',
        ...(record.context.catalog !== undefined && { catalog: record.context.catalog }),
        resultFile,
        signal,
        onScanned: (bytes) => {
          record.dataScannedInBytes = bytes;
        },
        ...(record.workGroup.bytesScannedCutoffPerQuery !== undefined && {
          bytesScannedCutoff: record.workGroup.bytesScannedCutoffPerQuery,
        }),
      });
      if (signal.aborted) throw CANCELLED_BY_USER();
      await this.upload(record, resultFile);
      record.columns = outcome.columns;
      record.substatementType = outcome.substatementType;
      await minimumRunning;
      this.finish(record, 'SUCCEEDED');
    } catch (error) {
      const failure =
        signal.aborted && !(error instanceof QueryFailure && error.state === 'CANCELLED')
          ? CANCELLED_BY_USER()
          : error instanceof QueryFailure
            ? error
            : internalError(errorMessage(error), error);
      await minimumRunning;
      this.finish(record, failure.state, failure);
    } finally {
      await rm(resultFile, { force: true });
    }
  }

  private async upload(record: QueryRecord, file: string): Promise<void> {
    try {
      const { size } = await stat(file);
      await this.options.s3.send(
        new PutObjectCommand({
          Bucket: record.output.bucket,
          Key: record.output.key,
          Body: createReadStream(file),
          ContentLength: size,
          ContentType: record.output.key.endsWith('.csv') ? 'text/csv' : 'text/plain',
        }),
      );
    } catch (error) {
      const message = `${errorName(error)}: ${errorMessage(error)}`;
      throw resultWriteError(
        `Unable to write query results to s3://${record.output.bucket}/${record.output.key}: ${message}`,
        error,
      );
    }
  }

  private finish(record: QueryRecord, state: 'SUCCEEDED' | FinalState, failure?: QueryFailure): void {
    // A stopped query is already CANCELLED; the engine winding down must not overwrite that.
    if (record.state !== 'QUEUED' && record.state !== 'RUNNING') return;
    record.state = state;
    record.completedAt = Date.now();
    if (failure !== undefined) {
      record.reason = failure.reason;
      record.athenaError = failure.athenaError;
    }
  }

  stop(input: JsonObject): JsonObject {
    const record = this.find(requireString(input, 'QueryExecutionId'));
    if (record.state === 'QUEUED' || record.state === 'RUNNING') {
      this.finish(record, 'CANCELLED', CANCELLED_BY_USER());
      record.abort.abort();
    }
    return {};
  }

  get(input: JsonObject): JsonObject {
    return { QueryExecution: this.shape(this.find(requireString(input, 'QueryExecutionId'))) };
  }

  batchGet(input: JsonObject): JsonObject {
    const ids = optionalStringList(input, 'QueryExecutionIds') ?? [];
    if (ids.length < 1 || ids.length > 50) {
      throw validationError(ids.length, 'queryExecutionIds', 'Member must have length between 1 and 50');
    }
    const found = ids.flatMap((id) => {
      const record = this.records.get(id);
      return record === undefined ? [] : [this.shape(record)];
    });
    const missing = ids
      .filter((id) => !this.records.has(id))
      .map((id) => ({
        QueryExecutionId: id,
        ErrorCode: 'INVALID_INPUT',
        ErrorMessage: `QueryExecution ${id} was not found`,
      }));
    return { QueryExecutions: found, UnprocessedQueryExecutionIds: missing };
  }

  list(input: JsonObject): JsonObject {
    const workGroup = this.options.workGroups.require(optionalString(input, 'WorkGroup') ?? 'primary');
    const ids = [...this.records.values()]
      .filter((record) => record.workGroup.name === workGroup.name)
      .sort((a, b) => b.submittedAt - a.submittedAt)
      .map((record) => record.id);
    const { items, nextToken } = pageOf(ids, input, 50);
    return { QueryExecutionIds: items, ...(nextToken !== undefined && { NextToken: nextToken }) };
  }

  async queryResults(input: JsonObject): Promise<JsonObject> {
    const record = this.find(requireString(input, 'QueryExecutionId'));
    const maxResults =
      optionalInteger(input, 'MaxResults', 'maxResults', { min: 1, max: MAX_PAGE_ROWS }) ?? MAX_PAGE_ROWS;
    const nextToken = optionalString(input, 'NextToken');
    let offset = 0;
    if (nextToken !== undefined && nextToken !== '') {
      const token = decodePageToken(nextToken);
      if (token === undefined || token.queryExecutionId !== record.id) {
        throw new AwsServiceError('InvalidRequestException', 'The NextToken provided is not valid.');
      }
      offset = token.offset;
    }
    switch (record.state) {
      case 'QUEUED':
      case 'RUNNING':
        throw new AwsServiceError(
          'InvalidRequestException',
          `Query has not yet finished. Current state: ${record.state}`,
        );
      case 'FAILED':
        throw new AwsServiceError(
          'InvalidRequestException',
          `Query did not finish successfully. Final query state: FAILED. Reason: ${record.reason ?? 'unknown'}`,
        );
      case 'CANCELLED':
        throw new AwsServiceError('InvalidRequestException', 'Could not find results');
      case 'SUCCEEDED':
        break;
    }
    const rows = await this.resultRows(record);
    const page = rows.slice(offset, offset + maxResults);
    const next = offset + maxResults;
    return {
      ResultSet: {
        Rows: page.map(rowShape),
        ResultSetMetadata: { ColumnInfo: columnInfo(record.columns ?? []) },
      },
      ...(record.statement.route === 'query' && { UpdateCount: 0 }),
      ...(next < rows.length && {
        NextToken: encodePageToken({ queryExecutionId: record.id, offset: next }),
      }),
    };
  }

  /** Rows of the result file (header included for CSV), read back from S3 as Athena does. */
  private async resultRows(record: QueryRecord): Promise<Cell[][]> {
    const cached = this.results.get(record.id);
    if (cached !== undefined) return cached;
    let text: string;
    try {
      const response = await this.options.s3.send(
        new GetObjectCommand({ Bucket: record.output.bucket, Key: record.output.key }),
      );
      text = (await response.Body?.transformToString('utf8')) ?? '';
    } catch (error) {
      const message = `${errorName(error)}: ${errorMessage(error)}`;
      throw new AwsServiceError(
        'InvalidRequestException',
        `Unable to read the query results from s3://${record.output.bucket}/${record.output.key}: ${message}`,
      );
    }
    const rows: Cell[][] = record.output.key.endsWith('.csv')
      ? parseCsv(text)
      : text
          .split('\n')
          .slice(0, -1)
          .map((line) => [line]);
    this.results.set(record.id, rows);
    return rows;
  }

  /** Cancels whatever is still running and waits for it to wind down (stand-in shutdown). */
  async stopAll(): Promise<void> {
    const running = [...this.records.values()].filter(
      (record) => record.state === 'QUEUED' || record.state === 'RUNNING',
    );
    for (const record of running) {
      this.finish(record, 'CANCELLED', CANCELLED_BY_USER());
      record.abort.abort();
    }
    await Promise.all([...this.records.values()].map((record) => record.settled));
  }

  private find(id: string): QueryRecord {
    const record = this.records.get(id);
    if (record === undefined)
      throw new AwsServiceError('InvalidRequestException', `QueryExecution ${id} was not found`);
    return record;
  }

  private shape(record: QueryRecord): JsonObject {
    const now = Date.now();
    const end = record.completedAt ?? now;
    const queueEnd = record.startedAt ?? end;
    const finished =
      record.state === 'SUCCEEDED' || record.state === 'FAILED' || record.state === 'CANCELLED';
    return {
      QueryExecutionId: record.id,
      Query: record.query,
      StatementType: record.statement.statementType,
      SubstatementType: record.substatementType,
      ResultConfiguration: { OutputLocation: `s3://${record.output.bucket}/${record.output.key}` },
      ResultReuseConfiguration: { ResultReuseByAgeConfiguration: { Enabled: false } },
      QueryExecutionContext: {
        ...(record.context.database !== undefined && { Database: record.context.database }),
        ...(record.context.catalog !== undefined && { Catalog: record.context.catalog }),
      },
      Status: {
        State: record.state,
        SubmissionDateTime: record.submittedAt / 1000,
        ...(record.completedAt !== undefined && { CompletionDateTime: record.completedAt / 1000 }),
        ...(record.reason !== undefined && { StateChangeReason: record.reason }),
        ...(finished &&
          record.athenaError !== undefined && {
            AthenaError: {
              ErrorCategory: record.athenaError.category,
              ErrorType: record.athenaError.type,
              Retryable: record.athenaError.retryable,
              ErrorMessage: record.reason,
            },
          }),
      },
      Statistics: {
        EngineExecutionTimeInMillis: record.startedAt === undefined ? 0 : end - record.startedAt,
        DataScannedInBytes: record.dataScannedInBytes,
        TotalExecutionTimeInMillis: end - record.submittedAt,
        QueryQueueTimeInMillis: queueEnd - record.submittedAt,
        ServicePreProcessingTimeInMillis: 0,
        QueryPlanningTimeInMillis: 0,
        ServiceProcessingTimeInMillis: 0,
        ResultReuseInformation: { ReusedPreviousResult: false },
      },
      WorkGroup: record.workGroup.name,
      EngineVersion: {
        SelectedEngineVersion: record.workGroup.selectedEngineVersion,
        EffectiveEngineVersion: EFFECTIVE_ENGINE_VERSION,
      },
    };
  }
}

/**
 * Where results go: the workgroup's location when it enforces its configuration, else the
 * query's, else the workgroup's; none at all is an error at StartQueryExecution, as in Athena.
 */
function outputLocation(workGroup: StoredWorkGroup, requested: string | undefined): string {
  const location =
    workGroup.enforceWorkGroupConfiguration && workGroup.outputLocation !== undefined
      ? workGroup.outputLocation
      : (requested ?? workGroup.outputLocation);
  if (location === undefined) {
    throw new AwsServiceError(
      'InvalidRequestException',
      'No output location provided. An output location is required either through the Workgroup result configuration setting or as an API input.',
    );
  }
  return validOutputLocation(location);
}

/** Resolves after `ms`, or at once when the query is stopped. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
