import type { Connection } from 'mysql2/promise';
import { deriveSeed, mulberry32, type Random } from '../sample/random';

/**
 * The db-sync sample source (docs/db-sync.md#locally): the source tables config/db-sync.json
 * copies, seeded with awkward values on purpose: DATE at its limits and NULL, DATETIME(6) with
 * fractions (.000000, .000001, .999999), NULL and empty strings side by side, DECIMAL with
 * negatives and its largest value, utf8mb4 beyond the BMP (emoji), quotes, backslashes, tabs and
 * newlines, a 1 MB MEDIUMTEXT, BLOBs with NUL and 0xFF bytes and empty ones, a TINYINT the
 * target casts to text, a column the target drops, and many rows sharing one watermark value
 * (keyset pages must break the tie on the key).
 */

export const SOURCE_DDL = [
  `CREATE TABLE IF NOT EXISTS customers (
    id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    email VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    full_name VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    birth_date DATE NULL,
    signed_up_at DATETIME(6) NOT NULL,
    balance DECIMAL(12,2) NOT NULL,
    score DOUBLE NULL,
    tier TINYINT NOT NULL,
    notes MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    avatar BLOB NULL,
    internal_flag TINYINT NOT NULL DEFAULT 0 COMMENT 'not copied',
    updated_at DATETIME(3) NOT NULL,
    KEY by_watermark (updated_at, id)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  `CREATE TABLE IF NOT EXISTS countries (
    code CHAR(2) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL PRIMARY KEY,
    name VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    changed_at DATETIME NOT NULL,
    KEY by_watermark (changed_at, code)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
];

/** The id of the customer whose notes are 1 MB. */
export const LARGE_NOTES_ID = 42;
/** 1 MB of text: the item is staged in parts (DynamoDB takes 400 KB per item). */
export const LARGE_NOTES_BYTES = 1024 * 1024;

const NAMES = [
  'Zoë',
  "O'Brien",
  'back\\slash',
  'tab\there',
  'new\nline',
  '李小龍',
  'Ωmega',
  '🦄 Unicorn',
  '"quoted"',
  'plain',
];
const DATES = ['1000-01-01', '9999-12-31', '1970-01-01', '2024-02-29', '1999-12-31'];
const FRACTIONS = ['000000', '000001', '999999', '500000', '123456'];
const DECIMALS = ['0.00', '-0.01', '9999999999.99', '-9999999999.99', '12.30'];
const DOUBLES = [0.1, 1e-300, 1.7976931348623157e308, -2.5, 123456789.125];

function pick<T>(random: Random, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)] as T;
}

/** `bytes` bytes of UTF-8 text mixing one-, two-, three- and four-byte characters. */
export function largeText(bytes: number, salt: string): string {
  const unit = `${salt} ascii é 中 🦄\n`;
  const unitBytes = Buffer.byteLength(unit, 'utf8');
  const text = unit.repeat(Math.floor(bytes / unitBytes));
  return text + 'x'.repeat(bytes - Buffer.byteLength(text, 'utf8'));
}

function datetime(base: number, offsetMs: number): string {
  return new Date(base + offsetMs).toISOString().slice(0, 23).replace('T', ' ');
}

/** One customer row's values in column order (id … updated_at, without internal_flag's default). */
export function customerRow(seed: number, id: number, version: number): unknown[] {
  const random = mulberry32(deriveSeed(seed, 'customer', id, version));
  const day = new Date(Date.UTC(2015, 0, 1) + Math.floor(random() * 3_000) * 86_400_000)
    .toISOString()
    .slice(0, 10);
  const fullName = id % 7 === 0 ? null : id % 11 === 0 ? '' : `${pick(random, NAMES)} ${id}`;
  const notes =
    id === LARGE_NOTES_ID
      ? largeText(LARGE_NOTES_BYTES, `v${version}`)
      : id % 3 === 0
        ? null
        : id % 13 === 0
          ? ''
          : `note ${id} v${version}: ${pick(random, NAMES)}`;
  const avatar =
    id % 5 === 0
      ? null
      : id % 17 === 0
        ? Buffer.alloc(0)
        : Buffer.from([0, 255, id % 256, version % 256, 10, 9, 92, 39]);
  return [
    id,
    id % 19 === 0 ? '' : `user${id}+${pick(random, ['a', 'é', '中', '🦄'])}@example.com`,
    fullName,
    id % 4 === 0 ? null : pick(random, DATES),
    `${day} ${String(Math.floor(random() * 24)).padStart(2, '0')}:${String(Math.floor(random() * 60)).padStart(2, '0')}:${String(Math.floor(random() * 60)).padStart(2, '0')}.${pick(random, FRACTIONS)}`,
    id % 9 === 0 ? pick(random, DECIMALS) : (Math.floor(random() * 2_000_000) / 100 - 5_000).toFixed(2),
    id % 6 === 0 ? null : id % 10 === 0 ? pick(random, DOUBLES) : Math.round(random() * 1e6) / 1e3,
    (id % 7) - 1,
    notes,
    avatar,
    id % 2,
  ];
}

