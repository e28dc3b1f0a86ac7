import { EtlError } from './errors';

/**
 * The write to MySQL failed for a reason that may pass (connection dropped, server restarting or
 * failing over, deadlock, lock wait timeout, credentials mid-rotation, another migrator holding the
 * schema lock) and every retry here was used up. The state machine's Retry matches this name.
 */
export class RetryableWriteError extends EtlError {}
/** MySQL refused a statement for a reason a retry cannot fix (schema, data, rights). */
export class WarehouseWriteError extends EtlError {}
/** A row cannot be written as it is: a value its column cannot hold, two rows with one key. */
export class WarehouseRowError extends EtlError {}
