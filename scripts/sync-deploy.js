/**
 * The db-sync functions' placement and secrets from the stage parameters (docs/db-sync.md#deploy):
 * the extract in the source's VPC (syncSourceSubnetIds, syncSourceSecurityGroupIds), the writer in
 * the target's (syncTarget…), each granted exactly its own database secret (secret-grant.js).
 * Empty lists are how Lambda spells "no VPC" (a variable may not resolve to nothing in Serverless v3).
 */
const { secretGrant } = require('./secret-grant');

const list = (value) =>
  String(value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

async function vpc(resolveVariable, side) {
  const securityGroupIds = list(await resolveVariable(`param:${side}SecurityGroupIds`));
  const subnetIds = list(await resolveVariable(`param:${side}SubnetIds`));
  return securityGroupIds.length > 0 && subnetIds.length > 0
    ? { securityGroupIds, subnetIds }
    : { securityGroupIds: [], subnetIds: [] };
}

module.exports = async ({ resolveVariable }) => ({
  sourceVpc: await vpc(resolveVariable, 'syncSource'),
  targetVpc: await vpc(resolveVariable, 'syncTarget'),
  sourceSecret: secretGrant(await resolveVariable('param:syncSourceSecretId')),
  targetSecret: secretGrant(await resolveVariable('param:syncTargetSecretId')),
});
