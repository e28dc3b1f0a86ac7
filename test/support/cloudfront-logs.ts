import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIELD_NAMES } from '#local/sample/world';
import { duckQuery } from './duckdb';

export const FIXTURES = join(__dirname, '..', 'fixtures', 'cloudfront');
export const CONFORMANCE = join(__dirname, '..', 'fixtures', 'conformance');

/** The 33 fields of the current legacy format, in their order; older generations have the first 24 or 26. */
export const LEGACY_FIELDS = FIELD_NAMES;

/** The header of a legacy (33-field) standard log file. */
export const LEGACY_HEADER = `#Version: 1.0\n#Fields: ${LEGACY_FIELDS.join(' ')}\n`;

/** One 33-field data line at `date` `time`; `overrides` replace fields by position. */
export function legacyRow(
  date: string,
  time: string,
  overrides: Partial<Record<number, string>> = {},
): string {
  const fields = [
    date,
    time,
    'FRA2',
    '1000',
    '192.0.2.1',
    'GET',
    'd1.cloudfront.net',
    '/a%20b',
    '200',
    '-',
    'curl/8.0',
    '-',
    '-',
    'Hit',
    'id',
    'example.com',
    'https',
    '100',
    '0.005',
    '-',
    'TLSv1.3',
    'TLS_AES_128_GCM_SHA256',
    'Hit',
    'HTTP/2.0',
    '-',
    '-',
    '443',
    '0.004',
    'Hit',
    'text/html',
    '1000',
    '-',
    '-',
  ];
  for (const [index, value] of Object.entries(overrides)) fields[Number(index)] = value ?? '';
  return fields.join('\t');
}

/**
 * Column names of CloudFront standard logging v2 Parquet output (the field names in snake case, as
 * the Athena documentation's table for v2 Parquet spells them), written out here rather than
 * derived, so the tests state the convention independently of the code under test.
 */
export const PARQUET_NAMES: Record<string, string> = {
  date: 'date',
  time: 'time',
  'x-edge-location': 'x_edge_location',
  'sc-bytes': 'sc_bytes',
  'c-ip': 'c_ip',
  'cs-method': 'cs_method',
  'cs(Host)': 'cs_host',
  'cs-uri-stem': 'cs_uri_stem',
  'sc-status': 'sc_status',
  'cs(Referer)': 'cs_referer',
  'cs(User-Agent)': 'cs_user_agent',
  'cs-uri-query': 'cs_uri_query',
  'cs(Cookie)': 'cs_cookie',
  'x-edge-result-type': 'x_edge_result_type',
  'x-edge-request-id': 'x_edge_request_id',
  'x-host-header': 'x_host_header',
  'cs-protocol': 'cs_protocol',
  'cs-bytes': 'cs_bytes',
  'time-taken': 'time_taken',
  'x-forwarded-for': 'x_forwarded_for',
  'ssl-protocol': 'ssl_protocol',
  'ssl-cipher': 'ssl_cipher',
  'x-edge-response-result-type': 'x_edge_response_result_type',
  'cs-protocol-version': 'cs_protocol_version',
  'fle-status': 'fle_status',
  'fle-encrypted-fields': 'fle_encrypted_fields',
  'c-port': 'c_port',
  'time-to-first-byte': 'time_to_first_byte',
  'x-edge-detailed-result-type': 'x_edge_detailed_result_type',
  'sc-content-type': 'sc_content_type',
  'sc-content-len': 'sc_content_len',
  'sc-range-start': 'sc_range_start',
  'sc-range-end': 'sc_range_end',
  'timestamp(ms)': 'timestamp_ms',
  DistributionId: 'distributionid',
  'c-country': 'c_country',
  asn: 'asn',
  'cache-behavior-path-pattern': 'cache_behavior_path_pattern',
  'origin-fbl': 'origin_fbl',
  'origin-lbl': 'origin_lbl',
};

/** One log record: field name → its W3C text (`-` for empty, URL-encoded where CloudFront encodes). */
export type LogRecord = Record<string, string>;

/** The records of a JSON-lines fixture. */
export function readRecords(name: string): LogRecord[] {
  return readFileSync(join(FIXTURES, name), 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as LogRecord);
}

/** W3C text: `#Version`, `#Fields` (names joined by `headerDelimiter`), rows joined by `delimiter`. */
export function w3cText(
  records: readonly LogRecord[],
  fields: readonly string[],
  options: { delimiter?: string; headerDelimiter?: string } = {},
): string {
  const delimiter = options.delimiter ?? '\t';
  const rows = records.map((record) => fields.map((field) => record[field] ?? '-').join(delimiter));
  return `#Version: 1.0\n#Fields: ${fields.join(options.headerDelimiter ?? ' ')}\n${rows.join('\n')}\n`;
}

/** JSON lines, one object per record with the given fields as keys. */
export function jsonLinesText(records: readonly LogRecord[], fields: readonly string[]): string {
  return records
    .map((record) => `${JSON.stringify(Object.fromEntries(fields.map((field) => [field, record[field]])))}\n`)
    .join('');
}

/** Typed Parquet columns CloudFront could plausibly use instead of strings (the reader takes both). */
const TYPED: Record<string, string> = {
  date: 'CAST(date AS DATE)',
  'sc-bytes': "CAST(NULLIF(sc_bytes, '-') AS BIGINT)",
  'sc-status': 'CAST(sc_status AS INTEGER)',
  'cs-bytes': "CAST(NULLIF(cs_bytes, '-') AS BIGINT)",
  'time-taken': 'CAST(time_taken AS DOUBLE)',
  'time-to-first-byte': "CAST(NULLIF(time_to_first_byte, '-') AS DOUBLE)",
  'c-port': "CAST(NULLIF(c_port, '-') AS INTEGER)",
  'x-forwarded-for':
    "CASE WHEN x_forwarded_for = '-' THEN NULL ELSE list_transform(string_split(x_forwarded_for, ','), x -> trim(x)) END",
  'timestamp(ms)': 'CAST(timestamp_ms AS BIGINT)',
};

/**
 * A v2-style Parquet file of the records, written by DuckDB (an independent writer): every column a
 * string as CloudFront writes them, or, with `typed`, numbers, a DATE and a list where they fit.
 */
export async function parquetBytes(
  records: readonly LogRecord[],
  fields: readonly string[],
  options: { typed?: boolean; rowGroupRows?: number; uncompressed?: boolean } = {},
): Promise<Buffer> {
  const work = mkdtempSync(join(tmpdir(), 'etl-v2-parquet-'));
  try {
    const json = join(work, 'records.jsonl');
    const parquet = join(work, 'records.parquet');
    const names = fields.map((field) => {
      const name = PARQUET_NAMES[field];
      if (name === undefined) throw new Error(`no Parquet name for ${field}`);
      return name;
    });
    writeFileSync(
      json,
      records
        .map((record) =>
          JSON.stringify(Object.fromEntries(fields.map((field, i) => [names[i], record[field]]))),
        )
        .join('\n'),
    );
    const columns = names.map((name) => `'${name}': 'VARCHAR'`).join(', ');
    const select = fields
      .map((field, i) => (options.typed && TYPED[field] ? `${TYPED[field]} AS ${names[i]}` : names[i]))
      .join(', ');
    await duckQuery(
      `COPY (SELECT ${select} FROM read_json('${json}', format = 'newline_delimited', columns = {${columns}})) TO '${parquet}' (FORMAT parquet, ROW_GROUP_SIZE ${options.rowGroupRows ?? 122_880}${options.uncompressed ? ", COMPRESSION 'uncompressed'" : ''})`,
    );
    return readFileSync(parquet);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
