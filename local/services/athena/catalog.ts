import { ddlError, notSupported, type QueryFailure } from './errors';
import { formatHiveType, parseHiveType } from './hive-types';
import type { ResultColumn } from './results';
import { isSymbol, isWord, SqlLexError, type Token, tokenize } from './sql-lexer';
import type { StateStore, StoredColumn, StoredDatabase, StoredPartition, StoredTable } from './store';

/**
 * The Glue Data Catalog as Athena sees it (catalog `AwsDataCatalog`), and the Hive DDL that
 * changes it: CREATE/DROP DATABASE|SCHEMA, CREATE EXTERNAL TABLE, DROP TABLE, ALTER TABLE
 * (partitions, properties, location), MSCK REPAIR TABLE, SHOW …, DESCRIBE.
 */

export const DATA_CATALOG = 'AwsDataCatalog';

const LAZY_SIMPLE_SERDE = 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe';
const OPEN_CSV_SERDE = 'org.apache.hadoop.hive.serde2.OpenCSVSerde';
const TEXT_INPUT = 'org.apache.hadoop.mapred.TextInputFormat';
const TEXT_OUTPUT = 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat';

const STORAGE_FORMATS: Record<string, { input: string; output: string; serde: string }> = {
  textfile: { input: TEXT_INPUT, output: TEXT_OUTPUT, serde: LAZY_SIMPLE_SERDE },
  parquet: {
    input: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
    output: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
    serde: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
  },
  orc: {
    input: 'org.apache.hadoop.hive.ql.io.orc.OrcInputFormat',
    output: 'org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat',
    serde: 'org.apache.hadoop.hive.ql.io.orc.OrcSerde',
  },
  avro: {
    input: 'org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat',
    output: 'org.apache.hadoop.hive.ql.io.avro.AvroContainerOutputFormat',
    serde: 'org.apache.hadoop.hive.serde2.avro.AvroSerDe',
  },
  jsonfile: { input: TEXT_INPUT, output: TEXT_OUTPUT, serde: 'org.apache.hive.hcatalog.data.JsonSerDe' },
  sequencefile: {
    input: 'org.apache.hadoop.mapred.SequenceFileInputFormat',
    output: 'org.apache.hadoop.hive.ql.io.HiveSequenceFileOutputFormat',
    serde: LAZY_SIMPLE_SERDE,
  },
  rcfile: {
    input: 'org.apache.hadoop.hive.ql.io.RCFileInputFormat',
    output: 'org.apache.hadoop.hive.ql.io.RCFileOutputFormat',
    serde: 'org.apache.hadoop.hive.serde2.columnar.LazyBinaryColumnarSerDe',
  },
};

/** How the engine reads a table's objects, derived from its SerDe and input format. */
export type TableReader =
  | { kind: 'parquet' }
  | {
      kind: 'delimited';
      fieldDelimiter: string;
      collectionDelimiter: string;
      mapKeyDelimiter: string;
      nullFormat: string;
    }
  | { kind: 'csv'; separator: string; quote: string; escape: string }
  | { kind: 'json' }
  | { kind: 'regex'; regex: string }
  | { kind: 'unsupported'; what: string };

export function tableReader(table: StoredTable): TableReader {
  const serde = table.serdeLibrary;
  const parameters = table.serdeParameters;
  if (/parquet/i.test(table.inputFormat) || /parquet/i.test(serde)) return { kind: 'parquet' };
  if (serde === OPEN_CSV_SERDE) {
    return {
      kind: 'csv',
      separator: parameters.separatorChar ?? ',',
      quote: parameters.quoteChar ?? '"',
      escape: parameters.escapeChar ?? '\\',
    };
  }
  if (/JsonSerDe/i.test(serde)) return { kind: 'json' };
  if (/RegexSerDe/i.test(serde)) {
    const regex = parameters['input.regex'];
    if (regex === undefined) return { kind: 'unsupported', what: 'RegexSerDe without input.regex' };
    return { kind: 'regex', regex };
  }
  if (serde === LAZY_SIMPLE_SERDE && table.inputFormat === TEXT_INPUT) {
    // Hive's default field delimiter is ^A; `serialization.format` doubles as the delimiter when
    // only it is given (Glue crawlers write both).
    const fieldDelimiter =
      parameters['field.delim'] ?? nonNumeric(parameters['serialization.format']) ?? '\u0001';
    return {
      kind: 'delimited',
      fieldDelimiter: fieldDelimiter.slice(0, 1),
      collectionDelimiter: (parameters['collection.delim'] ?? '\u0002').slice(0, 1),
      mapKeyDelimiter: (parameters['mapkey.delim'] ?? '\u0003').slice(0, 1),
      nullFormat:
        parameters['serialization.null.format'] ?? table.parameters['serialization.null.format'] ?? '\\N',
    };
  }
  return {
    kind: 'unsupported',
    what: `Reading tables with SerDe ${serde} and input format ${table.inputFormat}`,
  };
}

