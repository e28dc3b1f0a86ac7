import { declareTable } from '#shared/core/table-declaration';
import { RUN_ID_MAX_CHARS } from '#shared/core/table-sql';

/**
 * The writer's own tables, declared like the data tables and migrated with them.
 *
 * The load ledger: one row per loaded batch, written in the batch's own transaction, so after a
 * commit the ledger and the data agree and a write retried after an unknown outcome (connection
 * lost during COMMIT) can tell what is already in. `row_count`, not `rows`: ROWS is a reserved
 * word since MySQL 8.0.2.
 */
export const loadLedger = declareTable({
  name: 'etl_load_ledger',
  key: ['run_id', 'batch_no'],
  columns: [
    { name: 'run_id', type: 'varchar', length: RUN_ID_MAX_CHARS, emptyString: 'refuse' },
    { name: 'batch_no', type: 'int', min: 0 },
    { name: 'row_count', type: 'int', min: 0 },
    {
      name: 'digest',
      type: 'char',
      length: 64,
      comment: 'SHA-256 of the batch rows: same content, same digest',
    },
    { name: 'loaded_at', type: 'datetime', fsp: 3, comment: 'UTC' },
  ],
});

/** Which migration of which table a database has taken (shared/adapters/warehouse-migrations.ts). */
export const schemaVersion = declareTable({
  name: 'etl_schema_version',
  key: ['table_name', 'version'],
  columns: [
    { name: 'table_name', type: 'varchar', length: 64, emptyString: 'refuse' },
    { name: 'version', type: 'int', min: 1 },
    { name: 'description', type: 'varchar', length: 255 },
    { name: 'applied_at', type: 'datetime', fsp: 3, comment: 'UTC' },
  ],
});
