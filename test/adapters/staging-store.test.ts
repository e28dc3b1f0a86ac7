import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, NumberValue, PutCommand } from '@aws-sdk/lib-dynamodb';
import { type LocalDynamoDb, startDynamoDb } from '#local/services/dynamodb';
import {
  DynamoStagingStore,
  StagedItemError,
  StagingItemError,
  stagingTableInput,
  toStagedItem,
} from '#shared/adapters/staging-store';
import { type AwsClients, LOCAL_CREDENTIALS } from '#shared/aws/clients';
import { type AggregateRow, EMPTY_HOST, rowKey } from '#shared/core/aggregate-row';
import { aggregateRows, byKey } from '../support/aggregate-rows';
import { localClients } from '../support/clients';

const TABLE = 'etl-test-staging';
const noWait = async () => undefined;
const NOW = new Date('2024-07-13T07:12:34.567Z');

describe('DynamoStagingStore (real dynalite)', () => {
  let dynamodb: LocalDynamoDb;
  let clients: AwsClients;
  let store: DynamoStagingStore;

  beforeAll(async () => {
    dynamodb = await startDynamoDb();
    const endpoint = dynamodb.endpoint;
    clients = localClients({ s3: endpoint });
    await clients.dynamodb.send(new CreateTableCommand(stagingTableInput(TABLE)));
    store = new DynamoStagingStore(clients.documents, TABLE, { now: () => NOW, sleep: noWait });
  });

  afterAll(async () => {
    clients.destroy();
    await dynamodb.stop();
  });

  it('round-trips 1,500 rows exactly, null means and host "-" included, in row-key order', async () => {
    const rows = aggregateRows(1_500, 1);
    // Numbers at the edges of exactness: the largest safe integer, and doubles with 17 digits.
    rows[1] = { ...rows[1]!, bytesSent: Number.MAX_SAFE_INTEGER, requests: 2 ** 53 - 2 };
    rows[2] = { ...rows[2]!, meanTimeTaken: 0.1 + 0.2, p95TimeTaken: 1 / 3 };
    rows[3] = { ...rows[3]!, meanTimeTaken: 0, p95TimeTaken: 5e-7 };
    expect(rows.some((row) => row.host === EMPTY_HOST)).toBe(true);
    expect(rows.filter((row) => row.meanTimeTaken === null).length).toBeGreaterThan(200);

    const result = await store.putRows('run-round-trip', rows);
    expect(result).toEqual({ staged: 1_500, calls: 60, retries: 0 });

    const read = await store.readRun('run-round-trip');
    expect(read).toEqual(byKey(rows));
    expect(read.map(rowKey)).toEqual(byKey(rows).map(rowKey));

    // A document client that wraps numbers (NumberValue strings) reads the same rows. It gets its
    // own DynamoDBClient: lib-dynamodb keeps translateConfig on the shared client config.
    const wrapping = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: dynamodb.endpoint,
      credentials: LOCAL_CREDENTIALS,
    });
    try {
      const documents = DynamoDBDocumentClient.from(wrapping, { unmarshallOptions: { wrapNumbers: true } });
      expect(await new DynamoStagingStore(documents, TABLE).readRun('run-round-trip')).toEqual(byKey(rows));
    } finally {
      wrapping.destroy();
    }
  });

  it('stores the hour as ISO-8601, null values as absent attributes, and a TTL in epoch seconds', async () => {
    const row: AggregateRow = {
      hour: '2024-07-13T05',
      host: 'absent.example.com',
      status: 200,
      requests: 3,
      bytesSent: 9_000_000_000_123,
      clientErrors: 0,
      serverErrors: 0,
      meanTimeTaken: null,
      p95TimeTaken: null,
      distinctClientIps: 2,
    };
    await store.putRows('run-shape', [row]);
    const { Item } = await clients.dynamodb.send(
      new GetItemCommand({
        TableName: TABLE,
        Key: { runId: { S: 'run-shape' }, rowKey: { S: rowKey(row) } },
      }),
    );
    expect(Item).toEqual({
      runId: { S: 'run-shape' },
      rowKey: { S: '2024-07-13T05#absent.example.com#200' },
      hour: { S: '2024-07-13T05:00:00.000Z' },
      host: { S: 'absent.example.com' },
      status: { N: '200' },
      requests: { N: '3' },
      bytesSent: { N: '9000000000123' },
      clientErrors: { N: '0' },
      serverErrors: { N: '0' },
      distinctClientIps: { N: '2' },
      stagedAt: { S: '2024-07-13T07:12:34.567Z' },
      expiresAt: { N: String(Math.floor(NOW.getTime() / 1000) + 7 * 86_400) },
    });
  });

  it('stages an empty host as "-" (DynamoDB refuses empty strings in keys; the row key embeds the host)', async () => {
    const [row] = aggregateRows(1, 2);
    await store.putRows('run-empty-host', [{ ...row!, host: '' }]);
    const [read] = await store.readRun('run-empty-host');
    expect(read?.host).toBe(EMPTY_HOST);
  });

  it('stages every row exactly once when BatchWriteItem answers with UnprocessedItems', async () => {
    const rows = aggregateRows(1_000, 3);
    const before = dynamodb.unprocessedResponses;
    // Six in a row on one 25-item chunk: 13, 7, 4, 2, 1 and 1 items come back unprocessed.
    dynamodb.injectUnprocessedItems(6);
    const result = await new DynamoStagingStore(clients.documents, TABLE, {
      now: () => NOW,
      sleep: noWait,
      concurrency: 1,
    }).putRows('run-unprocessed', rows);
    expect(dynamodb.unprocessedResponses - before).toBe(6);
    expect(result.retries).toBe(6);
    expect(result.calls).toBe(40 + 6);

    const read = await store.readRun('run-unprocessed');
    expect(read).toHaveLength(1_000);
    expect(new Set(read.map(rowKey)).size).toBe(1_000);
    expect(read).toEqual(byKey(rows));
  });

  it('reads only the asked run (Query on the partition key)', async () => {
    await store.putRows('run-x', aggregateRows(30, 4));
    await store.putRows('run-y', aggregateRows(5, 5));
    expect(await store.readRun('run-y')).toHaveLength(5);
    expect(await store.readRun('run-none')).toEqual([]);
  });

  it('replaces one hour of a run: items of the hour the new rows lack are deleted, other hours kept', async () => {
    const rows = aggregateRows(60, 9, ['2024-07-13T05', '2024-07-13T06']);
    await store.putRows('run-replace', rows);
    const hour5 = rows.filter((row) => row.hour === '2024-07-13T05');
    const kept = hour5.slice(0, 3).map((row) => ({ ...row, requests: row.requests + 1 }));
    await store.replaceHour('run-replace', '2024-07-13T05', kept);
    const read = await store.readRun('run-replace');
    expect(read.filter((row) => row.hour === '2024-07-13T05')).toEqual(byKey(kept));
    expect(read.filter((row) => row.hour === '2024-07-13T06')).toEqual(
      byKey(rows.filter((row) => row.hour === '2024-07-13T06')),
    );
  });

  it('refuses an item beyond 400 KB or a sort key beyond 1,024 bytes, naming the limit', () => {
    const [row] = aggregateRows(1, 6);
    expect(() => toStagedItem('run', { ...row!, host: 'a'.repeat(2_000) }, 'now', 0)).toThrow(
      StagingItemError,
    );
    expect(() => toStagedItem('run', { ...row!, host: 'a'.repeat(2_000) }, 'now', 0)).toThrow(
      /sort keys take at most 1024/,
    );
    expect(() => toStagedItem('r'.repeat(420_000), row!, 'now', 0)).toThrow(/items take at most 409600/);
  });

  it('refuses two rows with one key instead of letting the later overwrite the earlier', async () => {
    const [row] = aggregateRows(1, 7);
    await expect(store.putRows('run-dup', [row!, { ...row!, requests: row!.requests + 1 }])).rejects.toThrow(
      StagingItemError,
    );
  });

  it('reads numbers exactly however the client unmarshalls them, and refuses a count beyond 2^53 - 1', async () => {
    const [row] = aggregateRows(1, 8);
    const item = toStagedItem('run-big', row!, NOW.toISOString(), 0);
    // Written with NumberValue: the N string DynamoDB holds is exactly 2^53 + 1.
    await clients.documents.send(
      new PutCommand({
        TableName: TABLE,
        Item: { ...item, rowKey: item.rowKey, bytesSent: NumberValue.from('9007199254740993') },
      }),
    );
    const read = store.readRun('run-big');
    await expect(read).rejects.toThrow(StagedItemError);
    await expect(read).rejects.toThrow(/bytesSent: integer beyond 2\^53 - 1/);
  });
});
