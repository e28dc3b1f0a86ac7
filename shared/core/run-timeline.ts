import type { Timing } from './run-files';
import { hourGroups } from './run-model';
import type { RunReport } from './run-report';

/**
 * The run's timeline for its report page (`report-html.ts`): the executions (the parent, its batch
 * and hour-group children) and the states that ran each function, each with its span, from one
 * timing per invocation.
 */

/** Child executions drawn one per row; more are drawn as one row per kind. */
const TIMELINE_MAX_CHILD_ROWS = 30;

const integer = (value: number) => value.toLocaleString('en-US');

/** The state of the state machines (statemachines/*.asl.yml) each function and action runs as. */
export const STATE_NAMES: Readonly<Record<string, string>> = {
  ingest: 'Ingest',
  'transform/batch': 'LoadBatch',
  'transform/file': 'TransformFile',
  'aggregate/hours': 'PlanHours',
  'aggregate/start': 'StartQuery',
  'aggregate/status': 'CheckQuery',
  'aggregate/results': 'FetchResults',
  stage: 'StageRows',
  'write/write': 'WriteWarehouse',
  'write/report': 'Report',
};

export interface TimelineRow {
  kind: 'execution' | 'state';
  label: string;
  detail: string;
  start: number;
  end: number;
}

interface Span {
  start: number;
  end: number;
  invocations: number;
  files: number;
}

const NO_SPAN: Span = {
  start: Number.POSITIVE_INFINITY,
  end: Number.NEGATIVE_INFINITY,
  invocations: 0,
  files: 0,
};

/** Each key's span over its timings, in one pass (a busy day has 100,000 transform invocations). */
function spansBy(
  timings: readonly Timing[],
  keyOf: (timing: Timing) => string | undefined,
): Map<string, Span> {
  const spans = new Map<string, Span>();
  for (const timing of timings) {
    const key = keyOf(timing);
    if (key === undefined) continue;
    const span = spans.get(key) ?? { ...NO_SPAN };
    span.start = Math.min(span.start, Date.parse(timing.startedAt));
    span.end = Math.max(span.end, Date.parse(timing.finishedAt));
    span.invocations++;
    if (timing.function === 'transform' && timing.action === 'file') span.files++;
    spans.set(key, span);
  }
  return spans;
}

/** One span over several. */
function merged(spans: readonly (Span | undefined)[]): Span {
  return spans.reduce<Span>(
    (all, span) =>
      span === undefined
        ? all
        : {
            start: Math.min(all.start, span.start),
            end: Math.max(all.end, span.end),
            invocations: all.invocations + span.invocations,
            files: all.files + span.files,
          },
    NO_SPAN,
  );
}

/** Executions (the run, its batch and hour-group children) and states, each with its span. */
export function timelineRows(
  report: RunReport,
  timings: readonly Timing[],
  hoursPerExecution: number | undefined,
): TimelineRow[] {
  const execution = (
    label: string,
    detail: string,
    { start, end }: Pick<Span, 'start' | 'end'>,
  ): TimelineRow => ({
    kind: 'execution',
    label,
    detail,
    start,
    end,
  });
  const rows = [
    execution('run', 'the parent execution', {
      start: Date.parse(report.startedAt),
      end: Date.parse(report.finishedAt),
    }),
  ];

  const batches = [
    ...spansBy(timings, (timing) => (timing.function === 'transform' ? timing.batchId : undefined)),
  ];
  batches.sort(([a], [b]) => a.localeCompare(b));
  if (batches.length <= TIMELINE_MAX_CHILD_ROWS) {
    for (const [batchId, span] of batches)
      rows.push(execution(`batch ${batchId}`, `${integer(span.files)} files`, span));
  } else {
    const all = merged(batches.map(([, span]) => span));
    const range = `${batches[0]?.[0]}–${batches[batches.length - 1]?.[0]}`;
    rows.push(
      execution(
        `batches ${range}`,
        `${integer(batches.length)} executions, ${integer(all.files)} files`,
        all,
      ),
    );
  }

  const hours = spansBy(timings, (timing) => timing.hour);
  const groups = hourGroups([...hours.keys()].sort(), hoursPerExecution ?? Math.max(1, hours.size));
  const groupSpans = groups.map((group) => merged(group.map((hour) => hours.get(hour))));
  if (groups.length <= TIMELINE_MAX_CHILD_ROWS) {
    groups.forEach((group, index) => {
      const last = group[group.length - 1] ?? '';
      const label = group.length === 1 ? `hours ${group[0]}` : `hours ${group[0]}–${last.slice(11)}`;
      rows.push(execution(label, `${group.length} hours`, groupSpans[index] ?? NO_SPAN));
    });
  } else {
    const detail = `${integer(groups.length)} executions, ${integer(hours.size)} hours`;
    rows.push(execution('hour groups', detail, merged(groupSpans)));
  }

  const byState = spansBy(timings, (timing) =>
    timing.action === undefined ? timing.function : `${timing.function}/${timing.action}`,
  );
  const states = [...byState].map(
    ([key, span]): TimelineRow => ({
      kind: 'state',
      label: STATE_NAMES[key] ?? STATE_NAMES[key.split('/')[0] ?? ''] ?? key,
      detail: `${key.replace('/', ' ')}: ${integer(span.invocations)} invocation${span.invocations === 1 ? '' : 's'}`,
      start: span.start,
      end: span.end,
    }),
  );
  states.sort((a, b) => a.start - b.start || a.end - b.end);
  return [...rows, ...states];
}