function nonNumeric(value: string | undefined): string | undefined {
  return value === undefined || /^\d+$/.test(value) ? undefined : value;
}

/** Lines to skip at the top of every text object (`skip.header.line.count`). */
export function headerLines(table: StoredTable): number {
  const count = Number(table.parameters['skip.header.line.count'] ?? '0');
  return Number.isInteger(count) && count > 0 ? count : 0;
}

export class Catalog {
  constructor(private readonly store: StateStore) {}

  databases(): StoredDatabase[] {
    return Object.values(this.store.state.databases).sort((a, b) => a.name.localeCompare(b.name));
  }

  database(name: string): StoredDatabase | undefined {
    return this.store.state.databases[name.toLowerCase()];
  }

  table(database: string, name: string): StoredTable | undefined {
    return this.database(database)?.tables[name.toLowerCase()];
  }

  tables(database: StoredDatabase): StoredTable[] {
    return Object.values(database.tables).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Runs a parsed DDL statement. SHOW PARTITIONS needs S3, so partition listing is passed in. */
  async execute(statement: DdlStatement, context: DdlContext): Promise<DdlResult> {
    const databaseName = (name: string | undefined) => (name ?? context.defaultDatabase).toLowerCase();
    const requireDatabase = (name: string): StoredDatabase => {
      const database = this.database(name);
      if (database === undefined)
        throw ddlError(`SemanticException [Error 10072]: Database does not exist: ${name}`);
      return database;
    };
    const requireTable = (database: string | undefined, name: string): StoredTable => {
      const db = requireDatabase(databaseName(database));
      const table = db.tables[name];
      if (table === undefined)
        throw ddlError(`SemanticException [Error 10001]: Table not found ${db.name}.${name}`);
      return table;
    };
    const now = Date.now() / 1000;
    const done = (lines: string[] = [], column?: string): DdlResult => ({
      columns: column === undefined ? [] : [stringColumn(column)],
      lines,
    });

    switch (statement.kind) {
      case 'createDatabase': {
        if (this.database(statement.name) !== undefined) {
          if (statement.ifNotExists) return done();
          throw ddlError(`AlreadyExistsException: Database ${statement.name} already exists`);
        }
        this.store.state.databases[statement.name] = {
          name: statement.name,
          parameters: statement.properties,
          createTime: now,
          tables: {},
          ...(statement.comment !== undefined && { description: statement.comment }),
          ...(statement.location !== undefined && { locationUri: statement.location }),
        };
        this.store.save();
        return done();
      }
      case 'dropDatabase': {
        const database = this.database(statement.name);
        if (database === undefined) {
          if (statement.ifExists) return done();
          throw ddlError(`SemanticException [Error 10072]: Database does not exist: ${statement.name}`);
        }
        if (Object.keys(database.tables).length > 0 && !statement.cascade) {
          throw ddlError(
            `InvalidOperationException(message:Database ${database.name} is not empty. One or more tables exist.)`,
          );
        }
        delete this.store.state.databases[database.name];
        this.store.save();
        return done();
      }
      case 'createTable': {
        const database = requireDatabase(databaseName(statement.database));
        if (database.tables[statement.table.name] !== undefined) {
          if (statement.ifNotExists) return done();
          throw ddlError(
            `AlreadyExistsException: Table ${database.name}.${statement.table.name} already exists`,
          );
        }
        database.tables[statement.table.name] = { ...statement.table, createTime: now };
        this.store.save();
        return done();
      }
      case 'dropTable': {
        const database = requireDatabase(databaseName(statement.database));
        if (database.tables[statement.name] === undefined) {
          if (statement.ifExists) return done();
          throw ddlError(
            `SemanticException [Error 10001]: Table not found ${database.name}.${statement.name}`,
          );
        }
        delete database.tables[statement.name];
        this.store.save();
        return done();
      }
      case 'showDatabases': {
        const matches = namePattern(statement.pattern);
        return done(
          this.databases()
            .map((db) => db.name)
            .filter(matches),
          'database_name',
        );
      }
      case 'showTables': {
        const database = requireDatabase(databaseName(statement.database));
        const matches = namePattern(statement.pattern);
        return done(
          this.tables(database)
            .map((table) => table.name)
            .filter(matches),
          'tab_name',
        );
      }
      case 'showColumns': {
        const table = requireTable(statement.database, statement.name);
        return done(
          [...table.columns, ...table.partitionKeys].map((column) => column.name),
          'field',
        );
      }
      case 'showTblProperties': {
        const table = requireTable(statement.database, statement.name);
        const properties: Record<string, string> = { EXTERNAL: 'TRUE', ...table.parameters };
        if (statement.key !== undefined) return done([properties[statement.key] ?? ''], 'prpt_name');
        return done(
          Object.entries(properties).map(([key, value]) => `${key}\t${value}`),
          'prpt_name',
        );
      }
      case 'showPartitions': {
        const table = requireTable(statement.database, statement.name);
        if (table.partitionKeys.length === 0) {
          throw ddlError(`SemanticException [Error 10241]: Table ${table.name} is not a partitioned table`);
        }
        const partitions = await context.listPartitions(table);
        const lines = partitions.map((values) =>
          table.partitionKeys.map((key, i) => `${key.name}=${values[i] ?? ''}`).join('/'),
        );
        return done([...new Set(lines)].sort(), 'partition');
      }
      case 'describe': {
        const table = requireTable(statement.database, statement.name);
        const row = (column: StoredColumn) =>
          [column.name, column.type, column.comment ?? ''].map((cell) => cell.padEnd(20)).join('\t');
        const lines = table.columns.map(row);
        if (table.partitionKeys.length > 0) {
          lines.push(
            '',
            '# Partition Information',
            `# ${['col_name', 'data_type', 'comment'].map((h) => h.padEnd(20)).join('\t')}`,
            '',
          );
          lines.push(...table.partitionKeys.map(row));
        }
        return done(lines, 'col_name');
      }
      case 'repairTable':
        // Partitions in the Hive layout are discovered from S3 at query time, so there is
        // nothing to register; the statement succeeds as it does in Athena.
        requireTable(statement.database, statement.name);
        return done();
      case 'addPartitions': {
        const table = requireTable(statement.database, statement.name);
        for (const partition of statement.partitions) {
          const values = partitionValues(table, partition.spec);
          const existing = table.partitions.findIndex((candidate) => sameValues(candidate.values, values));
          if (existing !== -1) {
            if (statement.ifNotExists) continue;
            throw ddlError(
              `AlreadyExistsException: Partition already exists: ${describeSpec(partition.spec)}`,
            );
          }
          const location =
            partition.location ??
            `${table.location}${table.partitionKeys.map((key, i) => `${key.name}=${escapePathValue(values[i] ?? '')}/`).join('')}`;
          table.partitions.push({ values, location: withTrailingSlash(location) });
        }
        this.store.save();
        return done();
      }
      case 'dropPartitions': {
        const table = requireTable(statement.database, statement.name);
        for (const spec of statement.specs) {
          const before = table.partitions.length;
          table.partitions = table.partitions.filter((candidate) => !specMatches(table, candidate, spec));
          if (before === table.partitions.length && !statement.ifExists) {
            throw ddlError(`SemanticException [Error 10006]: Partition not found ${describeSpec(spec)}`);
          }
        }
        this.store.save();
        return done();
      }
      case 'setTableProperties': {
        const table = requireTable(statement.database, statement.name);
        Object.assign(table.parameters, statement.properties);
        this.store.save();
        return done();
      }
      case 'setLocation': {
        const table = requireTable(statement.database, statement.name);
        table.location = statement.location;
        this.store.save();
        return done();
      }
    }
  }
}

export interface DdlContext {
  defaultDatabase: string;
  /** Partition values present in S3 (and added with ALTER TABLE), in partition-key order. */
  listPartitions(table: StoredTable): Promise<string[][]>;
}

export interface DdlResult {
  /** Empty for statements that return nothing (CREATE, DROP, ALTER). */
  columns: ResultColumn[];
  /** Rows of the `.txt` result, one cell each (Athena DDL results have no header row). */
  lines: string[];
}

function stringColumn(name: string): ResultColumn {
  return { name, type: 'string', precision: 0, scale: 0, caseSensitive: false };
}

/** Hive's SHOW patterns: `*` is a wildcard and `|` separates alternatives; case-insensitive. */
function namePattern(pattern: string | undefined): (name: string) => boolean {
  if (pattern === undefined) return () => true;
  const alternatives = pattern.split('|').map((part) =>
    part
      .trim()
      .replace(/[.+?^${}()[\]\\]/g, '\\$&')
      .replaceAll('*', '.*'),
  );
  const regex = new RegExp(`^(?:${alternatives.join('|')})$`, 'i');
  return (name) => regex.test(name);
}

function partitionValues(table: StoredTable, spec: Record<string, string>): string[] {
  const keys = table.partitionKeys.map((key) => key.name);
  for (const name of Object.keys(spec)) {
    if (!keys.includes(name))
      throw ddlError(
        `SemanticException [Error 10098]: Non-Partition column appears in the partition specification: ${name}`,
      );
  }
  return keys.map((key) => {
    const value = spec[key];
    if (value === undefined)
      throw ddlError(`SemanticException [Error 10006]: Partition spec is incomplete, missing ${key}`);
    return value;
  });
}

function specMatches(table: StoredTable, partition: StoredPartition, spec: Record<string, string>): boolean {
  return Object.entries(spec).every(([key, value]) => {
    const index = table.partitionKeys.findIndex((column) => column.name === key);
    return index !== -1 && partition.values[index] === value;
  });
}

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

function describeSpec(spec: Record<string, string>): string {
  return Object.entries(spec)
    .map(([key, value]) => `${key}=${value}`)
    .join('/');
}

/** Hive escapes these characters in partition directory names (`FileUtils.escapePathName`). */
export function escapePathValue(value: string): string {
  let escaped = '';
  for (const char of value) {
    const code = char.charCodeAt(0);
    const special = code < 0x20 || code === 0x7f || '"#%\'*/:=?\\{[]^'.includes(char);
    escaped += special ? `%${code.toString(16).toUpperCase().padStart(2, '0')}` : char;
  }
  return escaped;
}

export function withTrailingSlash(location: string): string {
  return location.endsWith('/') ? location : `${location}/`;
}

/** `TableMetadata` as GetTableMetadata / ListTableMetadata return it. */
export function tableMetadata(table: StoredTable): Record<string, unknown> {
  const serdeParameters = Object.fromEntries(
    Object.entries(table.serdeParameters).map(([key, value]) => [`serde.param.${key}`, value]),
  );
  return {
    Name: table.name,
    CreateTime: table.createTime,
    TableType: 'EXTERNAL_TABLE',
    Columns: table.columns.map(columnShape),
    PartitionKeys: table.partitionKeys.map(columnShape),
    Parameters: {
      EXTERNAL: 'TRUE',
      ...table.parameters,
      inputformat: table.inputFormat,
      outputformat: table.outputFormat,
      location: table.location,
      'serde.serialization.lib': table.serdeLibrary,
      ...serdeParameters,
      transient_lastDdlTime: String(Math.floor(table.createTime)),
      ...(table.comment !== undefined && { comment: table.comment }),
    },
  };
}

function columnShape(column: StoredColumn): Record<string, string> {
  return {
    Name: column.name,
    Type: column.type,
    ...(column.comment !== undefined && { Comment: column.comment }),
  };
}

// ---------------------------------------------------------------------------------------------
// DDL parsing
// ---------------------------------------------------------------------------------------------

type QualifiedName = { database?: string; name: string };

export type DdlStatement =
  | {
      kind: 'createDatabase';
      name: string;
      ifNotExists: boolean;
      comment?: string;
      location?: string;
      properties: Record<string, string>;
    }
  | { kind: 'dropDatabase'; name: string; ifExists: boolean; cascade: boolean }
  | {
      kind: 'createTable';
      database?: string;
      ifNotExists: boolean;
      table: Omit<StoredTable, 'createTime'>;
    }
  | ({ kind: 'dropTable'; ifExists: boolean } & QualifiedName)
  | { kind: 'showDatabases'; pattern?: string }
  | { kind: 'showTables'; database?: string; pattern?: string }
  | ({ kind: 'showPartitions' } & QualifiedName)
  | ({ kind: 'showColumns' } & QualifiedName)
  | ({ kind: 'showTblProperties'; key?: string } & QualifiedName)
  | ({ kind: 'describe' } & QualifiedName)
  | ({ kind: 'repairTable' } & QualifiedName)
  | ({
      kind: 'addPartitions';
      ifNotExists: boolean;
      partitions: { spec: Record<string, string>; location?: string }[];
    } & QualifiedName)
  | ({ kind: 'dropPartitions'; ifExists: boolean; specs: Record<string, string>[] } & QualifiedName)
  | ({ kind: 'setTableProperties'; properties: Record<string, string> } & QualifiedName)
  | ({ kind: 'setLocation'; location: string } & QualifiedName);

/** `SubstatementType` of a DDL statement, as GetQueryExecution reports it. */
export function substatementType(statement: DdlStatement): string {
  const types: Record<DdlStatement['kind'], string> = {
    createDatabase: 'CREATE_DATABASE',
    dropDatabase: 'DROP_DATABASE',
    createTable: 'CREATE_TABLE',
    dropTable: 'DROP_TABLE',
    showDatabases: 'SHOW_DATABASES',
    showTables: 'SHOW_TABLES',
    showPartitions: 'SHOW_PARTITIONS',
    showColumns: 'SHOW_COLUMNS',
    showTblProperties: 'SHOW_TBLPROPERTIES',
    describe: 'DESCRIBE_TABLE',
    repairTable: 'REPAIR_TABLE',
    addPartitions: 'ALTER_TABLE_ADD_PARTITION',
    dropPartitions: 'ALTER_TABLE_DROP_PARTITION',
    setTableProperties: 'ALTER_TABLE_SET_TBLPROPERTIES',
    setLocation: 'ALTER_TABLE_SET_LOCATION',
  };
  return types[statement.kind];
}

/** Parses one Hive DDL statement (a trailing `;` is allowed). */
export function parseDdl(sql: string): DdlStatement {
  let tokens: Token[];
  try {
    tokens = tokenize(sql, 'hive');
  } catch (error) {
    if (error instanceof SqlLexError)
      throw ddlError(`ParseException line ${error.line}:${error.column - 1} ${error.message}`);
    throw error;
  }
  const parser = new DdlParser(tokens);
  const statement = parser.statement();
  parser.end();
  return statement;
}

class DdlParser {
  private index = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  statement(): DdlStatement {
    if (this.accept('create')) return this.create();
    if (this.accept('drop')) return this.drop();
    if (this.accept('show')) return this.show();
    if (this.accept('describe', 'desc')) {
      this.accept('formatted', 'extended');
      return { kind: 'describe', ...this.qualifiedName('table') };
    }
    if (this.accept('msck')) {
      this.expect('repair');
      this.expect('table');
      return { kind: 'repairTable', ...this.qualifiedName('table') };
    }
    if (this.accept('alter')) return this.alter();
    throw this.mismatch('a DDL statement');
  }

