import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  type BatchWriteResult,
  batchDeleteAll,
  batchPutAll,
  queryAll,
} from '#shared/adapters/dynamodb-batch';
import { type AggregateRow, AggregateRowSchema, rowKey } from '#shared/core/aggregate-row';
import type { BackoffPolicy, Sleep } from '#shared/core/backoff';
import { EtlError } from '#shared/core/errors';
import { fromItem, TableValueError, toItem } from '#shared/core/table-values';
import { cloudfrontHourly } from '#shared/tables/cloudfront-hourly';

/** The port the stage and write steps use: one item per aggregate row, grouped by run. */
export interface StagingStore {
  /** Stages a run's rows (idempotent: a row is keyed by run id and `rowKey`, so a retry overwrites). */
  putRows(runId: string, rows: readonly AggregateRow[]): Promise<StagePutResult>;
  /**
   * Stages one hour's rows as the whole of that hour for the run: items an earlier attempt of the
   * run staged for the hour that `rows` lack are deleted after the puts, so a re-run whose
   * aggregate lost a group does not write it back.
   */
  replaceHour(runId: string, hour: string, rows: readonly AggregateRow[]): Promise<StagePutResult>;
  /** Every row staged for the run, in `rowKey` order (hour, host, status). */
  readRun(runId: string): Promise<AggregateRow[]>;
}

export interface StagePutResult {
  staged: number;
  /** BatchWriteItem calls, and how many of them were answered with UnprocessedItems and retried. */
  calls: number;
  retries: number;
}

/** A row cannot be staged: its item breaks a DynamoDB limit, or two rows share a key. */
export class StagingItemError extends EtlError {}
/** A staged item does not read back as an aggregate row (wrong shape, or a number beyond 2^53 − 1). */
export class StagedItemError extends EtlError {}

/**
 * The staging table's keys as this adapter reads and writes them (resources.yml declares the same
 * table for the cloud; a template test checks they agree). For tests and benchmarks that create
 * the table themselves.
 */
export function stagingTableInput(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'runId', AttributeType: 'S' },
      { AttributeName: 'rowKey', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'runId', KeyType: 'HASH' },
      { AttributeName: 'rowKey', KeyType: 'RANGE' },
    ],
  };
}

/** DynamoDB's item size limit: 400 KB, attribute names included. */
export const DYNAMODB_ITEM_LIMIT_BYTES = 400 * 1024;
/** DynamoDB's limit on a sort key value. */
export const DYNAMODB_SORT_KEY_LIMIT_BYTES = 1024;
/** A DynamoDB number takes at most 21 bytes (38 significant digits), whatever its value. */
const NUMBER_BYTES_MAX = 21;

/**
 * The attributes of one staged item: the staging keys, the row's values by field as the table's
 * declaration maps them (shared/core/table-values.ts: the hour as an ISO-8601 string, NULL as an
 * absent attribute), and the bookkeeping.
 */
// A type alias, not an interface: it must be assignable to batchPutAll's Record<string, unknown>.
export type StagedItem = Record<string, string | number> & {
  runId: string;
  rowKey: string;
  stagedAt: string;
  /** TTL attribute: epoch seconds (DynamoDB ignores TTL values in milliseconds or as strings). */
  expiresAt: number;
};

export interface DynamoStagingStoreOptions {
  /** Days until DynamoDB's TTL may delete a staged item (default 7: long enough to re-run a write). */
  ttlDays?: number;
  now?: () => Date;
  backoff?: BackoffPolicy;
  sleep?: Sleep;
  /** BatchWriteItem calls in flight at once. */
  concurrency?: number;
}

/**
 * The staging table in DynamoDB: partition key `runId`, sort key `rowKey`.
 *
 * Items are mapped by the table's declaration (`shared/tables/cloudfront-hourly.ts`): an empty
 * host is staged as `-` (its declared emptyString rule: DynamoDB rejects empty strings in key
 * attributes and `rowKey` embeds the host); null means and p95s are absent attributes, read back
 * as null.
 *
 * Numbers are exact both ways. Writing: AggregateRow numbers are JS numbers; integers are safe
 * integers (the document client refuses anything above 2^53 − 1 rather than round it) and a
 * double's `String()` is its shortest round-trip form, so the N string DynamoDB stores is the exact
 * value. Reading: the decimal string DynamoDB returns is converted here, not trusted to the
 * client's translateConfig. With the factory's document client util-dynamodb yields a number for a
 * safe integer and a BigInt beyond (never a rounded number); a client with `wrapNumbers` yields
 * NumberValue strings. All three are accepted and go through their exact decimal text; a count or
 * byte sum beyond 2^53 − 1, which AggregateRow's `number` cannot hold, is a StagedItemError, never
 * a silently rounded value. (A second document client with `wrapNumbers` on the same
 * DynamoDBClient is not an option: lib-dynamodb stores translateConfig on the shared client config,
 * so it would change the first one's output too.)
 */
export class DynamoStagingStore implements StagingStore {
  private readonly ttlDays: number;
  private readonly now: () => Date;

  constructor(
    private readonly documents: DynamoDBDocumentClient,
    readonly table: string,
    private readonly options: DynamoStagingStoreOptions = {},
  ) {
    this.ttlDays = options.ttlDays ?? 7;
    this.now = options.now ?? (() => new Date());
  }

