import { type CloudFormationTemplate, packageStage, resourcesOfType } from './package';

type Json = unknown;

/** The IAM statements of one role. */
function roleStatements(
  template: CloudFormationTemplate,
  roleName: string,
): { Action: Json; Resource?: Json }[] {
  const found: { Action: Json; Resource?: Json }[] = [];
  const visit = (node: Json) => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      const record = node as Record<string, Json>;
      if ('Action' in record && 'Effect' in record) found.push(record as { Action: Json; Resource?: Json });
      Object.values(record).forEach(visit);
    }
  };
  visit(template.Resources[roleName]?.Properties);
  return found;
}

/** Every action a role grants, with the resources it grants it on (as JSON text). */
function grants(template: CloudFormationTemplate, roleName: string): Record<string, string[]> {
  const byAction: Record<string, string[]> = {};
  for (const statement of roleStatements(template, roleName)) {
    for (const action of [statement.Action].flat().map(String)) {
      byAction[action] = [
        ...(byAction[action] ?? []),
        ...[statement.Resource].flat().map((r) => JSON.stringify(r)),
      ];
    }
  }
  return byAction;
}

function definition(
  template: CloudFormationTemplate,
  logicalId: string,
): Record<string, Record<string, Json>> {
  const raw = template.Resources[logicalId]?.Properties?.DefinitionString as { 'Fn::Sub': [string, unknown] };
  return (JSON.parse(raw['Fn::Sub'][0]) as { States: Record<string, Record<string, Json>> }).States;
}

describe('sls package --stage prod: the db-sync pipeline beside the CloudFront one', () => {
  let template: CloudFormationTemplate;

  beforeAll(async () => {
    ({ template } = await packageStage('prod', {
      syncSourceSubnetIds: 'subnet-source1,subnet-source2',
      syncSourceSecurityGroupIds: 'sg-source',
      syncTargetSubnetIds: 'subnet-target1',
      syncTargetSecurityGroupIds: 'sg-target',
    }));
  }, 240_000);

  const functionNamed = (name: string) =>
    resourcesOfType(template, 'AWS::Lambda::Function').find(
      ([, fn]) => fn.Properties?.FunctionName === `cf-etl-prod-${name}`,
    )?.[1].Properties as Record<string, Json>;

  it('places the extract in the source VPC and the writer in the target VPC', () => {
    expect(functionNamed('syncExtract').VpcConfig).toEqual({
      SecurityGroupIds: ['sg-source'],
      SubnetIds: ['subnet-source1', 'subnet-source2'],
    });
    expect(functionNamed('syncWrite').VpcConfig).toEqual({
      SecurityGroupIds: ['sg-target'],
      SubnetIds: ['subnet-target1'],
    });
  });

  it('gives each side exactly its own secret, and the extract nothing of S3', () => {
    const extract = grants(template, 'SyncExtractRole');
    const write = grants(template, 'SyncWriteRole');
    expect(extract['secretsmanager:GetSecretValue']).toEqual([
      JSON.stringify(
        'arn:aws:secretsmanager:us-east-1:123456789012:secret:cf-etl/prod/sync-source-db-??????',
      ),
    ]);
    expect(write['secretsmanager:GetSecretValue']).toEqual([
      JSON.stringify(
        'arn:aws:secretsmanager:us-east-1:123456789012:secret:cf-etl/prod/sync-target-db-??????',
      ),
    ]);
    expect(Object.keys(extract).filter((action) => action.startsWith('s3:'))).toEqual([]);
    expect(
      Object.keys(extract)
        .filter((action) => action.startsWith('dynamodb:'))
        .sort(),
    ).toEqual(['dynamodb:BatchWriteItem', 'dynamodb:GetItem']);
    // The target side reads staged rows with Query, never Scan.
    expect(
      Object.keys(write)
        .filter((action) => action.startsWith('dynamodb:'))
        .sort(),
    ).toEqual(['dynamodb:PutItem', 'dynamodb:Query']);
    expect(write['s3:PutObject']).toEqual([
      JSON.stringify('arn:aws:s3:::cf-etl-prod-us-east-1-data/sync-reports/*'),
    ]);
    // Inside a VPC: the managed policy for the network interfaces, and only then.
    for (const role of ['SyncExtractRole', 'SyncWriteRole']) {
      expect(JSON.stringify(template.Resources[role]?.Properties?.ManagedPolicyArns)).toContain(
        'AWSLambdaVPCAccessExecutionRole',
      );
    }
  });

  it('starts one sync-table child per table from a capped Map, and catches every failure into the report', () => {
    const sync = definition(template, 'SyncStateMachine');
    const tables = sync.SyncTables!;
    expect(tables.MaxConcurrency).toBe(2);
    const child = (tables.ItemProcessor as { States: Record<string, Record<string, Json>> }).States
      .SyncTable!;
    expect(child.Resource).toBe('arn:aws:states:::states:startExecution.sync:2');
    for (const name of ['Plan', 'SyncTables', 'Report']) {
      expect(sync[name]?.Catch).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'ReportFailure' },
      ]);
    }
    expect(sync.ReportFailure?.Next).toBe('SyncFailed');
    const table = definition(template, 'SyncTableStateMachine');
    expect(Object.keys(table).sort()).toEqual(
      ['Checksums', 'Done', 'Extract', 'ExtractMore', 'Extracted', 'Write', 'WriteMore', 'Written'].sort(),
    );
  });

  it('alerts on a failed, timed-out or aborted sync run, naming where its report is', () => {
    const rule = template.Resources.SyncFailedRule?.Properties as Record<string, Json>;
    expect(rule.EventPattern).toMatchObject({
      detail: { status: ['FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArn: [{ Ref: 'SyncStateMachine' }] },
    });
    expect(JSON.stringify(rule.Targets)).toContain('s3://cf-etl-prod-us-east-1-data/sync-reports/');
  });

  it('passes each function the settings of its side', () => {
    const variables = (name: string) =>
      (functionNamed(name).Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables('syncExtract')).toMatchObject({
      SYNC_PAGE_ROWS: '1000',
      SYNC_ROWS_PER_INVOCATION: '50000',
    });
    expect(variables('syncWrite').DB_TLS).toBe('rds');
  });
});
