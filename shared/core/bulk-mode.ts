/**
 * How the warehouse writer sends a batch to MySQL: `load-data` streams it with `LOAD DATA LOCAL
 * INFILE` (the server must have `local_infile` on, an RDS parameter), `insert` sends multi-row
 * INSERT text (every server takes it), `auto` uses `load-data` where the server allows it.
 */
export const WAREHOUSE_BULK_MODES = ['auto', 'insert', 'load-data'] as const;
export type WarehouseBulkMode = (typeof WAREHOUSE_BULK_MODES)[number];
