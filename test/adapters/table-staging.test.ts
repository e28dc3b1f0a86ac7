import { CreateTableCommand, DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { type LocalDynamoDb, startDynamoDb } from '#local/services/dynamodb';
import { StagedItemError, stagingTableInput } from '#shared/adapters/staging-store';
import { DynamoTableStaging, PART_BYTES } from '#shared/adapters/table-staging';
import type { AwsClients } from '#shared/aws/clients';
import { declareTable, type TableRow } from '#shared/core/table-declaration';
import { rowKeyOf } from '#shared/core/table-values';
import { localClients } from '../support/clients';

const TABLE = 'etl-test-table-staging';
const declaration = declareTable({
  name: 'docs',
  key: ['id'],
  columns: [
    { name: 'id', type: 'bigint', min: 0 },
    { name: 'body', type: 'mediumtext', nullable: true },
    { name: 'amount', type: 'decimal', precision: 10, scale: 2 },
    { name: 'at', type: 'datetime', fsp: 6 },
    { name: 'score', type: 'double', nullable: true },
    { name: 'raw', type: 'blob', nullable: true },
  ],
});

describe('DynamoTableStaging (real dynalite)', () => {
  let dynamodb: LocalDynamoDb;
  let clients: AwsClients;
  let staging: DynamoTableStaging;

  beforeAll(async () => {
    dynamodb = await startDynamoDb();
    clients = localClients({ s3: dynamodb.endpoint });
    await clients.dynamodb.send(new CreateTableCommand(stagingTableInput(TABLE)));
    staging = new DynamoTableStaging(clients.documents, TABLE, declaration, { sleep: async () => undefined });
  });

  afterAll(async () => {
    clients.destroy();
    await dynamodb.stop();
  });

  const big = `${'é🦄 '.repeat(150_000)}end`;
  const rows: TableRow[] = [
    {
      id: 1,
      body: '',
      amount: '-0.01',
      at: '1000-01-01T00:00:00.000001Z',
      score: 1.7976931348623157e308,
      raw: new Uint8Array([0, 255]),
    },
    {
      id: 2,
      body: big,
      amount: '12345678.90',
      at: '9999-12-31T23:59:59.999999Z',
      score: 1e-300,
      raw: new Uint8Array(0),
    },
    { id: 3, body: null, amount: '0.00', at: '2024-02-29T12:00:00.500000Z', score: null, raw: null },
  ];

  it('round-trips rows exactly in key order, a value of more than 400 KB in parts', async () => {
    expect(Buffer.byteLength(big, 'utf8')).toBeGreaterThan(2 * PART_BYTES);
    await staging.putRows('run-1#docs', rows);
    const first = await staging.readPage('run-1#docs', undefined, 2);
    const rest = await staging.readPage('run-1#docs', first.lastKey, 2);
    expect([...first.rows, ...rest.rows]).toEqual(rows);
    expect(rest.lastKey).toBeUndefined();
  });

  it('keeps runs and tables apart, and a re-staged row overwrites', async () => {
    await staging.putRows('run-2#docs', [{ ...rows[2]!, body: 'changed' }]);
    await staging.putRows('run-2#docs', [{ ...rows[2]!, body: 'changed again' }]);
    expect((await staging.readPage('run-2#docs', undefined, 10)).rows).toEqual([
      { ...rows[2]!, body: 'changed again' },
    ]);
    expect((await staging.readPage('run-1#docs', undefined, 10)).rows).toHaveLength(3);
  });

  it('refuses a row whose parts are missing', async () => {
    await clients.dynamodb.send(
      new DeleteItemCommand({
        TableName: TABLE,
        Key: { runId: { S: 'run-1#docs#parts' }, rowKey: { S: `${rowKeyOf(declaration, rows[1]!)}#0001` } },
      }),
    );
    await expect(staging.readPage('run-1#docs', undefined, 10)).rejects.toThrow(StagedItemError);
  });
});
