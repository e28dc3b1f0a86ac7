import { AwsClients, localAwsSettings } from '#shared/aws/clients';

/**
 * AWS clients from the one client factory, pointed at local stand-ins. Services a test does not
 * use point at the first endpoint given (the factory wants all four; nothing calls them).
 */
export function localClients(endpoints: {
  s3?: string;
  dynamodb?: string;
  athena?: string;
  secretsmanager?: string;
}): AwsClients {
  const fallback = endpoints.s3 ?? endpoints.dynamodb ?? endpoints.athena ?? endpoints.secretsmanager;
  if (fallback === undefined) throw new Error('localClients needs at least one endpoint');
  return new AwsClients(
    localAwsSettings({
      region: 'us-east-1',
      s3: endpoints.s3 ?? fallback,
      dynamodb: endpoints.dynamodb ?? fallback,
      athena: endpoints.athena ?? fallback,
      secretsmanager: endpoints.secretsmanager ?? fallback,
    }),
  );
}
