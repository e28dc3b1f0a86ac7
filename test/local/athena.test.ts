import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  BatchGetQueryExecutionCommand,
  CreateWorkGroupCommand,
  DeleteWorkGroupCommand,
  GetDatabaseCommand,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  type GetQueryResultsCommandOutput,
  GetTableMetadataCommand,
  GetWorkGroupCommand,
  InvalidRequestException,
  ListDatabasesCommand,
  ListDataCatalogsCommand,
  ListQueryExecutionsCommand,
  ListTableMetadataCommand,
  ListWorkGroupsCommand,
  MetadataException,
  type QueryExecution,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  TooManyRequestsException,
  UpdateWorkGroupCommand,
} from '@aws-sdk/client-athena';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { type LocalAthena, startAthena } from '#local/services/athena/index';
import { startS3 } from '#local/services/s3';
import type { RunningService } from '#local/services/service';
import { AwsClients, localAwsSettings } from '#shared/aws/clients';

const REGION = 'us-east-1';
const DATA_BUCKET = 'athena-data';
const RESULTS_BUCKET = 'athena-results';
const RESULTS = `s3://${RESULTS_BUCKET}/results/`;

let directory: string;
let s3: RunningService;
/** Clients the stand-ins themselves use to reach the local S3. */
let serviceClients: AwsClients;
let athena: LocalAthena;
let clients: AwsClients;

function clientsFor(athenaEndpoint: string): AwsClients {
  return new AwsClients(
    localAwsSettings({
      region: REGION,
      s3: s3.endpoint,
      dynamodb: 'http://127.0.0.1:9',
      athena: athenaEndpoint,
      secretsmanager: 'http://127.0.0.1:9',
    }),
  );
}

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'athena-test-'));
  s3 = await startS3({ directory: join(directory, 's3'), buckets: [DATA_BUCKET, RESULTS_BUCKET] });
  serviceClients = clientsFor('http://127.0.0.1:9');
  athena = await startAthena({ region: REGION, s3: serviceClients.s3, directory: join(directory, 'athena') });
  clients = clientsFor(athena.endpoint);
});

afterAll(async () => {
  clients?.destroy();
  await athena?.stop();
  serviceClients?.destroy();
  await s3?.stop();
  rmSync(directory, { recursive: true, force: true });
});

interface RunOptions {
  database?: string;
  workGroup?: string;
  outputLocation?: string | null;
  token?: string;
}

async function start(sql: string, options: RunOptions = {}, client = clients): Promise<string> {
  const output = options.outputLocation === undefined ? RESULTS : options.outputLocation;
  const { QueryExecutionId } = await client.athena.send(
    new StartQueryExecutionCommand({
      QueryString: sql,
      ...(options.database !== undefined && { QueryExecutionContext: { Database: options.database } }),
      ...(options.workGroup !== undefined && { WorkGroup: options.workGroup }),
      ...(output !== null && { ResultConfiguration: { OutputLocation: output } }),
      ...(options.token !== undefined && { ClientRequestToken: options.token }),
    }),
  );
  if (QueryExecutionId === undefined) throw new Error('no QueryExecutionId');
  return QueryExecutionId;
}

async function execution(id: string, client = clients): Promise<QueryExecution> {
  const { QueryExecution: query } = await client.athena.send(
    new GetQueryExecutionCommand({ QueryExecutionId: id }),
  );
  if (query === undefined) throw new Error(`no QueryExecution for ${id}`);
  return query;
}

