/** CPU milliseconds (user + system, every thread of the process) since `start`. */
export function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

/** What each child prints as its one line of JSON. */
export interface ChildReport {
  rows: number;
  ms: number;
  /** CPU time of the work, user + system, every thread of the process (gunzip and zstd included). */
  cpuMs: number;
  maxRssBytes: number;
  outputBytes: number;
  quarantined?: number;
  hours?: number;
  /** Ours: times the memory budget spilled an hour's rows to the temp disk, and the spool's peak. */
  spills?: number;
  /** Ours: column builders made (one per hour unless an hour's room was let go and needed again). */
  builders?: number;
  /** Ours: the most builders held at once. */
  buildersHeld?: number;
  spoolPeakBytes?: number;
  /** Ours: the transform's phases (its 'file done' log): reading and parsing, the row groups left, uploads. */
  readMs?: number;
  sealMs?: number;
  publishMs?: number;
}
