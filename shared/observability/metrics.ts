import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** The CloudWatch namespace of every metric the functions emit (alarms in resources.yml read it). */
export const METRICS_NAMESPACE = 'cf-etl';

/** The metrics a step reports, by name: counts, and Athena's bytes. */
export const STEP_METRICS = {
  rowsRead: MetricUnit.Count,
  rowsAccepted: MetricUnit.Count,
  rowsQuarantined: MetricUnit.Count,
  filesTransformed: MetricUnit.Count,
  filesQuarantined: MetricUnit.Count,
  athenaBytesScanned: MetricUnit.Bytes,
  rowsStaged: MetricUnit.Count,
  rowsWritten: MetricUnit.Count,
} as const;
export type StepMetricName = keyof typeof STEP_METRICS;
export type StepMetricValues = Partial<Record<StepMetricName, number>>;

/** What ties an invocation's metrics to its run (EMF properties: searchable, not dimensions). */
export interface InvocationKeys {
  stage: string;
  functionName: string;
  action?: string;
  runId?: string;
  /** Which batch or hour the invocation worked on: the report counts each child execution's tasks. */
  batchId?: string;
  hour?: string;
}

/**
 * Where EMF lines go: stdout, where Lambda hands them to CloudWatch Logs, which turns them into
 * metrics (no PutMetricData call, no permission, no latency added to the invocation).
 */
let output: (line: string) => void = (line) => process.stdout.write(`${line}\n`);

/**
 * Sends EMF lines to `collect` instead of stdout until the returned function is called: the local
 * runner reads them for the run report, and keeps them off the terminal.
 */
export function collectMetricLines(collect: (line: string) => void): () => void {
  const previous = output;
  output = collect;
  return () => {
    output = previous;
  };
}

/**
 * Writes one invocation's metrics as one Embedded Metric Format line: `durationMs` always, plus
 * what the step's result says (rows, files, bytes). Dimensions are the deploy stage, the function
 * and its action (few values each: CloudWatch bills per dimension combination); run id, start and
 * end are properties of the line, for Logs Insights and the local report.
 */
export function publishInvocationMetrics(
  keys: InvocationKeys,
  timing: { startedAt: Date; finishedAt: Date },
  values: StepMetricValues,
): void {
  const metrics = new Metrics({
    namespace: METRICS_NAMESPACE,
    serviceName: METRICS_NAMESPACE,
    defaultDimensions: { stage: keys.stage, function: keys.functionName },
  });
  if (keys.action !== undefined) metrics.addDimension('action', keys.action);
  metrics.addMetric(
    'durationMs',
    MetricUnit.Milliseconds,
    timing.finishedAt.getTime() - timing.startedAt.getTime(),
  );
  for (const [name, value] of Object.entries(values) as [StepMetricName, number | undefined][]) {
    if (value !== undefined) metrics.addMetric(name, STEP_METRICS[name], value);
  }
  if (keys.runId !== undefined) metrics.addMetadata('runId', keys.runId);
  if (keys.batchId !== undefined) metrics.addMetadata('batchId', keys.batchId);
  if (keys.hour !== undefined) metrics.addMetadata('hour', keys.hour);
  metrics.addMetadata('startedAt', timing.startedAt.toISOString());
  metrics.addMetadata('finishedAt', timing.finishedAt.toISOString());
  output(JSON.stringify(metrics.serializeMetrics()));
  metrics.clearMetrics();
}
