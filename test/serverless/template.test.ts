import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import JSZip from 'jszip';
import { stagingTableInput } from '#shared/adapters/staging-store';
import { type CloudFormationTemplate, packageStage, resourcesOfType } from './package';

type Json = unknown;
const run = promisify(execFile);

/** Every IAM statement in the template's roles (function roles and the state machines' roles). */
function statements(template: CloudFormationTemplate): { Action: Json; Resource?: Json }[] {
  const found: { Action: Json; Resource?: Json }[] = [];
  const visit = (node: Json) => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      const record = node as Record<string, Json>;
      if ('Action' in record && 'Effect' in record) found.push(record as { Action: Json; Resource?: Json });
      Object.values(record).forEach(visit);
    }
  };
  for (const [, resource] of resourcesOfType(template, 'AWS::IAM::Role')) visit(resource.Properties);
  return found;
}

/**
 * A state machine's definition as deployed: the plugin renders it into `Fn::Sub` with `${hash}`
 * placeholders for intrinsics. Placeholders that stand for a Lambda function's ARN are replaced by
 * `lambda:<LogicalId>` so tests can tell Lambda tasks apart, and a `Ref` by `ref:<LogicalId>`.
 */
function definitionOf(template: CloudFormationTemplate, logicalId: string): Record<string, Json> {
  const raw = template.Resources[logicalId]?.Properties?.DefinitionString as {
    'Fn::Sub': [string, Record<string, Json>];
  };
  const [text, substitutions] = raw['Fn::Sub'];
  const resolved = text.replace(/\$\{(\w+)\}/g, (placeholder, name: string) => {
    const value = substitutions[name] as { 'Fn::GetAtt'?: [string, string]; Ref?: string } | undefined;
    const target = value?.['Fn::GetAtt']?.[0];
    if (target?.endsWith('LambdaFunction')) return `lambda:${target}`;
    return value?.Ref === undefined ? placeholder : `ref:${value.Ref}`;
  });
  return JSON.parse(resolved) as Record<string, Json>;
}

/** Every state of a definition, nested Map processors included. */
function allStates(definition: Record<string, Json>): [string, Record<string, Json>][] {
  const states: [string, Record<string, Json>][] = [];
  const visit = (machine: Record<string, Json>) => {
    for (const [name, state] of Object.entries(
      (machine.States ?? {}) as Record<string, Record<string, Json>>,
    )) {
      states.push([name, state]);
      const processor = (state.ItemProcessor ?? state.Iterator) as Record<string, Json> | undefined;
      if (processor) visit(processor);
    }
  };
  visit(definition);
  return states;
}

const LAMBDA_RETRY = {
  ErrorEquals: [
    'Lambda.TooManyRequestsException',
    'Lambda.ServiceException',
    'Lambda.AWSLambdaException',
    'Lambda.SdkClientException',
  ],
  IntervalSeconds: 2,
  MaxAttempts: 7,
  BackoffRate: 1.85,
  MaxDelaySeconds: 60,
  JitterStrategy: 'FULL',
};

