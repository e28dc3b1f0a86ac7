const path = require('node:path');

/**
 * Absolute paths for stage `local`: `sls invoke local` runs the bundled handler from
 * `.esbuild/.build`, so a path relative to the project would point nowhere.
 */
module.exports = {
  endpointsFile: path.resolve(__dirname, '..', '.local', 'endpoints.json'),
};
