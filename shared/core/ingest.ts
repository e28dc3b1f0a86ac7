import { createHash } from 'node:crypto';
import { addHours, hourStart, type Window } from './window';

/** CloudFront names files `<distribution-id>.YYYY-MM-DD-HH.<unique-id>.gz`. */
const FILE_HOUR = /(?:^|[./_-])(\d{4})-(\d{2})-(\d{2})-(\d{2})(?=[._-]|$)/;

export interface SourceObject {
  key: string;
  size: number;
  etag: string;
}

/** The hour (`YYYY-MM-DDTHH`) a file name carries, or undefined when it carries none. */
export function hourInFileName(key: string): string | undefined {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const match = FILE_HOUR.exec(name);
  if (!match) return undefined;
  const hour = `${match[1]}-${match[2]}-${match[3]}T${match[4]}`;
  try {
    hourStart(hour);
    return hour;
  } catch {
    return undefined;
  }
}

/**
 * Files of the window: those whose name's hour lies in `[from - lookback, to)`. CloudFront delivers
 * late (up to hours), so a file named for an earlier hour may hold rows of this window; the
 * lookback takes it in, and the transform routes each row by its own timestamp. Files whose names
 * carry no hour (hand-made exports) are always taken: their rows' timestamps decide.
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
