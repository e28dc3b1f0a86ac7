/**
 * The limit checks `sls package` runs (scripts/serverless-etl-plugin.js) are the core's run model,
 * shared/core/run-model.ts, the same module ingest's refusal, the report's estimate and
 * `npm run plan` use, so the history-event model lives once. The framework loads plugins as plain
 * CommonJS: the TypeScript module comes in through tsx's scoped require (a devDependency, installed
 * wherever `sls package` or `sls deploy` runs from a clone), with no build step and no hook left on
 * the framework's own requires.
 */
const { require: requireTypeScript } = require('tsx/cjs/api');

module.exports = requireTypeScript('../shared/core/run-model.ts', __filename);
