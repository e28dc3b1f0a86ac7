import { parseSyncConfig } from '#shared/core/sync-config';
import config from '../../config/db-sync.json';

/**
 * The tables the db-sync pipeline copies, from the one config file `config/db-sync.json`
 * (docs/db-sync.md#the-config): adding or remapping a table changes that file only, never a
 * handler or a state machine. Checked when the module loads: a bad config fails every
 * invocation with a ConfigError naming the table and column.
 */
export const syncTables = parseSyncConfig(config);
