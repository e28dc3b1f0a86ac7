/**
 * How the parent runs its batches (stage param `batchMapMode`, docs/run-model.md): an inline Map
 * whose iterations are events of the parent's own history, or a Distributed Map that reads the
 * batch list from S3 and runs each batch in a child workflow execution with a history of its own.
 * `auto` lets ingest choose distributed only when the inline parent cannot hold the batches.
 * A file of its own so that the config reads it without the run model.
 */
export const BATCH_MAP_MODES = ['inline', 'distributed', 'auto'] as const;
export type BatchMapMode = (typeof BATCH_MAP_MODES)[number];
/** What a run uses: `auto` resolved. */
export type BatchMap = Exclude<BatchMapMode, 'auto'>;
