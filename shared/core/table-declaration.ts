import * as z from 'zod';
import { EtlError } from './errors';

/**
 * A staged/warehouse table declared once (docs/tables.md): its columns with their MySQL types,
 * nullability and key. The DynamoDB item mapping and the row checks (`table-values.ts`), the
 * warehouse DDL, upsert SQL and migrations (`table-sql.ts`) all derive from a declaration.
 */

/** A declaration breaks a rule (unknown key column, an added NOT NULL column without a default, …). */
export class TableDeclarationError extends EtlError {}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,63}$/;
const FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const INTEGER_TYPES = ['tinyint', 'smallint', 'int', 'bigint'] as const;
export type IntegerType = (typeof INTEGER_TYPES)[number];
export const STRING_TYPES = ['char', 'varchar', 'text', 'mediumtext', 'longtext'] as const;
export type StringType = (typeof STRING_TYPES)[number];
export const BLOB_TYPES = ['blob', 'mediumblob', 'longblob'] as const;
export type BlobType = (typeof BLOB_TYPES)[number];

/**
 * How an empty string is carried. DynamoDB refuses an empty string as a key attribute, and the
 * staging sort key is built from the key columns, so a string key column must say what it does:
 * - `keep`: stored as it is (non-key columns only; DynamoDB takes empty non-key strings);
 * - `null`: stored and read back as NULL (nullable non-key columns; '' and NULL become one);
 * - `refuse`: an empty value is an error naming the table and column;
 * - `{ marker }`: replaced by the marker (e.g. CloudFront's `-`), which is then the value.
 */
const EmptyStringRuleSchema = z.union([
  z.enum(['keep', 'null', 'refuse']),
  z.object({ marker: z.string().min(1) }).strict(),
]);
export type EmptyStringRule = z.infer<typeof EmptyStringRuleSchema>;

const common = {
  /** The MySQL column (lower snake_case). */
  name: z.string().regex(IDENTIFIER, 'column names are lower snake_case, at most 64 characters'),
  /** The row's property and the staged item's attribute; camelCase of `name` when left out. */
  field: z.string().regex(FIELD).optional(),
  nullable: z.boolean().optional(),
  comment: z.string().max(1024).optional(),
  /** Words for error messages: `status 1000 … is not an HTTP status`. */
  meaning: z.string().optional(),
  /** The schema version that added the column (1: the table's first version). */
  since: z.number().int().min(1).optional(),
  /**
   * The value existing rows take when a later version adds the column (the row's representation);
   * required for a NOT NULL column added after version 1.
   */
  default: z.union([z.string(), z.number()]).optional(),
};

const ColumnDeclarationSchema = z.discriminatedUnion('type', [
  z
    .object({
      ...common,
      type: z.enum(INTEGER_TYPES),
      unsigned: z.boolean().optional(),
      min: z.number().int().optional(),
      max: z.number().int().optional(),
    })
    .strict(),
  z.object({ ...common, type: z.literal('double'), min: z.number().optional() }).strict(),
  z
    .object({
      ...common,
      type: z.literal('decimal'),
      precision: z.number().int().min(1).max(65),
      scale: z.number().int().min(0).max(30),
    })
    .strict(),
  z.object({ ...common, type: z.literal('date') }).strict(),
  /** `fsp`: fractional seconds digits, 0–6 (MySQL's DATETIME(fsp)). */
  z
    .object({ ...common, type: z.literal('datetime'), fsp: z.number().int().min(0).max(6).optional() })
    .strict(),
  /** A DATETIME holding the UTC start of an hour; rows carry it as `YYYY-MM-DDTHH`, the pipeline's hour. */
  z.object({ ...common, type: z.literal('hour') }).strict(),
  z
    .object({
      ...common,
      type: z.enum(['char', 'varchar']),
      length: z.number().int().min(1).max(16_383),
      emptyString: EmptyStringRuleSchema.optional(),
    })
    .strict(),
  z
    .object({
      ...common,
      type: z.enum(['text', 'mediumtext', 'longtext']),
      emptyString: EmptyStringRuleSchema.optional(),
    })
    .strict(),
  z.object({ ...common, type: z.enum(BLOB_TYPES) }).strict(),
]);
export type ColumnDeclaration = z.infer<typeof ColumnDeclarationSchema>;
export type ColumnType = ColumnDeclaration['type'];

export const TableDeclarationSchema = z
  .object({
    name: z.string().regex(IDENTIFIER, 'table names are lower snake_case, at most 64 characters'),
    description: z.string().optional(),
    /** The primary key's columns, in order; also the staging sort key's parts. */
    key: z.array(z.string()).min(1),
    columns: z.array(ColumnDeclarationSchema).min(1),
  })
  .strict();
export type TableDeclarationInput = z.input<typeof TableDeclarationSchema>;

/** A column with every default filled in. */
export type TableColumn = ColumnDeclaration & {
  field: string;
  nullable: boolean;
  since: number;
  /** Position in the primary key, or undefined. */
  keyIndex: number | undefined;
};

/** A checked declaration: what every derivation takes. */
export interface TableDeclaration {
  readonly name: string;
  readonly description: string | undefined;
  readonly columns: readonly TableColumn[];
  /** The key columns in key order. */
  readonly key: readonly TableColumn[];
  /** The latest schema version: the highest `since`. */
  readonly version: number;
}

/** `bytes_sent` → `bytesSent`. */
export type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;

export function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

/** The JavaScript value a column type carries in a row. */
export type ValueOfType<T> = T extends BlobType
  ? Uint8Array
  : T extends IntegerType | 'double'
    ? number
    : string;

type FieldOf<C> = C extends { field: infer F extends string }
  ? F
  : C extends { name: infer N extends string }
    ? CamelCase<N>
    : never;

