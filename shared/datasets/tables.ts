import { ConfigError } from '#shared/core/errors';
import { cloudfrontTable } from './cloudfront/table';
import type { TableDefinition } from './table';

/**
 * The registered datasets' curated tables, without their readers: what the aggregate function
 * needs (the table's name) without bundling the parsers and the Parquet reader. `index.ts`
 * registers the same datasets with their readers; a test keeps the two lists equal.
 */
export const TABLES: Readonly<Record<string, TableDefinition>> = { cloudfront: cloudfrontTable };

export function tableNamed(dataset: string): TableDefinition {
  const table = TABLES[dataset];
  if (table === undefined) {
    throw new ConfigError(`Unknown dataset '${dataset}'; known: ${Object.keys(TABLES).join(', ')}`);
  }
  return table;
}
