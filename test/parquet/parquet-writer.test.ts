import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '#local/sample/random';
import { cloudfront } from '#shared/datasets/cloudfront/index';
import type { TableDefinition } from '#shared/datasets/table';
import { ColumnBatchBuilder, NumberColumn, StringListColumn, Utf8Column } from '#shared/parquet/column-batch';
import { readParquetBatches } from '#shared/parquet/parquet-reader';
import {
  ParquetEncoder,
  ParquetStreamWriter,
  type ParquetWriterOptions,
  SpareColumnWriters,
  writeParquetBuffer,
} from '#shared/parquet/parquet-writer';
import { duckQuery } from '../support/duckdb';

/** Every column type the tables use, nullable, and two columns that are never set. */
const TABLE: TableDefinition = {
  dataset: 'test',
  table: 'writer_test',
  columns: [
    { name: 'id', type: 'bigint' },
    { name: 'at', type: 'timestamp' },
    { name: 'label', type: 'string' },
    { name: 'token', type: 'string' },
    { name: 'path', type: 'string' },
    { name: 'count', type: 'int' },
    { name: 'size', type: 'bigint' },
    { name: 'ratio', type: 'double' },
    { name: 'tags', type: 'array<string>' },
    { name: 'nothing', type: 'string' },
    { name: 'never', type: 'int' },
  ],
  partitionKeys: [],
};

/** One row as both readers are turned into: 64-bit integers as decimal strings, timestamps in ms. */
interface Row {
  id: string;
  at: number | null;
  label: string | null;
  token: string | null;
  path: string | null;
  count: number | null;
  size: string | null;
  ratio: number | null;
  tags: (string | null)[] | null;
  nothing: null;
  never: null;
}

const LABELS = ['GET', '', 'naïve café', '日本語のラベル', '\uFFFD', 'tab\there', 'emoji 😀', 'x'];
const TAGS = ['10.0.0.1', '', '2001:db8::1', 'ünïcödé', '\uFFFDbad', 'a'];
const INT32 = [-2_147_483_648, 2_147_483_647, 0, -1];
const INT64 = [Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 0, -1, 2 ** 32, -(2 ** 32) - 1];

function rowsOf(count: number, seed = 1): Row[] {
  const next = mulberry32(seed);
  const pick = <T>(values: readonly T[]) => values[Math.floor(next() * values.length)]!;
  const rows: Row[] = [];
  for (let index = 0; index < count; index++) {
    const chance = next();
    rows.push({
      id: String(index),
      at: index % 97 === 5 ? null : Date.UTC(2024, 6, 13) + index * 1000 + Math.floor(next() * 1000),
      label: chance < 0.1 ? null : pick(LABELS),
      token: index % 11 === 3 ? null : `token-${index}-${Math.floor(next() * 1e9).toString(36)}`,
      // Cardinality that grows along the file, so a dictionary fills up part-way through a chunk.
      path: chance > 0.95 ? null : `/p/${Math.floor(next() * (5 + index / 8))}`,
      count: chance < 0.2 ? null : chance < 0.25 ? pick(INT32) : Math.floor(next() * 2000) - 1000,
      size: chance < 0.15 ? null : String(chance < 0.3 ? pick(INT64) : Math.floor((next() - 0.5) * 2 ** 40)),
      ratio: chance < 0.12 ? null : chance < 0.2 ? pick([0, -1.5, 1e300, 5e-324]) : next() * 10,
      tags:
        chance < 0.2
          ? null
          : chance < 0.4
            ? []
            : chance < 0.7
              ? [pick(TAGS)]
              : Array.from({ length: 2 + Math.floor(next() * 5) }, () => (next() < 0.1 ? null : pick(TAGS))),
      nothing: null,
      never: null,
    });
  }
  return rows;
}