describe.each(['dev', 'prod'])('sls package --stage %s (offline)', (stage) => {
  let template: CloudFormationTemplate;
  let directory: string;

  beforeAll(async () => {
    ({ template, directory } = await packageStage(stage));
  }, 240_000);

  it('deploys the seven functions of both pipelines on nodejs22.x / arm64, named per stage, each with its own role', () => {
    const functions = resourcesOfType(template, 'AWS::Lambda::Function');
    expect(functions.map(([, fn]) => String(fn.Properties?.FunctionName)).sort()).toEqual(
      ['aggregate', 'ingest', 'stage', 'syncExtract', 'syncWrite', 'transform', 'write'].map(
        (name) => `cf-etl-${stage}-${name}`,
      ),
    );
    const roles = new Set<string>();
    for (const [, fn] of functions) {
      expect(fn.Properties?.Runtime).toBe('nodejs22.x');
      expect(fn.Properties?.Architectures).toEqual(['arm64']);
      roles.add(JSON.stringify(fn.Properties?.Role));
    }
    expect(roles.size).toBe(7);
  });

  it('builds one zip per function, with the SQL templates in the aggregate package', async () => {
    for (const name of ['ingest', 'transform', 'aggregate', 'stage', 'write', 'syncExtract', 'syncWrite']) {
      expect(existsSync(join(directory, `${name}.zip`))).toBe(true);
    }
    const aggregateZip = await JSZip.loadAsync(readFileSync(join(directory, 'aggregate.zip')));
    expect(Object.keys(aggregateZip.files)).toContain('sql/hourly_aggregate.sql');
  });

  it('ships what the transform loads at run time, and it loads from the unpacked package', async () => {
    const zip = await JSZip.loadAsync(readFileSync(join(directory, 'transform.zip')));
    const names = Object.keys(zip.files);
    expect(names).toEqual(
      expect.arrayContaining(['functions/transform/handler.js', 'functions/transform/parquet_wasm_bg.wasm']),
    );
    // Lambda's limit: 250 MB unzipped.
    let unzipped = 0;
    const unpacked = mkdtempSync(join(tmpdir(), 'transform-zip-'));
    for (const name of names) {
      const entry = zip.files[name]!;
      if (entry.dir) continue;
      const bytes = await entry.async('nodebuffer');
      unzipped += bytes.length;
      mkdirSync(dirname(join(unpacked, name)), { recursive: true });
      writeFileSync(join(unpacked, name), bytes);
    }
    expect(unzipped).toBeLessThan(250 * 1024 * 1024);
    // Loading the bundle instantiates parquet-wasm from the .wasm beside it (no node_modules there).
    const { stdout } = await run(
      process.execPath,
      [
        '-e',
        `require(${JSON.stringify(join(unpacked, 'functions/transform/handler.js'))}); console.log('loaded')`,
      ],
      {
        cwd: unpacked,
      },
    );
    expect(stdout.trim()).toBe('loaded');
  });

  it('has the parent and its two children, started through startExecution.sync:2 (and the backfill and the db-sync pair)', () => {
    const machines = resourcesOfType(template, 'AWS::StepFunctions::StateMachine')
      .map(([id]) => id)
      .sort();
    expect(machines).toEqual([
      'BackfillStateMachine',
      'BatchStateMachine',
      'HoursStateMachine',
      'RunStateMachine',
      'SyncStateMachine',
      'SyncTableStateMachine',
    ]);
    const run = allStates(definitionOf(template, 'RunStateMachine'));
    const started = run
      .filter(([, state]) => state.Resource === 'arn:aws:states:::states:startExecution.sync:2')
      .map(([, state]) => JSON.stringify((state.Parameters as Record<string, Json>).StateMachineArn));
    // RunBatch (inline Map), RunBatchInMapRun (Distributed Map), RunHourGroup.
    expect(started).toHaveLength(3);
    expect(started.join()).toMatch(/BatchStateMachine/);
    expect(started.join()).toMatch(/HoursStateMachine/);
  });

  it('retries every Lambda task with the tuned policy (2 s, 7 attempts, 1.85, capped, full jitter)', () => {
    for (const id of [
      'BackfillStateMachine',
      'RunStateMachine',
      'BatchStateMachine',
      'HoursStateMachine',
      'SyncStateMachine',
      'SyncTableStateMachine',
    ]) {
      const tasks = allStates(definitionOf(template, id)).filter(
        ([, state]) => state.Type === 'Task' && String(state.Resource).startsWith('lambda:'),
      );
      expect(tasks.length).toBeGreaterThan(0);
      for (const [name, state] of tasks) {
        expect({ name, retry: state.Retry }).toEqual({ name, retry: expect.arrayContaining([LAMBDA_RETRY]) });
      }
    }
  });

  it('caps every Map, the Athena one at 20 or less', () => {
    const maps = [
      'BackfillStateMachine',
      'RunStateMachine',
      'BatchStateMachine',
      'HoursStateMachine',
      'SyncStateMachine',
      'SyncTableStateMachine',
    ].flatMap((id) =>
      allStates(definitionOf(template, id))
        .filter(([, state]) => state.Type === 'Map')
        .map(([name, state]) => [`${id}.${name}`, state] as const),
    );
    expect(maps.map(([name]) => name).sort()).toEqual([
      'BackfillStateMachine.RunWindows',
      'BatchStateMachine.TransformFiles',
      'HoursStateMachine.AggregateHours',
      'RunStateMachine.AggregateHours',
      'RunStateMachine.TransformBatches',
      'RunStateMachine.TransformBatchesDistributed',
      'SyncStateMachine.SyncTables',
    ]);
    for (const [, state] of maps) expect(state.MaxConcurrency).toBeGreaterThan(0);
    const athena = maps.find(([name]) => name === 'HoursStateMachine.AggregateHours')?.[1];
    expect(athena?.MaxConcurrency).toBeLessThanOrEqual(20);
    // Hour groups run one at a time, so the quota holds across the children too.
    expect(maps.find(([name]) => name === 'RunStateMachine.AggregateHours')?.[1].MaxConcurrency).toBe(1);
    // Runs of a backfill one at a time (backfillConcurrency), so they share the quota too.
    expect(maps.find(([name]) => name === 'BackfillStateMachine.RunWindows')?.[1].MaxConcurrency).toBe(1);
  });

  it("runs a backfill's windows as executions of the run machine, each failure caught, then a summary and BackfillWindowsFailed", () => {
    const backfill = definitionOf(template, 'BackfillStateMachine');
    expect(backfill.StartAt).toBe('SplitWindows');
    const states = Object.fromEntries(allStates(backfill));
    expect(states.SplitWindows).toMatchObject({
      Type: 'Task',
      Resource: 'lambda:IngestLambdaFunction',
      Parameters: {
        action: 'backfillWindows',
        'input.$': '$',
        'executionName.$': '$$.Execution.Name',
        hoursPerRun: 24,
      },
      Next: 'RunWindows',
    });
    expect(states.RunWindows).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.windows',
      ItemSelector: { 'runId.$': '$$.Map.Item.Value.runId', 'window.$': '$$.Map.Item.Value.window' },
      ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: 'RunWindow' },
      ResultPath: '$.windows',
      Next: 'Summarize',
    });
    // The run's input is what a run started by hand gets: its runId and window.
    expect(states.RunWindow).toMatchObject({
      Resource: 'arn:aws:states:::states:startExecution.sync:2',
      Parameters: {
        StateMachineArn: 'ref:RunStateMachine',
        Input: {
          'runId.$': '$.runId',
          'window.$': '$.window',
          'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$': '$$.Execution.Id',
        },
      },
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'WindowFailed' }],
      End: true,
    });
    // Starting a run retries as a throttled Lambda does; a failed run is caught, never retried.
    expect(states.RunWindow?.Retry).toEqual([
      {
        ...LAMBDA_RETRY,
        ErrorEquals: ['StepFunctions.ExecutionLimitExceededException', 'StepFunctions.SdkClientException'],
      },
    ]);
    expect(states.WindowFailed).toMatchObject({ Type: 'Pass', End: true });
    expect(states.Summarize).toMatchObject({
      Resource: 'lambda:WriteLambdaFunction',
      Parameters: { action: 'backfillReport', 'results.$': '$.windows' },
      Next: 'AnyWindowFailed',
    });
    expect(states.AnyWindowFailed).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.status', StringEquals: 'FAILED', Next: 'BackfillFailed' }],
      Default: 'Done',
    });
    expect(states.BackfillFailed).toMatchObject({ Type: 'Fail', Error: 'BackfillWindowsFailed' });
    expect(states.Done).toMatchObject({ Type: 'Succeed' });
  });

  it("gives the backfill's role what startExecution.sync:2 of the run machine needs", () => {
    const role = template.Resources.BackfillStateMachineRole?.Properties as {
      Policies: { PolicyDocument: { Statement: { Action: string[]; Resource: Json }[] } }[];
    };
    const found = role.Policies.flatMap((policy) => policy.PolicyDocument.Statement);
    const actionsOn = (resource: RegExp) =>
      found
        .filter((statement) => resource.test(JSON.stringify(statement.Resource)))
        .flatMap((statement) => statement.Action.map((action) => action.toLowerCase()));
    expect(actionsOn(/\{"Ref":"RunStateMachine"\}/)).toEqual(['states:startexecution']);
    expect(actionsOn(new RegExp(`:execution:cf-etl-${stage}-run:\\*`)).sort()).toEqual([
      'states:describeexecution',
      'states:stopexecution',
    ]);
    expect(actionsOn(/rule\/StepFunctionsGetEventsForStepFunctionsExecutionRule/).sort()).toEqual([
      'events:describerule',
      'events:putrule',
      'events:puttargets',
    ]);
    // Its two Lambda tasks, and no other function.
    const invoked = found
      .filter((statement) => statement.Action.includes('lambda:InvokeFunction'))
      .flatMap((statement) => JSON.stringify(statement.Resource).match(/\w+LambdaFunction/g) ?? []);
    expect([...new Set(invoked)].sort()).toEqual(['IngestLambdaFunction', 'WriteLambdaFunction']);
    // The summary reads the runs' reports.
    const write = statements({
      Resources: {
        WriteRole: { Type: 'AWS::IAM::Role', Properties: template.Resources.WriteRole?.Properties },
      },
    } as never)
      .filter((statement) => [statement.Action].flat().includes('s3:GetObject'))
      .flatMap((statement) => [statement.Resource].flat().map(String));
    expect(write).toContain(`arn:aws:s3:::cf-etl-${stage}-us-east-1-data/reports/*`);
    // The stack output a backfill is started with (the plugin adds one per state machine).
    expect(template.Outputs?.BackfillStateMachineArn).toMatchObject({
      Value: { Ref: 'BackfillStateMachine' },
    });
  });

  it('runs the batches inline by default, or in a Distributed Map reading the batch list from S3', () => {
    const run = Object.fromEntries(allStates(definitionOf(template, 'RunStateMachine')));
    expect(run.Ingest?.Next).toBe('ChooseBatchMap');
    expect(run.ChooseBatchMap).toMatchObject({
      Type: 'Choice',
      Choices: [
        { Variable: '$.run.batchMap', StringEquals: 'distributed', Next: 'TransformBatchesDistributed' },
      ],
      Default: 'TransformBatches',
    });
    const dataBucket = `cf-etl-${stage}-us-east-1-data`;
    const distributed = run.TransformBatchesDistributed as Record<string, Json>;
    expect(distributed).toMatchObject({
      Type: 'Map',
      ItemReader: {
        Resource: 'arn:aws:states:::s3:getObject',
        ReaderConfig: { InputType: 'JSON' },
        Parameters: { Bucket: dataBucket, 'Key.$': '$.run.batchItemsKey' },
      },
      MaxConcurrency: run.TransformBatches?.MaxConcurrency,
      ToleratedFailurePercentage: 0,
      ItemSelector: { 'runId.$': '$.run.runId', 'batchId.$': '$$.Map.Item.Value.batchId' },
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' } },
      ResultWriter: {
        Resource: 'arn:aws:states:::s3:putObject',
        Parameters: { Bucket: dataBucket, Prefix: 'map-runs' },
      },
      Next: 'PlanHours',
    });
    // Each child runs the same batch task as an iteration of the inline Map does.
    expect(run.RunBatchInMapRun).toEqual(run.RunBatch);
    // The report learns which Map ran (the run model counts the two differently).
    expect(run.Report?.Parameters).toMatchObject({ 'batchMap.$': '$.run.batchMap' });
    for (const [, fn] of resourcesOfType(template, 'AWS::Lambda::Function')) {
      const environment = fn.Properties?.Environment as { Variables: Record<string, Json> } | undefined;
      expect(environment?.Variables.BATCH_MAP_MODE).toBe('inline');
    }
  });

  it("gives the parent's role what its Distributed Map needs, and no more of S3", () => {
    const role = template.Resources.RunStateMachineRole?.Properties as {
      Policies: { PolicyDocument: { Statement: { Action: string[]; Resource: Json }[] } }[];
    };
    const found = role.Policies.flatMap((policy) => policy.PolicyDocument.Statement);
    const actionsOn = (resource: RegExp) =>
      found
        .filter((statement) => resource.test(JSON.stringify(statement.Resource)))
        .flatMap((statement) => statement.Action.map((action) => action.toLowerCase()));
    // The map run starts its children as executions of this very state machine.
    expect(actionsOn(new RegExp(`:stateMachine:cf-etl-${stage}-run"`))).toContain('states:startexecution');
    // They are named <machine>/<map run>:<id>, which `execution:<machine>:*` would not match.
    expect(actionsOn(new RegExp(`:execution:cf-etl-${stage}-run/\\*`))).toEqual(
      expect.arrayContaining(['states:describeexecution', 'states:stopexecution']),
    );
    const bucket = `s3:::cf-etl-${stage}-us-east-1-data`;
    // ItemReader: the batch list in the data bucket.
    expect(actionsOn(new RegExp(`${bucket}/\\*`))).toEqual(['s3:getobject']);
    // ResultWriter: only under map-runs/, multipart uploads included.
    expect(actionsOn(new RegExp(`${bucket}/map-runs/\\*`)).sort()).toEqual([
      's3:abortmultipartupload',
      's3:listmultipartuploadparts',
      's3:putobject',
    ]);
    const s3Statements = found.filter((statement) => statement.Action.some((action) => /^s3:/i.test(action)));
    for (const statement of s3Statements) {
      expect(JSON.stringify(statement.Resource)).toMatch(new RegExp(`${bucket}/(map-runs/)?\\*`));
    }
    expect(s3Statements).toHaveLength(3);
  });

  it('catches failures into the failure report', () => {
    const run = Object.fromEntries(allStates(definitionOf(template, 'RunStateMachine')));
    for (const name of [
      'Ingest',
      'TransformBatches',
      'TransformBatchesDistributed',
      'PlanHours',
      'AggregateHours',
      'WriteWarehouse',
      'Report',
    ]) {
      expect(run[name]?.Catch).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'ReportFailure' },
      ]);
    }
  });

  it("schedules each pipeline's parent with its own 6-field UTC cron, enabled only in prod", () => {
    const rules = resourcesOfType(template, 'AWS::Events::Rule').filter(
      ([, rule]) => rule.Properties?.ScheduleExpression !== undefined,
    );
    expect(rules).toHaveLength(2);
    const targets = rules.map(([, rule]) => JSON.stringify(rule.Properties?.Targets)).join();
    expect(targets).toMatch(/RunStateMachine/);
    expect(targets).toMatch(/SyncStateMachine/);
    for (const [, { Properties: rule = {} }] of rules) {
      const expression = String(rule.ScheduleExpression);
      expect(expression).toMatch(/^cron\((\S+ ){5}\S+\)$/);
      expect(expression).toContain('?');
      expect(rule.State).toBe(stage === 'prod' ? 'ENABLED' : 'DISABLED');
    }
  });

  it('defines the Glue table from the dataset schema, with partition projection on dt and hour', () => {
    const [, database] = resourcesOfType(template, 'AWS::Glue::Database')[0]!;
    expect((database.Properties?.DatabaseInput as { Name?: string } | undefined)?.Name).toBe(
      `cf_etl_${stage}`,
    );
    const [, table] = resourcesOfType(template, 'AWS::Glue::Table')[0]!;
    const input = table.Properties?.TableInput as {
      Parameters: Record<string, string>;
      PartitionKeys: { Name: string }[];
      StorageDescriptor: { Columns: { Name: string; Type: string }[]; Location: string };
    };
    expect(input.Parameters['projection.enabled']).toBe('true');
    expect(input.Parameters['projection.hour.range']).toBe('0,23');
    expect(input.PartitionKeys.map((key) => key.Name)).toEqual(['dt', 'hour']);
    expect(input.StorageDescriptor.Columns).toContainEqual({ Name: 'forwarded_for', Type: 'array<string>' });
    expect(input.StorageDescriptor.Location).toMatch(/^s3:\/\/cf-etl-.+-data\/curated\/$/);
  });

  it('has the Athena workgroup with an enforced result location and a bytes-scanned cutoff', () => {
    const [, workgroup] = resourcesOfType(template, 'AWS::Athena::WorkGroup')[0]!;
    const configuration = workgroup.Properties?.WorkGroupConfiguration as Record<string, unknown>;
    expect(configuration.EnforceWorkGroupConfiguration).toBe(true);
    expect(Number(configuration.BytesScannedCutoffPerQuery)).toBeGreaterThan(0);
    expect(JSON.stringify(configuration.ResultConfiguration)).toContain('/athena-results/');
  });

  it('has the on-demand staging table with TTL, keyed as the staging adapter reads it', () => {
    const [, table] = resourcesOfType(template, 'AWS::DynamoDB::Table')[0]!;
    const adapter = stagingTableInput('x');
    expect(table.Properties?.KeySchema).toEqual(adapter.KeySchema);
    expect(table.Properties?.AttributeDefinitions).toEqual(adapter.AttributeDefinitions);
    expect(table.Properties?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.Properties?.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
  });

  it('keeps logs for the stage retention', () => {
    for (const [, group] of resourcesOfType(template, 'AWS::Logs::LogGroup')) {
      expect(group.Properties?.RetentionInDays).toBe(stage === 'prod' ? 90 : 7);
    }
  });

  it('grants no wildcard IAM action', () => {
    const all = statements(template);
    expect(all.length).toBeGreaterThan(10);
    for (const statement of all) {
      for (const action of [statement.Action].flat()) expect(String(action)).not.toMatch(/(^\*$|:\*$|\*)/);
    }
  });

  it.each([
    ['IngestRole', 'a raw key not yet copied'],
    ['TransformRole', "a raw file's curated-hours record not yet written"],
  ])('lets %s list the data bucket, so a HEAD of %s is a 404, not a 403', (roleName) => {
    const role = template.Resources[roleName]?.Properties as Json;
    const listing = statements({
      Resources: { [roleName]: { Type: 'AWS::IAM::Role', Properties: role } },
    } as never)
      .filter((statement) => [statement.Action].flat().includes('s3:ListBucket'))
      .map((statement) => JSON.stringify(statement.Resource));
    expect(listing.some((resource) => /cf-etl-.+-data"$/.test(resource))).toBe(true);
  });

  it('lets the transform delete curated files and their records, and nothing else of the data bucket', () => {
    const role = template.Resources.TransformRole?.Properties as Json;
    const deletes = statements({
      Resources: { TransformRole: { Type: 'AWS::IAM::Role', Properties: role } },
    } as never)
      .filter((statement) => [statement.Action].flat().includes('s3:DeleteObject'))
      .flatMap((statement) => [statement.Resource].flat().map(String));
    expect(deletes.map((resource) => resource.replace(/^.*-data\//, '')).sort()).toEqual([
      'curated-hours/*',
      'curated/*',
      'quarantine/*',
    ]);
  });

  it("sizes the transform's /tmp for its spool and tells the function its size and the raw file bound", () => {
    const transform = resourcesOfType(template, 'AWS::Lambda::Function').find(
      ([, fn]) => fn.Properties?.FunctionName === `cf-etl-${stage}-transform`,
    );
    const properties = transform?.[1].Properties as Record<string, Json>;
    expect(properties.EphemeralStorage).toEqual({ Size: 4096 });
    expect(properties.Environment).toMatchObject({
      Variables: { TRANSFORM_TMP_MB: '4096', MAX_RAW_FILE_BYTES: '268435456' },
    });
  });

  it("pins the transform's V8 young generation (Lambda's runtime would size it from memorySize), and only its", () => {
    for (const [, fn] of resourcesOfType(template, 'AWS::Lambda::Function')) {
      const environment = fn.Properties?.Environment as { Variables: Record<string, Json> } | undefined;
      const variables = environment?.Variables ?? {};
      if (fn.Properties?.FunctionName === `cf-etl-${stage}-transform`) {
        expect(variables.NODE_OPTIONS).toBe('--max-semi-space-size=4');
      } else {
        expect(variables.NODE_OPTIONS).toBeUndefined();
      }
    }
  });

  it("gives the writer its bulk mode, auto unless the stage's warehouseBulkMode says otherwise", () => {
    const write = resourcesOfType(template, 'AWS::Lambda::Function').find(
      ([, fn]) => fn.Properties?.FunctionName === `cf-etl-${stage}-write`,
    );
    const variables =
      (write?.[1].Properties?.Environment as { Variables?: Record<string, unknown> })?.Variables ?? {};
    expect(variables.WAREHOUSE_BULK_MODE).toBe('auto');
    // Credentials cross the network only inside TLS checked against the RDS CA.
    expect(variables.DB_TLS).toBe('rds');
  });

  it('denies every request to the data bucket that does not come over TLS', () => {
    const policies = resourcesOfType(template, 'AWS::S3::BucketPolicy');
    const policy = policies.find(
      ([, resource]) => JSON.stringify(resource.Properties?.Bucket) === '{"Ref":"DataBucket"}',
    );
    expect(policy).toBeDefined();
    const document = policy![1].Properties!.PolicyDocument as { Statement: Json[] };
    const statement = document.Statement.find(
      (candidate) => (candidate as Record<string, Json>).Effect === 'Deny',
    ) as Record<string, Json>;
    expect(statement).toMatchObject({
      Principal: '*',
      Action: 's3:*',
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
    // The bucket and every object in it.
    expect(JSON.stringify(statement.Resource)).toContain('"Fn::GetAtt":["DataBucket","Arn"]');
    expect(JSON.stringify(statement.Resource)).toContain('"/*"');
  });

  it('grants the writer exactly its secret (the ARN with its 6-character suffix), not every name it prefixes', () => {
    const role = template.Resources.WriteRole?.Properties as Json;
    const grants = statements({
      Resources: { WriteRole: { Type: 'AWS::IAM::Role', Properties: role } },
    } as never)
      .filter((statement) => [statement.Action].flat().includes('secretsmanager:GetSecretValue'))
      .map((statement) => statement.Resource);
    expect(grants).toEqual([
      `arn:aws:secretsmanager:us-east-1:123456789012:secret:cf-etl/${stage}/mysql-??????`,
    ]);
  });

  it('points no function at a local endpoints file', () => {
    for (const [, fn] of resourcesOfType(template, 'AWS::Lambda::Function')) {
      const variables =
        (fn.Properties?.Environment as { Variables?: Record<string, unknown> })?.Variables ?? {};
      expect(variables.ETL_ENDPOINTS_FILE ?? '').toBe('');
    }
  });
});
