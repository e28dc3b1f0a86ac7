import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Bytes of every file under a folder, subfolders included. Throws when it cannot be read. */
export function folderBytes(folder: string): number {
  let total = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    total += entry.isDirectory() ? folderBytes(path) : statSync(path).size;
  }
  return total;
}