/** Appends rows column by column, as the byte parser does (a list may hold null elements). */
function append(builder: ColumnBatchBuilder, row: Row): void {
  TABLE.columns.forEach((column, index) => {
    const target = builder.columns[index]!;
    const value = row[column.name as keyof Row];
    if (value === null) target.appendNull();
    else if (target instanceof StringListColumn) {
      for (const item of value as (string | null)[]) {
        if (item === null) target.items.appendNull();
        else target.items.appendBytes(Buffer.from(item), 0, Buffer.byteLength(item));
      }
      target.endList();
    } else if (target instanceof Utf8Column) {
      const bytes = Buffer.from(value as string);
      target.appendBytes(bytes, 0, bytes.length);
    } else if (target instanceof NumberColumn) target.appendNumber(Number(value));
  });
  builder.endRow();
}

/** The rows in batches of uneven sizes, so row groups span batches and batches span row groups. */
function batchesOf(rows: Row[], table = TABLE): ColumnBatchBuilder[] {
  const batches: ColumnBatchBuilder[] = [];
  let at = 0;
  for (let size = 700; at < rows.length; size = size === 700 ? 1_234 : 700) {
    const builder = new ColumnBatchBuilder(table);
    for (const row of rows.slice(at, at + size)) append(builder, row);
    batches.push(builder);
    at += size;
  }
  return batches;
}

const work = mkdtempSync(join(tmpdir(), 'parquet-writer-'));
let files = 0;

function fileOf(rows: Row[], options: Partial<ParquetWriterOptions>): string {
  const path = join(work, `${files++}.parquet`);
  writeFileSync(path, writeParquetBuffer(TABLE, batchesOf(rows), options));
  return path;
}

async function viaDuckDb(path: string): Promise<Row[]> {
  const rows = await duckQuery(`SELECT id::VARCHAR AS id, epoch_ms("at") AS "at", label, token, path,
      "count", size::VARCHAR AS size, ratio, tags, nothing, never
    FROM read_parquet('${path}') ORDER BY id::BIGINT`);
  return rows.map((row) => ({
    ...(row as unknown as Row),
    at: row.at === null ? null : Number(row.at),
  }));
}

/** The project's other reader: parquet-wasm, through `readParquetBatches` (Arrow underneath). */
async function viaParquetWasm(path: string): Promise<Row[]> {
  const names = TABLE.columns.map((column) => column.name);
  const rows: Row[] = [];
  for await (const batch of readParquetBatches(readFileSync(path), names)) {
    for (let index = 0; index < batch.numRows; index++) {
      const row: Record<string, unknown> = {};
      for (const column of batch.columns) {
        const value = column.value(index);
        row[column.name] = typeof value === 'bigint' ? String(value) : value;
      }
      rows.push(row as unknown as Row);
    }
  }
  return rows;
}

const ROUND_TRIP: Partial<ParquetWriterOptions> = {
  rowGroupRows: 1_000,
  pageBytes: 4_096,
  dictionaryBytes: 2_048,
};

