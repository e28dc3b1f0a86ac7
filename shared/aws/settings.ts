/**
 * Where the AWS clients point, and the options every client shares. No AWS SDK import here: each
 * service's module (`s3.ts`, `athena.ts`, `dynamodb.ts`, `secrets-manager.ts`) imports only its
 * own client, so a handler's bundle holds only the services it calls.
 */

/** The services the pipeline calls, as the endpoints file and `AWS_ENDPOINT_URL_<SERVICE>` name them. */
export type AwsService = 's3' | 'dynamodb' | 'athena' | 'secretsmanager';

/** Where the AWS clients point. Omit `endpoints` in AWS: the SDK defaults are right there. */
export interface AwsSettings {
  region: string;
  /** Local stand-ins or another endpoint set: one URL per service (a missing one uses the SDK default). */
  endpoints?: Partial<Record<AwsService, string>>;
  /** Local stand-ins only; otherwise the default provider chain (the Lambda role, AWS_ACCESS_KEY_ID, …). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * Static credentials for the local stack, so the SDK never walks the provider chain (IMDS). Every
 * local service accepts any key pair (the LocalStack convention); `test`/`test` is the one users know.
 */
export const LOCAL_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;

/** The standard per-service endpoint variables the AWS CLI and current SDKs read (`AWS_ENDPOINT_URL` is the fallback). */
export const ENDPOINT_VARIABLES: Record<AwsService, string> = {
  s3: 'AWS_ENDPOINT_URL_S3',
  dynamodb: 'AWS_ENDPOINT_URL_DYNAMODB',
  athena: 'AWS_ENDPOINT_URL_ATHENA',
  secretsmanager: 'AWS_ENDPOINT_URL_SECRETS_MANAGER',
};

/**
 * Settings from `AWS_ENDPOINT_URL_<SERVICE>` and `AWS_ENDPOINT_URL` values (passed in by the config
 * module, the one reader of the environment): the project's code then runs against any endpoint set
 * (a LocalStack, a moto server, the local stack's `.local/aws.env`) with the default credentials chain.
 */
export function endpointVariableSettings(
  region: string,
  variables: Partial<Record<string, string | undefined>>,
): AwsSettings {
  const endpoints: Partial<Record<AwsService, string>> = {};
  for (const [service, name] of Object.entries(ENDPOINT_VARIABLES) as [AwsService, string][]) {
    const url = variables[name] ?? variables.AWS_ENDPOINT_URL;
    if (url) endpoints[service] = url;
  }
  return Object.keys(endpoints).length === 0 ? { region } : { region, endpoints };
}

/** Region, endpoint and credentials of one service's client. */
export function clientOptions(settings: AwsSettings, service: AwsService) {
  const endpoint = settings.endpoints?.[service];
  return {
    region: settings.region,
    ...(endpoint !== undefined && { endpoint }),
    ...(settings.credentials !== undefined && { credentials: settings.credentials }),
  };
}

/** Settings for clients that talk to the local stack described by an endpoints file. */
export function localAwsSettings(endpoints: {
  region: string;
  s3: string;
  dynamodb: string;
  athena: string;
  secretsmanager: string;
}): AwsSettings {
  return {
    region: endpoints.region,
    endpoints: {
      s3: endpoints.s3,
      dynamodb: endpoints.dynamodb,
      athena: endpoints.athena,
      secretsmanager: endpoints.secretsmanager,
    },
    credentials: { ...LOCAL_CREDENTIALS },
  };
}
