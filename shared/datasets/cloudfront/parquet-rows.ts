import { parquetColumnNames, readParquetBatches } from '#shared/parquet/parquet-reader';
import type { ParsedRecord } from '../source';
import type { TableDefinition } from '../table';
import { type FieldMap, NamedRecordBuilder } from './fields';

/**
 * CloudFront standard logging v2 Parquet output → curated rows, column by column (never re-read as
 * text). v2 names its columns after the fields in snake case (`x_edge_location`, `cs_user_agent`,
 * `timestamp_ms`) and writes their values as strings in the W3C spelling; typed columns (numbers,
 * dates, lists) are taken as they are when they fit. Only the columns the table keeps are decoded.
 * A file with neither `date` + `time` nor a timestamp column is quarantined whole; a row whose
 * value does not fit is quarantined with its row number (1-based) and its values as JSON.
 */
export async function* parquetRecords(
  bytes: Uint8Array,
  table: TableDefinition,
  sourceFileId: string,
  fields: FieldMap,
): AsyncGenerator<ParsedRecord> {
  const names = await parquetColumnNames(bytes);
  const kept = names.filter((name) => fields.slot(name) !== undefined);
  const kinds = new Set(kept.map((name) => fields.slot(name)?.kind));
  const timed =
    (kinds.has('date') && kinds.has('time')) || kinds.has('epoch-ms') || kinds.has('epoch-seconds');
  if (!timed) {
    yield {
      result: { kind: 'fatal', reason: 'Parquet columns lack date and time (and timestamp_ms, timestamp)' },
      text: '',
    };
    return;
  }
  const record = new NamedRecordBuilder(table, sourceFileId);
  for await (const batch of readParquetBatches(bytes, kept)) {
    const columns = batch.columns.map((column) => ({ ...column, slot: fields.slot(column.name)! }));
    for (let row = 0; row < batch.numRows; row++) {
      record.start();
      let reason: string | undefined;
      for (const column of columns) {
        reason = record.put(column.slot, column.value(row), column.name);
        if (reason !== undefined) break;
      }
      const result = reason === undefined ? record.finish() : { kind: 'reject' as const, reason };
      if (result.kind === 'row') {
        yield { result, text: '' };
        continue;
      }
      const values = Object.fromEntries(columns.map((column) => [column.name, column.value(row)]));
      const text = JSON.stringify(values, (_key, value) =>
        typeof value === 'bigint' ? String(value) : value,
      );
      yield { result, text };
    }
  }
}
