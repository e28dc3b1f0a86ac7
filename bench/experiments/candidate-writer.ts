/**
 * A measurable copy of MysqlWarehouse.upsert's write path (shared/adapters/warehouse.ts), with each
 * change proposed for it behind a switch, so the benchmark can show what each one is worth. With
 * every switch at `CURRENT_WRITER` it sends exactly the statements the warehouse sends: the same
 * `upsertSql`, ledger SQL and digest, one transaction per batch with the ledger row locked first.
 * What it leaves out is the retry wrapper (withConnection), which costs nothing on the happy path.
 *
 * The private helpers of warehouse.ts (upsertValues, batchDigest, checkRows, hourStartDatetime) are
 * copied here verbatim where a switch keeps them, since the module does not export them.
 */
import { createHash } from 'node:crypto';
import {
  escape as escapeSql,
  type Pool,
  type PoolConnection,
  type ResultSetHeader,
  type RowDataPacket,
} from 'mysql2/promise';
import { LEDGER_TABLE, upsertSql } from '#shared/adapters/warehouse';
import { type AggregateRow, rowKey } from '#shared/core/aggregate-row';
import { hourStart } from '#shared/core/window';

export interface CandidateOptions {
  /**
   * `per-compare`: rowKey() built inside the comparator, as now; `precomputed`: once per row;
   * `one-pass`: keys built once, the sort skipped when the rows already come in key order (they do:
   * readRun returns them so), duplicates found as neighbours (see prepareRows). `one-pass` also
   * does the host checks, so `hostCheck` is ignored with it.
   */
  sort: 'per-compare' | 'precomputed' | 'one-pass';
  /**
   * `spread-every-row` (as now): `[...host].length` and a trailing-space regex for every row;
   * `lean`: code points counted only for hosts longer than 255 UTF-16 units, spaces stripped only
   * from hosts that end in one. Same verdicts.
   */
  hostCheck: 'spread-every-row' | 'lean';
  /**
   * How the INSERT reaches the server: `mysql2-format` (query(sql, values): client-side
   * SqlString.format, as now), `own-text` (the same SQL text built directly, values escaped inline),
   * `prepared` (execute(): binary protocol, the statement prepared once per connection and size),
   * `own-text-vars` (own text, with `UTC_TIMESTAMP(3)` and the run id read from session variables
   * set in the same transaction instead of repeated in every tuple: 25 % less SQL; needs `two`).
   */
  insert: 'mysql2-format' | 'own-text' | 'prepared' | 'own-text-vars';
  /**
   * The ledger digest: `json-per-row` (as now, JSON.stringify of every row), or `sql-text`: SHA-256
   * of the INSERT text already built (same rows, same run → same text). Needs an own-text insert.
   * Changing it changes every digest once: after a deploy, re-runs of older runs rewrite (not skip)
   * their batches, which the upsert makes harmless.
   */
  digest: 'json-per-row' | 'sql-text';
  batchRows: number;
  /** Batches in flight at once, each on its own pooled connection (the pool holds 2 by default). */
  concurrency: number;
  /** `select-for-update` (as now) or `insert-first`: see LEDGER_CLAIM. */
  ledgerLock: 'select-for-update' | 'insert-first';
  /**
   * `five`: BEGIN, ledger read, INSERT, ledger write, COMMIT each on its own (as now); `two`:
   * multi-statement (pool option `multipleStatements`), BEGIN + claim + ledger read, then
   * INSERT + ledger write + COMMIT. Needs `own-text` and `insert-first`.
   */
  roundTrips: 'five' | 'two';
}

export const CURRENT_WRITER: CandidateOptions = {
  sort: 'per-compare',
  hostCheck: 'spread-every-row',
  insert: 'mysql2-format',
  batchRows: 1_000,
  concurrency: 1,
  ledgerLock: 'select-for-update',
  roundTrips: 'five',
  digest: 'json-per-row',
};

/**
 * The change proposed for MysqlWarehouse (bench/README.md): keys built once and the sort skipped
 * for sorted input, lean checks, the INSERT text built directly and its SHA-256 as the ledger
 * digest, the ledger row claimed by INSERT (no gap lock), both pooled connections busy, 5,000-row
 * batches. No multi-statement: it measured no better here, and it widens what an injection could do.
 */
