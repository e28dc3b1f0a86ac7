import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { batchPutAll, queryAll } from '#shared/adapters/dynamodb-batch';
import {
  DYNAMODB_ITEM_LIMIT_BYTES,
  DYNAMODB_SORT_KEY_LIMIT_BYTES,
  type DynamoStagingStoreOptions,
  itemSizeUpperBound,
  StagedItemError,
  type StagePutResult,
  StagingItemError,
} from '#shared/adapters/staging-store';
import type { TableDeclaration, TableRow } from '#shared/core/table-declaration';
import { fromItem, rowKeyOf, TableValueError, toItem } from '#shared/core/table-values';

/**
 * Rows of any declared table in the staging table (the one the CloudFront pipeline stages its
 * aggregate in): partition key `runId` holds the caller's partition (db-sync: run and table, so
 * the target side reads one table of one run with Query), sort key `rowKey` the row's key
 * (`rowKeyOf`: key order). Values by the declaration (shared/core/table-values.ts): dates and
 * datetimes ISO-8601 strings, DECIMAL text, BLOB base64, NULL an absent attribute.
 *
 * An item over DynamoDB's 400 KB (a 1 MB TEXT) is split: the row's item keeps its keys and says
 * `parts: n`; its values, as the UTF-8 bytes of their JSON, go to n binary part items in a
 * partition of their own (`<partition>#parts`, so no part key can meet a row key), each well under
 * the limit. Reading puts them back together; a missing part is a StagedItemError.
 */
export interface TableStaging {
  /** Stages rows (idempotent: keyed by partition and row key, so a retry overwrites). */
  putRows(partition: string, rows: readonly TableRow[]): Promise<StagePutResult>;
  /**
   * Up to `limit` rows of the partition after row key `after`, in key order (one Query page, at
   * most 1 MB of items), and the last row key read (undefined: the partition is read to its end).
   */
  readPage(partition: string, after: string | undefined, limit: number): Promise<StagedPage>;
}

export interface StagedPage {
  rows: TableRow[];
  lastKey: string | undefined;
}

/** The bytes of one part item's values: far enough under 400 KB for its keys and bookkeeping. */
export const PART_BYTES = 300 * 1024;

export class DynamoTableStaging implements TableStaging {
  private readonly ttlDays: number;
  private readonly now: () => Date;

  constructor(
    private readonly documents: DynamoDBDocumentClient,
    readonly tableName: string,
    readonly declaration: TableDeclaration,
    private readonly options: DynamoStagingStoreOptions = {},
  ) {
    this.ttlDays = options.ttlDays ?? 7;
    this.now = options.now ?? (() => new Date());
  }

  async putRows(partition: string, rows: readonly TableRow[]): Promise<StagePutResult> {
    const now = this.now();
    const stagedAt = now.toISOString();
    const expiresAt = Math.floor(now.getTime() / 1000) + this.ttlDays * 86_400;
    const items: Record<string, unknown>[] = [];
    const parts: Record<string, unknown>[] = [];
    const seen = new Set<string>();
    for (const row of rows) {
      const rowKey = this.rowKey(partition, row);
      if (seen.has(rowKey)) {
        throw new StagingItemError(`${partition}: two rows share the key ${rowKey.slice(0, 64)}`);
      }
      seen.add(rowKey);
      const values = this.values(partition, rowKey, row);
      const item = { ...values, runId: partition, rowKey, stagedAt, expiresAt };
      if (itemSizeUpperBound(item) <= DYNAMODB_ITEM_LIMIT_BYTES) {
        items.push(item);
        continue;
      }
      const bytes = Buffer.from(JSON.stringify(values), 'utf8');
      const count = Math.ceil(bytes.byteLength / PART_BYTES);
      items.push({ runId: partition, rowKey, parts: count, stagedAt, expiresAt });
      for (let index = 0; index < count; index++) {
        parts.push({
          runId: `${partition}#parts`,
          rowKey: partKey(rowKey, index),
          part: bytes.subarray(index * PART_BYTES, (index + 1) * PART_BYTES),
          stagedAt,
          expiresAt,
        });
      }
    }
    const batchOptions = {
      ...(this.options.backoff && { backoff: this.options.backoff }),
      ...(this.options.sleep && { sleep: this.options.sleep }),
      ...(this.options.concurrency !== undefined && { concurrency: this.options.concurrency }),
    };
    // Parts first: a row item that says `parts` is never visible before its parts are.
    const written = await batchPutAll(this.documents, this.tableName, parts, batchOptions);
    const put = await batchPutAll(this.documents, this.tableName, items, batchOptions);
    return { staged: rows.length, calls: written.calls + put.calls, retries: written.retries + put.retries };
  }

