import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createConnection } from 'mysql2/promise';
import { type LocalPipeline, runWindow, seedSource, sourceOf, startLocalPipeline } from '#local/pipeline';
import { S3ObjectStore } from '#shared/adapters/object-store';
import { LEGACY_HEADER, legacyRow } from '../support/cloudfront-logs';

/** x-host-header, sc-status, sc-bytes and x-edge-request-id of a legacy row, by field position. */
const HOST = 15;
const STATUS = 8;
const BYTES = 3;
const REQUEST_ID = 14;

/** 100 good rows of `www.example.com` at `day` 10:00–10:59. */
function goodFile(day: string): Buffer {
  const rows = Array.from({ length: 100 }, (_, index) =>
    legacyRow(day, `10:${String(index % 60).padStart(2, '0')}:00`, {
      [REQUEST_ID]: `good-${index}`,
      [HOST]: 'www.example.com',
    }),
  );
  return gzipSync(`${LEGACY_HEADER}${rows.join('\n')}\n`);
}

function smallFile(day: string, rows: Partial<Record<number, string>>[]): Buffer {
  const lines = rows.map((fields, index) =>
    legacyRow(day, `10:30:${String(index).padStart(2, '0')}`, {
      [REQUEST_ID]: `small-${index}`,
      [HOST]: 'www.example.com',
      ...fields,
    }),
  );
  return gzipSync(`${LEGACY_HEADER}${lines.join('\n')}\n`);
}

interface PoisonCase {
  name: string;
  /** The small file's name and bytes. */
  file: (day: string) => [string, Buffer];
  accepted: number;
  quarantined: number;
  /** Requests per host MySQL must hold for the hour. */
  hosts: Record<string, number>;
}

const CASES: PoisonCase[] = [
  {
    name: 'hosts with a trailing space (merged with their trimmed spelling, not two MySQL keys)',
    file: (day) => [
      `E1.${day}-10.small.gz`,
      smallFile(day, [
        { [HOST]: 'www.example.com ' },
        { [HOST]: 'www.example.com ' },
        { [HOST]: 'WWW.example.com ' },
      ]),
    ],
    accepted: 103,
    quarantined: 0,
    hosts: { 'www.example.com': 103 },
  },
  {
    name: 'a host of 300 characters',
    file: (day) => [`E1.${day}-10.small.gz`, smallFile(day, [{ [HOST]: 'h'.repeat(300) }])],
    accepted: 100,
    quarantined: 1,
    hosts: { 'www.example.com': 100 },
  },
  {
    name: 'a host of 5,000 characters',
    file: (day) => [`E1.${day}-10.small.gz`, smallFile(day, [{ [HOST]: 'h'.repeat(5_000) }])],
    accepted: 100,
    quarantined: 1,
    hosts: { 'www.example.com': 100 },
  },
  {
    name: 'sc-status 99999 and -1',
    file: (day) => [`E1.${day}-10.small.gz`, smallFile(day, [{ [STATUS]: '99999' }, { [STATUS]: '-1' }])],
    accepted: 100,
    quarantined: 2,
    hosts: { 'www.example.com': 100 },
  },
  {
    name: 'sc-status - (no status), alone on its host',
    file: (day) => [`E1.${day}-10.small.gz`, smallFile(day, [{ [STATUS]: '-', [HOST]: 'nostatus.example' }])],
    accepted: 101,
    quarantined: 0,
    hosts: { 'www.example.com': 100, 'nostatus.example': 1 },
  },
  {
    name: 'a v2 JSON record without sc-status',
    file: (day) => [
      'v2/small.jsonl',
      Buffer.from(
        `${JSON.stringify({ date: day, time: '10:30:00', 'x-host-header': 'json.example', 'sc-bytes': '10', 'c-ip': '192.0.2.9' })}\n`,
      ),
    ],
    accepted: 101,
    quarantined: 0,
    hosts: { 'www.example.com': 100, 'json.example': 1 },
  },
  {
    name: 'sc-bytes -5000, alone on its host and among other rows',
    file: (day) => [
      `E1.${day}-10.small.gz`,
      smallFile(day, [{ [BYTES]: '-5000', [HOST]: 'alone.example' }, { [BYTES]: '-5000' }]),
    ],
    accepted: 100,
    quarantined: 2,
    hosts: { 'www.example.com': 100 },
  },
];

