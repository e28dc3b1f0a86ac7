/** A file to place in a batch. */
export interface PlanItem {
  key: string;
  size: number;
}

export interface PlanLimits {
  /** Files per batch: bounds the child execution's history (≈ 8 events per file, cap 25,000). */
  maxFiles: number;
  /** Bytes per batch: bounds one child's work. A single file larger than this gets a batch alone. */
  maxBytes: number;
}

/**
 * Packs files into batches, first-fit decreasing onto balanced bins: the number of batches is the
 * least the limits allow; files, largest first, each go to the least-loaded batch that still has
 * room (so batches come out even in bytes), and a new batch opens only when none has room.
 * Deterministic: ties break on key, so a re-run plans the same batches.
 */
export function planBatches<T extends PlanItem>(items: readonly T[], limits: PlanLimits): T[][] {
  if (items.length === 0) return [];
  const totalBytes = items.reduce((sum, item) => sum + item.size, 0);
  const count = Math.max(
    Math.ceil(items.length / limits.maxFiles),
    Math.ceil(totalBytes / limits.maxBytes),
    1,
  );
  const bins: { items: T[]; bytes: number }[] = Array.from({ length: count }, () => ({
    items: [],
    bytes: 0,
  }));
  const sorted = [...items].sort((a, b) => b.size - a.size || a.key.localeCompare(b.key));
  for (const item of sorted) {
    let best: { items: T[]; bytes: number } | undefined;
    for (const bin of bins) {
      const fits =
        bin.items.length < limits.maxFiles &&
        (bin.bytes + item.size <= limits.maxBytes || bin.items.length === 0);
      if (fits && (best === undefined || bin.bytes < best.bytes)) best = bin;
    }
    if (best === undefined) {
      best = { items: [], bytes: 0 };
      bins.push(best);
    }
    best.items.push(item);
    best.bytes += item.size;
  }
  return bins
    .filter((bin) => bin.items.length > 0)
    .map((bin) => bin.items.sort((a, b) => a.key.localeCompare(b.key)));
}
