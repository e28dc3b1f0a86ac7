import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Bytes of every file under a folder (the Parquet output of one run). */
export function folderBytes(folder: string): number {
  let total = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    total += entry.isDirectory() ? folderBytes(path) : statSync(path).size;
  }
  return total;
}

/** What each child prints as its one line of JSON. */
export interface ChildReport {
  rows: number;
  ms: number;
  maxRssBytes: number;
  outputBytes: number;
  quarantined?: number;
  hours?: number;
}