  end(): void {
    if (isSymbol(this.peek(), ';')) this.index++;
    const token = this.peek();
    if (token !== undefined) throw this.error(token, `missing EOF at '${token.text}'`);
  }

  private create(): DdlStatement {
    if (this.accept('database', 'schema')) {
      const ifNotExists = this.ifNotExists();
      const name = this.databaseName();
      const statement: Extract<DdlStatement, { kind: 'createDatabase' }> = {
        kind: 'createDatabase',
        name,
        ifNotExists,
        properties: {},
      };
      while (this.peek() !== undefined && !isSymbol(this.peek(), ';')) {
        if (this.accept('comment')) statement.comment = this.string();
        else if (this.accept('location')) statement.location = this.s3Location();
        else if (this.accept('with')) {
          this.expect('dbproperties');
          statement.properties = this.properties();
        } else throw this.mismatch('COMMENT, LOCATION or WITH DBPROPERTIES');
      }
      return statement;
    }
    if (this.accept('or')) {
      this.expect('replace');
      this.accept('protected', 'multi');
      if (this.accept('view')) throw notSupported('CREATE VIEW');
      throw this.mismatch('VIEW');
    }
    if (this.isNext('view')) throw notSupported('CREATE VIEW');
    const external = this.accept('external');
    if (!this.accept('table')) throw this.mismatch('TABLE, DATABASE or SCHEMA');
    const ifNotExists = this.ifNotExists();
    const name = this.qualifiedName('table');
    if (this.isNext('as') || this.isNext('with')) throw notSupported('CREATE TABLE AS SELECT (CTAS)');
    if (!external) {
      throw ddlError(
        'SemanticException Only EXTERNAL tables are supported for CREATE TABLE without AS SELECT: use CREATE EXTERNAL TABLE',
      );
    }
    return this.tableDefinition(name, ifNotExists);
  }

