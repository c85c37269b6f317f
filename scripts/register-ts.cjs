// Run the TypeScript sources directly under node (the benchmarks, and the watchdog worker when the
// service itself runs from sources, as in the tests): transpile each .ts file
// on require (no type check; `npm run typecheck` does that) and resolve the @app/* path aliases.
const Module = require('node:module');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const ts = require('typescript');

const root = join(__dirname, '..');
const tsconfig = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile).config;
const compilerOptions = {
  ...tsconfig.compilerOptions,
  module: 'commonjs',
  sourceMap: false,
  inlineSourceMap: false,
  incremental: false,
};

const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  const alias = /^@app\/([a-z0-9]+)(\/.*)?$/.exec(request);
  if (alias) request = join(root, 'libs', alias[1], 'src', alias[2] ?? '');
  return resolve.call(this, request, parent, ...rest);
};

require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(readFileSync(filename, 'utf8'), {
    compilerOptions,
    fileName: filename,
  });
  module._compile(outputText, filename);
};
