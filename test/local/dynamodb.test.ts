import {
  CreateTableCommand,
  DescribeTimeToLiveCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { type LocalDynamoDb, startDynamoDb } from '#local/services/dynamodb';
import { batchPutAll, queryAll, UnprocessedItemsError } from '#shared/adapters/dynamodb-batch';
import { stagingTableInput } from '#shared/adapters/staging-store';
import type { AwsClients } from '#shared/aws/clients';
import { localClients } from '../support/clients';

const TABLE = 'staging-test';
const noWait = async () => undefined;

describe('local DynamoDB (dynalite) through the client factory', () => {
  let dynamodb: LocalDynamoDb;
  let clients: AwsClients;

  beforeAll(async () => {
    dynamodb = await startDynamoDb();
    const endpoint = dynamodb.endpoint;
    clients = localClients({ s3: endpoint });
    await clients.dynamodb.send(new CreateTableCommand(stagingTableInput(TABLE)));
  });

  afterAll(async () => {
    clients.destroy();
    await dynamodb.stop();
  });

  const rows = (runId: string, count: number) =>
    Array.from({ length: count }, (_, index) => ({
      runId,
      rowKey: `row#${String(index).padStart(6, '0')}`,
      requests: index * 3,
      bytes: 1_000_000_007 + index,
      hour: '2024-07-13T05:00:00.000Z',
      // A wide attribute so the run spans several 1 MB Query pages.
      note: 'x'.repeat(2_000),
    }));

  it('writes 25-item batches and reads the run back through paged Query', async () => {
    const items = rows('run-a', 1_234);
    const result = await batchPutAll(clients.documents, TABLE, items);
    expect(result.calls).toBe(Math.ceil(1_234 / 25));
    expect(result.retries).toBe(0);

    const pages: number[] = [];
    const seen: Record<string, unknown>[] = [];
    for await (const page of queryAll(clients.documents, {
      TableName: TABLE,
      KeyConditionExpression: 'runId = :run',
      ExpressionAttributeValues: { ':run': 'run-a' },
    })) {
      pages.push(page.length);
      seen.push(...page);
    }
    expect(pages.length).toBeGreaterThan(1);
    expect(seen).toHaveLength(1_234);
    expect(seen[1_233]).toEqual(items[1_233]);
  });

  it('retries UnprocessedItems until every item is written', async () => {
    dynamodb.injectUnprocessedItems(5);
    const before = dynamodb.unprocessedResponses;
    const items = rows('run-b', 60);
    const result = await batchPutAll(clients.documents, TABLE, items, { sleep: noWait, concurrency: 1 });
    expect(dynamodb.unprocessedResponses - before).toBe(5);
    expect(result.retries).toBe(5);

    const seen: Record<string, unknown>[] = [];
    for await (const page of queryAll(clients.documents, {
      TableName: TABLE,
      KeyConditionExpression: 'runId = :run',
      ExpressionAttributeValues: { ':run': 'run-b' },
    })) {
      seen.push(...page);
    }
    expect(seen.map((item) => item.rowKey)).toEqual(items.map((item) => item.rowKey));
  });

  it('gives up with a named error when items stay unprocessed', async () => {
    dynamodb.injectUnprocessedItems(100);
    const attempt = batchPutAll(clients.documents, TABLE, rows('run-c', 10), {
      sleep: noWait,
      backoff: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 3 },
    });
    await expect(attempt).rejects.toBeInstanceOf(UnprocessedItemsError);
    await expect(attempt).rejects.toThrow(/still unprocessed in staging-test after 3/);
    dynamodb.clearFaults();
  });

  it('answers UpdateTimeToLive, which dynalite itself lacks', async () => {
    await clients.dynamodb.send(
      new UpdateTimeToLiveCommand({
        TableName: TABLE,
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      }),
    );
    const described = await clients.dynamodb.send(new DescribeTimeToLiveCommand({ TableName: TABLE }));
    expect(described.TimeToLiveDescription).toEqual({
      TimeToLiveStatus: 'ENABLED',
      AttributeName: 'expiresAt',
    });
  });
});
