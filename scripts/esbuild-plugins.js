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

function walk(folder) {
  if (!fs.existsSync(folder)) return [];
  return fs.readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(folder, entry.name);
    return entry.isDirectory() ? walk(full) : [full];
  });
}

module.exports = [copyParquetWasm];
