import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { generateLogLines } from '#local/sample/index';
import { sourceFileId } from '#shared/core/ingest';
import { keys } from '#shared/core/run-files';
import { cloudfront } from '#shared/datasets/cloudfront/index';
import { transformFile } from '#shared/steps/transform';
import { duckQuery } from '../support/duckdb';
import { localS3, silentLog } from '../support/s3';

const BUCKET = 'data';
const NUMERIC = cloudfront.table.columns.filter((column) =>
  ['int', 'bigint', 'double'].includes(column.type),
);

/**
 * The expectation, from the parser's string path (`parse`, one `CellValue[]` per row) over the same
 * text: the transform itself reads the file through the byte path, so this is a second reading.
 */
function expectedOf(text: string, fileId: string) {
  const parser = cloudfront.createParser(fileId);
  const nulls = new Map(cloudfront.table.columns.map((column) => [column.name, 0]));
  const sums = new Map(NUMERIC.map((column) => [column.name, 0]));
  let rows = 0;
  let minTime = Number.POSITIVE_INFINITY;
  let maxTime = Number.NEGATIVE_INFINITY;
  for (const line of text.split('\n')) {
    const result = parser.parse(line);
    if (result.kind !== 'row') continue;
    rows++;
    minTime = Math.min(minTime, result.timeMs);
    maxTime = Math.max(maxTime, result.timeMs);
    cloudfront.table.columns.forEach((column, index) => {
      const value = result.values[index];
      if (value === null || value === undefined) nulls.set(column.name, nulls.get(column.name)! + 1);
      else if (sums.has(column.name)) sums.set(column.name, sums.get(column.name)! + (value as number));
    });
  }
  return { rows, nulls, sums, minTime, maxTime };
}

describe('transform output read by an independent reader (DuckDB) equals the parsed rows', () => {
  let s3: Awaited<ReturnType<typeof localS3>>;
  const work = mkdtempSync(join(tmpdir(), 'etl-reader-'));

  beforeAll(async () => {
    s3 = await localS3([BUCKET]);
  });
  afterAll(() => s3.stop());

  it('row count, per-column null counts, numeric sums and min/max timestamps over several hours', async () => {
    const lines = [
      ...generateLogLines({
        seed: 11,
        start: new Date('2024-07-13T21:40:00Z'),
        rows: 6_000,
        rowsPerSecond: 1,
      }),
    ];
    // A few rows the parser must quarantine, among the good ones.
    lines.splice(100, 0, 'short\trow');
    lines.splice(200, 0, lines[150]!.replace(/^\S+/, '2007-01-01'));
    const text = `${lines.join('\n')}\n`;
    const key = 'raw/E2READER.2024-07-13-21.reader.gz';
    const fileId = sourceFileId(key);
    await s3.store.put(BUCKET, key, gzipSync(text));
    const result = await transformFile(
      { runId: 'reader', file: { fileId, key, sourceKey: key, size: text.length } },
      { dataBucket: BUCKET, rowGroupRows: 1_000 },
      cloudfront,
      s3.store,
      silentLog,
    );
    const expected = expectedOf(text, fileId);
    expect(result.rows).toEqual({ read: expected.rows + 2, accepted: expected.rows, quarantined: 2 });
    expect(result.hours.length).toBeGreaterThanOrEqual(2);

    const paths = await Promise.all(
      result.hours.map(async (hour) => {
        const path = join(work, `${hour}.parquet`);
        const body = await (await s3.store.getStream(BUCKET, keys.curated(hour, fileId))).toArray();
        writeFileSync(path, Buffer.concat(body));
        return `'${path}'`;
      }),
    );
    const columns = cloudfront.table.columns.map((column) => `"${column.name}"`);
    const [actual] = await duckQuery(`SELECT count(*) AS row_count,
        ${columns.map((name, index) => `count(*) - count(${name}) AS null_${index}`).join(', ')},
        ${NUMERIC.map((column) => `sum("${column.name}")::DOUBLE AS "sum_${column.name}"`).join(', ')},
        epoch_ms(min(request_time)) AS min_time, epoch_ms(max(request_time)) AS max_time
      FROM read_parquet([${paths.join(', ')}])`);
    expect(Number(actual!.row_count)).toBe(expected.rows);
    const actualNulls = Object.fromEntries(
      cloudfront.table.columns.map((column, index) => [column.name, Number(actual![`null_${index}`])]),
    );
    expect(actualNulls).toEqual(Object.fromEntries(expected.nulls));
    // Some columns are null in every generated row, some never: both kinds are checked.
    expect(Object.values(actualNulls).filter((count) => count === 0).length).toBeGreaterThan(5);
    expect(Object.values(actualNulls).filter((count) => count > 0).length).toBeGreaterThan(5);
    for (const column of NUMERIC) {
      const sum = Number(actual![`sum_${column.name}`] ?? 0);
      const wanted = expected.sums.get(column.name)!;
      if (column.type === 'double') expect(sum).toBeCloseTo(wanted, 6);
      else expect(sum).toBe(wanted);
    }
    expect(Number(actual!.min_time)).toBe(expected.minTime);
    expect(Number(actual!.max_time)).toBe(expected.maxTime);
  });
});
