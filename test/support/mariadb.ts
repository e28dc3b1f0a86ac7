import { type Connection, createConnection } from 'mysql2/promise';
import type { LocalMariaDb } from '#local/services/mariadb';

/**
 * A root connection over the test server's socket, for a test to inspect tables apart from the
 * writer's own credentials. Numbers and dates come back as the text MySQL stores (exact BIGINT
 * and DECIMAL, no time zone shift), as the assertions compare them.
 */
export function rootConnection(
  mariadb: LocalMariaDb,
  database = mariadb.credentials.database,
): Promise<Connection> {
  return createConnection({
    socketPath: mariadb.socket,
    user: 'root',
    database,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
  });
}
