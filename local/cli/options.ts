import { join, resolve } from 'node:path';
import { DEFAULT_PORTS, DEFAULT_REGION, type StackPorts } from '../stack';
import { parseCli, usageError } from './args';

/** Files the background stack keeps under its directory. */
export function stackFiles(directory: string) {
  return {
    endpoints: join(directory, 'endpoints.json'),
    awsEnv: join(directory, 'aws.env'),
    status: join(directory, 'status.json'),
    pid: join(directory, 'stack.pid'),
    log: join(directory, 'logs', 'stack.log'),
    mariadbPid: join(directory, 'mysql', 'mariadbd.pid'),
  };
}

export interface StackCliOptions {
  directory: string;
  region: string;
  ports: StackPorts;
}

export const UP_USAGE = `Usage: npm run local:up -- [--dir .local] [--region us-east-1]
         [--s3-port ${DEFAULT_PORTS.s3}] [--dynamodb-port ${DEFAULT_PORTS.dynamodb}] [--athena-port ${DEFAULT_PORTS.athena}]
         [--secretsmanager-port ${DEFAULT_PORTS.secretsmanager}] [--mysql-port ${DEFAULT_PORTS.mysql}]
Starts the local stack in the background. A preferred port that is taken is replaced by a free one;
.local/endpoints.json has the ports in use, .local/aws.env the same as AWS_ENDPOINT_URL_<SERVICE>
variables (source .local/aws.env && aws s3 ls).`;

/** Parses the stack CLI's flags; unknown flags and non-numeric ports fail with `usage`, exit 2. */
export function parseStackArgs(argv: string[], usage = UP_USAGE): StackCliOptions {
  const values = parseCli(
    usage,
    {
      dir: { type: 'string', default: '.local' },
      region: { type: 'string', default: DEFAULT_REGION },
      's3-port': { type: 'string' },
      'dynamodb-port': { type: 'string' },
      'athena-port': { type: 'string' },
      'secretsmanager-port': { type: 'string' },
      'mysql-port': { type: 'string' },
      help: { type: 'boolean' },
    },
    argv,
  );
  const port = (flag: string | undefined, fallback: number): number => {
    if (flag === undefined) return fallback;
    const value = Number(flag);
    if (!/^\d+$/.test(flag) || value > 65535) usageError(`Invalid port ${flag}`, usage);
    return value;
  };
  return {
    directory: resolve(values.dir),
    region: values.region,
    ports: {
      s3: port(values['s3-port'], DEFAULT_PORTS.s3),
      dynamodb: port(values['dynamodb-port'], DEFAULT_PORTS.dynamodb),
      athena: port(values['athena-port'], DEFAULT_PORTS.athena),
      secretsmanager: port(values['secretsmanager-port'], DEFAULT_PORTS.secretsmanager),
      mysql: port(values['mysql-port'], DEFAULT_PORTS.mysql),
    },
  };
}
