import { createHash } from 'node:crypto';
import type { AggregateRow } from '#shared/core/aggregate-row';

/**
 * One hour the write makes exact: after its batch commits, the table holds for `hour` the groups
 * in `groups` and no other (a group an earlier aggregate had and this one has not is deleted).
 */
export interface HourReplacement {
  hour: string;
  /** `groupKey` of every row of the hour in this write, whichever batch carries it. */
  groups: Set<string>;
}

/** A group's identity within its hour, compared exactly (MySQL's PAD SPACE never reaches it: hosts are trimmed). */
export function groupKey(host: string, status: number): string {
  return `${host}\n${status}`;
}

/**
 * Which batch replaces which of `hours`. An hour belongs to the batch holding its first row, so
 * its deletions commit in the same transaction as some of its rows, and every later batch of the
 * hour only upserts groups that hour keeps; hours without a row (aggregated to nothing) belong to
 * batch 0. Batches hold `batchRows` rows of `ordered` (rows in key order, so by hour); rows of
 * other hours are only upserted.
 */
export function planHourReplacements(
  ordered: readonly AggregateRow[],
  hours: readonly string[],
  batchRows: number,
): { batchCount: number; byBatch: Map<number, HourReplacement[]> } {
  const replaced = new Set(hours);
  const byBatch = new Map<number, HourReplacement[]>();
  const add = (batchNo: number, replacement: HourReplacement) => {
    const list = byBatch.get(batchNo) ?? [];
    list.push(replacement);
    byBatch.set(batchNo, list);
  };
  const byHour = new Map<string, HourReplacement>();
  ordered.forEach((row, index) => {
    if (!replaced.has(row.hour)) return;
    let replacement = byHour.get(row.hour);
    if (replacement === undefined) {
      replacement = { hour: row.hour, groups: new Set() };
      byHour.set(row.hour, replacement);
      add(Math.floor(index / batchRows), replacement);
    }
    replacement.groups.add(groupKey(row.host, row.status));
  });
  for (const hour of [...replaced].sort()) {
    if (!byHour.has(hour)) add(0, { hour, groups: new Set() });
  }
  const batchCount = Math.max(Math.ceil(ordered.length / batchRows), byBatch.size > 0 ? 1 : 0);
  return { batchCount, byBatch };
}

/**
 * The ledger digest of a batch that also replaces hours: the rows' digest alone when it replaces
 * none, else that and every replaced hour's groups, so a retried write skips a batch only when its
 * rows and its deletions would both be the same.
 */
export function replacementDigest(rowsDigest: string, replacements: readonly HourReplacement[]): string {
  if (replacements.length === 0) return rowsDigest;
  const hash = createHash('sha256').update(rowsDigest);
  for (const { hour, groups } of replacements) {
    hash.update(`\n#${hour}`);
    for (const group of groups) hash.update(`\n${group}`);
  }
  return hash.digest('hex');
}