describe('Parquet writer: files read back by two independent readers (DuckDB, parquet-wasm)', () => {
  const rows = rowsOf(7_500);

  it('round trip of every column type: nulls everywhere, empty and non-ASCII strings, lists null, empty, of one and of many, 8 row groups of many pages', async () => {
    const path = fileOf(rows, ROUND_TRIP);
    const [groups] = await duckQuery(
      `SELECT count(*) AS row_groups, sum(row_group_num_rows) AS rows FROM (SELECT DISTINCT row_group_id, row_group_num_rows FROM parquet_metadata('${path}'))`,
    );
    expect(groups).toEqual({ row_groups: '8', rows: '7500' });
    expect(await viaDuckDb(path)).toEqual(rows);
    expect(await viaParquetWasm(path)).toEqual(rows);
    // The cases the test means to cover are in the data.
    expect(rows.some((row) => row.tags === null)).toBe(true);
    expect(rows.some((row) => row.tags?.length === 0)).toBe(true);
    expect(rows.some((row) => row.tags?.length === 1)).toBe(true);
    expect(rows.some((row) => (row.tags?.length ?? 0) > 3 && row.tags!.includes(null))).toBe(true);
    expect(rows.some((row) => row.label === '')).toBe(true);
  });

  it('writes a file of no rows that both readers open', async () => {
    const path = join(work, 'empty.parquet');
    writeFileSync(path, writeParquetBuffer(TABLE, []));
    expect(await viaDuckDb(path)).toEqual([]);
    expect(await viaParquetWasm(path)).toEqual([]);
  });

  it('keeps 64-bit integers exact: ±(2^53 − 1) (the parsers give safe integers only) and powers of two beyond', async () => {
    const extremes = [
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
      2 ** 53,
      -(2 ** 53),
      2 ** 62,
      -(2 ** 63),
    ];
    const special = rowsOf(extremes.length).map((row, index) => ({
      ...row,
      size: String(BigInt(extremes[index]!)),
    }));
    const path = fileOf(special, {});
    expect((await viaDuckDb(path)).map((row) => row.size)).toEqual(
      extremes.map((value) => String(BigInt(value))),
    );
    expect((await viaParquetWasm(path)).map((row) => row.size)).toEqual(
      extremes.map((value) => String(BigInt(value))),
    );
  });

  it('statistics per row group (parquet_metadata): null counts; min/max of integers, timestamps, doubles and strings, exact', async () => {
    const path = fileOf(rows, ROUND_TRIP);
    const metadata = await duckQuery(`SELECT row_group_id, path_in_schema, stats_null_count, stats_min_value,
        stats_max_value, min_is_exact, max_is_exact FROM parquet_metadata('${path}')`);
    const byByte = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
    for (let group = 0; group < 8; group++) {
      const slice = rows.slice(group * 1_000, (group + 1) * 1_000);
      const stats = (column: string) =>
        metadata.find((row) => Number(row.row_group_id) === group && row.path_in_schema === column)!;
      for (const column of TABLE.columns) {
        const name = column.name === 'tags' ? 'tags, list, element' : column.name;
        const values =
          column.name === 'tags'
            ? slice.flatMap((row) => (row.tags === null || row.tags.length === 0 ? [null] : row.tags))
            : slice.map((row) => row[column.name as keyof Row] as string | number | null);
        const present = values.filter((value) => value !== null);
        const found = stats(name);
        expect([name, Number(found.stats_null_count)]).toEqual([name, values.length - present.length]);
        if (present.length === 0) {
          expect(found.stats_min_value).toBeNull();
          continue;
        }
        let min: string | number;
        let max: string | number;
        if (column.type === 'string' || column.type === 'array<string>') {
          const sorted = (present as string[]).sort(byByte);
          [min, max] = [sorted[0]!, sorted.at(-1)!];
        } else {
          const numbers = present.map(Number);
          [min, max] = [Math.min(...numbers), Math.max(...numbers)];
        }
        // + 0: a min of 0 is written as -0, as the format asks of floating point statistics.
        const read = (value: unknown) =>
          column.type === 'timestamp'
            ? Date.parse(`${String(value).replace(' ', 'T')}Z`)
            : typeof min === 'number'
              ? Number(value) + 0
              : value;
        expect([name, read(found.stats_min_value), read(found.stats_max_value)]).toEqual([name, min, max]);
        expect([found.min_is_exact, found.max_is_exact]).toEqual([true, true]);
      }
    }
  });

  it('cuts long string statistics at 64 bytes: a min prefix, a max raised past every value; both inexact', async () => {
    const labelled = (labels: string[]) =>
      rowsOf(labels.length).map((row, index) => ({ ...row, label: labels[index]! }));
    const stats = async (path: string) =>
      (
        await duckQuery(`SELECT stats_null_count, stats_min_value, stats_max_value, min_is_exact, max_is_exact
          FROM parquet_metadata('${path}') WHERE path_in_schema = 'label'`)
      )[0];
    expect(await stats(fileOf(labelled(['a'.repeat(80), `${'b'.repeat(70)}~`, 'ab']), {}))).toEqual({
      stats_null_count: '0',
      stats_min_value: 'a'.repeat(64),
      stats_max_value: `${'b'.repeat(63)}c`,
      min_is_exact: false,
      max_is_exact: false,
    });
    // A long max with no ASCII byte to raise in its first 64 bytes: no min/max, the null count stays.
    expect(await stats(fileOf(labelled(['é'.repeat(40), 'a']), {}))).toEqual(
      expect.objectContaining({ stats_null_count: '0', stats_min_value: null, stats_max_value: null }),
    );
  });
});

