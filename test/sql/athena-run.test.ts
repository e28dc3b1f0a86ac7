import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateWorkGroupCommand,
  GetQueryExecutionCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { glueTableToDdl } from '#local/provision';
import { type LocalAthena, startAthena } from '#local/services/athena/index';
import { startS3 } from '#local/services/s3';
import type { RunningService } from '#local/services/service';
import { S3ObjectStore } from '#shared/adapters/object-store';
import { AthenaQueryRunner } from '#shared/adapters/query-runner';
import type { AwsClients } from '#shared/aws/clients';
import { sourceFileId } from '#shared/core/ingest';
import { textLines } from '#shared/core/lines';
import { HourAggregateSchema, keys } from '#shared/core/run-files';
import { cloudfront } from '#shared/datasets/cloudfront/index';
import { aggregate } from '#shared/steps/aggregate';
import { transformFile } from '#shared/steps/transform';
import { localClients } from '../support/clients';
import { silentLog } from '../support/s3';

// The Glue table as the template defines it (scripts/glue-table.js renders it from table.json).
const renderGlue = require('../../scripts/glue-table.js') as (context: {
  resolveVariable(name: string): Promise<string>;
}) => Promise<{ databaseName: string; tableInput: Parameters<typeof glueTableToDdl>[1] }>;

const BUCKET = 'data';
const ELASTIC = join(__dirname, '..', 'fixtures', 'conformance', 'elastic-test-cloudfront.log');

describe('the aggregate SQL on the local Athena, checked against the rows themselves', () => {
  const directory = mkdtempSync(join(tmpdir(), 'etl-sql-'));
  let s3: RunningService;
  let athena: LocalAthena;
  let clients: AwsClients;
  let database: string;

  beforeAll(async () => {
    s3 = await startS3({ directory: join(directory, 's3'), buckets: [BUCKET] });
    const setup = localClients({ s3: s3.endpoint });
    athena = await startAthena({ region: 'us-east-1', s3: setup.s3, directory: join(directory, 'athena') });
    clients = localClients({ s3: s3.endpoint, athena: athena.endpoint });
    const glue = await renderGlue({
      resolveVariable: async (name) =>
        ({
          'param:dataBucket': BUCKET,
          'param:projectionStartDate': '2008-01-01',
          'param:dataset': 'cloudfront',
          'self:service': 'cf-etl',
          'sls:stage': 'test',
        })[name] ?? '',
    });
    database = glue.databaseName;
    const ddl = async (sql: string) => {
      const { QueryExecutionId } = await clients.athena.send(
        new StartQueryExecutionCommand({
          QueryString: sql,
          ResultConfiguration: { OutputLocation: `s3://${BUCKET}/ddl/` },
        }),
      );
      for (;;) {
        const state = (await clients.athena.send(new GetQueryExecutionCommand({ QueryExecutionId })))
          .QueryExecution?.Status?.State;
        if (state === 'SUCCEEDED') return;
        if (state === 'FAILED' || state === 'CANCELLED') throw new Error(`${sql} ended ${state}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    await ddl(`CREATE DATABASE IF NOT EXISTS ${database}`);
    await ddl(glueTableToDdl(database, glue.tableInput));
    await clients.athena.send(
      new CreateWorkGroupCommand({
        Name: 'wg',
        Configuration: {
          ResultConfiguration: { OutputLocation: `s3://${BUCKET}/athena-results/` },
          EnforceWorkGroupConfiguration: true,
        },
      }),
    );
    const store = new S3ObjectStore(clients.s3);
    await store.put(BUCKET, 'raw/elastic.log', readFileSync(ELASTIC));
    await transformFile(
      {
        runId: 'sql',
        file: {
          fileId: sourceFileId('raw/elastic.log'),
          key: 'raw/elastic.log',
          sourceKey: 'elastic.log',
          size: 1,
        },
      },
      { dataBucket: BUCKET },
      cloudfront,
      store,
      silentLog,
    );
    setup.destroy();
  }, 120_000);

  afterAll(async () => {
    clients?.destroy();
    await athena?.stop();
    await s3?.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  it('aggregates each hour exactly as counting the parsed rows by hand does', async () => {
    // The expectation, computed from the parser's own output without any SQL.
    const parser = cloudfront.createParser('elastic');
    const columns = cloudfront.table.columns.map((column) => column.name);
    const at = (name: string) => columns.indexOf(name);
    const groups = new Map<
      string,
      {
        requests: number;
        bytes: number;
        client: number;
        server: number;
        ms: number;
        timed: number;
        ips: Set<string>;
        times: number[];
      }
    >();
    const lines: string[] = [];
    const bytes = (async function* () {
      yield readFileSync(ELASTIC);
    })();
    for await (const line of textLines(bytes)) lines.push(line);
    for (const line of lines) {
      const result = parser.parse(line);
      if (result.kind !== 'row') continue;
      const v = result.values;
      const hour = new Date(result.timeMs).toISOString().slice(0, 13);
      const host = (v[at('host_header')] as string | null) || (v[at('cs_host')] as string | null) || '-';
      const status = (v[at('sc_status')] as number | null) ?? 0;
      const key = `${hour}|${host}|${status}`;
      const group = groups.get(key) ?? {
        requests: 0,
        bytes: 0,
        client: 0,
        server: 0,
        ms: 0,
        timed: 0,
        ips: new Set<string>(),
        times: [],
      };
      group.requests++;
      group.bytes += (v[at('sc_bytes')] as number | null) ?? 0;
      if (status >= 400 && status <= 499) group.client++;
      if (status >= 500 || status === 0) group.server++;
      const taken = v[at('time_taken')] as number | null;
      if (taken !== null) {
        group.ms += Math.round(taken * 1000);
        group.timed++;
        group.times.push(taken);
      }
      const ip = v[at('client_ip')] as string | null;
      if (ip !== null) group.ips.add(ip);
      groups.set(key, group);
    }

    const hours = [...new Set([...groups.keys()].map((key) => key.split('|')[0]!))].sort();
    expect(hours.length).toBeGreaterThan(1);
    const store = new S3ObjectStore(clients.s3);
    const queries = new AthenaQueryRunner(clients.athena);
    const settings = {
      dataBucket: BUCKET,
      glueDatabase: database,
      athenaWorkGroup: 'wg',
      athenaQueryTimeoutSeconds: 60,
      hoursPerExecution: 16,
      sqlDirectory: join(__dirname, '..', '..', 'sql'),
      table: cloudfront.table.table,
    };
    for (const hour of hours) {
      await aggregate({ action: 'query', runId: 'sql', hour }, settings, store, queries, silentLog);
      const stored = HourAggregateSchema.parse(await store.getJson(BUCKET, keys.hourAggregate('sql', hour)));
      const expected = [...groups.entries()].filter(([key]) => key.startsWith(`${hour}|`));
      expect(stored.rows).toHaveLength(expected.length);
      for (const [key, group] of expected) {
        const [, host, status] = key.split('|');
        const row = stored.rows.find(
          (candidate) => candidate.host === host && candidate.status === Number(status),
        );
        expect(row).toMatchObject({
          requests: group.requests,
          bytesSent: group.bytes,
          clientErrors: group.client,
          serverErrors: group.server,
          distinctClientIps: group.ips.size,
          meanTimeTaken: group.timed > 0 ? group.ms / group.timed / 1000 : null,
        });
        // approx_percentile returns one of the values (DuckDB: quantile_disc, exact).
        if (group.times.length > 0) expect(group.times).toContain(row?.p95TimeTaken);
      }
      expect(stored.bytesScanned).toBeGreaterThan(0);
    }
  }, 120_000);
});
