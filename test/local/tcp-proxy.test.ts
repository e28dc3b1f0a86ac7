import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Connection, createConnection } from 'mysql2/promise';
import { type LocalMariaDb, startMariaDb } from '#local/services/mariadb';
import { startTcpProxy, type TcpProxy } from '#local/services/tcp-proxy';

/** A connection error as mysql2 reports a dropped socket (code only: the message varies). */
const CONNECTION_LOST = /^(PROTOCOL_CONNECTION_LOST|ECONNRESET|EPIPE)$/;

async function connectionErrorCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return typeof error === 'object' && error !== null && 'code' in error
      ? String(error.code)
      : String(error);
  }
  throw new Error('expected the statement to fail with a connection error');
}

describe('TCP proxy in front of MariaDB that cuts connections', () => {
  let directory: string;
  let mariadb: LocalMariaDb;
  let proxy: TcpProxy;
  const open: Connection[] = [];

  const connect = async (through: 'proxy' | 'direct') => {
    const { host, port, user, password, database } = mariadb.credentials;
    const connection = await createConnection({
      host,
      port: through === 'proxy' ? proxy.port : port,
      user,
      password,
      database,
    });
    // An error on a connection the proxy cut must not surface as an unhandled 'error' event.
    connection.on('error', () => undefined);
    open.push(connection);
    return connection;
  };

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'etl-proxy-'));
    mariadb = await startMariaDb({ directory });
    proxy = await startTcpProxy({
      target: { host: mariadb.credentials.host, port: mariadb.credentials.port },
    });
    const direct = await connect('direct');
    await direct.query('CREATE TABLE t (id INT PRIMARY KEY, n BIGINT NOT NULL) ENGINE=InnoDB');
  });

  afterEach(async () => {
    proxy.clearFaults();
    for (const connection of open.splice(0)) connection.destroy();
    const direct = await connect('direct');
    await direct.query('DELETE FROM t');
    direct.destroy();
    open.length = 0;
  });

  afterAll(async () => {
    await proxy?.stop();
    await mariadb?.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  const count = async () => {
    const direct = await connect('direct');
    const [rows] = await direct.query('SELECT COUNT(*) AS n FROM t');
    return Number((rows as { n: number }[])[0]?.n);
  };

  it('passes a session through unchanged and records its statements', async () => {
    const before = proxy.connections;
    const connection = await connect('proxy');
    await connection.query('INSERT INTO t VALUES (1, 10)');
    const [rows] = await connection.query('SELECT id, n FROM t');
    expect(rows).toEqual([{ id: 1, n: 10 }]);
    expect(proxy.connections).toBe(before + 1);
    expect(proxy.queries.slice(-2).map((query) => query.sql)).toEqual([
      'INSERT INTO t VALUES (1, 10)',
      'SELECT id, n FROM t',
    ]);
  });

  it('carries a statement larger than one TCP read (a 1 MB INSERT) intact', async () => {
    const connection = await connect('proxy');
    const values = Array.from({ length: 50_000 }, (_, index) => `(${index + 1}, ${index * 7})`).join(',');
    await connection.query(`INSERT INTO t VALUES ${values}`);
    expect(await count()).toBe(50_000);
  });

  it('cuts half-way through a matching INSERT inside a transaction: the server rolls it back and releases its locks', async () => {
    const cuts = proxy.cuts;
    const connection = await connect('proxy');
    await connection.beginTransaction();
    await connection.query('INSERT INTO t VALUES (1, 10)');
    proxy.cutOnQuery({ match: /^INSERT INTO t VALUES \(2/, at: 'mid-packet' });
    expect(await connectionErrorCode(connection.query('INSERT INTO t VALUES (2, 20)'))).toMatch(
      CONNECTION_LOST,
    );
    expect(proxy.cuts).toBe(cuts + 1);
    expect(proxy.queries.at(-1)).toMatchObject({ sql: 'INSERT INTO t VALUES (2, 20)', cut: 'mid-packet' });

    // The row of the first INSERT was never committed, and its lock was released by the
    // server's rollback: a direct session can write the same key without waiting.
    const direct = await connect('direct');
    await direct.query('SET SESSION innodb_lock_wait_timeout = 5');
    await direct.query('INSERT INTO t VALUES (1, 11)');
    const [rows] = await direct.query('SELECT id, n FROM t ORDER BY id');
    expect(rows).toEqual([{ id: 1, n: 11 }]);
  });

  it('cuts half-way through a matching statement before the server could run it (autocommit: nothing lands)', async () => {
    const connection = await connect('proxy');
    proxy.cutOnQuery({ match: /^INSERT INTO t VALUES \(5/, at: 'mid-packet' });
    expect(await connectionErrorCode(connection.query('INSERT INTO t VALUES (5, 50)'))).toMatch(
      CONNECTION_LOST,
    );
    expect(await count()).toBe(0);
  });

  it('cuts before the reply to a matching COMMIT: the server committed, the client saw no OK', async () => {
    const connection = await connect('proxy');
    await connection.beginTransaction();
    await connection.query('INSERT INTO t VALUES (3, 30)');
    proxy.cutOnQuery({ match: /^COMMIT/, at: 'before-reply' });
    expect(await connectionErrorCode(connection.commit())).toMatch(CONNECTION_LOST);
    expect(proxy.queries.at(-1)).toMatchObject({ sql: 'COMMIT', cut: 'before-reply' });
    expect(await count()).toBe(1);
  });

  it('stalls on a matching statement: nothing comes back and only a client-side timeout ends the wait', async () => {
    const cuts = proxy.cuts;
    const connection = await connect('proxy');
    proxy.cutOnQuery({ match: /^INSERT INTO t VALUES \(4/, at: 'stall' });
    const started = Date.now();
    expect(
      await connectionErrorCode(connection.query({ sql: 'INSERT INTO t VALUES (4, 40)', timeout: 300 })),
    ).toBe('PROTOCOL_SEQUENCE_TIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(proxy.cuts).toBe(cuts + 1);
    expect(proxy.openConnections).toBeGreaterThan(0);
    expect(await count()).toBe(0);
  });

  it('cuts only as many matching statements as armed', async () => {
    const cuts = proxy.cuts;
    proxy.cutOnQuery({ match: /^SELECT 1/, at: 'mid-packet', times: 1 });
    const first = await connect('proxy');
    expect(await connectionErrorCode(first.query('SELECT 1'))).toMatch(CONNECTION_LOST);
    const second = await connect('proxy');
    const [rows] = await second.query('SELECT 1 AS one');
    expect(rows).toEqual([{ one: 1 }]);
    expect(proxy.cuts).toBe(cuts + 1);
  });

  it('cuts after a number of client bytes, wherever they fall in the protocol', async () => {
    const connection = await connect('proxy');
    const cuts = proxy.cuts;
    // COM_QUERY packet of 'SELECT 1': 4 header bytes + 1 command byte + 8 bytes of text.
    proxy.cutAfterBytes(7);
    expect(await connectionErrorCode(connection.query('SELECT 1'))).toMatch(CONNECTION_LOST);
    expect(proxy.cuts).toBe(cuts + 1);
  });

  it('cuts every open connection at once, idle ones included', async () => {
    const a = await connect('proxy');
    const b = await connect('proxy');
    expect(proxy.openConnections).toBeGreaterThanOrEqual(2);
    expect(proxy.cutAll()).toBeGreaterThanOrEqual(2);
    expect(proxy.openConnections).toBe(0);
    expect(await connectionErrorCode(a.query('SELECT 1'))).toMatch(
      /CONNECTION_LOST|closed state|ECONNRESET|EPIPE/,
    );
    expect(await connectionErrorCode(b.query('SELECT 1'))).toMatch(
      /CONNECTION_LOST|closed state|ECONNRESET|EPIPE/,
    );
  });

  it('closes its connections and its port on stop', async () => {
    const extra = await startTcpProxy({
      target: { host: mariadb.credentials.host, port: mariadb.credentials.port },
    });
    const { user, password, database, host } = mariadb.credentials;
    const connection = await createConnection({ host, port: extra.port, user, password, database });
    connection.on('error', () => undefined);
    await extra.stop();
    expect(extra.openConnections).toBe(0);
    expect(await connectionErrorCode(connection.query('SELECT 1'))).toMatch(
      /CONNECTION_LOST|closed state|ECONNRESET|EPIPE/,
    );
    await expect(
      createConnection({ host, port: extra.port, user, password, database }),
    ).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
    connection.destroy();
  });
});
