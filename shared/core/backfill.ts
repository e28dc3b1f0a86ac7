import { createHash } from 'node:crypto';
import { DEFAULT_MAX_PAYLOAD_BYTES } from './plan';
import { maxBackfillWindows } from './run-model';
import { addHours, formatHour, hourStart, type Window } from './window';

const HOUR_MS = 3_600_000;

/** One run of a backfill: its window and the run id it is started under. */
export interface BackfillWindow {
  runId: string;
  window: Window;
}

/**
 * Step Functions execution names hold 1–80 characters and no `:`; a run id is also an execution
 * name, so the backfill's name is shortened (with a hash, so two long names never share ids).
 */
const MAX_NAME_PREFIX = 60;

function namePrefix(backfillName: string): string {
  if (backfillName.length <= MAX_NAME_PREFIX) return backfillName;
  const digest = createHash('sha256').update(backfillName).digest('hex').slice(0, 8);
  return `${backfillName.slice(0, MAX_NAME_PREFIX - 9)}-${digest}`;
}

/** `2024-07-13T05` → `2024071305`: a run id suffix without the characters execution names refuse. */
function compactHour(hour: string): string {
  return hour.replace(/[-T]/g, '');
}

/**
 * Splits `[from, to)` into consecutive windows of `hoursPerRun` hours (the last may be shorter),
 * each with a run id derived from the backfill's name and the window's start, so re-running the
 * same backfill starts the same run ids and the runs stay idempotent.
 */
export function splitBackfillWindow(
  backfillName: string,
  window: Window,
  hoursPerRun: number,
): BackfillWindow[] {
  if (!Number.isInteger(hoursPerRun) || hoursPerRun < 1) {
    throw new RangeError(`backfillHoursPerRun must be a whole number of hours ≥ 1, got ${hoursPerRun}`);
  }
  const end = hourStart(window.to);
  const prefix = namePrefix(backfillName);
  const windows: BackfillWindow[] = [];
  for (let from = window.from; hourStart(from) < end; from = addHours(from, hoursPerRun)) {
    const to = Math.min(hourStart(from) + hoursPerRun * HOUR_MS, end);
    const runWindow = { from, to: formatHour(to) };
    windows.push({ runId: `${prefix}-${compactHour(from)}`, window: runWindow });
  }
  return windows;
}

/**
 * Why one backfill execution cannot run these windows, naming what to change; undefined when it
 * can. Its history holds `maxBackfillWindows()` runs, and its state holds the whole run list,
 * which must leave room under Step Functions' 256 KB payload (long backfill names make that bind
 * first: a run id is the name plus 11 characters).
 */
export function backfillRefusal(windows: readonly BackfillWindow[], hoursPerRun: number): string | undefined {
  const first = windows[0];
  const last = windows.at(-1);
  if (first === undefined || last === undefined) return undefined;
  const hours = (hourStart(last.window.to) - hourStart(first.window.from)) / HOUR_MS;
  const span = `[${first.window.from}, ${last.window.to})`;
  const most = maxBackfillWindows();
  if (windows.length > most) {
    return `the window ${span} is ${windows.length} runs of ≤ ${hoursPerRun} h (backfillHoursPerRun), and one backfill holds at most ${most} (its history's 20,000-event budget): raise backfillHoursPerRun to ${Math.ceil(hours / most)} or more, or start backfills over shorter windows`;
  }
  const payload = Buffer.byteLength(JSON.stringify(windows));
  if (payload > DEFAULT_MAX_PAYLOAD_BYTES) {
    return `the ${windows.length} runs of the window ${span} make a run list of ${payload} bytes, over the ${DEFAULT_MAX_PAYLOAD_BYTES} the backfill's state may hold (Step Functions' 256 KB payload): use a shorter backfill id, raise backfillHoursPerRun, or start backfills over shorter windows`;
  }
  return undefined;
}
