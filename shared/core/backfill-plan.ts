import {
  backfillExecution,
  HISTORY_EVENT_BUDGET,
  HISTORY_EVENT_CAP,
  historyEvents,
  maxBackfillWindows,
} from './run-model';
import { type Plan, planRun, type StageSettings, type Workload } from './run-plan';

/** How a stage runs a backfill (stage params `backfillHoursPerRun`, `backfillConcurrency`). */
export interface BackfillSettings {
  hoursPerRun: number;
  concurrency: number;
}

/** The stage's backfill settings. */
export function backfillSettingsOf(settings: StageSettings): BackfillSettings {
  return { hoursPerRun: settings.backfillHoursPerRun, concurrency: settings.backfillConcurrency };
}

/** A long window planned as a backfill: one run's plan, and the backfill over all its windows. */
export interface BackfillPlan {
  /** The plan of one window's run (its refusals are the backfill's). */
  perRun: Plan;
  windows: number;
  /** The backfill execution's history on its success path; `maxWindows` keep it within `budget`. */
  history: { events: number; budget: number; cap: number; maxWindows: number };
  /** Windows run `concurrency` at a time, each as long as the planned run. */
  wallClockSeconds: number;
  costUsd: number;
  fits: boolean;
}

/**
 * Plans `workload` as a backfill of runs of `hoursPerRun` hours: each window sized as one run
 * (`planRun`), the backfill execution's history against its 20,000-event budget.
 */
export function planBackfill(
  workload: Workload,
  settings: StageSettings,
  backfill: BackfillSettings,
): BackfillPlan {
  const hours = Math.max(1, Math.round(workload.days * 24));
  const windows = Math.ceil(hours / backfill.hoursPerRun);
  const perRun = planRun({ ...workload, days: Math.min(hours, backfill.hoursPerRun) / 24 }, settings);
  const events = historyEvents(backfillExecution({ windows }));
  const runFits = !perRun.findings.some((finding) => finding.level === 'refused');
  return {
    perRun,
    windows,
    history: {
      events,
      budget: HISTORY_EVENT_BUDGET,
      cap: HISTORY_EVENT_CAP,
      maxWindows: maxBackfillWindows(),
    },
    wallClockSeconds: Math.ceil(windows / backfill.concurrency) * perRun.wallClock.total,
    costUsd: windows * perRun.cost.totalUsd,
    fits: runFits && windows <= maxBackfillWindows(),
  };
}
