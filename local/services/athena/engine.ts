import { mkdirSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import {
  type Catalog,
  type DdlResult,
  headerLines,
  parseDdl,
  substatementType,
  tableReader,
} from './catalog';
import {
  BYTES_SCANNED_LIMIT,
  CANCELLED_BY_USER,
  errorMessage,
  errorName,
  fromDuckDbError,
  notSupported,
  QueryFailure,
  userError,
} from './errors';
import {
  type HiveType,
  isStringType,
  parseHiveTypeString,
  quoteIdentifier,
  quoteString,
  sqlStringExpression,
  toDuckDbType,
} from './hive-types';
import { ObjectCache, objectUrl, parseS3Url, type S3ObjectRef, unsupportedCompression } from './object-cache';
import { type PartitionConstraint, partitionMayMatch, tableLayout } from './partitions';
import { csvLine, type ResultColumn, renderCell, resultColumn } from './results';
import type { StoredTable } from './store';
import { type StatementClass, type TableReference, TRINO_MACROS, translateQuery } from './trino';

export interface RunRequest {
  sql: string;
  statement: StatementClass;
  database: string;
  /** QueryExecutionContext.Catalog; only the Glue catalog exists locally. */
  catalog?: string;
  /** The workgroup's BytesScannedCutoffPerQuery. */
  bytesScannedCutoff?: number;
  /** Where the result file (CSV for queries, text for DDL) is written before upload. */
  resultFile: string;
  signal: AbortSignal;
  /** Called once the bytes the query reads are known (also when the cutoff then stops it). */
  onScanned(bytes: number): void;
}

export interface RunOutcome {
  columns: ResultColumn[];
  format: 'csv' | 'txt';
  substatementType: string;
}

interface PlannedFile {
  object: S3ObjectRef;
  values: (string | null)[];
  path?: string;
}

/** Statements Athena runs and the stand-in knowingly does not (anything else is a syntax error). */
const KNOWN_STATEMENTS: Record<string, string> = {
  insert: 'INSERT INTO',
  delete: 'DELETE',
  update: 'UPDATE',
  merge: 'MERGE',
  unload: 'UNLOAD',
  explain: 'EXPLAIN',
  use: 'USE',
  set: 'SET SESSION',
  reset: 'RESET SESSION',
  prepare: 'PREPARE',
  execute: 'EXECUTE',
  deallocate: 'DEALLOCATE PREPARE',
  call: 'CALL',
  grant: 'GRANT',
  revoke: 'REVOKE',
  analyze: 'ANALYZE',
  vacuum: 'VACUUM',
  optimize: 'OPTIMIZE',
};

const FILE_COLUMN = '__athena_file';

/**
 * Runs statements: DDL against the catalog, queries on one DuckDB instance (one connection per
 * query). A query's tables become temporary views over cached copies of their S3 objects.
 */
export class QueryEngine {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly catalog: Catalog,
    private readonly objects: ObjectCache,
  ) {}

  static async create(options: { directory: string; s3: S3Client; catalog: Catalog }): Promise<QueryEngine> {
    const cacheDirectory = join(options.directory, 'cache');
    const spillDirectory = join(options.directory, 'duckdb-tmp');
    mkdirSync(cacheDirectory, { recursive: true });
    mkdirSync(spillDirectory, { recursive: true });
    const instance = await DuckDBInstance.create(':memory:', {
      // Trino divides integers as integers (5 / 2 = 2); DuckDB's default `/` is float division.
      integer_division: 'true',
      // No network: extensions beyond the built-in parquet/json/icu must never be fetched.
      autoinstall_known_extensions: 'false',
      temp_directory: spillDirectory,
    });
    const setup = await instance.connect();
    try {
      // Athena sessions run in UTC; from_iso8601_timestamp and current_timestamp depend on it.
      await setup.run(`SET GLOBAL TimeZone = 'UTC'`);
      for (const macro of TRINO_MACROS) await setup.run(macro);
      // Queries may read the object cache and nothing else on this machine.
      await setup.run(
        `SET GLOBAL allowed_directories = [${quoteString(`${cacheDirectory}/`)}, ${quoteString(`${spillDirectory}/`)}]`,
      );
      await setup.run('SET GLOBAL enable_external_access = false');
      await setup.run('SET GLOBAL lock_configuration = true');
    } finally {
      setup.closeSync();
    }
    return new QueryEngine(instance, options.catalog, new ObjectCache(options.s3, cacheDirectory));
  }

  close(): void {
    this.instance.closeSync();
  }

  async run(request: RunRequest): Promise<RunOutcome> {
    if (request.catalog !== undefined && request.catalog.toLowerCase() !== 'awsdatacatalog') {
      throw userError('CATALOG_NOT_FOUND', `Catalog '${request.catalog}' does not exist`);
    }
    switch (request.statement.route) {
      case 'ddl':
        return this.runDdl(request);
      case 'query':
        return this.runQuery(request);
      case 'unsupported':
        throw unsupportedStatement(request);
    }
  }

  private async runDdl(request: RunRequest): Promise<RunOutcome> {
    const statement = parseDdl(request.sql);
    const result: DdlResult = await this.catalog.execute(statement, {
      defaultDatabase: request.database,
      listPartitions: (table) => this.partitionValues(table),
    });
    request.onScanned(0);
    const file = await open(request.resultFile, 'w');
    try {
      await file.write(result.lines.map((line) => `${line}\n`).join(''));
    } finally {
      await file.close();
    }
    return { columns: result.columns, format: 'txt', substatementType: substatementType(statement) };
  }

  private async runQuery(request: RunRequest): Promise<RunOutcome> {
    const translated = translateQuery(request.sql, {
      defaultDatabase: request.database,
      catalog: this.catalog,
    });
    const listings = new Map<string, Promise<S3ObjectRef[]>>();
    const plans = await Promise.all(
      translated.references.map(async (reference) => ({
        reference,
        files: await this.tableFiles(reference.table, reference.constraints, listings),
      })),
    );
    const scanned = plans.reduce(
      (total, plan) => total + plan.files.reduce((sum, file) => sum + file.object.size, 0),
      0,
    );
    if (request.bytesScannedCutoff !== undefined && scanned > request.bytesScannedCutoff) {
      // Athena stops reading at the cutoff, so that is what it reports as scanned.
      request.onScanned(request.bytesScannedCutoff);
      throw BYTES_SCANNED_LIMIT();
    }
    request.onScanned(scanned);
    for (const plan of plans) {
      for (const file of plan.files) {
        throwIfAborted(request.signal);
        file.path = await this.objects.fetch(file.object);
      }
    }
    throwIfAborted(request.signal);

    const connection = await this.instance.connect();
    // DuckDB's interrupt only stops a statement already running: a stop that lands between two
    // statements, or just before one starts, would be lost and the query run to its end. So once
    // stopped, interrupt again every few milliseconds until this query has wound down.
    let interrupting: NodeJS.Timeout | undefined;
    const interrupt = () => {
      connection.interrupt();
      interrupting ??= setInterval(() => connection.interrupt(), 20);
    };
    request.signal.addEventListener('abort', interrupt);
    if (request.signal.aborted) interrupt(); // stopped while connecting
    let output: FileHandle | undefined;
    try {
      for (const plan of plans) {
        throwIfAborted(request.signal);
        await connection.run(await this.viewSql(connection, plan.reference, plan.files));
      }
      throwIfAborted(request.signal);
      const result = await connection.stream(translated.sql);
      const types = result.columnTypes();
      const names = translated.outputNames(result.columnNames());
      const columns = types.map((type, i) => resultColumn(names[i] ?? `_col${i}`, type));
      output = await open(request.resultFile, 'w');
      await output.write(csvLine(columns.map((column) => column.name)));
      for await (const rows of result.yieldRows()) {
        throwIfAborted(request.signal);
        const text = rows.map((row) =>
          csvLine(
            row.map((value, i) => {
              const type = types[i];
              return type === undefined ? null : renderCell(value, type);
            }),
          ),
        );
        await output.write(text.join(''));
      }
      return { columns, format: 'csv', substatementType: 'SELECT' };
    } catch (error) {
      if (request.signal.aborted) throw CANCELLED_BY_USER();
      if (error instanceof QueryFailure) throw error;
      throw fromDuckDbError(error, translated.tokens);
    } finally {
      request.signal.removeEventListener('abort', interrupt);
      clearInterval(interrupting);
      await output?.close();
      connection.closeSync();
    }
  }

  /** The objects a table reference reads: in its layout, projected, and not pruned away. */
  private async tableFiles(
    table: StoredTable,
    constraints: readonly PartitionConstraint[],
    listings: Map<string, Promise<S3ObjectRef[]>>,
  ): Promise<PlannedFile[]> {
    const layout = tableLayout(table);
    const prefixes = new Set([table.location, ...table.partitions.map((partition) => partition.location)]);
    const files = new Map<string, PlannedFile>();
    for (const prefix of prefixes) {
      let listing = listings.get(prefix);
      if (listing === undefined) {
        listing = this.list(prefix);
        listings.set(prefix, listing);
      }
      for (const object of await listing) {
        const url = objectUrl(object);
        // An empty object has no rows (and is not a readable Parquet file).
        if (files.has(url) || object.size === 0) continue;
        const partition = layout.partitionOf(url);
        if (partition === undefined || !layout.projected(partition.values)) continue;
        if (!partitionMayMatch(table, partition.values, constraints)) continue;
        files.set(url, { object, values: partition.values });
      }
    }
    return [...files.values()].sort((a, b) => a.object.key.localeCompare(b.object.key));
  }

  private async list(prefix: string): Promise<S3ObjectRef[]> {
    const location = parseS3Url(prefix);
    if (location === undefined) throw userError('HIVE_UNKNOWN_ERROR', `Invalid table location ${prefix}`);
    try {
      return await this.objects.list(location);
    } catch (error) {
      throw userError(
        'HIVE_UNKNOWN_ERROR',
        `Unable to list ${prefix}: ${errorName(error)}: ${errorMessage(error)}`,
      );
    }
  }

  private async partitionValues(table: StoredTable): Promise<string[][]> {
    const files = await this.tableFiles(table, [], new Map());
    return files.map((file) => file.values.map((value) => value ?? '__HIVE_DEFAULT_PARTITION__'));
  }

  /** `CREATE TEMP VIEW` reading the files of one table reference with the table's SerDe rules. */
  private async viewSql(
    connection: DuckDBConnection,
    reference: TableReference,
    files: PlannedFile[],
  ): Promise<string> {
    const table = reference.table;
    const columns = table.columns.map((column) => ({
      name: column.name,
      type: parseHiveTypeString(column.type),
    }));
    const keys = table.partitionKeys.map((column) => ({
      name: column.name,
      type: parseHiveTypeString(column.type),
    }));
    const view = `CREATE TEMP VIEW ${quoteIdentifier(reference.viewName)} AS`;
    const reader = tableReader(table);
    if (reader.kind === 'unsupported') throw notSupported(reader.what);
    if (files.length === 0) {
      const nulls = [...columns, ...keys].map(
        (column) => `CAST(NULL AS ${toDuckDbType(column.type)}) AS ${quoteIdentifier(column.name)}`,
      );
      return `${view} SELECT ${nulls.join(', ')} WHERE false`;
    }
    const paths = files.map((file) => file.path ?? '');
    const fileList = `[${paths.map(quoteString).join(', ')}]`;
    const skip = headerLines(table);
    const lines = () => {
      const compressed = files
        .map((file) => unsupportedCompression(file.object.key))
        .find((suffix) => suffix !== undefined);
      if (compressed !== undefined) throw notSupported(`Reading .${compressed} compressed text objects`);
      // One VARCHAR per line (NUL never occurs in text), split by the SerDe's rules below.
      return `read_csv(${fileList}, columns = {'line': 'VARCHAR'}, delim = chr(0), quote = '', escape = '', header = false, skip = ${skip}, auto_detect = false, filename = '${FILE_COLUMN}', max_line_size = 67108864)`;
    };

    let source: string;
    let selections: string[];
    switch (reader.kind) {
      case 'parquet': {
        const described = await connection.runAndReadAll(
          `DESCRIBE SELECT * FROM read_parquet(${fileList}, union_by_name = true)`,
        );
        const present = new Map(
          described.getRowsJS().map((row) => [String(row[0]).toLowerCase(), String(row[0])] as const),
        );
        // Athena maps Parquet columns by name, case-insensitively; a missing column reads as NULL.
        selections = columns.map((column) => {
          const actual = present.get(column.name);
          const type = toDuckDbType(column.type);
          const value =
            actual === undefined
              ? `CAST(NULL AS ${type})`
              : column.type.kind === 'primitive' || column.type.kind === 'decimal'
                ? `CAST(d.${quoteIdentifier(actual)} AS ${type})`
                : `d.${quoteIdentifier(actual)}`;
          return `${value} AS ${quoteIdentifier(column.name)}`;
        });
        source = `read_parquet(${fileList}, union_by_name = true, filename = '${FILE_COLUMN}') AS d`;
        break;
      }
      case 'delimited': {
        source = `(SELECT string_split(coalesce(line, ''), ${sqlStringExpression(reader.fieldDelimiter)}) AS __athena_fields, ${FILE_COLUMN} FROM ${lines()}) AS d`;
        selections = columns.map((column, i) => {
          const field = `nullif(d.__athena_fields[${i + 1}], ${sqlStringExpression(reader.nullFormat)})`;
          return `${textValue(field, column.type, reader)} AS ${quoteIdentifier(column.name)}`;
        });
        break;
      }
      case 'regex': {
        const regex = reader.regex;
        source = `(SELECT coalesce(line, '') AS __athena_line, ${FILE_COLUMN} FROM ${lines()}) AS d`;
        selections = columns.map((column, i) => {
          const field = `CASE WHEN regexp_full_match(d.__athena_line, ${sqlStringExpression(regex)}) THEN regexp_extract(d.__athena_line, ${sqlStringExpression(`^(?:${regex})$`)}, ${i + 1}) END`;
          return `${textValue(field, column.type, undefined)} AS ${quoteIdentifier(column.name)}`;
        });
        break;
      }
      case 'csv': {
        const compressed = files
          .map((file) => unsupportedCompression(file.object.key))
          .find((suffix) => suffix !== undefined);
        if (compressed !== undefined) throw notSupported(`Reading .${compressed} compressed text objects`);
        const names = columns.map((_, i) => `c${i}`);
        source =
          `read_csv(${fileList}, columns = {${names.map((name) => `'${name}': 'VARCHAR'`).join(', ')}}, ` +
          `delim = ${sqlStringExpression(reader.separator)}, quote = ${sqlStringExpression(reader.quote)}, ` +
          `escape = ${sqlStringExpression(reader.escape)}, header = false, skip = ${skip}, auto_detect = false, ` +
          // OpenCSVSerde has no NULL: an empty field is an empty string.
          `null_padding = true, strict_mode = false, force_not_null = [${names.map(quoteString).join(', ')}], ` +
          `filename = '${FILE_COLUMN}') AS d`;
        selections = columns.map(
          (column, i) => `${textValue(`d.c${i}`, column.type, undefined)} AS ${quoteIdentifier(column.name)}`,
        );
        break;
      }
      case 'json': {
        const declared = columns.map(
          (column) => `${quoteString(column.name)}: ${quoteString(toDuckDbType(column.type))}`,
        );
        source = `read_json(${fileList}, format = 'newline_delimited', columns = {${declared.join(', ')}}, ignore_errors = true, filename = '${FILE_COLUMN}') AS d`;
        selections = columns.map((column) => `d.${quoteIdentifier(column.name)}`);
        break;
      }
    }

    if (keys.length === 0) return `${view} SELECT ${selections.join(', ')} FROM ${source}`;
    // Partition values come from the object's path: joined on the file each row was read from.
    const rows = files.map(
      (file) =>
        `(${[quoteString(file.path ?? ''), ...file.values.map((value) => (value === null ? 'CAST(NULL AS VARCHAR)' : quoteString(value)))].join(', ')})`,
    );
    const keyNames = keys.map((_, i) => `k${i}`);
    const partitionSelections = keys.map(
      (key, i) => `${textValue(`p.k${i}`, key.type, undefined)} AS ${quoteIdentifier(key.name)}`,
    );
    return (
      `${view} SELECT ${[...selections, ...partitionSelections].join(', ')} FROM ${source} ` +
      `JOIN (VALUES ${rows.join(', ')}) AS p(${FILE_COLUMN}, ${keyNames.join(', ')}) ON d.${FILE_COLUMN} = p.${FILE_COLUMN}`
    );
  }
}