  async putRows(runId: string, rows: readonly AggregateRow[]): Promise<StagePutResult> {
    const now = this.now();
    const stagedAt = now.toISOString();
    const expiresAt = Math.floor(now.getTime() / 1000) + this.ttlDays * 86_400;
    const seen = new Set<string>();
    const items = rows.map((row) => {
      const item = toStagedItem(runId, row, stagedAt, expiresAt);
      // Two puts of one key in a BatchWriteItem call are a ValidationException; in different calls
      // the later silently wins. Either way a row would be lost: refuse up front.
      if (seen.has(item.rowKey))
        throw new StagingItemError(`Run ${runId}: two rows share the key ${item.rowKey}`);
      seen.add(item.rowKey);
      return item;
    });
    const result: BatchWriteResult = await batchPutAll(this.documents, this.table, items, {
      ...(this.options.backoff && { backoff: this.options.backoff }),
      ...(this.options.sleep && { sleep: this.options.sleep }),
      ...(this.options.concurrency !== undefined && { concurrency: this.options.concurrency }),
    });
    return { staged: result.items, calls: result.calls, retries: result.retries };
  }

  async replaceHour(runId: string, hour: string, rows: readonly AggregateRow[]): Promise<StagePutResult> {
    const put = await this.putRows(runId, rows);
    const keep = new Set(rows.map(rowKey));
    const stale: Record<string, unknown>[] = [];
    for await (const page of queryAll(this.documents, {
      TableName: this.table,
      KeyConditionExpression: '#runId = :runId AND begins_with(#rowKey, :hour)',
      ExpressionAttributeNames: { '#runId': 'runId', '#rowKey': 'rowKey' },
      ExpressionAttributeValues: { ':runId': runId, ':hour': `${hour}#` },
      ProjectionExpression: '#rowKey',
      ConsistentRead: true,
    })) {
      for (const item of page) {
        if (typeof item.rowKey === 'string' && !keep.has(item.rowKey))
          stale.push({ runId, rowKey: item.rowKey });
      }
    }
    if (stale.length === 0) return put;
    const removed = await batchDeleteAll(this.documents, this.table, stale, {
      ...(this.options.backoff && { backoff: this.options.backoff }),
      ...(this.options.sleep && { sleep: this.options.sleep }),
    });
    return { ...put, calls: put.calls + removed.calls, retries: put.retries + removed.retries };
  }

  async readRun(runId: string): Promise<AggregateRow[]> {
    const rows: AggregateRow[] = [];
    for await (const page of queryAll(this.documents, {
      TableName: this.table,
      KeyConditionExpression: '#runId = :runId',
      ExpressionAttributeNames: { '#runId': 'runId' },
      ExpressionAttributeValues: { ':runId': runId },
      // The write step runs right after the stage step: an eventually consistent read could miss
      // items written a moment ago. Query on the base table supports strong consistency.
      ConsistentRead: true,
    })) {
      for (const item of page) rows.push(fromStagedItem(runId, item));
    }
    return rows;
  }
}

/** The staged item of one row. Exported for tests and for tools that inspect the table. */
export function toStagedItem(
  runId: string,
  row: AggregateRow,
  stagedAt: string,
  expiresAt: number,
): StagedItem {
  const key = rowKey(row);
  // First the key's size: a key too long for DynamoDB says so, whatever else the row breaks.
  const keyBytes = Buffer.byteLength(key, 'utf8');
  if (keyBytes > DYNAMODB_SORT_KEY_LIMIT_BYTES) {
    throw new StagingItemError(
      `Run ${runId}: row key of host ${row.host.slice(0, 64)}… is ${keyBytes} bytes; DynamoDB sort keys take at most ${DYNAMODB_SORT_KEY_LIMIT_BYTES}`,
    );
  }
  let values: Record<string, string | number>;
  try {
    values = toItem(cloudfrontHourly, row);
  } catch (error) {
    if (!(error instanceof TableValueError)) throw error;
    throw new StagingItemError(
      `Run ${runId}: row ${key.slice(0, 64)} cannot be staged in table ${error.table}: ${error.field}: ${error.problem}`,
      { cause: error },
    );
  }
  const item: StagedItem = { ...values, runId, rowKey: key, stagedAt, expiresAt };
  const size = itemSizeUpperBound(item);
  if (size > DYNAMODB_ITEM_LIMIT_BYTES) {
    throw new StagingItemError(
      `Run ${runId}: item ${item.rowKey.slice(0, 64)}… is up to ${size} bytes; DynamoDB items take at most ${DYNAMODB_ITEM_LIMIT_BYTES}`,
    );
  }
  return item;
}

/**
 * DynamoDB's item size: UTF-8 bytes of every attribute name and string value, plus up to 21 bytes
 * per number. An upper bound, so an item that passes here is never refused for its size.
 */
export function itemSizeUpperBound(item: object): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    size += Buffer.byteLength(name, 'utf8');
    size += typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : NUMBER_BYTES_MAX;
  }
  return size;
}

/** One item read back → the aggregate row it was staged from. */
function fromStagedItem(runId: string, item: Record<string, unknown>): AggregateRow {
  const key = typeof item.rowKey === 'string' ? item.rowKey : '(no rowKey)';
  let row: AggregateRow;
  try {
    // The row's fields by the declaration: every value checked and converted exactly (see the class).
    // The typed row through the schema derived from the same declaration.
    row = AggregateRowSchema.parse(fromItem(cloudfrontHourly, item));
  } catch (error) {
    if (!(error instanceof TableValueError)) throw error;
    // The field and the problem only: the item itself is a whole row, which logs must not carry.
    throw new StagedItemError(
      `Run ${runId}: staged item ${key} of table ${error.table} is malformed: ${error.field}: ${error.problem}`,
      { cause: error },
    );
  }
  // The key is derived from the values; a mismatch means the item was edited or mis-keyed.
  if (item.runId !== runId || item.rowKey !== rowKey(row)) {
    throw new StagedItemError(`Run ${runId}: staged item ${key} does not match its own values`);
  }
  return row;
}
