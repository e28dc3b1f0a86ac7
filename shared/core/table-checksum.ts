import { createHash } from 'node:crypto';
import type { TableDeclaration, TableRow } from './table-declaration';

/**
 * An order-independent checksum of a table's rows (docs/db-sync.md#reconciliation): the count, and
 * the sum modulo 2^64 of each row's hash (the first 8 bytes of the SHA-256 of its canonical values
 * in declaration order). Rows may be added in any order and in any number of pieces: two tables
 * with the same rows have the same checksum, and one changed value changes it (but for a 2^-64
 * chance). Both sides of a copy hash the canonical values (shared/core/table-values.ts), so the
 * MySQL text of a value never matters, only what it means.
 */
export interface TableChecksum {
  rows: number;
  /** 16 hex digits. */
  checksum: string;
}

const MODULUS = 1n << 64n;

export function emptyChecksum(): TableChecksum {
  return { rows: 0, checksum: '0'.padStart(16, '0') };
}

/** One row's canonical text: its declared values in order, bytes as base64, NULL as null. */
export function canonicalRowText(table: TableDeclaration, row: TableRow): string {
  return JSON.stringify(
    table.columns.map((column) => {
      const value = row[column.field] ?? null;
      return value instanceof Uint8Array ? { bytes: Buffer.from(value).toString('base64') } : value;
    }),
  );
}

/** `checksum` with `rows` added. */
export function addRows(
  table: TableDeclaration,
  checksum: TableChecksum,
  rows: readonly TableRow[],
): TableChecksum {
  let sum = BigInt(`0x${checksum.checksum}`);
  for (const row of rows) {
    const digest = createHash('sha256').update(canonicalRowText(table, row)).digest();
    sum = (sum + digest.readBigUInt64BE(0)) % MODULUS;
  }
  return { rows: checksum.rows + rows.length, checksum: sum.toString(16).padStart(16, '0') };
}