/** Polls until SUCCEEDED, FAILED or CANCELLED (never only SUCCEEDED). */
async function settle(id: string, client = clients): Promise<QueryExecution> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const query = await execution(id, client);
    const state = query.Status?.State;
    if (state === 'SUCCEEDED' || state === 'FAILED' || state === 'CANCELLED') return query;
    if (Date.now() > deadline) throw new Error(`query ${id} still ${state}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function run(sql: string, options: RunOptions = {}): Promise<QueryExecution> {
  return settle(await start(sql, options));
}

async function succeed(sql: string, options: RunOptions = {}): Promise<QueryExecution> {
  const query = await run(sql, options);
  expect({ state: query.Status?.State, reason: query.Status?.StateChangeReason }).toEqual({
    state: 'SUCCEEDED',
  });
  return query;
}

type Cell = string | null;

/** Every page of GetQueryResults: rows as cells (null for `{}`), the column types and the page sizes. */
async function results(id: string): Promise<{ rows: Cell[][]; types: string[]; pageSizes: number[] }> {
  const rows: Cell[][] = [];
  const pageSizes: number[] = [];
  let types: string[] = [];
  let nextToken: string | undefined;
  do {
    const page: GetQueryResultsCommandOutput = await clients.athena.send(
      new GetQueryResultsCommand({
        QueryExecutionId: id,
        ...(nextToken !== undefined && { NextToken: nextToken }),
      }),
    );
    const pageRows = page.ResultSet?.Rows ?? [];
    pageSizes.push(pageRows.length);
    rows.push(...pageRows.map((row) => (row.Data ?? []).map((datum) => datum.VarCharValue ?? null)));
    types = (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((column) => column.Type ?? '?');
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
  return { rows, types, pageSizes };
}

async function query(sql: string, options: RunOptions = {}): Promise<{ rows: Cell[][]; types: string[] }> {
  const execution = await succeed(sql, options);
  return results(execution.QueryExecutionId ?? '');
}

async function put(key: string, body: Buffer | string): Promise<number> {
  await clients.s3.send(new PutObjectCommand({ Bucket: DATA_BUCKET, Key: key, Body: body }));
  return Buffer.byteLength(body);
}

async function readResultObject(outputLocation: string): Promise<string> {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(outputLocation);
  if (match?.[1] === undefined || match[2] === undefined) throw new Error(`not an S3 URL: ${outputLocation}`);
  const object = await clients.s3.send(new GetObjectCommand({ Bucket: match[1], Key: match[2] }));
  return (await object.Body?.transformToString()) ?? '';
}

/** Writes `rows` rows of generated data as Parquet with DuckDB and returns the file's bytes. */
async function parquet(duckdb: DuckDBInstance, firstId: number, rows: number): Promise<Buffer> {
  const file = join(directory, `gen-${firstId}.parquet`);
  const connection = await duckdb.connect();
  try {
    await connection.run(
      `COPY (SELECT (${firstId} + i)::BIGINT AS id, 'name-' || (${firstId} + i) AS name, (i % 7) * 1.5 AS amount
             FROM range(${rows}) t(i)) TO '${file}' (FORMAT parquet)`,
    );
  } finally {
    connection.closeSync();
  }
  return readFileSync(file);
}

// CloudFront-style TSV: two header lines, tab separated, gzip, '-' where a number is missing.
const TSV_LINES = [
  '#Version: 1.0',
  '#Fields: date time location bytes ip method status time-taken amount tags ok',
  '2024-01-01\t00:00:01\tFRA50\t1200\t192.0.2.1\tGET\t200\t0.125\t10.50\ta,b\ttrue',
  '2024-01-01\t00:10:00\tFRA50\t-\t192.0.2.2\tGET\t404\t0.250\t3\t\tfalse',
  '2024-01-02\t23:59:59\tIAD89\t99\t192.0.2.1\tPOST\t500\t1.5\tx\tc\tmaybe',
];

describe('local Athena stand-in', () => {
  describe('DDL and a text table', () => {
    let tsvSize: number;

    beforeAll(async () => {
      tsvSize = await put(
        'cloudfront/2024/01/01/E1.2024-01-01-00.abcd.gz',
        gzipSync(`${TSV_LINES.join('\n')}\n`),
      );
      // Hidden objects are ignored, as in Athena.
      await put('cloudfront/_SUCCESS', 'not data');
    });

    it('creates a schema and an external table over a gzip TSV, lower-casing names like Glue', async () => {
      const schema = await succeed('CREATE SCHEMA IF NOT EXISTS Logs_DB');
      expect(schema.StatementType).toBe('DDL');
      await succeed(`
        CREATE EXTERNAL TABLE IF NOT EXISTS \`logs_db\`.\`CloudFront\` (
          \`date\` DATE,
          time STRING,
          location STRING,
          bytes BIGINT,
          ip STRING,
          method STRING,
          status INT,
          time_taken DOUBLE,
          amount DECIMAL(10,2),
          tags ARRAY<STRING>,
          ok BOOLEAN
        )
        ROW FORMAT DELIMITED
          FIELDS TERMINATED BY '\\t'
          COLLECTION ITEMS TERMINATED BY ','
        LOCATION 's3://${DATA_BUCKET}/cloudfront/'
        TBLPROPERTIES ('skip.header.line.count'='2')`);
      // CREATE DATABASE is a synonym, and IF NOT EXISTS makes a re-run a no-op.
      await succeed('CREATE DATABASE IF NOT EXISTS logs_db');
    });

    it('selects exactly the rows of the file with Athena types, Hive conversions and Athena notation', async () => {
      const execution = await succeed('SELECT * FROM cloudfront', { database: 'logs_db' });
      expect(execution.StatementType).toBe('DML');
      expect(execution.Statistics?.DataScannedInBytes).toBe(tsvSize);
      const { rows, types } = await results(execution.QueryExecutionId ?? '');
      expect(types).toEqual([
        'date',
        'varchar',
        'varchar',
        'bigint',
        'varchar',
        'varchar',
        'integer',
        'double',
        'decimal',
        'array',
        'boolean',
      ]);
      expect(rows).toEqual([
        ['date', 'time', 'location', 'bytes', 'ip', 'method', 'status', 'time_taken', 'amount', 'tags', 'ok'],
        [
          '2024-01-01',
          '00:00:01',
          'FRA50',
          '1200',
          '192.0.2.1',
          'GET',
          '200',
          '0.125',
          '10.50',
          '[a, b]',
          'true',
        ],
        // '-' is not a number: Hive reads it as NULL rather than failing the query.
        ['2024-01-01', '00:10:00', 'FRA50', null, '192.0.2.2', 'GET', '404', '0.25', '3.00', '[]', 'false'],
        ['2024-01-02', '23:59:59', 'IAD89', '99', '192.0.2.1', 'POST', '500', '1.5', null, '[c]', null],
      ]);
    });

    it('accepts db.t, "db"."t" and awsdatacatalog.db.t and names unaliased expressions _colN', async () => {
      for (const name of [
        'logs_db.cloudfront',
        '"logs_db"."cloudfront"',
        'awsdatacatalog.logs_db.cloudfront',
      ]) {
        const { rows } = await query(`SELECT count(*), max(status) AS top FROM ${name}`);
        expect(rows).toEqual([
          ['_col0', 'top'],
          ['3', '500'],
        ]);
      }
    });

    it('writes the result CSV with Athena quoting to <OutputLocation>/<QueryExecutionId>.csv', async () => {
      const execution = await succeed(
        `SELECT ip, bytes, '' AS empty, 'say "hi"' AS quoted FROM logs_db.cloudfront ORDER BY time`,
      );
      const location = execution.ResultConfiguration?.OutputLocation ?? '';
      expect(location).toBe(`${RESULTS}${execution.QueryExecutionId}.csv`);
      expect(await readResultObject(location)).toBe(
        '"ip","bytes","empty","quoted"\n' +
          '"192.0.2.1","1200","","say ""hi"""\n' +
          '"192.0.2.2",,"","say ""hi"""\n' +
          '"192.0.2.1","99","","say ""hi"""\n',
      );
    });

    it('runs the translated Trino functions with the right answers', async () => {
      const { rows, types } = await query(`
        SELECT approx_distinct(ip) AS ips,
               approx_percentile(status, 0.5) AS median_status,
               date_format(max(from_iso8601_timestamp(CAST("date" AS varchar) || 'T' || time || 'Z')), '%Y/%m/%d %H:%i:%s') AS last_seen,
               regexp_like(max(location), '^IAD') AS iad,
               cardinality(array_agg(method)) AS methods,
               split_part(max(ip), '.', 4) AS last_octet,
               max(CAST("date" AS timestamp)) AS last_day,
               max(date_add('day', 1, "date")) AS next_day,
               date_trunc('month', max("date")) AS month_start
        FROM logs_db.cloudfront`);
      expect(types).toEqual([
        'bigint',
        'integer',
        'varchar',
        'boolean',
        'bigint',
        'varchar',
        'timestamp',
        'date',
        'date',
      ]);
      expect(rows[1]).toEqual([
        '2',
        '404',
        '2024/01/02 23:59:59',
        'true',
        '3',
        '2',
        '2024-01-02 00:00:00.000',
        '2024-01-03',
        '2024-01-01',
      ]);
    });

    it('uses exact counts for approx_distinct and a data value for approx_percentile', async () => {
      const { rows } = await query(`
        SELECT approx_distinct(x) AS distinct_values, approx_percentile(x, 0.9) AS p90, 5 / 2 AS int_division, 1.5 AS literal
        FROM UNNEST(sequence(1, 1000)) AS t(x)`);
      expect(rows).toEqual([
        ['distinct_values', 'p90', 'int_division', 'literal'],
        ['1000', '900', '2', '1.5'],
      ]);
    });

    it('counts 0, not NULL, with count_if over a group whose conditions are all NULL, as Trino does', async () => {
      const { rows } = await query(`
        SELECT g, count_if(x >= 500) AS server_errors, count_if(x BETWEEN 400 AND 499) AS client_errors
        FROM (VALUES (1, CAST(NULL AS integer)), (1, NULL), (2, 404), (2, 503)) AS t(g, x)
        GROUP BY g ORDER BY g`);
      expect(rows).toEqual([
        ['g', 'server_errors', 'client_errors'],
        ['1', '0', '0'],
        ['2', '1', '1'],
      ]);
    });

    it('lists databases and tables through the catalog API', async () => {
      const catalogs = await clients.athena.send(new ListDataCatalogsCommand({}));
      expect(catalogs.DataCatalogsSummary?.map((catalog) => catalog.CatalogName)).toEqual(['AwsDataCatalog']);
      const databases = await clients.athena.send(
        new ListDatabasesCommand({ CatalogName: 'AwsDataCatalog' }),
      );
      expect(databases.DatabaseList?.map((database) => database.Name)).toEqual(
        expect.arrayContaining(['default', 'logs_db']),
      );
      const database = await clients.athena.send(
        new GetDatabaseCommand({ CatalogName: 'AwsDataCatalog', DatabaseName: 'logs_db' }),
      );
      expect(database.Database?.Name).toBe('logs_db');
      const tables = await clients.athena.send(
        new ListTableMetadataCommand({ CatalogName: 'AwsDataCatalog', DatabaseName: 'logs_db' }),
      );
      expect(tables.TableMetadataList?.map((table) => table.Name)).toEqual(['cloudfront']);
      const table = tables.TableMetadataList?.[0];
      expect(table?.TableType).toBe('EXTERNAL_TABLE');
      expect(table?.Columns?.slice(0, 4)).toEqual([
        { Name: 'date', Type: 'date' },
        { Name: 'time', Type: 'string' },
        { Name: 'location', Type: 'string' },
        { Name: 'bytes', Type: 'bigint' },
      ]);
      expect(table?.Columns?.find((column) => column.Name === 'tags')?.Type).toBe('array<string>');
      expect(table?.Parameters).toMatchObject({
        location: `s3://${DATA_BUCKET}/cloudfront/`,
        'skip.header.line.count': '2',
        'serde.param.field.delim': '\t',
        'serde.serialization.lib': 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe',
      });
      await expect(
        clients.athena.send(
          new GetTableMetadataCommand({
            CatalogName: 'AwsDataCatalog',
            DatabaseName: 'logs_db',
            TableName: 'nope',
          }),
        ),
      ).rejects.toBeInstanceOf(MetadataException);
    });

    it('answers SHOW and DESCRIBE without a header row', async () => {
      const tables = await succeed('SHOW TABLES IN logs_db');
      expect(tables.StatementType).toBe('UTILITY');
      expect(tables.ResultConfiguration?.OutputLocation).toBe(`${RESULTS}${tables.QueryExecutionId}.txt`);
      expect((await results(tables.QueryExecutionId ?? '')).rows).toEqual([['cloudfront']]);
      const databases = await query("SHOW DATABASES LIKE 'logs*'");
      expect(databases.rows).toEqual([['logs_db']]);
    });

    it('rejects a database name with "-" as Athena does, and a plain CREATE TABLE', async () => {
      const dashed = await run('CREATE DATABASE `my-db`');
      expect(dashed.Status?.State).toBe('FAILED');
      expect(dashed.Status?.StateChangeReason).toMatch(/'my-db'/);
      const unquoted = await run('CREATE SCHEMA my-db');
      expect(unquoted.Status?.State).toBe('FAILED');
      expect(unquoted.Status?.StateChangeReason).toMatch(/ParseException line 1:\d+ mismatched input '-'/);
      const internal = await run(`CREATE TABLE logs_db.internal (a int) LOCATION 's3://${DATA_BUCKET}/x/'`);
      expect(internal.Status?.StateChangeReason).toMatch(/EXTERNAL/);
    });
  });

  describe('failures', () => {
    it('ends bad SQL FAILED with an Athena-style reason and AthenaError', async () => {
      const missingColumn = await run('SELECT nope FROM logs_db.cloudfront');
      expect(missingColumn.Status?.State).toBe('FAILED');
      expect(missingColumn.Status?.StateChangeReason).toBe(
        "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved or requester is not authorized to access requested resources",
      );
      expect(missingColumn.Status?.AthenaError).toMatchObject({ ErrorCategory: 2, Retryable: false });
      expect(missingColumn.Status?.CompletionDateTime).toBeInstanceOf(Date);

      const missingTable = await run('SELECT * FROM logs_db.nope');
      expect(missingTable.Status?.StateChangeReason).toBe(
        "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.logs_db.nope' does not exist",
      );
      const syntax = await run('SELECT * FORM logs_db.cloudfront');
      expect(syntax.Status?.StateChangeReason).toMatch(/^SYNTAX_ERROR: line 1:\d+: mismatched input/);
      const backquoted = await run('SELECT `ip` FROM logs_db.cloudfront');
      expect(backquoted.Status?.StateChangeReason).toBe(
        'SYNTAX_ERROR: line 1:8: backquoted identifiers are not supported; use double quotes to quote identifiers',
      );
      const unsupported = await run("INSERT INTO logs_db.cloudfront VALUES ('x')");
      expect(unsupported.Status?.StateChangeReason).toBe(
        'NOT_SUPPORTED: INSERT INTO is not supported by the local Athena stand-in',
      );
      const approx = await run('SELECT approx_set(ip) FROM logs_db.cloudfront');
      expect(approx.Status?.StateChangeReason).toMatch(/^NOT_SUPPORTED: line 1:8: The function approx_set/);
    });

    it('refuses GetQueryResults on a failed query with the reason', async () => {
      const failed = await run('SELECT nope FROM logs_db.cloudfront');
      const error = await clients.athena
        .send(new GetQueryResultsCommand({ QueryExecutionId: failed.QueryExecutionId }))
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InvalidRequestException);
      expect((error as Error).message).toMatch(
        /^Query did not finish successfully. Final query state: FAILED.*COLUMN_NOT_FOUND/,
      );
    });

    it('requires an output location like Athena', async () => {
      const error = await start('SELECT 1', { outputLocation: null }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InvalidRequestException);
      expect((error as Error).message).toBe(
        'No output location provided. An output location is required either through the Workgroup result configuration setting or as an API input.',
      );
      const badBucket = await start('SELECT 1', { outputLocation: 's3://no-such-bucket/x/' }).catch(
        (caught: unknown) => caught,
      );
      expect((badBucket as Error).message).toBe('Unable to verify/create output bucket no-such-bucket');
    });

    it('returns the same query for the same ClientRequestToken', async () => {
      const token = 'a'.repeat(40);
      const first = await start('SELECT 42', { token });
      const second = await start('SELECT 42', { token });
      expect(second).toBe(first);
      expect((await settle(first)).Status?.State).toBe('SUCCEEDED');
    });

    it('injects failures and throttling (the SDK retries TooManyRequestsException 3 times)', async () => {
      athena.injectFault({ kind: 'fail', reason: 'HIVE_CURSOR_ERROR: injected' });
      const failed = await run('SELECT 1');
      expect(failed.Status?.State).toBe('FAILED');
      expect(failed.Status?.StateChangeReason).toBe('HIVE_CURSOR_ERROR: injected');
      expect(failed.Status?.AthenaError?.Retryable).toBe(true);

      athena.injectFault({ kind: 'throttle', times: 3 });
      const throttled = await start('SELECT 1').catch((caught: unknown) => caught);
      expect(throttled).toBeInstanceOf(TooManyRequestsException);
      expect((await run('SELECT 1')).Status?.State).toBe('SUCCEEDED');
    });
  });

  describe('partitioned Parquet', () => {
    const sizes: Record<string, number> = {};

    beforeAll(async () => {
      const duckdb = await DuckDBInstance.create(':memory:');
      try {
        const partitions: [string, number, number][] = [
          ['dt=2024-01-01/hour=00', 0, 600],
          ['dt=2024-01-01/hour=01', 600, 600],
          ['dt=2024-01-02/hour=00', 1200, 600],
        ];
        for (const [path, firstId, rows] of partitions) {
          sizes[path] = await put(`curated/${path}/part-0.parquet`, await parquet(duckdb, firstId, rows));
        }
        // Outside the projected range and outside the layout: never read.
        await put('curated/dt=2023-12-31/hour=00/part-0.parquet', await parquet(duckdb, 9000, 5));
        await put('curated/README.txt', 'not data');
      } finally {
        duckdb.closeSync();
      }
      await succeed(`
        CREATE EXTERNAL TABLE logs_db.curated (id bigint, name string, amount double)
        PARTITIONED BY (dt string, hour string)
        STORED AS PARQUET
        LOCATION 's3://${DATA_BUCKET}/curated/'
        TBLPROPERTIES (
          'projection.enabled'='true',
          'projection.dt.type'='date', 'projection.dt.range'='2024-01-01,NOW', 'projection.dt.format'='yyyy-MM-dd',
          'projection.hour.type'='integer', 'projection.hour.range'='0,23', 'projection.hour.digits'='2'
        )`);
    });

    it('pages more than 1,000 rows through GetQueryResults with the header only on the first page', async () => {
      const execution = await succeed('SELECT id, name, amount, dt, hour FROM curated ORDER BY id', {
        database: 'logs_db',
      });
      const { rows, types, pageSizes } = await results(execution.QueryExecutionId ?? '');
      expect(pageSizes).toEqual([1000, 801]);
      expect(types).toEqual(['bigint', 'varchar', 'double', 'varchar', 'varchar']);
      expect(rows[0]).toEqual(['id', 'name', 'amount', 'dt', 'hour']);
      expect(rows.filter((row) => row[0] === 'id')).toHaveLength(1);
      const data = rows.slice(1);
      expect(data).toHaveLength(1800);
      expect(data.map((row) => Number(row[0]))).toEqual(Array.from({ length: 1800 }, (_, i) => i));
      expect(data[0]).toEqual(['0', 'name-0', '0.0', '2024-01-01', '00']);
      expect(data[601]).toEqual(['601', 'name-601', '1.5', '2024-01-01', '01']);
      expect(data[1799]).toEqual(['1799', 'name-1799', '6.0', '2024-01-02', '00']);
      expect(execution.Statistics?.DataScannedInBytes).toBe(
        (sizes['dt=2024-01-01/hour=00'] ?? 0) +
          (sizes['dt=2024-01-01/hour=01'] ?? 0) +
          (sizes['dt=2024-01-02/hour=00'] ?? 0),
      );
    });

    it('prunes partitions on equality, IN and range predicates, lowering DataScannedInBytes', async () => {
      const one = await succeed(
        "SELECT count(*) FROM logs_db.curated WHERE dt = '2024-01-01' AND hour = '01'",
      );
      expect(one.Statistics?.DataScannedInBytes).toBe(sizes['dt=2024-01-01/hour=01']);
      expect((await results(one.QueryExecutionId ?? '')).rows[1]).toEqual(['600']);

      const day = await succeed(
        "SELECT count(*) FROM logs_db.curated c WHERE c.dt IN ('2024-01-02') AND c.id >= 0",
      );
      expect(day.Statistics?.DataScannedInBytes).toBe(sizes['dt=2024-01-02/hour=00']);

      const range = await succeed(
        "SELECT count(*) FROM logs_db.curated WHERE dt BETWEEN '2024-01-01' AND '2024-01-01'",
      );
      expect(range.Statistics?.DataScannedInBytes).toBe(
        (sizes['dt=2024-01-01/hour=00'] ?? 0) + (sizes['dt=2024-01-01/hour=01'] ?? 0),
      );
      const none = await succeed("SELECT count(*) FROM logs_db.curated WHERE dt = '2030-01-01'");
      expect(none.Statistics?.DataScannedInBytes).toBe(0);
      expect((await results(none.QueryExecutionId ?? '')).rows[1]).toEqual(['0']);
    });

    it('lists the partitions found in the layout', async () => {
      const { rows } = await query('SHOW PARTITIONS logs_db.curated');
      expect(rows).toEqual([['dt=2024-01-01/hour=00'], ['dt=2024-01-01/hour=01'], ['dt=2024-01-02/hour=00']]);
    });
  });

  describe('workgroups', () => {
    it('creates, gets, lists, updates and deletes a workgroup', async () => {
      await clients.athena.send(
        new CreateWorkGroupCommand({
          Name: 'etl',
          Description: 'pipeline queries',
          Configuration: {
            ResultConfiguration: { OutputLocation: `s3://${RESULTS_BUCKET}/etl/` },
            EnforceWorkGroupConfiguration: true,
          },
        }),
      );
      const { WorkGroup: workGroup } = await clients.athena.send(
        new GetWorkGroupCommand({ WorkGroup: 'etl' }),
      );
      expect(workGroup).toMatchObject({
        Name: 'etl',
        State: 'ENABLED',
        Description: 'pipeline queries',
        Configuration: {
          ResultConfiguration: { OutputLocation: `s3://${RESULTS_BUCKET}/etl/` },
          EnforceWorkGroupConfiguration: true,
          EngineVersion: { EffectiveEngineVersion: 'Athena engine version 3' },
        },
      });
      const { WorkGroups: listed } = await clients.athena.send(new ListWorkGroupsCommand({}));
      expect(listed?.map((group) => group.Name)).toEqual(['etl', 'primary']);

      // An enforced workgroup location wins over the query's own.
      const enforced = await succeed('SELECT 1', {
        workGroup: 'etl',
        outputLocation: `s3://${RESULTS_BUCKET}/mine/`,
      });
      expect(enforced.WorkGroup).toBe('etl');
      expect(enforced.ResultConfiguration?.OutputLocation).toBe(
        `s3://${RESULTS_BUCKET}/etl/${enforced.QueryExecutionId}.csv`,
      );
      const history = await clients.athena.send(new ListQueryExecutionsCommand({ WorkGroup: 'etl' }));
      expect(history.QueryExecutionIds).toEqual([enforced.QueryExecutionId]);
      const batch = await clients.athena.send(
        new BatchGetQueryExecutionCommand({
          QueryExecutionIds: [enforced.QueryExecutionId ?? '', 'missing'],
        }),
      );
      expect(batch.QueryExecutions?.map((execution) => execution.QueryExecutionId)).toEqual([
        enforced.QueryExecutionId,
      ]);
      expect(batch.UnprocessedQueryExecutionIds?.map((unprocessed) => unprocessed.QueryExecutionId)).toEqual([
        'missing',
      ]);

      await clients.athena.send(new UpdateWorkGroupCommand({ WorkGroup: 'etl', State: 'DISABLED' }));
      await expect(start('SELECT 1', { workGroup: 'etl' })).rejects.toThrow('WorkGroup etl is disabled.');

      await clients.athena.send(new DeleteWorkGroupCommand({ WorkGroup: 'etl' }));
      await expect(clients.athena.send(new GetWorkGroupCommand({ WorkGroup: 'etl' }))).rejects.toBeInstanceOf(
        InvalidRequestException,
      );
      await expect(
        clients.athena.send(new DeleteWorkGroupCommand({ WorkGroup: 'primary' })),
      ).rejects.toBeInstanceOf(InvalidRequestException);
    });

    it('cancels a query over the workgroup BytesScannedCutoffPerQuery, as Athena does', async () => {
      await expect(
        clients.athena.send(
          new CreateWorkGroupCommand({
            Name: 'tiny',
            Configuration: { BytesScannedCutoffPerQuery: 1_000_000 },
          }),
        ),
      ).rejects.toThrow(/greater than or equal to 10000000/);
      await clients.athena.send(
        new CreateWorkGroupCommand({
          Name: 'capped',
          Configuration: {
            BytesScannedCutoffPerQuery: 10_000_000,
            ResultConfiguration: { OutputLocation: `s3://${RESULTS_BUCKET}/capped/` },
          },
        }),
      );
      // 11 MB of incompressible text in one partition, a few bytes in another.
      const big = randomBytes(5_500_000)
        .toString('hex')
        .replace(/(.{99})/g, '$1\n');
      await put('capped/part=big/data.txt', big);
      await put('capped/part=small/data.txt', 'one line\n');
      await succeed(`CREATE EXTERNAL TABLE logs_db.capped (line string) PARTITIONED BY (part string)
                     LOCATION 's3://${DATA_BUCKET}/capped/'`);

      const full = await run('SELECT count(*) FROM logs_db.capped', { workGroup: 'capped' });
      expect(full.Status?.State).toBe('CANCELLED');
      expect(full.Status?.StateChangeReason).toBe('Bytes scanned limit was exceeded');
      expect(full.Statistics?.DataScannedInBytes).toBe(10_000_000);

      const pruned = await succeed("SELECT line FROM logs_db.capped WHERE part = 'small'", {
        workGroup: 'capped',
      });
      expect((await results(pruned.QueryExecutionId ?? '')).rows).toEqual([['line'], ['one line']]);
    });
  });

  describe('query lifecycle', () => {
    it('interrupts a running DuckDB statement on StopQueryExecution and ends CANCELLED', async () => {
      const id = await start(`
        SELECT count(*) FROM UNNEST(sequence(1, 20000)) AS a(x)
        CROSS JOIN UNNEST(sequence(1, 20000)) AS b(y)
        CROSS JOIN UNNEST(sequence(1, 20000)) AS c(z)
        WHERE (x * y + z) % 7 = 3`);
      const deadline = Date.now() + 10_000;
      while ((await execution(id)).Status?.State !== 'RUNNING' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const early = await clients.athena
        .send(new GetQueryResultsCommand({ QueryExecutionId: id }))
        .catch((e: unknown) => e);
      expect(early).toBeInstanceOf(InvalidRequestException);
      expect((early as Error).message).toBe('Query has not yet finished. Current state: RUNNING');

      await clients.athena.send(new StopQueryExecutionCommand({ QueryExecutionId: id }));
      const stopped = await settle(id);
      expect(stopped.Status?.State).toBe('CANCELLED');
      expect(stopped.Status?.StateChangeReason).toBe('Query cancelled by user');
      // The engine is free again: the next query does not wait behind the cancelled one.
      const started = Date.now();
      await succeed('SELECT 1');
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    describe('with queries held RUNNING (minQueryMs)', () => {
      let slow: LocalAthena;
      let slowClients: AwsClients;

      beforeAll(async () => {
        slow = await startAthena({
          region: REGION,
          s3: serviceClients.s3,
          directory: join(directory, 'athena-slow'),
          minQueryMs: 10_000,
        });
        slowClients = clientsFor(slow.endpoint);
      });

      afterAll(async () => {
        slowClients?.destroy();
        await slow?.stop();
      });

      it('accepts 20 concurrent queries and throttles the 21st with TooManyRequestsException', async () => {
        const ids = await Promise.all(
          Array.from({ length: 20 }, (_, i) => start(`SELECT ${i}`, {}, slowClients)),
        );
        expect(new Set(ids).size).toBe(20);
        const first = await execution(ids[0] ?? '', slowClients);
        expect(['QUEUED', 'RUNNING']).toContain(first.Status?.State);
        const early = await slowClients.athena
          .send(new GetQueryResultsCommand({ QueryExecutionId: ids[0] }))
          .catch((caught: unknown) => caught);
        expect(early).toBeInstanceOf(InvalidRequestException);
        expect((early as Error).message).toMatch(
          /^Query has not yet finished. Current state: (QUEUED|RUNNING)$/,
        );

        const throttled = await start('SELECT 21', {}, slowClients).catch((caught: unknown) => caught);
        expect(throttled).toBeInstanceOf(TooManyRequestsException);
        expect((throttled as Error).message).toMatch(
          /exceeded the limit for the number of queries you can run concurrently/,
        );

        // Stopping frees the quota at once.
        await Promise.all(
          ids.map((id) => slowClients.athena.send(new StopQueryExecutionCommand({ QueryExecutionId: id }))),
        );
        const states = await Promise.all(
          ids.map(async (id) => (await execution(id, slowClients)).Status?.State),
        );
        expect(new Set(states)).toEqual(new Set(['CANCELLED']));
        const next = await start('SELECT 22', {}, slowClients);
        await slowClients.athena.send(new StopQueryExecutionCommand({ QueryExecutionId: next }));
      });
    });
  });

  describe('persistence', () => {
    it('keeps the catalog in catalog.json across a restart', async () => {
      const persisted = join(directory, 'athena-restart');
      const first = await startAthena({ region: REGION, s3: serviceClients.s3, directory: persisted });
      const firstClients = clientsFor(first.endpoint);
      try {
        const id = await start('CREATE DATABASE kept', {}, firstClients);
        expect((await settle(id, firstClients)).Status?.State).toBe('SUCCEEDED');
      } finally {
        firstClients.destroy();
        await first.stop();
      }
      const second = await startAthena({ region: REGION, s3: serviceClients.s3, directory: persisted });
      const secondClients = clientsFor(second.endpoint);
      try {
        const { Database } = await secondClients.athena.send(
          new GetDatabaseCommand({ CatalogName: 'AwsDataCatalog', DatabaseName: 'kept' }),
        );
        expect(Database?.Name).toBe('kept');
        expect(JSON.parse(readFileSync(join(persisted, 'catalog.json'), 'utf8')).databases.kept.name).toBe(
          'kept',
        );
      } finally {
        secondClients.destroy();
        await second.stop();
      }
    });
  });

  describe('DROP', () => {
    it('drops tables and schemas (CASCADE for a non-empty one)', async () => {
      const notEmpty = await run('DROP SCHEMA logs_db');
      expect(notEmpty.Status?.StateChangeReason).toMatch(/Database logs_db is not empty/);
      await succeed('DROP TABLE logs_db.capped');
      await succeed('DROP TABLE IF EXISTS logs_db.capped');
      const missing = await run('DROP TABLE logs_db.capped');
      expect(missing.Status?.StateChangeReason).toMatch(/Table not found logs_db.capped/);
      const tables = await clients.athena.send(
        new ListTableMetadataCommand({ CatalogName: 'AwsDataCatalog', DatabaseName: 'logs_db' }),
      );
      expect(tables.TableMetadataList?.map((table) => table.Name)).toEqual(['cloudfront', 'curated']);

      await succeed('DROP DATABASE IF EXISTS logs_db CASCADE');
      const databases = await clients.athena.send(
        new ListDatabasesCommand({ CatalogName: 'AwsDataCatalog' }),
      );
      expect(databases.DatabaseList?.map((database) => database.Name)).not.toContain('logs_db');
      const gone = await run('SELECT * FROM logs_db.cloudfront');
      expect(gone.Status?.StateChangeReason).toBe(
        "SCHEMA_NOT_FOUND: line 1:15: Schema 'logs_db' does not exist",
      );
    });
  });
});
