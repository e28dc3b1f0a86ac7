import type { Token } from './sql-lexer';

/**
 * Why a query ended FAILED or CANCELLED, in Athena's terms: `StateChangeReason` plus the
 * `AthenaError` fields (category 1 = system, 2 = user; error types from the Athena error catalog).
 */
export interface AthenaErrorInfo {
  category: 1 | 2 | 3;
  type: number;
  retryable: boolean;
}

export type FinalState = 'FAILED' | 'CANCELLED';

export class QueryFailure extends Error {
  constructor(
    /** Full `StateChangeReason`, e.g. `COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved`. */
    readonly reason: string,
    readonly athenaError: AthenaErrorInfo,
    readonly state: FinalState = 'FAILED',
    options?: { cause?: unknown },
  ) {
    super(reason, options);
    this.name = 'QueryFailure';
  }
}

/** Error types from https://docs.aws.amazon.com/athena/latest/ug/error-reference.html */
const ERROR_TYPES = {
  INTERNAL: 200,
  RESULT_WRITE: 401,
  USER: 1000,
  DATA: 1001,
  DDL: 1003,
  SYNTAX: 1006,
  QUERY_REJECTED: 1008,
  CANCELLED_BY_USER: 1011,
  INVALID_ARGUMENT: 1100,
  INVALID_FUNCTION_ARGUMENT: 1106,
  TABLE_NOT_FOUND: 1110,
  NOT_SUPPORTED: 1200,
  NOT_FOUND: 1301,
  FUNCTION_NOT_FOUND: 1303,
} as const;

/** Athena error codes (the prefix of `StateChangeReason`) with their `AthenaError` type. */
const CODE_TYPES: Record<string, number> = {
  SYNTAX_ERROR: ERROR_TYPES.SYNTAX,
  COLUMN_NOT_FOUND: ERROR_TYPES.SYNTAX,
  MISSING_COLUMN_NAME: ERROR_TYPES.SYNTAX,
  EXPRESSION_NOT_AGGREGATE: ERROR_TYPES.SYNTAX,
  TYPE_MISMATCH: ERROR_TYPES.SYNTAX,
  AMBIGUOUS_NAME: ERROR_TYPES.SYNTAX,
  TABLE_NOT_FOUND: ERROR_TYPES.TABLE_NOT_FOUND,
  SCHEMA_NOT_FOUND: ERROR_TYPES.NOT_FOUND,
  CATALOG_NOT_FOUND: ERROR_TYPES.NOT_FOUND,
  FUNCTION_NOT_FOUND: ERROR_TYPES.FUNCTION_NOT_FOUND,
  INVALID_CAST_ARGUMENT: ERROR_TYPES.INVALID_FUNCTION_ARGUMENT,
  INVALID_FUNCTION_ARGUMENT: ERROR_TYPES.INVALID_FUNCTION_ARGUMENT,
  NUMERIC_VALUE_OUT_OF_RANGE: ERROR_TYPES.INVALID_FUNCTION_ARGUMENT,
  DIVISION_BY_ZERO: ERROR_TYPES.INVALID_FUNCTION_ARGUMENT,
  CONSTRAINT_VIOLATION: ERROR_TYPES.INVALID_ARGUMENT,
  NOT_SUPPORTED: ERROR_TYPES.NOT_SUPPORTED,
  HIVE_BAD_DATA: ERROR_TYPES.DATA,
  HIVE_UNKNOWN_ERROR: ERROR_TYPES.DATA,
  GENERIC_USER_ERROR: ERROR_TYPES.USER,
  GENERIC_INTERNAL_ERROR: ERROR_TYPES.INTERNAL,
};

/**
 * The message of anything thrown. Duck-typed: errors from the DuckDB native addon are not
 * `instanceof Error` where the caller runs in another realm (jest's module sandbox).
 */
export function errorMessage(error: unknown): string {
  if (
    typeof error === 'object' &&
    error !== null &&
    'message' in error &&
    typeof error.message === 'string'
  ) {
    return error.message;
  }
  return String(error);
}

export function errorName(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'name' in error && typeof error.name === 'string')
    return error.name;
  return 'Error';
}

/** A user error with an Athena error code prefix: `<CODE>: <message>`. */
export function userError(code: string, message: string): QueryFailure {
  return new QueryFailure(`${code}: ${message}`, {
    category: 2,
    type: CODE_TYPES[code] ?? ERROR_TYPES.USER,
    retryable: false,
  });
}

/** `line L:C: ` as Trino prefixes messages about a place in the statement. */
export function at(token: Pick<Token, 'line' | 'column'> | undefined): string {
  return token === undefined ? '' : `line ${token.line}:${token.column}: `;
}

/** The message Athena gives for SQL the local stand-in knowingly does not run. */
export function notSupported(what: string, token?: Token): QueryFailure {
  return userError('NOT_SUPPORTED', `${at(token)}${what} is not supported by the local Athena stand-in`);
}

/** DDL failures read like Hive's (`FAILED: SemanticException …`) and carry the "DDL task failed" type. */
export function ddlError(message: string): QueryFailure {
  return new QueryFailure(`FAILED: ${message}`, { category: 2, type: ERROR_TYPES.DDL, retryable: false });
}

export function internalError(message: string, cause?: unknown): QueryFailure {
  return new QueryFailure(
    `GENERIC_INTERNAL_ERROR: ${message}`,
    { category: 1, type: ERROR_TYPES.INTERNAL, retryable: true },
    'FAILED',
    { cause },
  );
}

