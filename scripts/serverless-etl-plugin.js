/** Account ids the AWS documentation uses in examples: never a real deployment's. */
const PLACEHOLDER_ACCOUNTS = ['123456789012', '111122223333', '444455556666', '000000000000'];

/** Where a placeholder account id appears in a (template) value, as `path` and `account`. */
function placeholderAccountsIn(value, path = '') {
  if (typeof value === 'string') {
    const account = PLACEHOLDER_ACCOUNTS.find((candidate) =>
      new RegExp(`(^|[^0-9])${candidate}([^0-9]|$)`).test(value),
    );
    return account === undefined ? [] : [{ account, path: path || '(root)' }];
  }
  if (Array.isArray(value))
    return value.flatMap((item, index) => placeholderAccountsIn(item, `${path}[${index}]`));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) =>
      placeholderAccountsIn(item, path ? `${path}.${key}` : key),
    );
  }
  return [];
}

/**
 * Project plugin for Serverless Framework v3:
 * 1. Lets the config schema accept `nodejs22.x`: v3.40 predates it in its enum, although AWS
 *    Lambda and CloudFormation accept it (Node 20 reached end of life in April 2026).
 * 2. Before packaging, rejects settings that would break AWS limits at run time (the run model,
 *    shared/core/run-model.ts, through scripts/limits.js),
 *    so a bad stage parameter fails `sls package`, not a 3 a.m. run.
 * 3. Before deploying, rejects placeholders that only fail at run time (the secret's ARN).
 * 4. Refuses to deploy stage `local`: its functions point at paths on this machine (packaging it
 *    stays allowed, the local runner reads its resolved config).
 */
class EtlPlugin {
  constructor(serverless, options = {}) {
    this.serverless = serverless;
    this.options = options;
    const runtimes = serverless.configSchemaHandler?.schema?.definitions?.awsLambdaRuntime?.enum;
    if (Array.isArray(runtimes) && !runtimes.includes('nodejs22.x')) runtimes.push('nodejs22.x');
    this.hooks = {
      // `initialize` runs first for every command: a deploy of stage local stops before any AWS call.
      initialize: () => {
        const command = serverless.processedInput?.commands?.[0];
        if (command === 'deploy') this.refuseLocalStage();
      },
      'before:package:initialize': () => this.check(),
      'before:deploy:deploy': () => {
        this.check();
        this.checkDeploySettings();
      },
    };
  }

  /**
   * Placeholders that package fine but cannot work once deployed: the default secret ARN names the
   * documentation account 123456789012, and an example account id anywhere in the template (an ARN
   * passed as a parameter, copied from the AWS documentation) would point a grant or a setting at
   * an account that is not the user's. Checked at deploy only, so `sls package` stays offline.
   */
  checkDeploySettings() {
    this.refuseLocalStage();
    const secret = String(this.serverless.service.provider?.environment?.DB_SECRET_ID ?? '');
    if (PLACEHOLDER_ACCOUNTS.some((account) => secret.includes(`:${account}:`))) {
      throw new this.serverless.classes.Error(
        `dbSecretId is the placeholder ${secret}: deploy with --param="dbSecretId=<your secret's ARN>"`,
      );
    }
    const template = this.serverless.service.provider?.compiledCloudFormationTemplate ?? {};
    const found = placeholderAccountsIn(template);
    if (found.length > 0) {
      throw new this.serverless.classes.Error(
        `the template names the placeholder account ${found[0].account} at ${found[0].path}: pass your own ARNs and ids as --param values`,
      );
    }
  }

  refuseLocalStage() {
    const stage = this.options.stage ?? this.serverless.service.provider?.stage;
    if (stage === 'local') {
      throw new this.serverless.classes.Error(
        'Stage local is the local stack (npm run local / local:up) and cannot be deployed: deploy --stage dev or prod.',
      );
    }
  }

  check() {
    // Loaded here, not at the top: the run model is TypeScript (through tsx), needed only when checking.
    const { checkLimits } = require('./limits');
    const { service } = this.serverless;
    const custom = service.custom?.limits ?? {};
    const reservedConcurrency = Object.fromEntries(
      Object.entries(service.functions ?? {}).map(([name, fn]) => [name, fn.reservedConcurrency ?? 0]),
    );
    const problems = checkLimits({
      athenaConcurrency: Number(custom.athenaConcurrency),
      reservedConcurrency,
      accountConcurrencyLimit: Number(custom.accountConcurrencyLimit),
      athenaPollSeconds: Number(custom.athenaPollSeconds),
      athenaQueryTimeoutSeconds: Number(custom.athenaQueryTimeoutSeconds),
      hoursPerExecution: Number(custom.hoursPerExecution),
      batchMaxFiles: Number(custom.batchMaxFiles),
      projectionStartDate: custom.projectionStartDate,
      ephemeralStorageTransform: Number(custom.ephemeralStorageTransform),
      maxRawFileBytes: Number(custom.maxRawFileBytes),
      rawExpansion: Number(custom.rawExpansion),
      batchMapMode: custom.batchMapMode,
      toleratedBatchFailurePercentage: Number(custom.toleratedBatchFailurePercentage),
      batchConcurrency: Number(custom.batchConcurrency),
      backfillHoursPerRun: Number(custom.backfillHoursPerRun),
      lookbackHours: Number(custom.lookbackHours),
      backfillConcurrency: Number(custom.backfillConcurrency),
    });
    if (problems.length > 0) {
      throw new this.serverless.classes.Error(`Settings break AWS limits:\n - ${problems.join('\n - ')}`);
    }
  }
}

module.exports = EtlPlugin;
module.exports.placeholderAccountsIn = placeholderAccountsIn;