describe('a poison row never fails a run: it is quarantined or normalized, and the run SUCCEEDS', () => {
  let pipeline: LocalPipeline;
  let work: string;
  let store: S3ObjectStore;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'etl-poison-'));
    pipeline = await startLocalPipeline({
      directory: join(work, 'stack'),
      waitTimeScale: 0.01,
      environment: { LOG_LEVEL: 'error' },
    });
    store = new S3ObjectStore(pipeline.stack.clients.s3);
  }, 120_000);

  afterAll(async () => {
    await pipeline?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  /** Requests per host of one hour, as MySQL holds them. */
  async function warehouseHosts(hour: string): Promise<Record<string, number>> {
    const { host, port, user, password, database } = pipeline.stack.mysql.credentials;
    const connection = await createConnection({ host, port, user, password, database, dateStrings: true });
    try {
      const [rows] = await connection.query(
        `SELECT host, CAST(SUM(requests) AS SIGNED) AS requests, CAST(SUM(client_errors + server_errors) AS SIGNED) AS errors
           FROM cloudfront_hourly WHERE hour_start = ? GROUP BY host ORDER BY host`,
        [`${hour.slice(0, 10)} ${hour.slice(11, 13)}:00:00`],
      );
      return Object.fromEntries(
        (rows as { host: string; requests: number }[]).map((row) => [row.host, Number(row.requests)]),
      );
    } finally {
      await connection.end();
    }
  }

  /** Runs one folder (the good file + `files`) over its own day's hour 10 on the shared stack. */
  async function runCase(day: string, files: [string, Buffer][]) {
    const folder = join(work, day);
    mkdirSync(join(folder, 'v2'), { recursive: true });
    writeFileSync(join(folder, `E1.${day}-10.good.gz`), goodFile(day));
    for (const [name, bytes] of files) writeFileSync(join(folder, name), bytes);
    await seedSource(store, sourceOf(pipeline.environment), folder);
    return runWindow(pipeline, { from: `${day}T10`, to: `${day}T11` }, `poison-${day}`);
  }

  it.each(
    CASES.map(
      (poison, index) => [poison.name, poison, `2024-06-${String(index + 1).padStart(2, '0')}`] as const,
    ),
  )(
    '%s',
    async (_name, poison, day) => {
      const outcome = await runCase(day, [poison.file(day)]);
      expect({ status: outcome.status, error: outcome.error }).toEqual({
        status: 'SUCCEEDED',
        error: undefined,
      });
      const report = outcome.report!;
      expect(report.rows).toEqual({
        read: poison.accepted + poison.quarantined,
        accepted: poison.accepted,
        quarantined: poison.quarantined,
        inQuarantinedFiles: 0,
      });
      // A fresh hour: what the run accepted is exactly what MySQL holds for it.
      expect(report.hours.reduce((sum, hour) => sum + hour.requests, 0)).toBe(report.rows.accepted);
      expect(await warehouseHosts(`${day}T10`)).toEqual(poison.hosts);
    },
    120_000,
  );

  it('keeps two hosts that differ only in invalid UTF-8 bytes apart (www.caf\\xe9 and www.caf\\xe8)', async () => {
    const day = '2024-06-20';
    const rows = [0xe9, 0xe8].map((byte, index) => {
      const [before, after] = legacyRow(day, `10:3${index}:00`, {
        [HOST]: 'www.caf@.example',
        [REQUEST_ID]: `utf8-${index}`,
      }).split('@');
      return Buffer.concat([Buffer.from(before!), Buffer.from([byte]), Buffer.from(after!)]);
    });
    const small = gzipSync(
      Buffer.concat([Buffer.from(LEGACY_HEADER), rows[0]!, Buffer.from('\n'), rows[1]!, Buffer.from('\n')]),
    );
    const outcome = await runCase(day, [[`E1.${day}-10.small.gz`, small]]);
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.report!.rows).toMatchObject({ accepted: 102, quarantined: 0 });
    expect(await warehouseHosts(`${day}T10`)).toEqual({
      'www.caf%e8.example': 1,
      'www.caf%e9.example': 1,
      'www.example.com': 100,
    });
  }, 120_000);
});
