import type { ExecutionEvent } from '../stepfunctions/index';

/** Counts, per stage, the task states that finished, and prints a line when a count changes. */
export function createProgress(write: (line: string) => void = (line) => process.stdout.write(line)) {
  const done = new Map<string, number>();
  const labels: Record<string, string> = {
    Ingest: 'ingest',
    RunBatch: 'batches',
    TransformFile: 'files transformed',
    StartQuery: 'queries started',
    FetchResults: 'queries finished',
    StageRows: 'hours staged',
    WriteWarehouse: 'rows written',
    Report: 'report',
  };
  let last = '';
  return {
    onEvent(event: ExecutionEvent) {
      if (!event.type.endsWith('StateExited') || event.stateName === undefined) return;
      const label = labels[event.stateName];
      if (label === undefined) return;
      done.set(label, (done.get(label) ?? 0) + 1);
      const line = [...done.entries()].map(([name, count]) => `${name} ${count}`).join(' · ');
      if (line !== last) {
        last = line;
        write(`\r${line}`);
      }
    },
    finish() {
      if (last) write('\n');
    },
  };
}
