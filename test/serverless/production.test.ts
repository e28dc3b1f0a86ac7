import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import JSZip from 'jszip';
import { startS3 } from '#local/services/s3';
import { S3ObjectStore } from '#shared/adapters/object-store';
import { createS3Client } from '#shared/aws/s3';
import { LOCAL_CREDENTIALS } from '#shared/aws/settings';
import { keys } from '#shared/core/run-files';
import {
  collectMetricLines,
  METRICS_NAMESPACE,
  publishInvocationMetrics,
} from '#shared/observability/metrics';
import { LEGACY_FIELDS, type LogRecord, parquetBytes } from '../support/cloudfront-logs';
import { type CloudFormationTemplate, packageStage, resourcesOfType } from './package';

const run = promisify(execFile);
type Json = unknown;
type Statement = { Effect?: string; Action: Json; Resource?: Json; Principal?: Json; Condition?: Json };

/** Stage prod packaged once for this file (packaging takes up to a minute). */
let prodPackage: ReturnType<typeof packageStage> | undefined;
const packagedProd = () => {
  prodPackage ??= packageStage('prod');
  return prodPackage;
};

const FUNCTIONS = ['ingest', 'transform', 'aggregate', 'stage', 'write'];
const FUNCTION_ROLES = ['IngestRole', 'TransformRole', 'AggregateRole', 'StageRole', 'WriteRole'];

/** IAM statements under a node (an `Fn::If` branch's statement counts: it is granted when its condition holds). */
function statementsIn(node: Json): Statement[] {
  const found: Statement[] = [];
  const visit = (value: Json) => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') {
      const record = value as Record<string, Json>;
      if ('Action' in record && 'Effect' in record) found.push(record as Statement);
      Object.values(record).forEach(visit);
    }
  };
  visit(node);
  return found;
}

const actionsOf = (statement: Statement) => [statement.Action].flat().map(String);
const resource = (template: CloudFormationTemplate, id: string) => {
  const found = template.Resources[id];
  if (found === undefined) throw new Error(`no resource ${id} in the template`);
  return found;
};

/** The dimensions an EMF line from the functions carries for a transform file invocation. */
function emittedDimensions(stage: string): { namespace: string; dimensions: Record<string, string> } {
  const lines: string[] = [];
  const restore = collectMetricLines((line) => lines.push(line));
  try {
    publishInvocationMetrics(
      { stage, functionName: 'transform', action: 'file', runId: 'r' },
      { startedAt: new Date(0), finishedAt: new Date(5) },
      { rowsRead: 10, rowsQuarantined: 1, filesQuarantined: 0 },
    );
  } finally {
    restore();
  }
  const emf = JSON.parse(lines[0] ?? '{}') as Record<string, Json> & {
    _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] };
  };
  const directive = emf._aws.CloudWatchMetrics[0]!;
  const dimensions = Object.fromEntries(directive.Dimensions[0]!.map((name) => [name, String(emf[name])]));
  return { namespace: directive.Namespace, dimensions };
}

