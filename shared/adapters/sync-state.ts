import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { EtlError } from '#shared/core/errors';
import { type SyncCursor, SyncCursorSchema } from '#shared/core/sync-rows';

/**
 * Each db-sync table's watermark: the last (watermark, key) of the source that reached the target.
 * One item per table in the staging table (partition `sync-watermark#<table>`, no TTL), written by
 * the write step once the table's rows are in the target, read by the next run's extract.
 */
export interface SyncState {
  watermark(table: string): Promise<SyncCursor | undefined>;
  advance(table: string, cursor: SyncCursor, runId: string): Promise<void>;
}

/** The stored watermark is not what the write step writes. */
export class SyncStateError extends EtlError {}

export class DynamoSyncState implements SyncState {
  constructor(
    private readonly documents: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async watermark(table: string): Promise<SyncCursor | undefined> {
    const { Item } = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: keyOf(table), ConsistentRead: true }),
    );
    if (Item === undefined) return undefined;
    const parsed = SyncCursorSchema.safeParse(Item.cursor);
    if (!parsed.success) throw new SyncStateError(`The watermark of table ${table} is malformed`);
    return parsed.data;
  }

  async advance(table: string, cursor: SyncCursor, runId: string): Promise<void> {
    await this.documents.send(
      new PutCommand({
        TableName: this.tableName,
        // `runId` is the partition key: the run that advanced the watermark goes under its own name.
        Item: { cursor, advancedBy: runId, advancedAt: new Date().toISOString(), ...keyOf(table) },
      }),
    );
  }
}

function keyOf(table: string): { runId: string; rowKey: string } {
  return { runId: `sync-watermark#${table}`, rowKey: 'current' };
}