  private tableDefinition(qualified: QualifiedName, ifNotExists: boolean): DdlStatement {
    const columns = this.columnList();
    let partitionKeys: StoredColumn[] = [];
    let location: string | undefined;
    let comment: string | undefined;
    let storage: { input: string; output: string; serde?: string } = {
      input: TEXT_INPUT,
      output: TEXT_OUTPUT,
    };
    let serdeLibrary: string | undefined;
    const serdeParameters: Record<string, string> = {};
    let parameters: Record<string, string> = {};

    while (this.peek() !== undefined && !isSymbol(this.peek(), ';')) {
      if (this.accept('comment')) comment = this.string();
      else if (this.accept('partitioned')) {
        this.expect('by');
        partitionKeys = this.columnList();
      } else if (this.accept('clustered')) {
        // Bucketing changes nothing about which rows a query sees; accepted and ignored.
        this.expect('by');
        this.skipParenthesised();
        if (this.accept('sorted')) {
          this.expect('by');
          this.skipParenthesised();
        }
        this.expect('into');
        this.index++;
        this.expect('buckets');
      } else if (this.accept('row')) {
        this.expect('format');
        if (this.accept('delimited')) {
          serdeLibrary = LAZY_SIMPLE_SERDE;
          Object.assign(serdeParameters, this.delimitedClauses());
        } else {
          this.expect('serde');
          serdeLibrary = this.string();
          if (this.accept('with')) {
            this.expect('serdeproperties');
            Object.assign(serdeParameters, this.properties());
          }
        }
      } else if (this.accept('with')) {
        this.expect('serdeproperties');
        Object.assign(serdeParameters, this.properties());
      } else if (this.accept('stored')) {
        this.expect('as');
        if (this.accept('inputformat')) {
          const input = this.string();
          this.expect('outputformat');
          storage = { input, output: this.string() };
        } else {
          const formatToken = this.next();
          const format = formatToken?.kind === 'word' ? STORAGE_FORMATS[formatToken.value] : undefined;
          if (format === undefined)
            throw this.error(formatToken, `unknown file format '${formatToken?.text ?? '<EOF>'}'`);
          storage = format;
        }
      } else if (this.accept('location')) location = this.s3Location();
      else if (this.accept('tblproperties')) parameters = { ...parameters, ...this.properties() };
      else
        throw this.mismatch(
          'a table clause (PARTITIONED BY, ROW FORMAT, STORED AS, LOCATION, TBLPROPERTIES)',
        );
    }

    if (location === undefined) {
      throw ddlError(
        'SemanticException LOCATION is required: Athena tables read their data from an s3:// location',
      );
    }
    const names = new Set(columns.map((column) => column.name));
    const repeated = partitionKeys.find((key) => names.has(key.name));
    if (repeated !== undefined) {
      throw ddlError(
        `SemanticException [Error 10035]: Column repeated in partitioning columns: ${repeated.name}`,
      );
    }
    const library = serdeLibrary ?? storage.serde ?? LAZY_SIMPLE_SERDE;
    if (library === LAZY_SIMPLE_SERDE && Object.keys(serdeParameters).length === 0) {
      serdeParameters['serialization.format'] = '1';
    }
    return {
      kind: 'createTable',
      ...(qualified.database !== undefined && { database: qualified.database }),
      ifNotExists,
      table: {
        name: qualified.name,
        columns,
        partitionKeys,
        location,
        inputFormat: storage.input,
        outputFormat: storage.output,
        serdeLibrary: library,
        serdeParameters,
        parameters,
        partitions: [],
        ...(comment !== undefined && { comment }),
      },
    };
  }

