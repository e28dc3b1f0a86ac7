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
  /**
   * JSON bytes of a batch's file list: the child holds the list in its state, and Step Functions
   * caps a state's payload at 256 KB. Long keys make this bind before `maxFiles` does.
   */
  maxPayloadBytes?: number;
}

/** Room left under the 256 KB state payload for the rest of the child's state. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 200_000;

/**
 * Packs files into batches, first-fit decreasing onto balanced bins: the number of batches is the
 * least the limits allow; files, largest first, each go to the least-loaded batch that still has
 * room (so batches come out even in bytes), and a new batch opens only when none has room.
 * Deterministic: ties break on key, so a re-run plans the same batches.
 */
export function planBatches<T extends PlanItem>(items: readonly T[], limits: PlanLimits): T[][] {
  if (items.length === 0) return [];
  const maxPayload = limits.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  // +1 for the comma between list elements.
  const payloadOf = new Map(items.map((item) => [item, JSON.stringify(item).length + 1]));
  const totalBytes = items.reduce((sum, item) => sum + item.size, 0);
  const totalPayload = [...payloadOf.values()].reduce((sum, bytes) => sum + bytes, 0);
  const count = Math.max(
    Math.ceil(items.length / limits.maxFiles),
    Math.ceil(totalBytes / limits.maxBytes),
    Math.ceil(totalPayload / maxPayload),
    1,
  );
  type Bin = { items: T[]; bytes: number; payload: number };
  const bins: Bin[] = Array.from({ length: count }, () => ({ items: [], bytes: 0, payload: 0 }));
  const sorted = [...items].sort((a, b) => b.size - a.size || a.key.localeCompare(b.key));
  for (const item of sorted) {
    const payload = payloadOf.get(item) ?? 0;
    let best: Bin | undefined;
    for (const bin of bins) {
      const fits =
        bin.items.length === 0 ||
        (bin.items.length < limits.maxFiles &&
          bin.bytes + item.size <= limits.maxBytes &&
          bin.payload + payload <= maxPayload);
      if (fits && (best === undefined || bin.bytes < best.bytes)) best = bin;
    }
    if (best === undefined) {
      best = { items: [], bytes: 0, payload: 0 };
      bins.push(best);
    }
    best.items.push(item);
    best.bytes += item.size;
    best.payload += payload;
  }
  return bins
    .filter((bin) => bin.items.length > 0)
    .map((bin) => bin.items.sort((a, b) => a.key.localeCompare(b.key)));
}
