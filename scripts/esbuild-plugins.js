const fs = require('node:fs');
const path = require('node:path');

/**
 * parquet-wasm's Node build reads `parquet_wasm_bg.wasm` from its own `__dirname` at load time.
 * Bundled, `__dirname` is the bundle's folder, so the .wasm must sit next to every bundle that
 * contains parquet-wasm, or the transform fails on its first cold start in Lambda.
 */
const WASM = require.resolve('parquet-wasm/node/parquet_wasm_bg.wasm');

const copyParquetWasm = {
  name: 'copy-parquet-wasm',
  setup(build) {
    build.onEnd((result) => {
      if (result.errors.length > 0) return;
      const outputs = build.initialOptions.outdir
        ? walk(build.initialOptions.outdir).filter((file) => file.endsWith('.js'))
        : [build.initialOptions.outfile].filter(Boolean);
      for (const output of outputs) {
        if (fs.readFileSync(output, 'utf8').includes('parquet_wasm_bg.wasm')) {
          fs.copyFileSync(WASM, path.join(path.dirname(output), 'parquet_wasm_bg.wasm'));
        }
      }
    });
  },
};

/**
 * Data no function uses, left out of every bundle (each zip holds only what its handler uses):
 * - zod's error messages in 40-odd languages: the functions report in English (zod's default, `en`);
 * - iconv-lite's code tables (double-byte: Chinese, Japanese, Korean; generated single-byte code
 *   pages): mysql2 decodes through iconv-lite only for charsets Node lacks, and the writer's
 *   connections are utf8mb4. A double-byte table asked for anyway throws, naming itself; a
 *   single-byte code page is then an unknown encoding to iconv-lite, never a wrong decoding;
 * - zod's `fromJSONSchema` (a JSON Schema turned into a zod schema): no function builds schemas from
 *   JSON Schema; calling it throws, naming this file;
 * - the AWS SDK's STS, SSO and SSO-OIDC clients, which only profile, SSO and web-identity
 *   credentials use: in Lambda the role's credentials are in the environment, the first place
 *   the SDK looks. Reaching one anyway fails with this explanation.
 */
const leaveOutUnusedData = {
  name: 'leave-out-unused-data',
  setup(build) {
    build.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]/.test(args.importer)
        ? { path: path.resolve(path.dirname(args.importer), args.path), namespace: 'zod-locales' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from './en.js';`,
      loader: 'js',
      resolveDir: path.dirname(args.path),
    }));
    build.onResolve({ filter: /^\.\/from-json-schema\.js$/ }, (args) =>
      /[\\/]zod[\\/]/.test(args.importer)
        ? { path: args.path, namespace: 'zod-from-json-schema' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-from-json-schema' }, () => ({
      contents: `export function fromJSONSchema() { throw new Error('zod fromJSONSchema is left out of this bundle (scripts/esbuild-plugins.js)'); }`,
      loader: 'js',
    }));
    build.onResolve({ filter: /^@aws-sdk\/nested-clients\// }, (args) => ({
      path: args.path,
      namespace: 'sdk-nested-clients',
    }));
    build.onLoad({ filter: /.*/, namespace: 'sdk-nested-clients' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} is left out of this bundle: functions use the credentials Lambda puts in their environment (scripts/esbuild-plugins.js)`)});`,
      loader: 'js',
    }));
    build.onResolve({ filter: /^\.\/sbcs-data-generated$/ }, (args) =>
      /[\\/]iconv-lite[\\/]/.test(args.importer)
        ? { path: args.path, namespace: 'iconv-code-pages' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'iconv-code-pages' }, () => ({
      contents: 'module.exports = {};',
      loader: 'js',
    }));
    build.onResolve({ filter: /^\.\/tables\/.+\.json$/ }, (args) =>
      /[\\/]iconv-lite[\\/]/.test(args.importer) ? { path: args.path, namespace: 'iconv-table' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'iconv-table' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`iconv-lite ${args.path} is left out of this bundle (scripts/esbuild-plugins.js)`)});`,
      loader: 'js',
    }));
  },
};

function walk(folder) {
  if (!fs.existsSync(folder)) return [];
  return fs.readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(folder, entry.name);
    return entry.isDirectory() ? walk(full) : [full];
  });
}

module.exports = [copyParquetWasm, leaveOutUnusedData];
