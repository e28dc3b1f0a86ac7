/**
 * The exact resource of the writer's `secretsmanager:GetSecretValue` grant, from the stage
 * parameter `dbSecretId`. Secrets Manager appends `-` and 6 random characters to a secret's name
 * in its ARN, so a grant on `<name>*` would also cover `<name>-old`, `<name>2/…` and any other
 * secret whose name starts the same; `<name>-??????` covers exactly the one secret:
 *
 * - a complete ARN (ending in `-` and 6 letters or digits, as the console shows it) is granted as it is;
 * - an ARN without that suffix, or a bare name, gets `-??????` (a name in the stack's own account
 *   and region, through `Fn::Sub`).
 */
const COMPLETE_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/;
const ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/;

function secretGrant(secretId) {
  const id = String(secretId);
  if (COMPLETE_ARN.test(id)) return id;
  if (ARN.test(id)) return `${id}-??????`;
  if (id.startsWith('arn:')) throw new Error(`dbSecretId ${id} is not a Secrets Manager secret ARN`);
  return {
    'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${id}-??????`,
  };
}

module.exports = async ({ resolveVariable }) => ({
  resource: secretGrant(await resolveVariable('param:dbSecretId')),
});
module.exports.secretGrant = secretGrant;