/** Hive's text conversion: unparseable values become NULL; collections split on the SerDe's delimiters. */
function textValue(
  field: string,
  type: HiveType,
  reader: { collectionDelimiter: string; mapKeyDelimiter: string } | undefined,
): string {
  if (isStringType(type)) return field;
  if (type.kind === 'primitive' && type.name === 'boolean') {
    return `CASE lower(${field}) WHEN 'true' THEN true WHEN 'false' THEN false END`;
  }
  if (type.kind === 'primitive' || type.kind === 'decimal')
    return `TRY_CAST(${field} AS ${toDuckDbType(type)})`;
  if (reader === undefined) throw notSupported(`The column type ${type.kind} in this table format`);
  const collection = sqlStringExpression(reader.collectionDelimiter);
  const nested = (inner: HiveType) => {
    if (inner.kind !== 'primitive' && inner.kind !== 'decimal')
      throw notSupported('Nested collections in text tables');
    return (value: string) => textValue(value, inner, undefined);
  };
  if (type.kind === 'array') {
    const element = nested(type.element);
    return `CASE WHEN ${field} IS NULL THEN NULL ELSE list_transform(string_split(${field}, ${collection}), __athena_e -> ${element('__athena_e')}) END`;
  }
  if (type.kind === 'map') {
    const key = nested(type.key);
    const value = nested(type.value);
    const separator = sqlStringExpression(reader.mapKeyDelimiter);
    return (
      `CASE WHEN ${field} IS NULL THEN NULL ELSE map_from_entries(list_transform(string_split(${field}, ${collection}), ` +
      `__athena_e -> struct_pack(k := ${key(`split_part(__athena_e, ${separator}, 1)`)}, v := ${value(`split_part(__athena_e, ${separator}, 2)`)}))) END`
    );
  }
  const fields = type.fields.map(
    (member, i) =>
      `${quoteIdentifier(member.name)} := ${nested(member.type)(`string_split(${field}, ${collection})[${i + 1}]`)}`,
  );
  return `CASE WHEN ${field} IS NULL THEN NULL ELSE struct_pack(${fields.join(', ')}) END`;
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw CANCELLED_BY_USER();
}

function unsupportedStatement(request: RunRequest): QueryFailure {
  const sub = request.statement.substatementType;
  if (sub === 'CREATE_TABLE_AS_SELECT') return notSupported('CREATE TABLE AS SELECT (CTAS)');
  if (sub === 'CREATE_VIEW' || sub === 'DROP_VIEW') return notSupported(sub.replace('_', ' '));
  const first = sub.split('_')[0]?.toLowerCase() ?? '';
  const known = KNOWN_STATEMENTS[first];
  if (known !== undefined) return notSupported(known);
  const word = request.sql.trim().split(/\s+/)[0] ?? '';
  return userError(
    'SYNTAX_ERROR',
    `line 1:1: mismatched input '${word}'. Expecting: 'ALTER', 'CREATE', 'DESCRIBE', 'DROP', 'MSCK', 'SHOW', 'WITH', <query>`,
  );
}
