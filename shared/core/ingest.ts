import { createHash } from 'node:crypto';
import { addHours, hourStart, type Window } from './window';

/** CloudFront names files `<distribution-id>.YYYY-MM-DD-HH.<unique-id>.gz`. */
const FILE_HOUR = /(?:^|[./_-])(\d{4})-(\d{2})-(\d{2})-(\d{2})(?=[._-]|$)/;

export interface SourceObject {
  key: string;
  size: number;
  etag: string;
  /** When the object was written, where the store says (S3 listings do). */
  lastModified?: Date;
}

/**
 * CloudFront standard logging v2 may deliver into partitioned folders instead of (or besides)
 * hour-named files: with Hive-compatible paths `…/DistributionId=E123/year=2025/month=01/day=02/
 * hour=03/…` (keys in any order and case, other keys such as `aws-account-id=` beside them), or
 * plain `…/{DistributionId}/{yyyy}/{MM}/{dd}/{HH}/…` (four folders in a row).
 */
const HIVE_KEY = /^(year|month|day|hour)=(\d+)$/i;
const FOLDER_HOUR = /(?:^|\/)(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})(?=\/)/g;

/**
 * The hour (`YYYY-MM-DDTHH`) a file's key carries, or undefined when it carries none: the hour in
 * its name (legacy CloudFront names), else the hour of the v2 partition folders it sits in.
 */
export function hourInFileName(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const match = FILE_HOUR.exec(key.slice(slash + 1));
  if (match) return validHour(match[1]!, match[2]!, match[3]!, match[4]!);
  return slash < 0 ? undefined : hourInFolders(key.slice(0, slash + 1));
}

function hourInFolders(folders: string): string | undefined {
  const hive: Record<string, string> = {};
  for (const segment of folders.split('/')) {
    const pair = HIVE_KEY.exec(segment);
    if (pair) hive[pair[1]!.toLowerCase()] = pair[2]!;
  }
  if (
    hive.year !== undefined &&
    hive.month !== undefined &&
    hive.day !== undefined &&
    hive.hour !== undefined
  ) {
    return validHour(hive.year, hive.month, hive.day, hive.hour);
  }
  const plain = [...folders.matchAll(FOLDER_HOUR)].at(-1); // the innermost, nearest the file
  return plain ? validHour(plain[1]!, plain[2]!, plain[3]!, plain[4]!) : undefined;
}

function validHour(year: string, month: string, day: string, hour: string): string | undefined {
  if (year.length !== 4 || month.length > 2 || day.length > 2 || hour.length > 2) return undefined;
  const text = `${year}-${month.padStart(2, '0')}-${day.padStart(2, '0')}T${hour.padStart(2, '0')}`;
  try {
    hourStart(text);
    return text;
  } catch {
    return undefined;
  }
}

/**
 * Files of the window: those whose hour (in their name, or in their v2 partition folders, see
 * `hourInFileName`) lies in `[from - lookback, to)`. CloudFront delivers late (up to hours), so a
 * file of an earlier hour may hold rows of this window; the lookback takes it in, and the transform
 * routes each row by its own timestamp. Files whose keys carry no hour (hand-made exports) are
 * always taken: their rows' timestamps decide.
 */
export function selectWindowFiles(
  objects: Iterable<SourceObject>,
  window: Window,
  lookbackHours: number,
): SourceObject[] {
  const from = hourStart(addHours(window.from, -lookbackHours));
  const to = hourStart(window.to);
  const selected: SourceObject[] = [];
  for (const object of objects) {
    if (object.key.endsWith('/') || object.size === 0) continue;
    const hour = hourInFileName(object.key);
    if (hour === undefined) {
      selected.push(object);
      continue;
    }
    const start = hourStart(hour);
    if (start >= from && start < to) selected.push(object);
  }
  return selected.sort((a, b) => a.key.localeCompare(b.key));
}

/** Deterministic raw key: the source key below the source prefix, under `raw/`. Re-runs hit the same key. */
export function rawKeyFor(sourceKey: string, sourcePrefix: string): string {
  const relative = sourceKey.startsWith(sourcePrefix) ? sourceKey.slice(sourcePrefix.length) : sourceKey;
  return `raw/${relative.replace(/^\/+/, '')}`;
}

/**
 * A stable, unique id for a source file, used in curated and quarantine keys: its name without
 * extensions (readable in a bucket listing) plus a short hash of its whole key, so `a/access.log`
 * and `b/access.log` never share curated outputs. The same key always gives the same id, so a
 * re-run replaces its own outputs.
 */
export function sourceFileId(key: string): string {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const stem = name
    .replace(/(\.(gz|txt|log|tsv|json|jsonl|parquet))+$/i, '')
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .slice(0, 120);
  const digest = createHash('sha256').update(key).digest('hex').slice(0, 10);
  return `${stem}-${digest}`;
}