describe('sls package --stage prod: alerts, logs, tracing and bundles', () => {
  let template: CloudFormationTemplate;
  let directory: string;

  beforeAll(async () => {
    ({ template, directory } = await packagedProd());
  }, 240_000);

  it('publishes a failed, timed-out or aborted run, and a child that fails on its own, to the alert topic', () => {
    const topic = resource(template, 'AlertTopic');
    expect(topic.Type).toBe('AWS::SNS::Topic');
    expect(topic.Properties?.TopicName).toBe('cf-etl-prod-alerts');
    const run = resource(template, 'RunFailedRule').Properties as Record<string, Json>;
    expect(run.EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { status: ['FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArn: [{ Ref: 'RunStateMachine' }] },
    });
    const child = resource(template, 'ChildFailedRule').Properties as Record<string, Json>;
    // A child the parent stops is ABORTED after the parent's own failure: not a second alert.
    expect(child.EventPattern).toMatchObject({
      detail: {
        status: ['FAILED', 'TIMED_OUT'],
        stateMachineArn: [{ Ref: 'BatchStateMachine' }, { Ref: 'HoursStateMachine' }],
      },
    });
    for (const rule of [run, child]) {
      const [target] = rule.Targets as { Arn: Json; InputTransformer: { InputTemplate: string } }[];
      expect(target?.Arn).toEqual({ Ref: 'AlertTopic' });
      // The message names the execution, links to it, and says where the run report is.
      expect(target?.InputTransformer.InputTemplate).toMatch(
        /<name>.*<status>.*executions\/details\/<execution>/s,
      );
      expect(target?.InputTransformer.InputTemplate).toContain('s3://cf-etl-prod-us-east-1-data/reports/');
    }
    // No email address for prod in serverless.yml: the subscription's condition is false.
    const [[, subscription] = []] = resourcesOfType(template, 'AWS::SNS::Subscription');
    expect(subscription?.Condition).toBe('HasAlertEmail');
    expect(template.Conditions?.HasAlertEmail).toEqual({ 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] });
  });

  it('lets only its own three rules and its own alarms publish to the topic', () => {
    const policies = resourcesOfType(template, 'AWS::SNS::TopicPolicy');
    expect(policies).toHaveLength(1);
    const statements = statementsIn(policies[0]![1].Properties?.PolicyDocument);
    expect(statements).toHaveLength(2);
    for (const statement of statements) {
      expect(actionsOf(statement)).toEqual(['sns:Publish']);
      expect(statement.Resource).toEqual({ Ref: 'AlertTopic' });
      expect(statement.Condition).toBeDefined();
    }
    const byService = Object.fromEntries(
      statements.map((statement) => [
        (statement.Principal as { Service: string }).Service,
        statement.Condition,
      ]),
    );
    expect(byService['events.amazonaws.com']).toEqual({
      ArnEquals: {
        'aws:SourceArn': [
          { 'Fn::GetAtt': ['RunFailedRule', 'Arn'] },
          { 'Fn::GetAtt': ['ChildFailedRule', 'Arn'] },
          { 'Fn::GetAtt': ['SyncFailedRule', 'Arn'] },
        ],
      },
    });
    expect(JSON.stringify(byService['cloudwatch.amazonaws.com'])).toContain(':alarm:cf-etl-prod-*');
    // Every alarm's name falls under that pattern.
    for (const [, alarm] of resourcesOfType(template, 'AWS::CloudWatch::Alarm')) {
      expect(String(alarm.Properties?.AlarmName)).toMatch(/^cf-etl-prod-/);
    }
  });

  it('alarms on failed and timed-out runs, on quarantined files and on the quarantined-row ratio', () => {
    const alarms = Object.fromEntries(
      resourcesOfType(template, 'AWS::CloudWatch::Alarm').map(([id, alarm]) => [id, alarm.Properties ?? {}]),
    );
    expect(Object.keys(alarms).sort()).toEqual([
      'QuarantinedFilesAlarm',
      'QuarantinedRowsAlarm',
      'RunExecutionsFailedAlarm',
      'RunExecutionsTimedOutAlarm',
    ]);
    for (const alarm of Object.values(alarms)) {
      expect(alarm.AlarmActions).toEqual([{ Ref: 'AlertTopic' }]);
      // No data (no run in the period) is not an alarm.
      expect(alarm.TreatMissingData).toBe('notBreaching');
    }
    for (const [id, metric] of [
      ['RunExecutionsFailedAlarm', 'ExecutionsFailed'],
      ['RunExecutionsTimedOutAlarm', 'ExecutionsTimedOut'],
    ] as const) {
      expect(alarms[id]).toMatchObject({
        Namespace: 'AWS/States',
        MetricName: metric,
        Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: 'RunStateMachine' } }],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    }
    expect(alarms.QuarantinedFilesAlarm).toMatchObject({
      MetricName: 'filesQuarantined',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    const rows = alarms.QuarantinedRowsAlarm as { Metrics: Record<string, Json>[]; Threshold: number };
    expect(rows.Threshold).toBe(0.01);
    expect(rows.Metrics.find((metric) => metric.ReturnData === true)?.Expression).toBe(
      'IF(read > 0, quarantined / read, 0)',
    );
  });

  it("reads the data-quality metrics under the namespace and dimensions the functions' EMF lines carry", () => {
    const emitted = emittedDimensions('prod');
    expect(emitted.namespace).toBe(METRICS_NAMESPACE);
    const toRecord = (dimensions: Json) =>
      Object.fromEntries((dimensions as { Name: string; Value: string }[]).map((d) => [d.Name, d.Value]));
    const files = resource(template, 'QuarantinedFilesAlarm').Properties as Record<string, Json>;
    expect(files.Namespace).toBe(emitted.namespace);
    expect(toRecord(files.Dimensions)).toEqual(emitted.dimensions);
    const rows = resource(template, 'QuarantinedRowsAlarm').Properties as {
      Metrics: { MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: Json } } }[];
    };
    const stats = rows.Metrics.flatMap((metric) => (metric.MetricStat ? [metric.MetricStat.Metric] : []));
    expect(stats.map((metric) => metric.MetricName).sort()).toEqual(['rowsQuarantined', 'rowsRead']);
    for (const metric of stats) {
      expect(metric.Namespace).toBe(emitted.namespace);
      expect(toRecord(metric.Dimensions)).toEqual(emitted.dimensions);
    }
  });

  it('logs state machine errors without execution data to a vendedlogs group kept for the stage retention', () => {
    const group = resource(template, 'StateMachineLogGroup').Properties ?? {};
    expect(group.LogGroupName).toBe('/aws/vendedlogs/states/cf-etl-prod');
    expect(group.RetentionInDays).toBe(90);
    for (const id of ['RunStateMachine', 'BatchStateMachine', 'HoursStateMachine']) {
      expect(resource(template, id).Properties?.LoggingConfiguration).toEqual({
        Level: 'ERROR',
        IncludeExecutionData: false,
        Destinations: [
          { CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': ['StateMachineLogGroup', 'Arn'] } } },
        ],
      });
    }
  });

  it('traces functions and state machines with X-Ray in prod, each function role allowed to write traces', () => {
    expect(template.Conditions?.TracingEnabled).toEqual({ 'Fn::Equals': ['tracing-true', 'tracing-true'] });
    for (const [, fn] of resourcesOfType(template, 'AWS::Lambda::Function')) {
      expect(fn.Properties?.TracingConfig).toEqual({ Mode: 'Active' });
    }
    for (const id of ['RunStateMachine', 'BatchStateMachine', 'HoursStateMachine']) {
      expect(resource(template, id).Properties?.TracingConfiguration).toEqual({ Enabled: true });
    }
    for (const role of FUNCTION_ROLES) {
      const xray = statementsIn(resource(template, role).Properties).filter((statement) =>
        actionsOf(statement).some((action) => action.startsWith('xray:')),
      );
      expect(xray).toEqual([
        { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' },
      ]);
    }
  });

  it('lets the write function (Write, Report, ReportFailure) read what the report reads: run results and the batch manifests', () => {
    const reads = statementsIn(resource(template, 'WriteRole').Properties)
      .filter((statement) => actionsOf(statement).includes('s3:GetObject'))
      .flatMap((statement) => [statement.Resource].flat().map(String));
    // The objects the report step reads (shared/steps/report.ts, run-timings.ts): each must fall
    // under a granted `<bucket>/<prefix>/*`.
    const prefixes = reads.map((arn) => arn.replace(/^arn:aws:s3:::[^/]+\//, '').replace(/\*$/, ''));
    for (const key of [
      keys.transformSummary('r'),
      keys.hourAggregate('r', '2024-07-13T10'),
      keys.batch('r', 'b-0001'),
      keys.fileResult('r', 'f'),
    ]) {
      expect({ key, granted: prefixes.some((prefix) => key.startsWith(prefix)) }).toEqual({
        key,
        granted: true,
      });
    }
  });

  it('lets the write function put the report and its page, and nothing else of the bucket', () => {
    const puts = statementsIn(resource(template, 'WriteRole').Properties)
      .filter((statement) => actionsOf(statement).includes('s3:PutObject'))
      .flatMap((statement) => [statement.Resource].flat().map(String));
    const prefixes = puts.map((arn) => arn.replace(/^arn:aws:s3:::[^/]+\//, '').replace(/\*$/, ''));
    expect(prefixes).toEqual(['reports/']);
    for (const key of [keys.report('r'), keys.reportHtml('r')]) expect(key.startsWith('reports/')).toBe(true);
  });

  it('grants "*" as a resource only for actions that take no resource (X-Ray, log delivery) or that the plugin scopes so', () => {
    // Log delivery and X-Ray actions have no resource-level permissions (AWS documents "*");
    // DescribeExecution/StopExecution are serverless-step-functions' own grant for .sync:2 tasks.
    const allowed =
      /^(xray:(PutTraceSegments|PutTelemetryRecords|GetSamplingRules|GetSamplingTargets)|logs:(CreateLogDelivery|GetLogDelivery|UpdateLogDelivery|DeleteLogDelivery|ListLogDeliveries|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups)|states:(DescribeExecution|StopExecution))$/;
    const roles = resourcesOfType(template, 'AWS::IAM::Role');
    const wildcard = roles
      .flatMap(([, role]) => statementsIn(role.Properties))
      .filter((s) => s.Resource === '*');
    expect(wildcard.length).toBeGreaterThan(0);
    for (const statement of wildcard)
      for (const action of actionsOf(statement)) expect(action).toMatch(allowed);
    // No function writes a per-invocation object any more (metrics go to CloudWatch as EMF lines).
    expect(JSON.stringify(roles)).not.toContain('timings');
  });

  it('keeps each zip to what its handler imports, within budget: 500 KB, the transform 2 MB plus the wasm', async () => {
    const budgets: Record<string, number> = {
      ingest: 500 * 1024,
      aggregate: 500 * 1024,
      stage: 500 * 1024,
      write: 500 * 1024,
      transform: 2 * 1024 * 1024,
    };
    // Each handler's SDK clients, by the class names its bundle keeps (keepNames).
    const clients: Record<string, string[]> = {
      ingest: ['S3Client'],
      transform: ['S3Client'],
      aggregate: ['S3Client', 'AthenaClient'],
      stage: ['S3Client', 'DynamoDBClient'],
      write: ['S3Client', 'DynamoDBClient', 'SecretsManagerClient'],
    };
    const allClients = ['S3Client', 'AthenaClient', 'DynamoDBClient', 'SecretsManagerClient'];
    for (const name of FUNCTIONS) {
      const file = join(directory, `${name}.zip`);
      const zip = await JSZip.loadAsync(readFileSync(file));
      const names = Object.keys(zip.files).filter((entry) => !zip.files[entry]!.dir);
      expect({ name, maps: names.filter((entry) => entry.endsWith('.map')) }).toEqual({ name, maps: [] });
      const wasm = names.filter((entry) => entry.endsWith('.wasm'));
      expect({ name, wasm }).toEqual({
        name,
        wasm: name === 'transform' ? ['functions/transform/parquet_wasm_bg.wasm'] : [],
      });
      // The wasm's compressed size is outside the transform's budget.
      const wasmBytes = name === 'transform' ? compressedSize(readFileSync(file), wasm[0]!) : 0;
      const bytes = statSync(file).size - wasmBytes;
      expect({ name, bytes, overBudget: bytes > budgets[name]! }).toMatchObject({ name, overBudget: false });
      const bundle = await zip.files[`functions/${name}/handler.js`]!.async('string');
      const bundled = allClients.filter((client) => bundle.includes(`"${client}"`));
      expect({ name, bundled }).toEqual({ name, bundled: clients[name] });
    }
  });

  it('loads every packaged handler, which logs with the request id and cold start, writes EMF and keeps error names', async () => {
    const unpacked = mkdtempSync(join(tmpdir(), 'prod-zips-'));
    for (const name of FUNCTIONS) {
      const zip = await JSZip.loadAsync(readFileSync(join(directory, `${name}.zip`)));
      for (const [entry, file] of Object.entries(zip.files)) {
        if (file.dir) continue;
        mkdirSync(dirname(join(unpacked, name, entry)), { recursive: true });
        writeFileSync(join(unpacked, name, entry), await file.async('nodebuffer'));
      }
      const script = `
        require(${JSON.stringify(join(unpacked, name, `functions/${name}/handler.js`))})
          .handler({ unexpected: true }, { awsRequestId: 'request-1', functionName: 'cf-etl-prod-${name}',
            functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:us-east-1:1:function:cf-etl-prod-${name}',
            memoryLimitInMB: '512', getRemainingTimeInMillis: () => 1000 })
          .then(() => process.exit(3), (error) => { console.log('thrown ' + error.name); });`;
      const { stdout, stderr } = await run(process.execPath, ['-e', script], {
        cwd: join(unpacked, name),
        env: {
          PATH: process.env.PATH,
          AWS_REGION: 'us-east-1',
          ETL_STAGE: 'prod',
          DATA_BUCKET: 'data-bucket',
          SOURCE_BUCKET: 'source-bucket',
          GLUE_DATABASE: 'cf_etl_prod',
          ATHENA_WORKGROUP: 'cf-etl-prod',
          STAGING_TABLE: 'cf-etl-prod-staging',
          DB_SECRET_ID: 'secret',
          MAX_RUN_COST_USD: '25',
          FUNCTION_MEMORY_MB: '{"ingest":512,"transform":1024,"aggregate":512,"stage":512,"write":512}',
          // What Lambda sets: an on-demand container's first invocation is its cold start.
          AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
          _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
        },
      });
      const lines = stdout.trim().split('\n');
      // The error's class name survives minification: Step Functions' Catch matches on it.
      expect({ name, last: lines.at(-1) }).toEqual({ name, last: 'thrown InvalidEventError' });
      // Lambda sends both streams to CloudWatch Logs (Powertools writes errors to stderr).
      const logged = [...lines.slice(0, -1), ...stderr.trim().split('\n').filter(Boolean)].map(
        (line) => JSON.parse(line) as Record<string, Json>,
      );
      const error = logged.find((line) => line.message === 'invalid event');
      expect({ name, error }).toEqual({
        name,
        error: expect.objectContaining({
          level: 'ERROR',
          service: 'cf-etl',
          function_request_id: 'request-1',
          function_name: `cf-etl-prod-${name}`,
          cold_start: true,
          xray_trace_id: '1-5759e988-bd862e3fe1be46a994272793',
          stage: 'prod',
        }),
      });
      const emf = logged.find((line) => line._aws !== undefined);
      expect({ name, duration: typeof emf?.durationMs }).toEqual({ name, duration: 'number' });
    }
  }, 60_000);
});

describe('the packaged transform and parquet-wasm', () => {
  let directory: string;
  let work: string;
  let s3: Awaited<ReturnType<typeof startS3>> | undefined;

  beforeAll(async () => {
    ({ directory } = await packagedProd());
    work = mkdtempSync(join(tmpdir(), 'prod-transform-'));
    s3 = await startS3({ directory: join(work, 's3'), buckets: ['data-bucket'] });
  }, 240_000);

  afterAll(async () => {
    await s3?.stop();
  });

  it('loads parquet-wasm from beside its bundle on the first Parquet input, not before', async () => {
    const zip = await JSZip.loadAsync(readFileSync(join(directory, 'transform.zip')));
    const unpacked = join(work, 'transform');
    for (const [entry, file] of Object.entries(zip.files)) {
      if (file.dir) continue;
      mkdirSync(dirname(join(unpacked, entry)), { recursive: true });
      writeFileSync(join(unpacked, entry), await file.async('nodebuffer'));
    }
    const records: LogRecord[] = Array.from({ length: 3 }, (_, index) => ({
      ...Object.fromEntries(LEGACY_FIELDS.map((field) => [field, '-'])),
      date: '2024-07-13',
      time: `01:0${index}:00`,
      'sc-bytes': '100',
      'sc-status': '200',
      'cs-method': 'GET',
      'x-edge-request-id': `request-${index}`,
      'time-taken': '0.010',
    }));
    const body = await parquetBytes(records, LEGACY_FIELDS);
    const client = createS3Client({
      region: 'us-east-1',
      endpoints: endpointsFor(s3!.endpoint),
      credentials: { ...LOCAL_CREDENTIALS },
    });
    await new S3ObjectStore(client).put('data-bucket', 'raw/v2.parquet', body);
    client.destroy();
    const endpointsFile = join(work, 'endpoints.json');
    writeFileSync(
      endpointsFile,
      JSON.stringify({
        region: 'us-east-1',
        ...endpointsFor(s3!.endpoint),
        mysql: { host: '127.0.0.1', port: 9, user: 'unused', password: '', database: 'unused' },
      }),
    );
    // Counts the reads of the .wasm: none while the bundle loads, one for the Parquet file.
    const script = `
      const fs = require('node:fs');
      const read = fs.readFileSync;
      let wasmReads = 0;
      fs.readFileSync = (path, ...rest) => { if (String(path).endsWith('.wasm')) wasmReads++; return read(path, ...rest); };
      const { handler } = require(${JSON.stringify(join(unpacked, 'functions/transform/handler.js'))});
      const afterLoad = wasmReads;
      handler({ action: 'file', runId: 'packaged', batchId: '0001',
                file: { fileId: 'v2', sourceKey: 'v2.parquet', key: 'raw/v2.parquet', size: ${body.length} } })
        .then((result) => console.log(JSON.stringify({ afterLoad, afterRun: wasmReads, result })),
              (error) => { console.error(error); process.exit(1); });`;
    const { stdout } = await run(process.execPath, ['-e', script], {
      cwd: unpacked,
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'us-east-1',
        ETL_STAGE: 'prod',
        ETL_ENDPOINTS_FILE: endpointsFile,
        DATA_BUCKET: 'data-bucket',
        SOURCE_BUCKET: 'source-bucket',
        GLUE_DATABASE: 'cf_etl_prod',
        ATHENA_WORKGROUP: 'cf-etl-prod',
        STAGING_TABLE: 'cf-etl-prod-staging',
        DB_SECRET_ID: 'secret',
        MAX_RUN_COST_USD: '25',
        FUNCTION_MEMORY_MB: '{"ingest":512,"transform":1024,"aggregate":512,"stage":512,"write":512}',
        LOG_LEVEL: 'error',
      },
    });
    const outcome = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
      afterLoad: number;
      afterRun: number;
      result: { status: string; rows: { read: number; accepted: number } };
    };
    expect(outcome.afterLoad).toBe(0);
    expect(outcome.afterRun).toBe(1);
    expect(outcome.result).toMatchObject({ status: 'transformed', rows: { read: 3, accepted: 3 } });
  }, 120_000);
});

function endpointsFor(s3: string) {
  // Only S3 is called by the transform; the other services' endpoints are never reached.
  return {
    s3,
    dynamodb: 'http://127.0.0.1:9',
    athena: 'http://127.0.0.1:9',
    secretsmanager: 'http://127.0.0.1:9',
  };
}

describe('sls package --stage dev with an alert email', () => {
  let template: CloudFormationTemplate;

  beforeAll(async () => {
    ({ template } = await packageStage('dev', { alertEmail: 'oncall@example.com' }));
  }, 240_000);

  it('subscribes the address to the alert topic', () => {
    const subscriptions = resourcesOfType(template, 'AWS::SNS::Subscription');
    expect(subscriptions).toHaveLength(1);
    const [, subscription] = subscriptions[0]!;
    expect(subscription.Condition).toBe('HasAlertEmail');
    expect(subscription.Properties).toEqual({
      TopicArn: { Ref: 'AlertTopic' },
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
    expect(template.Conditions?.HasAlertEmail).toEqual({
      'Fn::Not': [{ 'Fn::Equals': ['oncall@example.com', ''] }],
    });
  });

  it('leaves tracing off where the stage says so, and grants no X-Ray write then', () => {
    expect(template.Conditions?.TracingEnabled).toEqual({ 'Fn::Equals': ['tracing-false', 'tracing-true'] });
    for (const [, fn] of resourcesOfType(template, 'AWS::Lambda::Function')) {
      expect(fn.Properties?.TracingConfig).toBeUndefined();
    }
    expect(resource(template, 'RunStateMachine').Properties?.TracingConfiguration).toEqual({
      Enabled: false,
    });
    for (const role of FUNCTION_ROLES) {
      const xray = JSON.stringify(resource(template, role).Properties).match(/"Fn::If":\["TracingEnabled"/g);
      expect({ role, guarded: xray?.length }).toEqual({ role, guarded: 1 });
    }
  });
});

/** The compressed size of one entry of a zip, from its central directory record. */
function compressedSize(zip: Buffer, entry: string): number {
  const CENTRAL_DIRECTORY_RECORD = 0x02014b50;
  for (let offset = 0; offset + 46 <= zip.length; offset++) {
    if (zip.readUInt32LE(offset) !== CENTRAL_DIRECTORY_RECORD) continue;
    const nameLength = zip.readUInt16LE(offset + 28);
    if (zip.toString('utf8', offset + 46, offset + 46 + nameLength) === entry)
      return zip.readUInt32LE(offset + 20);
  }
  throw new Error(`${entry} is not in the zip`);
}
