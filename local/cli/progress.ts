import type { ExecutionEvent } from '../stepfunctions/index';

/**
 * Counts, per stage, the task states that finished. On a terminal the line updates in place; in
 * a log (CI, a pipe) a line is printed at most once a second, plus the last one.
 */
export function createProgress(
  write: (line: string) => void = (line) => process.stdout.write(line),
  interactive = process.stdout.isTTY === true,
) {
  const done = new Map<string, number>();
  const labels: Record<string, string> = {
    Ingest: 'ingest',
    RunBatch: 'batches',
    TransformFile: 'files',
    StartQuery: 'queries started',
    FetchResults: 'queries done',
    StageRows: 'hours staged',
    WriteWarehouse: 'write',
    Report: 'report',
    // A backfill's runs, as each ends (succeeded or caught).
    RunWindow: 'runs',
  };
  let last = '';
  let printed = '';
  let printedAt = 0;
  return {
    onEvent(event: ExecutionEvent) {
      if (!event.type.endsWith('StateExited') || event.stateName === undefined) return;
      const label = labels[event.stateName];
      if (label === undefined) return;
      done.set(label, (done.get(label) ?? 0) + 1);
      const line = [...done.entries()].map(([name, count]) => `${name} ${count}`).join(' · ');
      if (line === last) return;
      last = line;
      if (interactive) {
        write(`\r${line}`);
      } else if (Date.now() - printedAt >= 1_000) {
        printedAt = Date.now();
        printed = line;
        write(`${line}\n`);
      }
    },
    finish() {
      if (interactive && last) write('\n');
      else if (!interactive && last !== printed) write(`${last}\n`);
    },
  };
}