  private delimitedClauses(): Record<string, string> {
    const parameters: Record<string, string> = {};
    for (;;) {
      if (this.accept('fields')) {
        this.expect('terminated');
        this.expect('by');
        const delimiter = this.string();
        parameters['field.delim'] = delimiter;
        parameters['serialization.format'] = delimiter;
        if (this.accept('escaped')) {
          this.expect('by');
          parameters['escape.delim'] = this.string();
        }
      } else if (this.accept('collection')) {
        this.expect('items');
        this.expect('terminated');
        this.expect('by');
        parameters['collection.delim'] = this.string();
      } else if (this.accept('map')) {
        this.expect('keys');
        this.expect('terminated');
        this.expect('by');
        parameters['mapkey.delim'] = this.string();
      } else if (this.accept('lines')) {
        this.expect('terminated');
        this.expect('by');
        parameters['line.delim'] = this.string();
      } else if (this.accept('null')) {
        this.expect('defined');
        this.expect('as');
        parameters['serialization.null.format'] = this.string();
      } else return parameters;
    }
  }

  private drop(): DdlStatement {
    if (this.accept('database', 'schema')) {
      const ifExists = this.ifExists();
      const name = this.databaseName();
      const cascade = this.accept('cascade');
      if (!cascade) this.accept('restrict');
      return { kind: 'dropDatabase', name, ifExists, cascade };
    }
    if (this.isNext('view')) throw notSupported('DROP VIEW');
    this.expect('table');
    const ifExists = this.ifExists();
    const name = this.qualifiedName('table');
    this.accept('purge');
    return { kind: 'dropTable', ifExists, ...name };
  }

