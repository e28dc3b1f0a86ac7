/**
 * `npm run faults`: the fault matrix, end to end on the local stack. Each fault is injected into
 * a real run of a seeded sample (through the services' own fault fronts: a TCP proxy before MySQL,
 * an HTTP front before S3, the Athena and DynamoDB stand-ins' switches, Lambda throttling in the
 * local runner), and the table the run leaves is compared group by group with a fault-free run's.
 * A fault is survived when the run ends SUCCEEDED (or, for a fault that must fail the run, ends
 * FAILED with its named error and a re-run SUCCEEDS) and MySQL holds exactly the fault-free table.
 * The last line: `faults survived: N/M; rows lost: L; rows duplicated: D`; exit 0 only if all
 * survived with nothing lost or duplicated.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { S3ObjectStore } from '#shared/adapters/object-store';
import { readEndpointsFile } from '#shared/aws/endpoints';
import { createS3Client } from '#shared/aws/s3';
import { localAwsSettings } from '#shared/aws/settings';
import type { Window } from '#shared/core/window';
import type { RunReport } from '#shared/steps/report';
import {
  type LocalPipeline,
  type RunOutcome,
  runWindow,
  seedSource,
  sourceOf,
  startLocalPipeline,
} from '../pipeline';
import { writeSampleDirectory } from '../sample/index';
import { FIELD_NAMES } from '../sample/world';
import { type S3FaultFront, startS3FaultFront } from '../services/s3-fault-front';
import { startTcpProxy, type TcpProxy } from '../services/tcp-proxy';

const DAY = '2024-07-13';
const WINDOW: Window = { from: `${DAY}T00`, to: `${DAY}T03` };
const SAMPLE = { seed: 11, day: DAY, hours: 3, filesPerHour: 2, rowsPerFile: 30 };

/** Requests per group key (`hour|host|status`). */
type Groups = Map<string, number>;

interface Outcome {
  survived: boolean;
  lost: number;
  duplicated: number;
  detail: string;
}

interface Context {
  pipeline: LocalPipeline;
  front: S3FaultFront;
  proxy: TcpProxy;
  sample: string;
  baseline: Groups;
  work: string;
}

