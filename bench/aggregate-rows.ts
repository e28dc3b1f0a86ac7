/**
 * Seeded hourly aggregate rows shaped like the real `cloudfront_hourly` table, for the load
 * benchmarks: every (hour, host, status) group that a week of traffic on a few hundred hosts would
 * produce, with the value semantics of `sql/hourly_aggregate.sql` (client/server errors follow the
 * status, means are exact millisecond sums divided by the count, p95s are whole milliseconds,
 * distinct IPs never exceed requests, null mean and p95 where no request carried a time-taken).
 */
import { logNormal, randomFor } from '#local/sample/random';
import { type AggregateRow, EMPTY_HOST, rowKey } from '#shared/core/aggregate-row';
import { addHours } from '#shared/core/window';

export interface AggregateRowsOptions {
  seed?: number;
  /** First hour (`YYYY-MM-DDTHH`). */
  fromHour?: string;
  hours?: number;
  hosts?: number;
}

/** The defaults give 270,032 rows: one week × 300 hosts × the statuses each host-hour saw. */
export const DEFAULT_AGGREGATE_ROWS_OPTIONS = {
  seed: 20240713,
  fromHour: '2024-07-08T00',
  hours: 168,
  hosts: 300,
} as const satisfies Required<AggregateRowsOptions>;

/**
 * Share of a host's requests per status, roughly as CloudFront sites see them; a status appears in
 * an hour only if at least one request got it, so rare statuses give sparse rows, as in the table.
 */
const STATUS_SHARES: ReadonlyArray<readonly [number, number]> = [
  [200, 0.78],
  [304, 0.08],
  [206, 0.02],
  [404, 0.03],
  [301, 0.015],
  [302, 0.015],
  [403, 0.01],
  [204, 0.008],
  [307, 0.004],
  [400, 0.004],
  [416, 0.002],
  [500, 0.002],
  [502, 0.002],
  [503, 0.002],
  [504, 0.001],
  [0, 0.001],
  [499, 0.001],
];

/** Relative traffic by hour of day (UTC): a daily wave with its trough at night. */
function diurnal(hourOfDay: number): number {
  return 0.55 + 0.45 * Math.sin(((hourOfDay - 9) / 24) * 2 * Math.PI);
}

interface Host {
  name: string;
  /** Median requests per hour at the daily peak. */
  peakRequests: number;
  /** Median response size for a 200, in bytes. */
  medianBytes: number;
  /** Median time-taken in milliseconds. */
  medianMs: number;
}

function makeHosts(seed: number, count: number): Host[] {
  const random = randomFor(seed, 'hosts');
  return Array.from({ length: count }, (_, index) => {
    // Hosts are DNS names of varied length (the key column is VARCHAR(255)); `-` is CloudFront's
    // null host, present in real data for requests without a Host header.
    const name =
      index === 0
        ? EMPTY_HOST
        : index % 3 === 0
          ? `d${Math.floor(random() * 2 ** 40).toString(36)}.cloudfront.net`
          : `${['www', 'static', 'img', 'api', 'cdn', 'media'][index % 6]}.customer-${index}.example.${['com', 'org', 'net', 'co.uk'][index % 4]}`;
    return {
      name,
      // Zipf-like: a few hosts carry most traffic, the long tail sees a handful of requests an hour.
      peakRequests: Math.max(5, Math.round(200_000 / (index + 1) ** 1.7)),
      medianBytes: Math.round(logNormal(random, 30_000, 1.2)),
      medianMs: Math.max(2, logNormal(random, 60, 0.8)),
    };
  });
}

/**
 * Deterministic aggregate rows for a seed, unique per (hour, host, status), in `rowKey` order:
 * the order DynamoStagingStore.readRun hands them to the write step (a Query returns items sorted
 * by the sort key), so the writer's own sort sees what it sees in the pipeline.
 */
export function generateAggregateRows(options: AggregateRowsOptions = {}): AggregateRow[] {
  const { seed, fromHour, hours, hosts: hostCount } = { ...DEFAULT_AGGREGATE_ROWS_OPTIONS, ...options };
  const hosts = makeHosts(seed, hostCount);
  const rows: AggregateRow[] = [];
  for (let hourIndex = 0; hourIndex < hours; hourIndex++) {
    const hour = addHours(fromHour, hourIndex);
    const wave = diurnal(Number(hour.slice(11, 13)));
    const random = randomFor(seed, 'hour', hour);
    for (const host of hosts) {
      const hostHour = host.peakRequests * wave * logNormal(random, 1, 0.3);
      for (const [status, share] of STATUS_SHARES) {
        const expected = hostHour * share;
        // A status is seen in the hour with the probability that a Poisson count is positive.
        if (random() >= 1 - Math.exp(-expected)) continue;
        const requests = Math.max(1, Math.round(expected * logNormal(random, 1, 0.25)));
        rows.push(aggregateRow(random, hour, host, status, requests));
      }
    }
  }
  const keyed = rows.map((row) => ({ key: rowKey(row), row }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map(({ row }) => row);
}

function aggregateRow(
  random: () => number,
  hour: string,
  host: Host,
  status: number,
  requests: number,
): AggregateRow {
  const bodyBytes =
    status === 200 || status === 206 ? host.medianBytes : status === 304 || status === 204 ? 0 : 900;
  const bytesSent = Math.round(requests * (350 + bodyBytes * logNormal(random, 1, 0.5)));
  // Status 000 (no response sent) often has no time-taken; any other group almost always has one.
  const timed = status === 0 ? random() < 0.5 : random() < 0.995;
  const meanMs = host.medianMs * logNormal(random, 1, 0.4);
  // As the aggregate SQL computes it: a sum of whole milliseconds divided by the count.
  const meanTimeTaken = timed ? Math.round(requests * meanMs) / requests / 1000 : null;
  const p95TimeTaken = timed ? Math.round(meanMs * (1.5 + 2.5 * random())) / 1000 : null;
  return {
    hour,
    host: host.name,
    status,
    requests,
    bytesSent,
    clientErrors: status >= 400 && status <= 499 ? requests : 0,
    serverErrors: status >= 500 || status === 0 ? requests : 0,
    meanTimeTaken,
    p95TimeTaken,
    distinctClientIps: Math.max(1, Math.min(requests, Math.round(requests * (0.05 + 0.55 * random())))),
  };
}
