// Runs the repository's lint rules through their Node APIs and prints what they report, as JSON.
// For test/lint-rules.e2e-spec.ts: ESLint loads eslint.config.mjs and dependency-cruiser is ESM only,
// and jest (without --experimental-vm-modules) can do neither in its own module system.
//
//   node scripts/lint-rules-probe.mjs eslint <request.json>
//     request: [{ "filePath": "libs/x/src/y.ts", "code": "..." }]  (filePath relative to the repo)
//     prints:  [{ "filePath", "messages": [{ "ruleId", "severity", "line", "message" }] }]
//   node scripts/lint-rules-probe.mjs cruise <request.json>
//     request: [{ "baseDir": "/abs/dir", "dirs": ["libs", "apps"] }]  (each baseDir holds a tsconfig.json)
//     prints:  [{ "modules": n, "violations": [{ "rule", "severity", "from", "to", "cycle"? }] }]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const [mode, requestFile] = process.argv.slice(2);
const request = JSON.parse(readFileSync(requestFile, 'utf8'));

async function runEslint(files) {
  const { ESLint } = createRequire(join(repoRoot, 'package.json'))('eslint');
  // Only the rules that do not need type information: the type-aware parse of the whole project
  // takes ~10 s and refuses paths that are not on disk. The restriction rules work on the syntax alone.
  const eslint = new ESLint({
    cwd: repoRoot,
    overrideConfig: { languageOptions: { parserOptions: { projectService: false, project: false } } },
    ruleFilter: ({ ruleId }) => ruleId.startsWith('no-restricted-'),
  });
  const out = [];
  for (const { filePath, code } of files) {
    const [result] = await eslint.lintText(code, { filePath: join(repoRoot, filePath) });
    out.push({
      filePath,
      messages: (result?.messages ?? []).map(({ ruleId, severity, line, message }) => ({
        ruleId,
        severity,
        line,
        message,
      })),
    });
  }
  return out;
}

async function runCruise({ baseDir, dirs }) {
  const { cruise } = await import('dependency-cruiser');
  const { default: extractTSConfig } = await import('dependency-cruiser/config-utl/extract-ts-config');
  const config = createRequire(join(repoRoot, 'package.json'))(join(repoRoot, '.dependency-cruiser.cjs'));
  const tsConfigFile = join(baseDir, 'tsconfig.json');
  const ruleSet = {
    ...config,
    options: { ...config.options, baseDir, tsConfig: { fileName: tsConfigFile } },
  };
  const { output } = await cruise(
    dirs,
    { validate: true, ruleSet, outputType: 'json' },
    {},
    { tsConfig: extractTSConfig(tsConfigFile) },
  );
  const result = typeof output === 'string' ? JSON.parse(output) : output;
  return {
    modules: result.summary.totalCruised,
    violations: result.summary.violations.map(({ rule, from, to, cycle }) => ({
      rule: rule.name,
      severity: rule.severity,
      from,
      to,
      ...(cycle ? { cycle: cycle.map((step) => (typeof step === 'string' ? step : step.name)) } : {}),
    })),
  };
}

async function runCruises(requests) {
  const out = [];
  for (const one of requests) out.push(await runCruise(one));
  return out;
}

const answer = mode === 'eslint' ? await runEslint(request) : await runCruises(request);
process.stdout.write(JSON.stringify(answer));