export const PROPOSED_WRITER: CandidateOptions = {
  sort: 'one-pass',
  hostCheck: 'lean',
  insert: 'own-text',
  batchRows: 5_000,
  concurrency: 2,
  ledgerLock: 'insert-first',
  roundTrips: 'five',
  digest: 'sql-text',
};

const HOST_MAX_CHARS = 255;

function hourStartDatetime(hour: string): string {
  hourStart(hour);
  return `${hour.slice(0, 10)} ${hour.slice(11, 13)}:00:00`;
}

export function upsertValues(runId: string, rows: readonly AggregateRow[]): (string | number | null)[] {
  return rows.flatMap((row) => [
    hourStartDatetime(row.hour),
    row.host,
    row.status,
    row.requests,
    row.bytesSent,
    row.clientErrors,
    row.serverErrors,
    row.meanTimeTaken,
    row.p95TimeTaken,
    row.distinctClientIps,
    runId,
  ]);
}

export function batchDigest(rows: readonly AggregateRow[]): string {
  const hash = createHash('sha256');
  for (const row of rows) {
    hash.update(
      JSON.stringify([
        row.hour,
        row.host,
        row.status,
        row.requests,
        row.bytesSent,
        row.clientErrors,
        row.serverErrors,
        row.meanTimeTaken,
        row.p95TimeTaken,
        row.distinctClientIps,
      ]),
    );
    hash.update('\n');
  }
  return hash.digest('hex');
}