describe('Parquet writer: encodings', () => {
  /** Data page encodings of one column chunk, read from its page headers (compact protocol). */
  async function pageEncodings(
    path: string,
    column: string,
  ): Promise<{ dictionary: boolean; pages: string[] }> {
    const [chunk] = await duckQuery(`SELECT dictionary_page_offset, data_page_offset, total_compressed_size
      FROM parquet_metadata('${path}') WHERE path_in_schema = '${column}' AND row_group_id = 0`);
    const bytes = readFileSync(path);
    const start = Number(chunk!.dictionary_page_offset ?? chunk!.data_page_offset);
    const end = start + Number(chunk!.total_compressed_size);
    const pages: string[] = [];
    let dictionary = false;
    for (let at = start; at < end; ) {
      const header = readPageHeader(bytes, at);
      if (header.type === 2) dictionary = true;
      else pages.push(header.encoding === 8 ? 'RLE_DICTIONARY' : header.encoding === 0 ? 'PLAIN' : '?');
      at = header.end + header.compressedSize;
    }
    return { dictionary, pages };
  }

  const rows = rowsOf(5_000);

  it('dictionary for repeated strings; PLAIN from the start for nearly distinct ones (no dictionary page)', async () => {
    const path = fileOf(rows, { rowGroupRows: 5_000 });
    const label = await pageEncodings(path, 'label');
    expect(label.dictionary).toBe(true);
    expect(new Set(label.pages)).toEqual(new Set(['RLE_DICTIONARY']));
    const token = await pageEncodings(path, 'token');
    expect(token).toEqual({ dictionary: false, pages: ['PLAIN'] });
    expect(await viaDuckDb(path)).toEqual(rows);
  });

  it('falls back to PLAIN part-way through a chunk when the dictionary passes its bound', async () => {
    const path = fileOf(rows, { rowGroupRows: 5_000, pageBytes: 256, dictionaryBytes: 2_048 });
    const { dictionary, pages } = await pageEncodings(path, 'path');
    expect(dictionary).toBe(true);
    const firstPlain = pages.indexOf('PLAIN');
    expect(firstPlain).toBeGreaterThan(0);
    expect(pages.slice(0, firstPlain).every((page) => page === 'RLE_DICTIONARY')).toBe(true);
    expect(pages.slice(firstPlain).every((page) => page === 'PLAIN')).toBe(true);
    expect(await viaDuckDb(path)).toEqual(rows);
    expect(await viaParquetWasm(path)).toEqual(rows);
  });

  it('numbers are PLAIN; a column of nulls only has PLAIN pages of levels', async () => {
    const path = fileOf(rows, { rowGroupRows: 5_000 });
    expect(await pageEncodings(path, 'size')).toEqual({ dictionary: false, pages: ['PLAIN'] });
    expect(await pageEncodings(path, 'nothing')).toEqual({ dictionary: false, pages: ['PLAIN'] });
  });
});

/** Physical and converted type per column type, as the parquet-wasm writer wrote them. */
const PHYSICAL = {
  string: ['BYTE_ARRAY', 'UTF8'],
  int: ['INT32', null],
  bigint: ['INT64', null],
  double: ['DOUBLE', null],
  timestamp: ['INT64', 'TIMESTAMP_MILLIS'],
} as const;

