/**
 * The writer's optional VPC (RDS usually sits in one): set the stage parameters
 * writerSecurityGroupIds and writerSubnetIds (comma-separated) to place it there; leave them empty
 * to run it outside any VPC (RDS reachable publicly or through RDS Proxy). Empty lists are how
 * Lambda itself spells "no VPC" (a variable may not resolve to nothing in Serverless v3).
 */
module.exports = async ({ resolveVariable }) => {
  const list = (value) =>
    String(value ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
  const securityGroupIds = list(await resolveVariable('param:writerSecurityGroupIds'));
  const subnetIds = list(await resolveVariable('param:writerSubnetIds'));
  return securityGroupIds.length > 0 && subnetIds.length > 0
    ? { securityGroupIds, subnetIds }
    : { securityGroupIds: [], subnetIds: [] };
};
