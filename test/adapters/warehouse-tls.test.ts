import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalMariaDb, startMariaDb } from '#local/services/mariadb';
import type { DatabaseCredentials, DatabaseCredentialsSource } from '#shared/adapters/secrets';
import { MysqlWarehouse } from '#shared/adapters/warehouse';

const noWait = async () => undefined;

describe('MysqlWarehouse with TLS required (the deployed setting, DB_TLS=rds)', () => {
  let directory: string;
  let mariadb: LocalMariaDb;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'etl-tls-'));
    mariadb = await startMariaDb({ directory });
  });
  afterAll(async () => {
    await mariadb?.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  function writer(ssl: 'Amazon RDS' | undefined): MysqlWarehouse {
    const { host, port, user, password, database } = mariadb.credentials;
    const credentials: DatabaseCredentials = { host, port, username: user, password, dbname: database };
    const source: DatabaseCredentialsSource = {
      get: async () => credentials,
      refresh: async () => credentials,
    };
    return new MysqlWarehouse(source, { sleep: noWait, ...(ssl !== undefined && { ssl }) });
  }

  it('refuses a server that offers no TLS instead of sending the password in the clear', async () => {
    // The local MariaDB has no certificate: a client that insists on TLS must stop at the handshake.
    const withTls = writer('Amazon RDS');
    try {
      await expect(withTls.ensureSchema()).rejects.toThrow(/secure connection|SSL|TLS/i);
    } finally {
      await withTls.close();
    }
    const plain = writer(undefined);
    try {
      await expect(plain.ensureSchema()).resolves.toBeUndefined();
    } finally {
      await plain.close();
    }
  });
});