  private show(): DdlStatement {
    if (this.accept('databases', 'schemas')) {
      const pattern = this.accept('like') || isStringToken(this.peek()) ? this.string() : undefined;
      return { kind: 'showDatabases', ...(pattern !== undefined && { pattern }) };
    }
    if (this.accept('tables')) {
      const database = this.accept('in', 'from') ? this.identifier('database') : undefined;
      const pattern = this.accept('like') || isStringToken(this.peek()) ? this.string() : undefined;
      return {
        kind: 'showTables',
        ...(database !== undefined && { database }),
        ...(pattern !== undefined && { pattern }),
      };
    }
    if (this.accept('partitions')) return { kind: 'showPartitions', ...this.qualifiedName('table') };
    if (this.accept('columns')) {
      if (!this.accept('in', 'from')) throw this.mismatch('IN or FROM');
      const name = this.qualifiedName('table');
      const database = this.accept('in', 'from') ? this.identifier('database') : name.database;
      return { kind: 'showColumns', name: name.name, ...(database !== undefined && { database }) };
    }
    if (this.accept('tblproperties')) {
      const name = this.qualifiedName('table');
      if (!isSymbol(this.peek(), '(')) return { kind: 'showTblProperties', ...name };
      this.index++;
      const key = this.string();
      this.expectSymbol(')');
      return { kind: 'showTblProperties', ...name, key };
    }
    if (this.accept('create')) throw notSupported('SHOW CREATE TABLE');
    if (this.accept('views')) throw notSupported('SHOW VIEWS');
    throw this.mismatch('DATABASES, SCHEMAS, TABLES, PARTITIONS, COLUMNS or TBLPROPERTIES');
  }

