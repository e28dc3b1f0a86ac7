/**
 * Where the AWS clients point, and the options every client shares. No AWS SDK import here: each
 * service's module (`s3.ts`, `athena.ts`, `dynamodb.ts`, `secrets-manager.ts`) imports only its
 * own client, so a handler's bundle holds only the services it calls.
 */

/** Where the AWS clients point. Omit `endpoints` in AWS: the SDK defaults are right there. */
export interface AwsSettings {
  region: string;
  /** Local stand-ins only: one URL per service. */
  endpoints?: {
    s3: string;
    dynamodb: string;
    athena: string;
    secretsmanager: string;
  };
  /** Local stand-ins only; in AWS the default provider chain (the Lambda role) is used. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export type AwsService = keyof NonNullable<AwsSettings['endpoints']>;

/**
 * Static credentials for the local stack, so the SDK never walks the provider chain (IMDS).
 * s3rver accepts only this pair; the other stand-ins accept any.
 */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

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