const CUSTOMER_COLUMNS =
  'id, email, full_name, birth_date, signed_up_at, balance, score, tier, notes, avatar, internal_flag, updated_at';

async function insertCustomers(
  connection: Connection,
  seed: number,
  ids: readonly number[],
  version: number,
  updatedAt: (index: number) => string,
): Promise<void> {
  for (let start = 0; start < ids.length; start += 500) {
    const chunk = ids.slice(start, start + 500);
    const rows = chunk.map((id, index) => [...customerRow(seed, id, version), updatedAt(start + index)]);
    await connection.query(
      `INSERT INTO customers (${CUSTOMER_COLUMNS}) VALUES ? ON DUPLICATE KEY UPDATE
        email = VALUES(email), full_name = VALUES(full_name), birth_date = VALUES(birth_date),
        signed_up_at = VALUES(signed_up_at), balance = VALUES(balance), score = VALUES(score),
        tier = VALUES(tier), notes = VALUES(notes), avatar = VALUES(avatar), updated_at = VALUES(updated_at)`,
      [rows],
    );
  }
}

const COUNTRY_NAMES = ['Åland', 'Côte d’Ivoire', '日本', 'España', 'Ελλάδα', 'Россия', 'Türkiye', '🏳️ flag'];

/**
 * Creates the source tables (dropping earlier ones) and seeds `rows` customers and 26×26 countries.
 * Many customers share one `updated_at` (seven per millisecond).
 */
export async function seedSource(
  connection: Connection,
  options: { rows: number; seed: number },
): Promise<void> {
  await connection.query('DROP TABLE IF EXISTS customers, countries');
  for (const statement of SOURCE_DDL) await connection.query(statement);
  const base = Date.UTC(2024, 6, 13, 0, 0, 0);
  const ids = Array.from({ length: options.rows }, (_, index) => index + 1);
  await insertCustomers(connection, options.seed, ids, 1, (index) => datetime(base, Math.floor(index / 7)));
  const countries: unknown[][] = [];
  for (let first = 0; first < 26; first++) {
    for (let second = 0; second < 26; second++) {
      const code = String.fromCharCode(65 + first, 65 + second);
      countries.push([
        code,
        `${COUNTRY_NAMES[(first + second) % COUNTRY_NAMES.length]} ${code}`,
        '2024-07-13 00:00:00',
      ]);
    }
  }
  await connection.query('INSERT INTO countries (code, name, changed_at) VALUES ?', [countries]);
}

export interface SourceChanges {
  updated: number;
  inserted: number;
}

/**
 * Changes the source between two runs: updates every 100th customer (and the one with 1 MB notes),
 * inserts `inserted` new ones, renames a few countries and adds one; every changed row gets a
 * later watermark, as an application's writes would.
 */
export async function changeSource(
  connection: Connection,
  options: { rows: number; seed: number; inserted: number },
): Promise<SourceChanges> {
  const base = Date.UTC(2024, 6, 14, 0, 0, 0);
  const updated = [
    LARGE_NOTES_ID,
    ...Array.from({ length: Math.floor(options.rows / 100) }, (_, index) => (index + 1) * 100),
  ];
  const unique = [...new Set(updated.filter((id) => id <= options.rows))];
  await insertCustomers(connection, options.seed, unique, 2, (index) => datetime(base, index));
  const added = Array.from({ length: options.inserted }, (_, index) => options.rows + index + 1);
  await insertCustomers(connection, options.seed, added, 1, (index) =>
    datetime(base + 3_600_000, Math.floor(index / 3)),
  );
  await connection.query(
    "UPDATE countries SET name = CONCAT(name, ' (renamed)'), changed_at = '2024-07-14 01:00:00' WHERE code IN ('AA', 'FR', 'ZZ')",
  );
  await connection.query(
    "INSERT INTO countries (code, name, changed_at) VALUES ('Ü1', 'Ünïcödé', '2024-07-14 02:00:00')",
  );
  return { updated: unique.length + 3, inserted: added.length + 1 };
}
