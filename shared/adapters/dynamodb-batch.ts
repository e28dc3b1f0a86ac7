import {
  BatchWriteCommand,
  type BatchWriteCommandInput,
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { type BackoffPolicy, fullJitterDelay, sleep as realSleep, type Sleep } from '#shared/core/backoff';
import { mapWithLimit } from '#shared/core/concurrency';
import { EtlError } from '#shared/core/errors';

/** BatchWriteItem takes at most 25 put/delete requests per call. */
export const BATCH_WRITE_LIMIT = 25;

export const DEFAULT_BATCH_BACKOFF: BackoffPolicy = { baseDelayMs: 50, maxDelayMs: 5_000, maxAttempts: 10 };

/** Raised when UnprocessedItems remain after every retry: the caller decides (the state machine retries). */
export class UnprocessedItemsError extends EtlError {
  constructor(
    readonly table: string,
    readonly remaining: number,
    attempts: number,
  ) {
    super(`${remaining} item(s) still unprocessed in ${table} after ${attempts} BatchWriteItem attempts`);
  }
}

export interface BatchWriteResult {
  items: number;
  calls: number;
  /** Calls that came back with UnprocessedItems and were retried. */
  retries: number;
}

type WriteRequests = NonNullable<BatchWriteCommandInput['RequestItems']>[string];

/**
 * Puts every item with BatchWriteItem in chunks of 25. UnprocessedItems (throttling, partition
 * limits) are sent again, with capped full-jitter backoff, until none remain or the attempts run out.
 * Puts are idempotent by key, so a retried chunk never duplicates a row.
 */
export function batchPutAll(
  documents: DynamoDBDocumentClient,
  table: string,
  items: readonly Record<string, unknown>[],
  options: BatchWriteOptions = {},
): Promise<BatchWriteResult> {
  return batchWriteAll(
    documents,
    table,
    items.map((Item) => ({ PutRequest: { Item } })),
    options,
  );
}

/** Deletes every item by key, with the same chunks, retries and bounds as `batchPutAll`. */
export function batchDeleteAll(
  documents: DynamoDBDocumentClient,
  table: string,
  keys: readonly Record<string, unknown>[],
  options: BatchWriteOptions = {},
): Promise<BatchWriteResult> {
  return batchWriteAll(
    documents,
    table,
    keys.map((Key) => ({ DeleteRequest: { Key } })),
    options,
  );
}

export interface BatchWriteOptions {
  backoff?: BackoffPolicy;
  sleep?: Sleep;
  concurrency?: number;
}

async function batchWriteAll(
  documents: DynamoDBDocumentClient,
  table: string,
  requests: WriteRequests,
  options: BatchWriteOptions,
): Promise<BatchWriteResult> {
  const backoff = options.backoff ?? DEFAULT_BATCH_BACKOFF;
  const wait = options.sleep ?? realSleep;
  const result: BatchWriteResult = { items: requests.length, calls: 0, retries: 0 };
  const chunks: WriteRequests[] = [];
  for (let start = 0; start < requests.length; start += BATCH_WRITE_LIMIT) {
    chunks.push(requests.slice(start, start + BATCH_WRITE_LIMIT));
  }

  const writeChunk = async (chunk: WriteRequests): Promise<void> => {
    let pending = chunk;
    for (let attempt = 0; ; attempt++) {
      result.calls++;
      const response = await documents.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
      const unprocessed = response.UnprocessedItems?.[table] ?? [];
      if (unprocessed.length === 0) return;
      if (attempt + 1 >= backoff.maxAttempts) {
        throw new UnprocessedItemsError(table, unprocessed.length, attempt + 1);
      }
      result.retries++;
      pending = unprocessed;
      await wait(fullJitterDelay(backoff, attempt));
    }
  };

  // A few chunks in flight keep the table busy without a burst that only earns more throttling.
  await mapWithLimit(chunks, Math.max(1, options.concurrency ?? 4), writeChunk);
  return result;
}

/** Pages through a Query (never a Scan) until LastEvaluatedKey is gone. */
export async function* queryAll(
  documents: DynamoDBDocumentClient,
  input: QueryCommandInput,
): AsyncGenerator<Record<string, unknown>[]> {
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(new QueryCommand({ ...input, ExclusiveStartKey }));
    yield page.Items ?? [];
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey !== undefined);
}
