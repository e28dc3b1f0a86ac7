/** The 33 CloudFront fields in file order (the generator's `#Fields` line). */
import { FIELD_NAMES } from '#local/sample/world';
import type { TableDefinition } from '#shared/datasets/table';

const DUCK_TYPES = { string: 'VARCHAR', int: 'INTEGER', bigint: 'BIGINT', double: 'DOUBLE' } as const;

const quoteIdentifier = (name: string) => `"${name.replaceAll('"', '""')}"`;
const quoteString = (text: string) => `'${text.replaceAll("'", "''")}'`;

/**
 * The baseline a user would write instead of this project: one DuckDB `COPY` from the gzip log to
 * zstd Parquet, with explicit column types and the same curated columns as the transform makes
 * (timestamp from date + time, `-` as null, the four URL-encoded fields decoded, x-forwarded-for as
 * a list, the source file id), so both sides do the same job.
 */
export function duckdbCopySql(table: TableDefinition, input: string, output: string, fileId: string): string {
  const typeOf = (field: string): string => {
    if (field === 'date') return 'DATE';
    if (field === 'time') return 'TIME';
    const column = table.columns.find((candidate) => candidate.field === field);
    if (column === undefined || column.type === 'array<string>' || column.type === 'timestamp')
      return 'VARCHAR';
    return DUCK_TYPES[column.type];
  };
  const columns = FIELD_NAMES.map((field) => `${quoteString(field)}: ${quoteString(typeOf(field))}`).join(
    ', ',
  );
  const select = table.columns.map((column) => {
    const name = quoteIdentifier(column.name);
    if (column.fields !== undefined) return `"date" + "time" AS ${name}`;
    if (column.field === undefined) return `${quoteString(fileId)} AS ${name}`;
    const field = quoteIdentifier(column.field);
    if (column.type === 'array<string>') {
      return `list_filter(list_transform(string_split(${field}, ','), x -> trim(x)), x -> x <> '') AS ${name}`;
    }
    if (column.decode === 'url') return `url_decode(${field}) AS ${name}`;
    return `${field} AS ${name}`;
  });
  return `COPY (SELECT ${select.join(', ')}
  FROM read_csv(${quoteString(input)}, delim='\\t', skip=2, header=false, compression='gzip', quote='', escape='',
                nullstr='-', columns={${columns}}))
  TO ${quoteString(output)} (FORMAT parquet, COMPRESSION zstd)`;
}
