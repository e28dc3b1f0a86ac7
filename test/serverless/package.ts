import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..');

export interface CloudFormationTemplate {
  Resources: Record<
    string,
    { Type: string; Properties?: Record<string, unknown>; DependsOn?: unknown; Condition?: string }
  >;
  Conditions?: Record<string, unknown>;
  Outputs?: Record<string, unknown>;
}

/**
 * Packages a stage offline (`sls package`, dummy credentials, no AWS call) into a temp folder and
 * returns the CloudFormation template it would deploy plus the folder (for the zip artifacts).
 */
export async function packageStage(
  stage: string,
  params: Record<string, string> = {},
): Promise<{ template: CloudFormationTemplate; directory: string }> {
  const directory = mkdtempSync(join(tmpdir(), `sls-${stage}-`));
  await run(
    process.execPath,
    [
      join(ROOT, 'node_modules/serverless/bin/serverless.js'),
      'package',
      '--stage',
      stage,
      '--package',
      directory,
      ...Object.entries(params).map(([name, value]) => `--param=${name}=${value}`),
    ],
    {
      cwd: ROOT,
      maxBuffer: 16 * 1024 * 1024,
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: 'offline',
        AWS_SECRET_ACCESS_KEY: 'offline',
        SLS_TELEMETRY_DISABLED: '1',
      },
    },
  );
  const template = JSON.parse(
    readFileSync(join(directory, 'cloudformation-template-update-stack.json'), 'utf8'),
  ) as CloudFormationTemplate;
  return { template, directory };
}

export function resourcesOfType(template: CloudFormationTemplate, type: string) {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}
