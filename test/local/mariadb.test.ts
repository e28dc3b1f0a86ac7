import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { type LocalMariaDb, startMariaDb } from '#local/services/mariadb';
import { processRuns } from '#shared/core/process';

describe('private MariaDB server', () => {
  let directory: string;
  let mariadb: LocalMariaDb;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'etl-mysql-'));
    mariadb = await startMariaDb({ directory });
  });

  afterAll(async () => {
    await mariadb?.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  it('serves the application user over TCP on loopback with a password', async () => {
    const { host, port, user, password, database } = mariadb.credentials;
    expect(host).toBe('127.0.0.1');
    expect(user).not.toBe('root');
    expect(password.length).toBeGreaterThanOrEqual(16);

    const connection = await createConnection({ host, port, user, password, database });
    try {
      await connection.query('CREATE TABLE t (id INT PRIMARY KEY, n BIGINT NOT NULL)');
      await connection.query('INSERT INTO t VALUES (1, 10), (2, 20) ON DUPLICATE KEY UPDATE n = VALUES(n)');
      await connection.query('INSERT INTO t VALUES (1, 11) ON DUPLICATE KEY UPDATE n = VALUES(n)');
      const [rows] = await connection.query('SELECT id, n FROM t ORDER BY id');
      expect(rows).toEqual([
        { id: 1, n: 11 },
        { id: 2, n: 20 },
      ]);
      // Rights on its own database only.
      await expect(connection.query('SELECT * FROM mysql.user')).rejects.toThrow(/denied/);
    } finally {
      await connection.end();
    }
  });

  it('rejects a wrong password', async () => {
    const { host, port, user, database } = mariadb.credentials;
    await expect(createConnection({ host, port, user, password: 'wrong', database })).rejects.toThrow(
      /Access denied/,
    );
  });

  it('reuses the data directory and stops its process', async () => {
    const { password, port } = mariadb.credentials;
    const pid = mariadb.pid;
    await mariadb.stop();
    expect(processRuns(pid)).toBe(false);

    mariadb = await startMariaDb({ directory, port });
    expect(mariadb.credentials.password).toBe(password);
    const { host, user, database } = mariadb.credentials;
    const connection = await createConnection({
      host,
      port: mariadb.credentials.port,
      user,
      password,
      database,
    });
    const [rows] = await connection.query('SELECT COUNT(*) AS n FROM t');
    await connection.end();
    expect(rows).toEqual([{ n: 2 }]);
  });
});
