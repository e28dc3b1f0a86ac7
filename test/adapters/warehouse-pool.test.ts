/**
 * The writer's pool replacement after a refused login, with the pool stood in for: the race it
 * covers (a call whose connection was still being made when another call's refused login closed
 * the pool) depends on when MariaDB answers two handshakes, which a real server does not let a
 * test choose. The rest of the rotation story runs on real MariaDB in warehouse.test.ts.
 */
import type { Pool, PoolConnection } from 'mysql2/promise';
import type { DatabaseCredentials } from '#shared/adapters/secrets';
import { MysqlWarehouse } from '#shared/adapters/warehouse';

const pools: FakePool[] = [];

jest.mock('#shared/adapters/mysql-pool', () => ({
  createMysqlPool: (credentials: DatabaseCredentials) => {
    const pool = new FakePool(credentials.password);
    pools.push(pool);
    return pool as unknown as Pool;
  },
}));

const accessDenied = Object.assign(new Error("Access denied for user 'etl'@'localhost'"), {
  code: 'ER_ACCESS_DENIED_ERROR',
  errno: 1045,
});

/** A pool whose logins succeed only with the current password; `end()` fails the logins under way. */
class FakePool {
  ended = false;
  private readonly connecting: ((error: Error) => void)[] = [];

  /** Logins whose answer waits (a slow handshake): they end as mysql2's do when the pool closes. */
  readonly slowLogins = { count: 0 };

  constructor(private readonly password: string) {}

  getConnection(): Promise<PoolConnection> {
    if (this.ended) return Promise.reject(new Error('Pool is closed.'));
    if (this.password === secret.password) return Promise.resolve(connection());
    if (this.slowLogins.count > 0) {
      this.slowLogins.count--;
      return new Promise((_, reject) => this.connecting.push(reject));
    }
    return Promise.reject(accessDenied);
  }

  async end(): Promise<void> {
    this.ended = true;
    for (const reject of this.connecting.splice(0)) reject(new Error('Pool is closed.'));
  }
}

function connection(): PoolConnection {
  return {
    query: () => Promise.resolve([[], []]),
    release: () => undefined,
    destroy: () => undefined,
  } as unknown as PoolConnection;
}

const secret = { password: 'old-password' };

describe('MysqlWarehouse pool replacement after a refused login', () => {
  beforeEach(() => {
    pools.length = 0;
    secret.password = 'old-password';
  });

  it('a call whose login was still under way when another call retired the pool goes again on the new pool', async () => {
    let refreshes = 0;
    const credentials = {
      get: () => Promise.resolve(credentialsWith(secret.password)),
      refresh: () => {
        refreshes++;
        return Promise.resolve(credentialsWith(secret.password));
      },
    };
    const writer = new MysqlWarehouse(credentials, { sleep: () => Promise.resolve() });
    // The password rotated after the pool was made: one login is refused at once, the other is
    // still in its handshake when the refusal closes the pool.
    expect(await writer.hoursSummary(['2024-07-13T05'])).toEqual([
      { hour: '2024-07-13T05', requests: 0, bytes: 0 },
    ]);
    const oldPool = pools[0];
    if (oldPool === undefined) throw new Error('no pool was made');
    oldPool.slowLogins.count = 1;
    secret.password = 'rotated-password';
    const second = writer.hoursSummary(['2024-07-13T06']);
    const third = writer.hoursSummary(['2024-07-13T07']);

    await expect(Promise.all([second, third])).resolves.toEqual([
      [{ hour: '2024-07-13T06', requests: 0, bytes: 0 }],
      [{ hour: '2024-07-13T07', requests: 0, bytes: 0 }],
    ]);
    expect(refreshes).toBe(1);
    expect(oldPool.ended).toBe(true);
    expect(pools).toHaveLength(2);
  });
});

function credentialsWith(password: string): DatabaseCredentials {
  return { host: '127.0.0.1', port: 3306, username: 'etl', password, dbname: 'etl' };
}