export function sortRows(
  rows: readonly AggregateRow[],
  how: Exclude<CandidateOptions['sort'], 'one-pass'>,
): AggregateRow[] {
  if (how === 'per-compare') {
    return [...rows].sort((a, b) => (rowKey(a) < rowKey(b) ? -1 : rowKey(a) > rowKey(b) ? 1 : 0));
  }
  // Same order, one key string per row instead of up to four per comparison.
  const keyed = rows.map((row) => ({ key: rowKey(row), row }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map(({ row }) => row);
}

export function checkRows(rows: readonly AggregateRow[], how: CandidateOptions['hostCheck']): void {
  const keys = new Set<string>();
  for (const row of rows) {
    // A string of at most 255 UTF-16 units has at most 255 code points: only longer ones need counting.
    const tooLong =
      how === 'spread-every-row'
        ? [...row.host].length > HOST_MAX_CHARS
        : row.host.length > HOST_MAX_CHARS && [...row.host].length > HOST_MAX_CHARS;
    if (tooLong) throw new Error(`host of ${rowKey(row)} too long`);
    const host =
      how === 'spread-every-row' || row.host.endsWith(' ') ? row.host.replace(/ +$/, '') : row.host;
    const key = `${row.hour}\n${host}\n${row.status}`;
    if (keys.has(key)) throw new Error(`two rows share the key of ${rowKey(row)}`);
    keys.add(key);
  }
}

/**
 * Sort + checks in one pass over precomputed keys. Sorted input (the normal case) is only
 * verified, not sorted. With hosts that are all ≤ 255 UTF-16 units and none ending in a space
 * (the normal case), two rows share a warehouse key exactly when they share a rowKey, and sorted
 * equal keys are neighbours: no Set of 270,000 strings. Otherwise the full checks run.
 */
export function prepareRows(rows: readonly AggregateRow[]): AggregateRow[] {
  const keyed = rows.map((row) => ({ key: rowKey(row), row }));
  let sorted = true;
  let plain = true;
  for (let index = 0; index < keyed.length; index++) {
    const { key, row } = keyed[index]!;
    if (index > 0 && keyed[index - 1]!.key > key) sorted = false;
    if (row.host.length > HOST_MAX_CHARS || row.host.endsWith(' ')) plain = false;
  }
  if (!sorted) keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const ordered = keyed.map(({ row }) => row);
  if (!plain) {
    checkRows(ordered, 'lean');
    return ordered;
  }
  for (let index = 1; index < keyed.length; index++) {
    if (keyed[index - 1]!.key === keyed[index]!.key) {
      throw new Error(`two rows share the key of ${keyed[index]!.key}`);
    }
  }
  return ordered;
}

/** Strings through mysql2's own escaping (sql-escaper), exactly as `format` escapes them. */
const quote = (text: string): string => escapeSql(text);
/** A double's `String()` is what mysql2 sends too (`value + ''`): the shortest round-trip text. */
const literal = (value: number | null) => (value === null ? 'NULL' : String(value));

/**
 * The text `connection.format(upsertSql(table, n), upsertValues(runId, rows))` produces, built
 * directly: the tuples are written once with their values instead of as placeholders that a regex
 * then replaces one by one.
 */
export function upsertText(
  table: string,
  runId: string,
  rows: readonly AggregateRow[],
  fromVariables = false,
): string {
  const template = upsertSql(table, 1);
  const valuesAt = template.indexOf('VALUES (');
  const tupleEnd = template.indexOf('\nON DUPLICATE KEY UPDATE');
  const head = template.slice(0, valuesAt + 'VALUES '.length);
  const tail = template.slice(tupleEnd);
  const run = fromVariables ? '@etl_now, @etl_run)' : `UTC_TIMESTAMP(3), ${quote(runId)})`;
  // Rows arrive sorted by hour and host: the validated hour and the escaped host are reused
  // across a host's statuses instead of being rebuilt for every row.
  let lastHour = '';
  let lastHost = '';
  let prefix = '';
  const tuples = rows.map((row) => {
    if (row.hour !== lastHour || row.host !== lastHost) {
      lastHour = row.hour;
      lastHost = row.host;
      prefix = `('${hourStartDatetime(row.hour)}', ${quote(row.host)}, `;
    }
    return `${prefix}${row.status}, ${row.requests}, ${row.bytesSent}, ${row.clientErrors}, ${row.serverErrors}, ${literal(row.meanTimeTaken)}, ${literal(row.p95TimeTaken)}, ${row.distinctClientIps}, ${run}`;
  });
  return `${head}${tuples.join(',\n')}${tail}`;
}

const LEDGER_UPSERT = `INSERT INTO \`${LEDGER_TABLE}\` (run_id, batch_no, row_count, digest, loaded_at)
       VALUES (?, ?, ?, ?, UTC_TIMESTAMP(3))
       ON DUPLICATE KEY UPDATE row_count = VALUES(row_count), digest = VALUES(digest), loaded_at = VALUES(loaded_at)`;

/**
 * Claims the batch's ledger row before reading it. The current SELECT … FOR UPDATE of a row that
 * does not exist yet locks the gap where it would go (InnoDB next-key locking under REPEATABLE
 * READ); two transactions holding the same gap then both INSERT into it and one is killed as a
 * deadlock (measured: the next batch always lands in the same gap at the end of the index). An
 * INSERT of the row first takes only a record lock on it; a concurrent writer of the same batch
 * still waits on that lock and then reads the committed digest, as before.
 */
const LEDGER_CLAIM = `INSERT INTO \`${LEDGER_TABLE}\` (run_id, batch_no, row_count, digest, loaded_at)
       VALUES (?, ?, 0, '', UTC_TIMESTAMP(3)) ON DUPLICATE KEY UPDATE run_id = run_id`;

async function loadBatch(
  connection: PoolConnection,
  table: string,
  runId: string,
  batchNo: number,
  rows: readonly AggregateRow[],
  options: CandidateOptions,
): Promise<'loaded' | 'skipped'> {
  const ownText = options.insert === 'own-text' || options.insert === 'own-text-vars';
  const text = ownText ? upsertText(table, runId, rows, options.insert === 'own-text-vars') : undefined;
  const digest =
    options.digest === 'sql-text' && text !== undefined
      ? createHash('sha256').update(text).digest('hex')
      : batchDigest(rows);
  if (options.roundTrips === 'two') {
    if (text === undefined) throw new Error('two round trips need an own-text insert');
    return loadBatchInTwoRoundTrips(connection, runId, batchNo, rows.length, text, digest, options);
  }
  if (options.insert === 'own-text-vars') throw new Error('own-text-vars needs two round trips');
  await connection.beginTransaction();
  if (options.ledgerLock === 'insert-first') await connection.query(LEDGER_CLAIM, [runId, batchNo]);
  const [ledger] = await connection.query<RowDataPacket[]>(
    `SELECT digest FROM \`${LEDGER_TABLE}\` WHERE run_id = ? AND batch_no = ? FOR UPDATE`,
    [runId, batchNo],
  );
  if (ledger[0]?.digest === digest) {
    await connection.rollback();
    return 'skipped';
  }
  if (text !== undefined) {
    await connection.query<ResultSetHeader>(text);
  } else if (options.insert === 'mysql2-format') {
    await connection.query<ResultSetHeader>(upsertSql(table, rows.length), upsertValues(runId, rows));
  } else {
    await connection.execute<ResultSetHeader>(upsertSql(table, rows.length), upsertValues(runId, rows));
  }
  await connection.query(LEDGER_UPSERT, [runId, batchNo, rows.length, digest]);
  await connection.commit();
  return 'loaded';
}

/**
 * Round trip 1: BEGIN, (session variables,) ledger claim, ledger read. Round trip 2: INSERT,
 * ledger write, COMMIT. The short statements are formatted on their own, so format() never scans
 * the 150 KB INSERT text.
 */
async function loadBatchInTwoRoundTrips(
  connection: PoolConnection,
  runId: string,
  batchNo: number,
  rowCount: number,
  text: string,
  digest: string,
  options: CandidateOptions,
): Promise<'loaded' | 'skipped'> {
  if (options.ledgerLock !== 'insert-first') throw new Error('two round trips need the INSERT claim');
  const variables =
    options.insert === 'own-text-vars'
      ? connection.format('SET @etl_now = UTC_TIMESTAMP(3), @etl_run = ?; ', [runId])
      : '';
  const [results] = await connection.query<RowDataPacket[][]>(
    `START TRANSACTION; ${variables}${connection.format(LEDGER_CLAIM, [runId, batchNo])};
     ${connection.format(`SELECT digest FROM \`${LEDGER_TABLE}\` WHERE run_id = ? AND batch_no = ? FOR UPDATE`, [runId, batchNo])}`,
  );
  if (results.at(-1)?.[0]?.digest === digest) {
    await connection.rollback();
    return 'skipped';
  }
  await connection.query(
    `${text}; ${connection.format(LEDGER_UPSERT, [runId, batchNo, rowCount, digest])}; COMMIT`,
  );
  return 'loaded';
}

/** Upserts like MysqlWarehouse.upsert (sorted, checked, batched, ledgered) under `options`. */
export async function candidateUpsert(
  pool: Pool,
  table: string,
  runId: string,
  rows: readonly AggregateRow[],
  options: CandidateOptions,
): Promise<{ batches: number; skipped: number; deadlocks: number }> {
  let ordered: AggregateRow[];
  if (options.sort === 'one-pass') {
    ordered = prepareRows(rows);
  } else {
    ordered = sortRows(rows, options.sort);
    checkRows(ordered, options.hostCheck);
  }
  const batches: AggregateRow[][] = [];
  for (let start = 0; start < ordered.length; start += options.batchRows) {
    batches.push(ordered.slice(start, start + options.batchRows));
  }
  let next = 0;
  let skipped = 0;
  let deadlocks = 0;
  let failed = false;
  const workers = Array.from({ length: Math.max(1, options.concurrency) }, async () => {
    // After one worker fails the other finishes its batch and takes no more: the ledger keeps what
    // committed, and the retried write skips it.
    while (next < batches.length && !failed) {
      const batchNo = next++;
      // The warehouse retries a deadlocked batch (ER_LOCK_DEADLOCK is in its transient set); so does this.
      for (let attempt = 1; ; attempt++) {
        const connection = await pool.getConnection();
        try {
          const outcome = await loadBatch(connection, table, runId, batchNo, batches[batchNo]!, options);
          if (outcome === 'skipped') skipped++;
          break;
        } catch (error) {
          await connection.rollback().catch(() => undefined);
          const deadlock = (error as { code?: unknown }).code === 'ER_LOCK_DEADLOCK';
          if (!deadlock || attempt >= 10) {
            failed = true;
            throw error;
          }
          deadlocks++;
        } finally {
          connection.release();
        }
      }
    }
  });
  await Promise.all(workers);
  return { batches: batches.length, skipped, deadlocks };
}
