// Nest 12 ships ESM only; jest on Node 20 must transform it to CommonJS with ts-jest.
// ts-jest cannot compile `import.meta`, which @nestjs/terminus uses for createRequire(import.meta.url),
// so rewrite it to the CommonJS equivalents before handing the file to ts-jest.
const { TsJestTransformer } = require('ts-jest');

const rewrite = (source) =>
  source.includes('import.meta')
    ? source
        // CommonJS already has `require`; redeclaring it is a syntax error.
        .replace(/const require = createRequire\(import\.meta\.url\);?/g, '')
        .replace(/import\.meta\.resolve\(/g, 'require.resolve(')
        .replace(/import\.meta\.url/g, "require('url').pathToFileURL(__filename).href")
        .replace(/import\.meta\.dirname/g, '__dirname')
        .replace(/import\.meta\.filename/g, '__filename')
    : source;

class EsmShimTransformer extends TsJestTransformer {
  process(source, path, options) {
    return super.process(rewrite(source), path, options);
  }
  processAsync(source, path, options) {
    return super.processAsync(rewrite(source), path, options);
  }
  getCacheKey(source, path, options) {
    return super.getCacheKey(rewrite(source), path, options);
  }
}

module.exports = { createTransformer: (config) => new EsmShimTransformer(config) };