  private alter(): DdlStatement {
    if (this.isNext('database', 'schema', 'view'))
      throw notSupported(`ALTER ${this.peek()?.text.toUpperCase()}`);
    this.expect('table');
    const name = this.qualifiedName('table');
    if (this.accept('add')) {
      if (this.isNext('columns')) throw notSupported('ALTER TABLE ADD COLUMNS');
      const ifNotExists = this.ifNotExists();
      const partitions: { spec: Record<string, string>; location?: string }[] = [];
      while (this.accept('partition')) {
        const spec = this.partitionSpec();
        const location = this.accept('location') ? this.s3Location() : undefined;
        partitions.push({ spec, ...(location !== undefined && { location }) });
      }
      if (partitions.length === 0) throw this.mismatch('PARTITION');
      return { kind: 'addPartitions', ...name, ifNotExists, partitions };
    }
    if (this.accept('drop')) {
      const ifExists = this.ifExists();
      const specs: Record<string, string>[] = [];
      do {
        this.expect('partition');
        specs.push(this.partitionSpec());
      } while (this.acceptSymbol(','));
      return { kind: 'dropPartitions', ...name, ifExists, specs };
    }
    if (this.accept('set')) {
      if (this.accept('tblproperties'))
        return { kind: 'setTableProperties', ...name, properties: this.properties() };
      if (this.accept('location')) return { kind: 'setLocation', ...name, location: this.s3Location() };
    }
    throw notSupported(`ALTER TABLE ${this.peek()?.text.toUpperCase() ?? ''}`.trim());
  }

  private columnList(): StoredColumn[] {
    this.expectSymbol('(');
    const columns: StoredColumn[] = [];
    do {
      const name = this.identifier('column');
      const [type, after] = parseHiveType(this.tokens, this.index);
      this.index = after;
      const comment = this.accept('comment') ? this.string() : undefined;
      columns.push({ name, type: formatHiveType(type), ...(comment !== undefined && { comment }) });
    } while (this.acceptSymbol(','));
    this.expectSymbol(')');
    return columns;
  }

  private partitionSpec(): Record<string, string> {
    this.expectSymbol('(');
    const spec: Record<string, string> = {};
    do {
      const key = this.identifier('partition column');
      this.expectSymbol('=');
      const token = this.next();
      if (token === undefined || (token.kind !== 'string' && token.kind !== 'number')) {
        throw this.error(token, 'expected a partition value');
      }
      spec[key] = token.value;
    } while (this.acceptSymbol(','));
    this.expectSymbol(')');
    return spec;
  }