describe('Parquet writer: the curated table', () => {
  it('keeps the physical and logical types and names the parquet-wasm writer wrote (what the Glue table and Athena SQL read)', async () => {
    const builder = new ColumnBatchBuilder(cloudfront.table);
    builder.append(cloudfront.table.columns.map(() => null));
    const path = join(work, 'curated.parquet');
    writeFileSync(path, writeParquetBuffer(cloudfront.table, [builder]));
    const schema = await duckQuery(
      `SELECT name, type, repetition_type, num_children, converted_type, logical_type FROM parquet_schema('${path}')`,
    );
    const leaf = (name: string, type: string, converted: string | null) =>
      expect.objectContaining({ name, type, repetition_type: 'OPTIONAL', converted_type: converted });
    expect(schema.slice(1)).toEqual(
      cloudfront.table.columns.flatMap((column) =>
        column.type === 'array<string>'
          ? [
              expect.objectContaining({
                name: column.name,
                repetition_type: 'OPTIONAL',
                converted_type: 'LIST',
              }),
              expect.objectContaining({ name: 'list', repetition_type: 'REPEATED', num_children: '1' }),
              leaf('element', 'BYTE_ARRAY', 'UTF8'),
            ]
          : [leaf(column.name, PHYSICAL[column.type][0], PHYSICAL[column.type][1])],
      ),
    );
    const time = schema.find((element) => element.name === 'request_time')!;
    expect(time.logical_type).toMatch(
      /TimestampType\(isAdjustedToUTC=0, unit=TimeUnit\(MILLIS=MilliSeconds\(\)/,
    );
    const types = await duckQuery(`DESCRIBE SELECT * FROM read_parquet('${path}')`);
    expect(Object.fromEntries(types.map((row) => [row.column_name, row.column_type]))).toEqual(
      Object.fromEntries(
        cloudfront.table.columns.map((column) => [
          column.name,
          {
            string: 'VARCHAR',
            int: 'INTEGER',
            bigint: 'BIGINT',
            double: 'DOUBLE',
            timestamp: 'TIMESTAMP',
            'array<string>': 'VARCHAR[]',
          }[column.type],
        ]),
      ),
    );
  });
});

describe('ParquetStreamWriter', () => {
  it('streams the same file as the buffer writer, each row group as it fills', async () => {
    const rows = rowsOf(3_000);
    const writer = new ParquetStreamWriter(TABLE, { rowGroupRows: 1_000 });
    const pushed: Buffer[] = [];
    writer.output.on('data', (chunk: Buffer) => pushed.push(chunk));
    const ended = new Promise((resolve) => writer.output.on('end', resolve));
    for (const batch of batchesOf(rows)) await writer.write(batch);
    writer.close();
    await ended;
    const bytes = Buffer.concat(pushed);
    expect(bytes.equals(writeParquetBuffer(TABLE, batchesOf(rows), { rowGroupRows: 1_000 }))).toBe(true);
    // "PAR1", three row groups, then the footer.
    expect(pushed.length).toBe(5);
    expect(writer.rowCount).toBe(3_000);
  });

  it('pause writes the rows so far as a row group; later rows continue the same file', async () => {
    const rows = rowsOf(2_500);
    const [first, second, third] = batchesOf(rows);
    const writer = new ParquetStreamWriter(TABLE, { rowGroupRows: 64_000 });
    const reading = writer.output.toArray();
    await writer.write(first!);
    writer.pause();
    writer.pause(); // nothing more to write: no empty row group
    await writer.write(second!);
    await writer.write(third!);
    writer.close();
    const path = join(work, 'paused.parquet');
    writeFileSync(path, Buffer.concat(await reading));
    const groups = await duckQuery(
      `SELECT DISTINCT row_group_id, row_group_num_rows FROM parquet_metadata('${path}') ORDER BY row_group_id`,
    );
    expect(groups.map((group) => Number(group.row_group_num_rows))).toEqual([700, 1_800]);
    expect(await viaDuckDb(path)).toEqual(rows);
  });

  it('encoders sharing spare writers between row groups write the same files as encoders of their own', () => {
    // Two files written alternately, a row group each at a time, as the transform's interleaved
    // hours are: the writers one file paused (dictionaries, statistics, grown buffers) serve the other.
    const files = [rowsOf(2_500, 3), rowsOf(1_900, 4)];
    const spares = new SpareColumnWriters(TABLE);
    const outputs = files.map(() => [] as Buffer[]);
    const encoders = outputs.map(
      (parts) => new ParquetEncoder(TABLE, (bytes) => parts.push(Buffer.from(bytes)), {}, spares),
    );
    const batches = files.map((rows) => batchesOf(rows));
    for (let step = 0; step < 3; step++) {
      for (const [index, encoder] of encoders.entries()) {
        const batch = batches[index]![step];
        if (batch === undefined) continue;
        encoder.append(batch);
        encoder.pause();
      }
    }
    for (const encoder of encoders) encoder.finish();
    for (const [index, rows] of files.entries()) {
      const parts: Buffer[] = [];
      const own = new ParquetEncoder(TABLE, (bytes) => parts.push(Buffer.from(bytes)));
      for (const batch of batchesOf(rows)) {
        own.append(batch);
        own.pause();
      }
      own.finish();
      expect(Buffer.concat(outputs[index]!).equals(Buffer.concat(parts))).toBe(true);
    }
    expect(() => new ParquetEncoder(cloudfront.table, () => undefined, {}, spares)).toThrow(/another table/);
  });

  it('write waits while the consumer is behind, and goes on once it reads', async () => {
    const next = mulberry32(9);
    // Random, unrepeated tokens: a row group of a couple of MiB that zstd cannot shrink much.
    const rows = rowsOf(20_000).map((row) => ({
      ...row,
      token: Buffer.from(Array.from({ length: 72 }, () => Math.floor(next() * 256))).toString('base64'),
    }));
    const batch = new ColumnBatchBuilder(TABLE);
    for (const row of rows) append(batch, row);
    const writer = new ParquetStreamWriter(TABLE, { rowGroupRows: 20_000 });
    let done = false;
    const writing = writer.write(batch).then(() => {
      done = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(done).toBe(false);
    expect(writer.output.readableLength).toBeGreaterThan(1024 * 1024);
    writer.output.resume();
    await writing;
    expect(done).toBe(true);
  });

  it('a failed file errors its output (the upload publishes nothing) and refuses further rows', async () => {
    const writer = new ParquetStreamWriter(TABLE, { rowGroupRows: 100 });
    const reading = writer.output.toArray();
    await writer.write(batchesOf(rowsOf(300))[0]!);
    writer.fail(new Error('file quarantined'));
    await expect(reading).rejects.toThrow('file quarantined');
    await expect(writer.write(batchesOf(rowsOf(10))[0]!)).rejects.toThrow(
      /closed before the file was complete/,
    );
  });
});

/** A page header's type, compressed size, data page encoding and where its body starts. */
function readPageHeader(bytes: Buffer, start: number) {
  let at = start;
  const varint = () => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const byte = bytes[at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
      shift += 7;
    }
  };
  const zigzag = () => {
    const value = varint();
    return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
  };
  const result = { type: -1, compressedSize: 0, encoding: -1, end: 0 };
  const struct = (path: number[]) => {
    let field = 0;
    for (;;) {
      const header = bytes[at++]!;
      if (header === 0) return;
      const type = header & 0x0f;
      field = header >> 4 === 0 ? zigzag() : field + (header >> 4);
      const where = [...path, field].join('.');
      if (type === 12) struct([...path, field]);
      else if (type === 5 || type === 6 || type === 4) {
        const value = zigzag();
        if (where === '1') result.type = value;
        if (where === '3') result.compressedSize = value;
        if (where === '5.2' || where === '7.2') result.encoding = value;
      } else if (type === 8) at += varint();
      else if (type !== 1 && type !== 2) throw new Error(`unexpected compact type ${type} in a page header`);
    }
  };
  struct([]);
  result.end = at;
  return result;
}