export function resultWriteError(message: string, cause?: unknown): QueryFailure {
  return new QueryFailure(
    message,
    { category: 1, type: ERROR_TYPES.RESULT_WRITE, retryable: true },
    'FAILED',
    {
      cause,
    },
  );
}

export const CANCELLED_BY_USER = (): QueryFailure =>
  new QueryFailure(
    'Query cancelled by user',
    { category: 2, type: ERROR_TYPES.CANCELLED_BY_USER, retryable: false },
    'CANCELLED',
  );

/** What Athena reports when a workgroup's `BytesScannedCutoffPerQuery` stops a query: it is cancelled. */
export const BYTES_SCANNED_LIMIT = (): QueryFailure =>
  new QueryFailure(
    'Bytes scanned limit was exceeded',
    { category: 2, type: ERROR_TYPES.QUERY_REJECTED, retryable: false },
    'CANCELLED',
  );

/**
 * Turns a DuckDB error into the Athena/Trino wording a user would see for the same mistake. Positions
 * refer to the statement the user sent (the translated SQL differs), found by the name in the error.
 */
export function fromDuckDbError(error: unknown, original: readonly Token[]): QueryFailure {
  const full = errorMessage(error);
  // DuckDB appends "LINE 1: <excerpt of the translated SQL>"; that text means nothing to the user.
  const message = (full.split(/\n\s*\nLINE \d+:/)[0]?.trim() ?? full).replace(
    /^Failed to extract statements: /,
    '',
  );
  const firstLine = message.split('\n')[0] ?? message;
  const find = (name: string) =>
    original.find((token) => token.value.toLowerCase() === name.toLowerCase() || token.text === name);

  let match = /^Parser Error: syntax error at or near "(.*)"/.exec(firstLine);
  if (match?.[1] !== undefined) {
    return userError('SYNTAX_ERROR', `${at(find(match[1]))}mismatched input '${match[1]}'`);
  }
  if (/^Parser Error: syntax error at end of input/.test(firstLine)) {
    return userError('SYNTAX_ERROR', `${at(original.at(-1))}mismatched input '<EOF>'`);
  }
  match =
    /^Binder Error: Referenced column "(.+?)" not found/.exec(firstLine) ??
    /^Binder Error: (?:Table|Values list) "[^"]*" does not have a column named "(.+?)"/.exec(firstLine) ??
    /^Binder Error: Referenced table "(.+?)" not found/.exec(firstLine);
  if (match?.[1] !== undefined) {
    return userError(
      'COLUMN_NOT_FOUND',
      `${at(find(match[1]))}Column '${match[1]}' cannot be resolved or requester is not authorized to access requested resources`,
    );
  }
  match = /^Catalog Error: (?:Scalar|Aggregate|Table) Function with name "?([^\s"!]+)"? does not exist/.exec(
    firstLine,
  );
  if (match?.[1] !== undefined) {
    return userError('FUNCTION_NOT_FOUND', `${at(find(match[1]))}Function '${match[1]}' not registered`);
  }
  match = /^Binder Error: No function matches the given name and argument types '([^(]+)\((.*)\)'/.exec(
    firstLine,
  );
  if (match?.[1] !== undefined) {
    const name = match[1].replace(/^trino_/, '');
    return userError(
      'FUNCTION_NOT_FOUND',
      `${at(find(name))}Unexpected parameters (${(match[2] ?? '').toLowerCase()}) for function ${name}`,
    );
  }
  match = /^Binder Error: column "(.+?)" must appear in the GROUP BY clause/.exec(firstLine);
  if (match?.[1] !== undefined) {
    return userError(
      'EXPRESSION_NOT_AGGREGATE',
      `${at(find(match[1]))}'${match[1]}' must be an aggregate expression or appear in GROUP BY clause`,
    );
  }
  match = /^Binder Error: Ambiguous reference to column name "(.+?)"/.exec(firstLine);
  if (match?.[1] !== undefined) {
    return userError('AMBIGUOUS_NAME', `${at(find(match[1]))}Column '${match[1]}' is ambiguous`);
  }
  match = /^Conversion Error: Could not convert string '(.*)' to (\w+)/.exec(firstLine);
  if (match?.[1] !== undefined) {
    return userError(
      'INVALID_CAST_ARGUMENT',
      `Cannot cast '${match[1]}' to ${(match[2] ?? '').replace(/\d+$/, '')}`,
    );
  }
  match = /^(\w[\w ]*?) Error: (.*)$/s.exec(message);
  const kind = match?.[1] ?? '';
  const detail = `${match?.[2] ?? message} (local engine: DuckDB)`;
  if (kind === 'Conversion') return userError('INVALID_CAST_ARGUMENT', detail);
  if (kind === 'Out of Range') return userError('NUMERIC_VALUE_OUT_OF_RANGE', detail);
  if (kind === 'Invalid Input') return userError('INVALID_FUNCTION_ARGUMENT', detail);
  if (kind === 'Parser') return userError('SYNTAX_ERROR', detail);
  if (kind === 'Binder' || kind === 'Catalog') return userError('SYNTAX_ERROR', detail);
  if (kind === 'IO' || kind === 'Permission') return userError('HIVE_BAD_DATA', detail);
  return userError('GENERIC_USER_ERROR', detail);
}