  async readPage(partition: string, after: string | undefined, limit: number): Promise<StagedPage> {
    const page = await this.documents.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#runId = :runId',
        ExpressionAttributeNames: { '#runId': 'runId' },
        ExpressionAttributeValues: { ':runId': partition },
        // The write follows the extract at once: a strongly consistent read sees every item.
        ConsistentRead: true,
        Limit: limit,
        ...(after !== undefined && { ExclusiveStartKey: { runId: partition, rowKey: after } }),
      }),
    );
    const rows: TableRow[] = [];
    for (const item of page.Items ?? []) rows.push(await this.rowOf(partition, item));
    const last = page.LastEvaluatedKey?.rowKey;
    return { rows, lastKey: typeof last === 'string' ? last : undefined };
  }

  private rowKey(partition: string, row: TableRow): string {
    const rowKey = rowKeyOf(this.declaration, row);
    if (rowKey === '' || Buffer.byteLength(rowKey, 'utf8') > DYNAMODB_SORT_KEY_LIMIT_BYTES - 8) {
      throw new StagingItemError(
        `${partition}: table ${this.declaration.name}: the key ${rowKey.slice(0, 64)}… is empty or longer than a DynamoDB sort key takes`,
      );
    }
    return rowKey;
  }

  private values(partition: string, rowKey: string, row: TableRow): Record<string, string | number> {
    try {
      return toItem(this.declaration, row);
    } catch (error) {
      if (!(error instanceof TableValueError)) throw error;
      throw new StagingItemError(
        `${partition}: row ${rowKey.slice(0, 64)} cannot be staged: table ${error.table}, column ${error.column}: ${error.problem}`,
        { cause: error },
      );
    }
  }

  private async rowOf(partition: string, item: Record<string, unknown>): Promise<TableRow> {
    const rowKey = typeof item.rowKey === 'string' ? item.rowKey : '(no rowKey)';
    let values: Record<string, unknown> = item;
    if (typeof item.parts === 'number') values = await this.joinParts(partition, rowKey, item.parts);
    let row: TableRow;
    try {
      row = fromItem(this.declaration, values);
    } catch (error) {
      if (!(error instanceof TableValueError)) throw error;
      throw new StagedItemError(
        `${partition}: staged item ${rowKey.slice(0, 64)} is malformed: table ${error.table}, column ${error.column}: ${error.problem}`,
        { cause: error },
      );
    }
    if (rowKeyOf(this.declaration, row) !== rowKey) {
      throw new StagedItemError(
        `${partition}: staged item ${rowKey.slice(0, 64)} does not match its own values`,
      );
    }
    return row;
  }

  private async joinParts(
    partition: string,
    rowKey: string,
    count: number,
  ): Promise<Record<string, unknown>> {
    const wanted = new Map(Array.from({ length: count }, (_, index) => [partKey(rowKey, index), index]));
    const chunks = new Array<Uint8Array | undefined>(count);
    for await (const page of queryAll(this.documents, {
      TableName: this.tableName,
      KeyConditionExpression: '#runId = :runId AND begins_with(#rowKey, :prefix)',
      ExpressionAttributeNames: { '#runId': 'runId', '#rowKey': 'rowKey' },
      ExpressionAttributeValues: { ':runId': `${partition}#parts`, ':prefix': `${rowKey}#` },
      ConsistentRead: true,
    })) {
      for (const part of page) {
        const index = typeof part.rowKey === 'string' ? wanted.get(part.rowKey) : undefined;
        if (index !== undefined && part.part instanceof Uint8Array) chunks[index] = part.part;
      }
    }
    const missing = chunks.findIndex((chunk) => chunk === undefined);
    if (missing >= 0 || chunks.length !== count) {
      throw new StagedItemError(
        `${partition}: staged item ${rowKey.slice(0, 64)} lacks part ${missing} of ${count}`,
      );
    }
    const json: unknown = JSON.parse(Buffer.concat(chunks as Uint8Array[]).toString('utf8'));
    if (typeof json !== 'object' || json === null) {
      throw new StagedItemError(`${partition}: staged item ${rowKey.slice(0, 64)} has malformed parts`);
    }
    return json as Record<string, unknown>;
  }
}

/** A part's sort key: the row's key and a fixed-width index, so parts of one row never meet another's. */
function partKey(rowKey: string, index: number): string {
  return `${rowKey}#${String(index).padStart(4, '0')}`;
}