/** The row type of a declaration written `as const`: one property per column, null where nullable. */
export type RowOf<T extends { columns: readonly unknown[] }> = {
  -readonly [C in T['columns'][number] as FieldOf<C>]: C extends { type: infer Type }
    ? ValueOfType<Type> | (C extends { nullable: true } ? null : never)
    : never;
};

/** Any value a declared column can carry. */
export type TableValue = string | number | Uint8Array | null;
export type TableRow = Record<string, TableValue>;

export type IntegerColumn = Extract<ColumnDeclaration, { type: IntegerType }>;

export function isIntegerColumn(column: ColumnDeclaration): column is IntegerColumn {
  return (INTEGER_TYPES as readonly string[]).includes(column.type);
}

export function isBlobColumn(column: ColumnDeclaration): boolean {
  return (BLOB_TYPES as readonly string[]).includes(column.type);
}

export function isStringColumn(
  column: ColumnDeclaration,
): column is Extract<ColumnDeclaration, { type: StringType }> {
  return (STRING_TYPES as readonly string[]).includes(column.type);
}

/** Integer types' ranges, cut to what a JS number holds exactly. */
export function integerRange(column: IntegerColumn): {
  min: number;
  max: number;
} {
  const bits = { tinyint: 8, smallint: 16, int: 32, bigint: 64 }[column.type];
  const typeMin = column.unsigned === true ? 0 : -(2 ** (bits - 1));
  const typeMax = column.unsigned === true ? 2 ** bits - 1 : 2 ** (bits - 1) - 1;
  return {
    min: Math.max(column.min ?? typeMin, typeMin, Number.MIN_SAFE_INTEGER),
    max: Math.min(column.max ?? typeMax, typeMax, Number.MAX_SAFE_INTEGER),
  };
}

/** Whether a column's key text has one width whatever its value (so the parts of a key stay apart). */
function fixedWidthKey(column: TableColumn): boolean {
  return !isStringColumn(column);
}

/**
 * Checks a declaration and fills in its defaults. Throws TableDeclarationError naming the table and
 * the column for every rule it breaks.
 */
export function declareTable(input: unknown): TableDeclaration {
  const parsed = TableDeclarationSchema.safeParse(input);
  const label =
    typeof input === 'object' && input !== null && 'name' in input ? String(input.name) : '(unnamed)';
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new TableDeclarationError(`Table ${label}: ${problems.join('; ')}`);
  }
  const declaration = parsed.data;
  const fail = (problem: string): never => {
    throw new TableDeclarationError(`Table ${declaration.name}: ${problem}`);
  };
  const columns: TableColumn[] = declaration.columns.map((column) => ({
    ...column,
    field: column.field ?? camelCase(column.name),
    nullable: column.nullable ?? false,
    since: column.since ?? 1,
    keyIndex: declaration.key.indexOf(column.name) >= 0 ? declaration.key.indexOf(column.name) : undefined,
  }));
  for (const [index, column] of columns.entries()) {
    const where = `column ${column.name}`;
    if (columns.findIndex((other) => other.name === column.name) !== index)
      fail(`${where} is declared twice`);
    if (columns.findIndex((other) => other.field === column.field) !== index) {
      fail(`${where}: field ${column.field} is used by another column`);
    }
    if (column.since > 1 && !column.nullable && column.default === undefined) {
      fail(
        `${where} is added in version ${column.since} and NOT NULL: declare a default for the rows the table already holds`,
      );
    }
    if (column.keyIndex !== undefined) {
      if (column.nullable) fail(`${where} is in the key and cannot be nullable`);
      if (column.since > 1) fail(`${where}: a key column cannot be added by a later version`);
      if (column.type === 'double' || column.type === 'decimal' || isBlobColumn(column)) {
        fail(`${where}: a ${column.type} column cannot be part of the key`);
      }
      if (isIntegerColumn(column) && integerRange(column).min < 0) {
        fail(`${where}: an integer key column needs min >= 0 (its staging key text is zero-padded)`);
      }
      if ((STRING_TYPES as readonly string[]).includes(column.type)) {
        const rule = 'emptyString' in column ? column.emptyString : undefined;
        if (rule === undefined || rule === 'keep' || rule === 'null') {
          fail(
            `${where}: a string key column must declare emptyString as "refuse" or { "marker": … } (DynamoDB refuses empty key strings)`,
          );
        }
      }
    }
    if ('emptyString' in column && column.emptyString === 'null' && !column.nullable) {
      fail(`${where}: emptyString "null" needs a nullable column`);
    }
    if (column.type === 'decimal' && column.scale > column.precision) {
      fail(`${where}: scale ${column.scale} is larger than precision ${column.precision}`);
    }
    if (isIntegerColumn(column) && integerRange(column).min > integerRange(column).max) {
      fail(`${where}: min is above max`);
    }
  }
  const key = declaration.key.map(
    (name) => columns.find((column) => column.name === name) ?? fail(`key column ${name} is not declared`),
  );
  if (new Set(declaration.key).size !== declaration.key.length) fail('a key column is listed twice');
  if (key.filter((column) => !fixedWidthKey(column)).length > 1) {
    fail('at most one key column may be a variable-length string (the staging key joins them with #)');
  }
  return {
    name: declaration.name,
    description: declaration.description,
    columns,
    key,
    version: Math.max(...columns.map((column) => column.since)),
  };
}

/** The column named `name` (the MySQL name), or an error naming the table. */
export function columnNamed(table: TableDeclaration, name: string): TableColumn {
  const column = table.columns.find((candidate) => candidate.name === name);
  if (column === undefined) throw new TableDeclarationError(`Table ${table.name} has no column ${name}`);
  return column;
}
