/**
 * Whether a process with this pid runs (in this pid namespace). A process of another user counts:
 * the signal is refused (EPERM), not missed.
 */
export function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
