import * as z from 'zod';

/** An hour as users type it and reports print it: `YYYY-MM-DDTHH` (UTC). */
export const HOUR_PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2})$/;
export const HourSchema = z.string().regex(HOUR_PATTERN, 'expected an hour as YYYY-MM-DDTHH (UTC)');

/** A run's window of hours, `[from, to)`. */
export const WindowSchema = z
  .object({ from: HourSchema, to: HourSchema })
  .refine((window) => hourStart(window.from) < hourStart(window.to), 'window.from must be before window.to');
export type Window = z.infer<typeof WindowSchema>;

const HOUR_MS = 3_600_000;

/** Start of an hour in epoch milliseconds; throws on impossible dates such as 2024-02-30T00. */
export function hourStart(hour: string): number {
  const match = HOUR_PATTERN.exec(hour);
  if (!match) throw new RangeError(`Not an hour (YYYY-MM-DDTHH): ${hour}`);
  const [, year, month, day, hh] = match.map(Number) as [number, number, number, number, number];
  const time = Date.UTC(year, month - 1, day, hh);
  if (formatHour(time) !== hour) throw new RangeError(`No such hour: ${hour}`);
  return time;
}

export function formatHour(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 13);
}

/** The last `hours` complete hours before `now`: what the schedule processes. */
export function lastCompleteWindow(now: Date, hours: number): Window {
  const to = Math.floor(now.getTime() / HOUR_MS) * HOUR_MS;
  return { from: formatHour(to - hours * HOUR_MS), to: formatHour(to) };
}

export function addHours(hour: string, delta: number): string {
  return formatHour(hourStart(hour) + delta * HOUR_MS);
}
