import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Connection, createConnection } from 'mysql2/promise';
import { processRuns } from '#shared/core/process';
import { freePort } from './ports';
import { LOOPBACK, type RunningService } from './service';

export interface MariaDbOptions {
  /** Data directory root (`.local/mysql` for the stack). */
  directory: string;
  port?: number;
  database?: string;
  user?: string;
  /** Logger for the one-time install message. */
  log?: (message: string) => void;
}

export interface MysqlCredentials {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

export interface LocalMariaDb extends RunningService {
  readonly credentials: MysqlCredentials;
  readonly socket: string;
  readonly pid: number;
}

const SERVER_BINARIES = ['/usr/sbin/mariadbd', '/usr/sbin/mysqld', '/usr/bin/mariadbd'];
const INSTALL_HINT = 'sudo apt-get install -y mariadb-server   (macOS: brew install mariadb)';

/**
 * A private MariaDB server: its own data directory, port and socket, started with `--no-defaults`
 * so no system my.cnf leaks in, bound to loopback, with an application user that has a password
 * and rights on one database only (the writer never runs as root).
 */
export async function startMariaDb(options: MariaDbOptions): Promise<LocalMariaDb> {
  const serverBinary = ensureServerBinary(options.log ?? console.log);
  const directory = options.directory;
  const dataDir = join(directory, 'data');
  const socket = join(directory, 'mysqld.sock');
  const database = options.database ?? 'etl';
  const user = options.user ?? 'etl';
  // A private tmpdir: the bootstrap's temporary tables in a shared /tmp were seen to vanish when
  // several servers started at once on one machine ("Unknown table 'mysql.tmp_user_sys'").
  const tmpDir = join(directory, 'tmp');
  mkdirSync(tmpDir, { recursive: true });
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];

  if (!existsSync(join(dataDir, 'mysql'))) {
    execFileSync(
      'mariadb-install-db',
      [
        '--no-defaults',
        `--datadir=${dataDir}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        `--tmpdir=${tmpDir}`,
        ...asRoot,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  }

  // A server a killed run left on this data folder would hold its files and socket: stop it first.
  const orphan = await stopOrphanedServer(directory);
  if (orphan !== undefined)
    (options.log ?? console.log)(`stopped an orphaned mariadbd (pid ${orphan}) on ${dataDir}`);

  const port = await freePort(options.port ?? 0);
  const child = spawn(
    serverBinary,
    [
      '--no-defaults',
      `--datadir=${dataDir}`,
      `--socket=${socket}`,
      `--tmpdir=${tmpDir}`,
      `--port=${port}`,
      `--bind-address=${LOOPBACK}`,
      `--pid-file=${join(directory, 'mariadbd.pid')}`,
      `--log-error=${join(directory, 'error.log')}`,
      '--skip-name-resolve',
      '--local-infile=1',
      '--innodb-buffer-pool-size=128M',
      '--innodb-flush-log-at-trx-commit=2',
      '--max-connections=200',
      ...asRoot,
    ],
    // Its own process group: a terminal's Ctrl-C reaches the stack, which shuts the server down
    // in order, instead of the server and the stack racing each other.
    { stdio: 'ignore', detached: true },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // A crashed test or Ctrl-C must not leave a server behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  try {
    await waitForServer(socket, exited, directory);
    const password = readOrCreatePassword(directory);
    await provision(socket, { database, user, password });
    return {
      name: 'mysql',
      endpoint: `mysql://${LOOPBACK}:${port}`,
      port,
      socket,
      pid: child.pid ?? -1,
      credentials: { host: LOOPBACK, port, user, password, database },
      async stop() {
        process.off('exit', killOnExit);
        await stopProcess(child, exited);
      },
    };
  } catch (error) {
    process.off('exit', killOnExit);
    await stopProcess(child, exited);
    throw error;
  }
}

function ensureServerBinary(log: (message: string) => void): string {
  const found = () => SERVER_BINARIES.find((candidate) => existsSync(candidate));
  const existing = found();
  if (existing) return existing;
  const isDebian = existsSync('/etc/debian_version');
  if (isDebian && process.getuid?.() === 0) {
    log('MariaDB server not found: installing the Debian package mariadb-server with apt-get (one time).');
    execFileSync('apt-get', ['install', '-y', '-q', 'mariadb-server'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    const installed = found();
    if (installed) return installed;
  }
  throw new Error(`MariaDB server binary (mariadbd) not found. Install it first: ${INSTALL_HINT}`);
}

async function waitForServer(
  socket: string,
  exited: Promise<number | null>,
  directory: string,
): Promise<void> {
  let serverExit: number | null | undefined;
  void exited.then((code) => {
    serverExit = code;
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (serverExit !== undefined) {
      throw new Error(
        `mariadbd exited with code ${serverExit} at start; see ${join(directory, 'error.log')}`,
      );
    }
    try {
      const connection = await createConnection({ socketPath: socket, user: 'root' });
      await connection.end();
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`mariadbd did not accept connections within 60 s; see ${join(directory, 'error.log')}`);
}

function readOrCreatePassword(directory: string): string {
  const file = join(directory, 'app-password');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const password = randomBytes(18).toString('base64url');
  writeFileSync(file, password, { mode: 0o600 });
  return password;
}

async function provision(
  socket: string,
  { database, user, password }: { database: string; user: string; password: string },
): Promise<void> {
  const root = await createConnection({ socketPath: socket, user: 'root' });
  try {
    await root.query(
      `CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
    );
    for (const host of ['127.0.0.1', 'localhost']) {
      await root.query('CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?', [user, host, password]);
      await root.query('ALTER USER ?@? IDENTIFIED BY ?', [user, host, password]);
      await root.query(`GRANT ALL PRIVILEGES ON \`${database}\`.* TO ?@?`, [user, host]);
    }
  } finally {
    await root.end();
  }
}

async function stopProcess(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  // A clean InnoDB shutdown takes well under a second here; 30 s covers a busy CI machine.
  const timer = new AbortController();
  const timeout = sleep(30_000, 'timeout' as const, { signal: timer.signal }).catch(() => 'aborted' as const);
  const outcome = await Promise.race([exited, timeout]);
  timer.abort();
  if (outcome === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
}

/** The command line of a live process, or undefined when it cannot be read. */
function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    try {
      return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).trim() || undefined;
    } catch {
      return undefined;
    }
  }
}

/**
 * Stops a mariadbd still serving this folder (`<directory>/mariadbd.pid`, written by the server
 * itself) after the process that started it died (kill -9, a crash): SIGTERM, then SIGKILL after
 * 30 s. Only a process whose command line names this data folder is touched, never a pid that was
 * reused by something else. Returns the pid it stopped.
 */
export async function stopOrphanedServer(directory: string): Promise<number | undefined> {
  const pidFile = join(directory, 'mariadbd.pid');
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  const dataDir = join(directory, 'data');
  if (
    !Number.isInteger(pid) ||
    pid <= 0 ||
    !processRuns(pid) ||
    !commandLine(pid)?.includes(`--datadir=${dataDir}`)
  ) {
    rmSync(pidFile, { force: true });
    return undefined;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 30_000;
  while (processRuns(pid) && Date.now() < deadline) await sleep(100);
  if (processRuns(pid)) process.kill(pid, 'SIGKILL');
  while (processRuns(pid)) await sleep(50);
  rmSync(pidFile, { force: true });
  return pid;
}

/**
 * A root connection over the server's socket, to inspect tables apart from the writer's own
 * credentials (tests, benchmarks). Numbers and dates come back as the text MySQL stores (exact
 * BIGINT and DECIMAL, no time zone shift).
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