  private properties(): Record<string, string> {
    this.expectSymbol('(');
    const properties: Record<string, string> = {};
    if (this.acceptSymbol(')')) return properties;
    do {
      const key = this.string();
      this.expectSymbol('=');
      properties[key] = this.string();
    } while (this.acceptSymbol(','));
    this.expectSymbol(')');
    return properties;
  }

  private qualifiedName(what: string): QualifiedName {
    const first = this.identifier(what);
    if (!this.acceptSymbol('.')) return { name: validName(first, what, this.tokens[this.index - 1]) };
    const name = this.identifier(what);
    return { database: first, name: validName(name, what, this.tokens[this.index - 1]) };
  }

  private databaseName(): string {
    return validName(this.identifier('database'), 'database', this.tokens[this.index - 1]);
  }

  /** Words, backquoted and (leniently) double-quoted identifiers; Glue lower-cases names. */
  private identifier(what: string): string {
    const token = this.next();
    if (
      token === undefined ||
      (token.kind !== 'word' && token.kind !== 'backquoted' && token.kind !== 'string')
    ) {
      throw this.error(token, `cannot recognize input near '${token?.text ?? '<EOF>'}' in ${what} name`);
    }
    if (token.kind === 'string' && !token.text.startsWith('"')) {
      throw this.error(token, `cannot recognize input near '${token.text}' in ${what} name`);
    }
    return token.value.toLowerCase();
  }

  private s3Location(): string {
    const token = this.peek();
    const location = this.string();
    if (!/^s3a?:\/\/[^/]+/.test(location)) {
      throw this.error(token, `LOCATION must be an s3:// URI, got '${location}'`);
    }
    return withTrailingSlash(location.replace(/^s3a:/, 's3:'));
  }

  private string(): string {
    const token = this.next();
    if (token?.kind !== 'string')
      throw this.error(token, `mismatched input '${token?.text ?? '<EOF>'}' expecting a string literal`);
    // Hive concatenates adjacent literals: 'it''s' reads as "its", 'a' 'b' as "ab".
    let value = token.value;
    while (this.peek()?.kind === 'string') value += this.next()?.value ?? '';
    return value;
  }

  private ifNotExists(): boolean {
    if (!this.accept('if')) return false;
    this.expect('not');
    this.expect('exists');
    return true;
  }

  private ifExists(): boolean {
    if (!this.accept('if')) return false;
    this.expect('exists');
    return true;
  }

  private skipParenthesised(): void {
    this.expectSymbol('(');
    let depth = 1;
    while (depth > 0) {
      const token = this.next();
      if (token === undefined) throw this.mismatch(')');
      if (isSymbol(token, '(')) depth++;
      if (isSymbol(token, ')')) depth--;
    }
  }

  private peek(): Token | undefined {
    return this.tokens[this.index];
  }

  private next(): Token | undefined {
    return this.tokens[this.index++];
  }

  private isNext(...words: string[]): boolean {
    return isWord(this.peek(), ...words);
  }

  private accept(...words: string[]): boolean {
    if (!isWord(this.peek(), ...words)) return false;
    this.index++;
    return true;
  }

  private expect(word: string): void {
    if (!this.accept(word)) throw this.mismatch(word.toUpperCase());
  }

  private acceptSymbol(symbol: string): boolean {
    if (!isSymbol(this.peek(), symbol)) return false;
    this.index++;
    return true;
  }

  private expectSymbol(symbol: string): void {
    if (!this.acceptSymbol(symbol)) throw this.mismatch(`'${symbol}'`);
  }

  private mismatch(expected: string): QueryFailure {
    const token = this.peek();
    return this.error(token, `mismatched input '${token?.text ?? '<EOF>'}' expecting ${expected}`);
  }

  private error(token: Token | undefined, message: string): QueryFailure {
    const last = this.tokens.at(-1);
    const line = token?.line ?? last?.line ?? 1;
    const column = token?.column ?? (last === undefined ? 1 : last.column + last.text.length);
    return ddlError(`ParseException line ${line}:${column - 1} ${message}`);
  }
}

function isStringToken(token: Token | undefined): boolean {
  return token?.kind === 'string';
}

/**
 * Glue stores any UTF-8 name, but Athena cannot query names with special characters other than
 * `_` (a `-` in a database name is the classic case: stage names must be mapped to `_`).
 */
function validName(name: string, what: string, token: Token | undefined): string {
  if (/^[a-z0-9_]+$/.test(name)) return name;
  throw ddlError(
    `InvalidInputException line ${token?.line ?? 1}:${(token?.column ?? 1) - 1} ${what} name '${name}' is not valid in Athena: ` +
      'only letters, numbers and underscore (_) are allowed',
  );
}