interface FaultCase {
  name: string;
  run(context: Context): Promise<Outcome>;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { only: { type: 'string' }, keep: { type: 'boolean', default: false } },
    strict: true,
  });
  const only = values.only?.split(',').map((name) => name.trim());
  const work = mkdtempSync(join(tmpdir(), 'etl-faults-'));
  const cases = faultCases().filter(
    (fault) => only === undefined || only.some((part) => fault.name.includes(part)),
  );
  console.log(`fault matrix: ${cases.length} faults, data in ${work}`);
  const pipeline = await startLocalPipeline({
    directory: join(work, 'stack'),
    waitTimeScale: 0.01,
    environment: { LOG_LEVEL: 'error' },
  });
  let front: S3FaultFront | undefined;
  let proxy: TcpProxy | undefined;
  let survived = 0;
  let lost = 0;
  let duplicated = 0;
  try {
    // The handlers reach S3 through the fault front and MySQL through the TCP proxy, the fault-free
    // run included (clients are built on first use, after these files say so).
    front = await startS3FaultFront({ target: pipeline.stack.endpoints.s3 });
    const endpointsFile = pipeline.environment.ETL_ENDPOINTS_FILE!;
    const endpoints = JSON.parse(readFileSync(endpointsFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(endpointsFile, `${JSON.stringify({ ...endpoints, s3: front.endpoint }, null, 2)}\n`, {
      mode: 0o600,
    });
    const { host, port } = pipeline.stack.mysql.credentials;
    proxy = await startTcpProxy({ target: { host, port } });
    await pointSecretAt(pipeline, proxy.port);

    const sample = join(work, 'sample');
    writeSampleDirectory(sample, SAMPLE);
    await seed(pipeline, sample);
    const first = await runWindow(pipeline, WINDOW, 'faults-baseline');
    if (first.status !== 'SUCCEEDED')
      throw new Error(`the fault-free run ended ${first.status}: ${first.error} ${first.cause}`);
    const baseline = await warehouseGroups(pipeline, WINDOW);
    console.log(`fault-free run: ${sum(baseline)} requests in ${baseline.size} groups`);

    const context: Context = { pipeline, front, proxy, sample, baseline, work };
    for (const fault of cases) {
      let outcome: Outcome;
      try {
        proxy.clearFaults();
        outcome = await fault.run(context);
      } catch (error) {
        outcome = { survived: false, lost: 0, duplicated: 0, detail: `threw ${describe(error)}` };
      }
      if (outcome.survived) survived++;
      lost += outcome.lost;
      duplicated += outcome.duplicated;
      console.log(
        `${outcome.survived ? 'survived' : 'FAILED  '}  ${fault.name.padEnd(44)} lost ${outcome.lost}, duplicated ${outcome.duplicated}; ${outcome.detail}`,
      );
    }
  } finally {
    await pipeline.stop().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
    await front?.stop().catch(() => undefined);
    if (!values.keep) rmSync(work, { recursive: true, force: true });
  }
  console.log(
    `faults survived: ${survived}/${cases.length}; rows lost: ${lost}; rows duplicated: ${duplicated}`,
  );
  return survived === cases.length && lost === 0 && duplicated === 0 ? 0 : 1;
}

/** Every fault of the matrix, in the order they run. */
function faultCases(): FaultCase[] {
  const absorbed = (
    name: string,
    inject: (context: Context) => void,
    fired: (context: Context) => number,
  ): FaultCase => ({
    name,
    async run(context) {
      await resetFor(context);
      inject(context);
      const before = fired(context);
      const outcome = await runWindow(context.pipeline, WINDOW, runIdFor(name));
      return compare(context, outcome, fired(context) - before);
    },
  });
  const s3 = (method: 'GET' | 'PUT', status: 500 | 503) =>
    absorbed(
      `S3 ${method} ${status === 500 ? '500 InternalError' : '503 SlowDown'} ×2`,
      ({ front }) =>
        front.inject({ method, status, code: status === 500 ? 'InternalError' : 'SlowDown', times: 2 }),
      ({ front }) => front.answered,
    );
  const writer = (label: string, match: RegExp, at: 'mid-packet' | 'before-reply') =>
    absorbed(
      `MySQL connection cut ${label}`,
      ({ proxy }) => proxy.cutOnQuery({ match, at }),
      ({ proxy }) => proxy.cuts,
    );
  const throttled = (functionKey: string) =>
    absorbed(
      `Lambda TooManyRequestsException ×4 on ${functionKey}`,
      ({ pipeline }) => pipeline.lambdaFaults.throttle(functionName(pipeline, functionKey), 4),
      ({ pipeline }) => pipeline.lambdaFaults.answered.get(functionName(pipeline, functionKey)) ?? 0,
    );
  const failsThenRerun = (name: string, kind: 'fail' | 'cancel', error: string): FaultCase => ({
    name,
    async run(context) {
      await resetFor(context);
      context.pipeline.stack.athena.injectFault({
        kind,
        times: 1,
        reason: `injected by npm run faults (${kind})`,
      });
      const failed = await runWindow(context.pipeline, WINDOW, runIdFor(name));
      const named = failed.status === 'FAILED' && failed.report?.error?.error === error;
      const rerun = await runWindow(context.pipeline, WINDOW, `${runIdFor(name)}-rerun`);
      const outcome = await compare(context, rerun, named ? 1 : 0);
      return {
        ...outcome,
        survived: outcome.survived && named,
        detail: `first run ${failed.status} (${failed.report?.error?.error ?? 'no error'}), re-run: ${outcome.detail}`,
      };
    },
  });
  return [
    writer('mid-INSERT', /^(INSERT|LOAD DATA)/i, 'mid-packet'),
    writer('mid-COMMIT', /^COMMIT/i, 'mid-packet'),
    writer('after COMMIT, before its reply', /^COMMIT/i, 'before-reply'),
    absorbed(
      'Athena throttling ×6',
      ({ pipeline }) => pipeline.stack.athena.injectFault({ kind: 'throttle', times: 6 }),
      // Answered throttles count down from 6 as StartQueryExecution calls meet them.
      ({ pipeline }) => -pipeline.stack.athena.pendingThrottles,
    ),
    failsThenRerun('Athena query FAILED, then re-run', 'fail', 'AthenaQueryFailedError'),
    failsThenRerun('Athena query CANCELLED, then re-run', 'cancel', 'AthenaQueryCancelledError'),
    absorbed(
      'DynamoDB UnprocessedItems ×6',
      ({ pipeline }) => pipeline.stack.dynamodb.injectUnprocessedItems(6),
      ({ pipeline }) => pipeline.stack.dynamodb.unprocessedResponses,
    ),
    s3('GET', 500),
    s3('GET', 503),
    s3('PUT', 500),
    s3('PUT', 503),
    ...['ingest', 'transform', 'aggregate', 'stage', 'write'].map(throttled),
    { name: 'run killed mid-transform, then re-run', run: killedMidTransform },
    ...poisonCases(),
  ];
}

const runIdFor = (name: string) =>
  `faults-${name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')}`.slice(0, 70);

function functionName(pipeline: LocalPipeline, key: string): string {
  const fn = pipeline.config.functions[key];
  if (fn === undefined) throw new Error(`serverless.yml has no function ${key}`);
  return fn.name;
}

/** The sample in the source bucket and an empty table: the run must write every row itself. */
async function resetFor(context: Context): Promise<void> {
  await seed(context.pipeline, context.sample);
  await withDatabase(context.pipeline, (connection) => connection.query('TRUNCATE TABLE cloudfront_hourly'));
}

async function compare(context: Context, outcome: RunOutcome, fired: number): Promise<Outcome> {
  const groups = await warehouseGroups(context.pipeline, WINDOW);
  const { lost, duplicated } = difference(context.baseline, groups);
  const succeeded = outcome.status === 'SUCCEEDED';
  return {
    survived: succeeded && fired > 0 && lost === 0 && duplicated === 0,
    lost,
    duplicated,
    detail: `${outcome.status}${succeeded ? '' : ` (${outcome.report?.error?.error ?? outcome.error})`}, fault fired ${fired} time(s)`,
  };
}

/** Requests missing from, and requests beyond, the expected groups. */
function difference(expected: Groups, actual: Groups): { lost: number; duplicated: number } {
  let lost = 0;
  let duplicated = 0;
  for (const key of new Set([...expected.keys(), ...actual.keys()])) {
    const want = expected.get(key) ?? 0;
    const got = actual.get(key) ?? 0;
    if (got < want) lost += want - got;
    else duplicated += got - want;
  }
  return { lost, duplicated };
}

/**
 * A real kill: `npm run local`'s process (in its own folder) is killed with SIGKILL once the
 * first curated Parquet file is written, then the same window runs again on the same folder (the
 * orphaned MariaDB and the stale lock are dealt with at start-up). MySQL must hold exactly the
 * sample's accepted rows, hour by hour.
 */
async function killedMidTransform(context: Context): Promise<Outcome> {
  const folder = join(context.work, 'killed');
  const sample = join(context.work, 'killed-sample');
  const expected = writeSampleDirectory(sample, { ...SAMPLE, filesPerHour: 12, rowsPerFile: 400 });
  const args = ['--dir', folder, '--source', sample, '--from', WINDOW.from, '--to', WINDOW.to];
  const first = runCli(args);
  let killed = false;
  const deadline = Date.now() + 180_000;
  const bucket = context.pipeline.environment.DATA_BUCKET!; // stage local's, as the killed run's
  let s3: S3Client | undefined;
  let store: S3ObjectStore | undefined;
  while (Date.now() < deadline && first.child.exitCode === null) {
    // The run's own stack, through its endpoints file once written: any curated object means a
    // transform has finished one file and others are under way.
    if (store === undefined && existsSync(join(folder, 'endpoints.json'))) {
      s3 = createS3Client(localAwsSettings(readEndpointsFile(join(folder, 'endpoints.json'))));
      store = new S3ObjectStore(s3);
    }
    if (store !== undefined && (await hasObject(store, bucket, 'curated/'))) {
      first.child.kill('SIGKILL');
      killed = true;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  s3?.destroy();
  await first.finished;
  const report = join(context.work, 'killed-report.json');
  const second = await runCli([...args, '--report', report]).finished;
  if (!existsSync(report)) {
    return { survived: false, lost: 0, duplicated: 0, detail: `re-run wrote no report (exit ${second})` };
  }
  const written = JSON.parse(readFileSync(report, 'utf8')) as RunReport;
  const expectedGroups: Groups = new Map(Object.entries(expected.acceptedByHour));
  const actual: Groups = new Map(written.hours.map((hour) => [hour.hour, hour.requests]));
  const { lost, duplicated } = difference(expectedGroups, actual);
  return {
    survived: killed && written.status === 'SUCCEEDED' && lost === 0 && duplicated === 0,
    lost,
    duplicated,
    detail: `${killed ? 'killed mid-transform' : 'not killed: the run ended first'}, re-run ${written.status} (exit ${second}), ${sum(actual)} requests in MySQL for ${sum(expectedGroups)} accepted`,
  };
}

/** Whether the bucket holds a key under `prefix`; false while the stack is not answering yet. */
async function hasObject(store: S3ObjectStore, bucket: string, prefix: string): Promise<boolean> {
  try {
    for await (const _object of store.list(bucket, prefix)) return true;
  } catch {
    // The stack starting or being killed: asked again on the next round.
  }
  return false;
}

function runCli(args: string[]): { child: ChildProcess; finished: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(__dirname, 'run.ts'), ...args], {
    stdio: 'ignore',
  });
  const finished = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return { child, finished };
}

/** x-host-header, sc-status, sc-bytes, x-edge-request-id by position in the legacy field list. */
const HOST = FIELD_NAMES.indexOf('x-host-header');
const STATUS = FIELD_NAMES.indexOf('sc-status');
const BYTES = FIELD_NAMES.indexOf('sc-bytes');

function legacyLine(day: string, time: string, overrides: Record<number, string | Buffer>): Buffer {
  const fields: (string | Buffer)[] = FIELD_NAMES.map((name) => {
    switch (name) {
      case 'date':
        return day;
      case 'time':
        return time;
      case 'sc-bytes':
      case 'cs-bytes':
        return '1000';
      case 'sc-status':
        return '200';
      case 'x-host-header':
      case 'cs(Host)':
        return 'www.example.com';
      case 'c-ip':
        return '192.0.2.1';
      case 'time-taken':
        return '0.005';
      default:
        return '-';
    }
  });
  for (const [index, value] of Object.entries(overrides)) fields[Number(index)] = value;
  const parts: Buffer[] = [];
  fields.forEach((field, index) => {
    if (index > 0) parts.push(Buffer.from('\t'));
    parts.push(typeof field === 'string' ? Buffer.from(field) : field);
  });
  return Buffer.concat(parts);
}

/**
 * The poison rows of issue 11, each in a folder with a 100-row good file, run over its own hour:
 * every one must end SUCCEEDED with MySQL holding exactly the accepted rows.
 */
function poisonCases(): FaultCase[] {
  const header = Buffer.from(`#Version: 1.0\n#Fields: ${FIELD_NAMES.join(' ')}\n`);
  const file = (lines: Buffer[]) =>
    gzipSync(Buffer.concat([header, ...lines.flatMap((line) => [line, Buffer.from('\n')])]));
  const poisons: [string, (day: string) => Buffer[], number][] = [
    [
      'hosts with a trailing space',
      (day) => [0, 1, 2].map((i) => legacyLine(day, `10:30:0${i}`, { [HOST]: 'www.example.com ' })),
      3,
    ],
    ['a host of 300 characters', (day) => [legacyLine(day, '10:30:00', { [HOST]: 'h'.repeat(300) })], 0],
    ['a host of 5,000 characters', (day) => [legacyLine(day, '10:30:00', { [HOST]: 'h'.repeat(5_000) })], 0],
    [
      'sc-status 99999 and -1',
      (day) => [
        legacyLine(day, '10:30:00', { [STATUS]: '99999' }),
        legacyLine(day, '10:30:01', { [STATUS]: '-1' }),
      ],
      0,
    ],
    ['sc-status -', (day) => [legacyLine(day, '10:30:00', { [STATUS]: '-', [HOST]: 'nostatus.example' })], 1],
    [
      'sc-bytes -5000',
      (day) => [legacyLine(day, '10:30:00', { [BYTES]: '-5000', [HOST]: 'alone.example' })],
      0,
    ],
    [
      'invalid UTF-8 hosts www.caf\\xe9 and www.caf\\xe8',
      (day) =>
        [0xe9, 0xe8].map((byte, i) =>
          legacyLine(day, `10:30:0${i}`, {
            [HOST]: Buffer.concat([Buffer.from('www.caf'), Buffer.from([byte]), Buffer.from('.example')]),
          }),
        ),
      2,
    ],
  ];
  return poisons.map(([label, lines, accepted], index) => ({
    name: `poison: ${label}`,
    async run(context) {
      const day = `2024-06-${String(index + 1).padStart(2, '0')}`;
      const folder = join(context.work, `poison-${index}`);
      mkdirSync(folder, { recursive: true });
      const good = Array.from({ length: 100 }, (_, i) =>
        legacyLine(day, `10:${String(i % 60).padStart(2, '0')}:00`, {}),
      );
      writeFileSync(join(folder, `E1.${day}-10.good.gz`), file(good));
      writeFileSync(join(folder, `E1.${day}-10.small.gz`), file(lines(day)));
      await seed(context.pipeline, folder);
      const window = { from: `${day}T10`, to: `${day}T11` };
      const outcome = await runWindow(context.pipeline, window, runIdFor(`poison-${index}`));
      const inMysql = sum(await warehouseGroups(context.pipeline, window));
      const want = 100 + accepted;
      const rows = outcome.report?.rows;
      const balanced =
        rows !== undefined && rows.read === rows.accepted + rows.quarantined + rows.inQuarantinedFiles;
      return {
        survived: outcome.status === 'SUCCEEDED' && inMysql === want && rows?.accepted === want && balanced,
        lost: Math.max(0, want - inMysql),
        duplicated: Math.max(0, inMysql - want),
        detail: `${outcome.status}, ${rows?.accepted} accepted, ${rows?.quarantined} quarantined, ${inMysql} requests in MySQL`,
      };
    },
  }));
}

async function seed(pipeline: LocalPipeline, folder: string): Promise<void> {
  await seedSource(new S3ObjectStore(pipeline.stack.clients.s3), sourceOf(pipeline.environment), folder);
}

async function withDatabase<T>(
  pipeline: LocalPipeline,
  work: (connection: Awaited<ReturnType<typeof createConnection>>) => Promise<T>,
): Promise<T> {
  const { host, port, user, password, database } = pipeline.stack.mysql.credentials;
  const connection = await createConnection({ host, port, user, password, database, dateStrings: true });
  try {
    return await work(connection);
  } finally {
    await connection.end();
  }
}

/** Requests per group of the window's hours, read from MySQL directly (never through the proxy). */
function warehouseGroups(pipeline: LocalPipeline, window: Window): Promise<Groups> {
  return withDatabase(pipeline, async (connection) => {
    const [rows] = await connection.query<RowDataPacket[]>(
      `SELECT DATE_FORMAT(hour_start, '%Y-%m-%dT%H') AS hour, host, status, requests FROM cloudfront_hourly
        WHERE hour_start >= ? AND hour_start < ?`,
      [`${window.from.replace('T', ' ')}:00:00`, `${window.to.replace('T', ' ')}:00:00`],
    );
    return new Map(rows.map((row) => [`${row.hour}|${row.host}|${row.status}`, Number(row.requests)]));
  });
}

/** Points the writer's secret at the proxy, keeping every other field. */
async function pointSecretAt(pipeline: LocalPipeline, port: number): Promise<void> {
  const client = pipeline.stack.clients.secretsManager;
  const SecretId = pipeline.stack.mysqlSecretName;
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId }));
  const secret = JSON.parse(SecretString ?? '{}') as Record<string, unknown>;
  await client.send(
    new PutSecretValueCommand({ SecretId, SecretString: JSON.stringify({ ...secret, port }) }),
  );
}

const sum = (groups: Groups) => [...groups.values()].reduce((total, value) => total + value, 0);

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
