import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type CloudFormationTemplate, packageStage, resourcesOfType } from './package';

/** Every IAM statement in the template, wherever it sits (roles and inline policies). */
function statements(template: CloudFormationTemplate): { Action: unknown; Resource?: unknown }[] {
  const found: { Action: unknown; Resource?: unknown }[] = [];
  const visit = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      const record = node as Record<string, unknown>;
      if ('Action' in record && 'Effect' in record)
        found.push(record as { Action: unknown; Resource?: unknown });
      Object.values(record).forEach(visit);
    }
  };
  for (const [, resource] of resourcesOfType(template, 'AWS::IAM::Role')) visit(resource.Properties);
  return found;
}

describe.each(['dev', 'prod'])('sls package --stage %s (offline)', (stage) => {
  let template: CloudFormationTemplate;
  let directory: string;

  beforeAll(async () => {
    ({ template, directory } = await packageStage(stage));
  }, 180_000);

  it('deploys every function on nodejs22.x / arm64, named per stage', () => {
    const functions = resourcesOfType(template, 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThan(0);
    for (const [, fn] of functions) {
      expect(fn.Properties?.Runtime).toBe('nodejs22.x');
      expect(fn.Properties?.Architectures).toEqual(['arm64']);
      expect(String(fn.Properties?.FunctionName)).toMatch(new RegExp(`^cf-etl-${stage}-`));
    }
  });

  it('builds one zip per function with the bundled handler inside', () => {
    expect(existsSync(join(directory, 'ingest.zip'))).toBe(true);
  });

  it('keeps logs for the stage retention', () => {
    const groups = resourcesOfType(template, 'AWS::Logs::LogGroup');
    expect(groups.length).toBeGreaterThan(0);
    for (const [, group] of groups) expect(group.Properties?.RetentionInDays).toBe(stage === 'prod' ? 90 : 7);
  });

  it('grants no wildcard IAM action', () => {
    for (const statement of statements(template)) {
      const actions = [statement.Action].flat();
      for (const action of actions) expect(String(action)).not.toMatch(/(^\*$|:\*$)/);
    }
  });

  it('points no function at a local endpoints file', () => {
    for (const [, fn] of resourcesOfType(template, 'AWS::Lambda::Function')) {
      const variables =
        (fn.Properties?.Environment as { Variables?: Record<string, unknown> })?.Variables ?? {};
      expect(variables.ETL_ENDPOINTS_FILE ?? '').toBe('');
    }
  });
});
