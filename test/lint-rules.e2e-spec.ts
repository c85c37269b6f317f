import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

/**
 * The two architecture rules of `npm run lint`, proven on code written for the purpose:
 * - no timer call outside the scheduler's adapter (eslint.config.mjs), through ESLint's Node API;
 * - the declared, acyclic graph between the libs (.dependency-cruiser.cjs), through dependency-cruiser's
 *   `cruise` on a fixture tree, and on the repository itself.
 * Both APIs load ES modules, which jest cannot without --experimental-vm-modules: they run in a child
 * node (scripts/lint-rules-probe.mjs), side by side.
 */

const repoRoot = join(__dirname, '..');
const probe = join(repoRoot, 'scripts', 'lint-rules-probe.mjs');
const run = promisify(execFile);

interface LintMessage {
  ruleId: string | null;
  severity: number;
  line: number;
  message: string;
}
interface LintAnswer {
  filePath: string;
  messages: LintMessage[];
}
interface CruiseViolation {
  rule: string;
  severity: string;
  from: string;
  to: string;
  cycle?: string[];
}
interface CruiseAnswer {
  modules: number;
  violations: CruiseViolation[];
}

let workDir: string;

async function askProbe<T>(mode: 'eslint' | 'cruise', name: string, request: unknown): Promise<T> {
  const requestFile = join(workDir, `${name}.json`);
  writeFileSync(requestFile, JSON.stringify(request));
  const { stdout } = await run(process.execPath, [probe, mode, requestFile], {
    cwd: repoRoot,
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout) as T;
}

function writeTree(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

// ---- the timer rule -------------------------------------------------------------------------------

const SET_TIMEOUT = 'export const later = (run: () => void): unknown => setTimeout(run, 10);\n';
const systemSchedulerPath = 'libs/common/src/time/system-scheduler.ts';
const systemSchedulerText = readFileSync(join(repoRoot, systemSchedulerPath), 'utf8');
const manualSchedulerPath = 'libs/core/src/time/scheduler.ts';

const lintCases: Record<string, { filePath: string; code: string }> = {
  setTimeoutInLib: { filePath: 'libs/runtime/src/zz-lint-probe.ts', code: SET_TIMEOUT },
  setTimeoutInAdapter: { filePath: systemSchedulerPath, code: SET_TIMEOUT },
  setTimeoutInApp: { filePath: 'apps/trading-bot/src/zz-lint-probe.ts', code: SET_TIMEOUT },
  setTimeoutInCore: { filePath: 'libs/core/src/zz-lint-probe.ts', code: SET_TIMEOUT },
  setTimeoutInSpec: { filePath: 'libs/runtime/src/zz-lint-probe.spec.ts', code: SET_TIMEOUT },
  viaGlobalThis: {
    filePath: 'libs/alerts/src/zz-lint-probe.ts',
    code: 'globalThis.setInterval(() => undefined, 10);\nglobal.clearImmediate(undefined);\n',
  },
  fromTimersModule: {
    filePath: 'libs/analytics/src/zz-lint-probe.ts',
    code: "import { setTimeout as wait } from 'node:timers/promises';\nimport { setImmediate } from 'timers';\nexport const both = [wait, setImmediate];\n",
  },
  dynamicTimersImport: {
    filePath: 'libs/signals/src/zz-lint-probe.ts',
    code: "export const timers = import('node:timers');\n",
  },
  // The real adapter, moved anywhere else, is refused: the exemption is what lets it pass.
  adapterElsewhere: { filePath: 'libs/runtime/src/zz-system-scheduler.ts', code: systemSchedulerText },
  adapterInPlace: { filePath: systemSchedulerPath, code: systemSchedulerText },
  // ManualScheduler uses no timer: it passes without an exemption.
  manualScheduler: {
    filePath: manualSchedulerPath,
    code: readFileSync(join(repoRoot, manualSchedulerPath), 'utf8'),
  },
  // libs/core keeps its own import bans beside the timer ones (flat config replaces a rule's options).
  corePurity: {
    filePath: 'libs/core/src/zz-lint-probe.ts',
    code: "import { Injectable } from '@nestjs/common';\nimport 'node:timers';\nexport const i = Injectable;\n",
  },
};

// ---- the dependency graph -------------------------------------------------------------------------

const fixtureLibs = ['core', 'config', 'runtime', 'alerts', 'ghost'];
const fixtureTsconfig = {
  compilerOptions: {
    module: 'commonjs',
    moduleResolution: 'node10',
    ignoreDeprecations: '6.0',
    target: 'ES2022',
    strict: true,
    baseUrl: './',
    paths: Object.fromEntries(
      fixtureLibs.flatMap((lib) => [
        [`@app/${lib}`, [`libs/${lib}/src`]],
        [`@app/${lib}/*`, [`libs/${lib}/src/*`]],
      ]),
    ),
  },
  include: ['libs/**/*.ts', 'apps/**/*.ts'],
};
const fixtureFiles: Record<string, string> = {
  'tsconfig.json': JSON.stringify(fixtureTsconfig, null, 2),
  // Declared edges: config -> core, runtime -> config, runtime -> alerts (deep path), app -> runtime.
  'libs/config/src/index.ts': "import { now } from '@app/core';\nexport const config = { at: now() };\n",
  'libs/runtime/src/index.ts':
    "import { config } from '@app/config';\nimport { alert } from '@app/alerts/alert';\nexport const runtime = () => alert(String(config.at));\n",
  'apps/bot/src/main.ts': "import { runtime } from '@app/runtime';\nruntime();\n",
  // An undeclared edge: libs/core imports libs/runtime.
  'libs/core/src/index.ts':
    "import { runtime } from '@app/runtime';\nexport const now = (): number => 0;\nexport const start = runtime;\n",
  // A new cycle between libs: runtime -> alerts (declared) and alerts -> runtime (not).
  'libs/alerts/src/alert.ts':
    "import { runtime } from '@app/runtime';\nexport const alert = (text: string): string => text;\nexport const again = () => runtime;\n",
  // A cycle between the files of one lib, and a relative import across libs (core -> config).
  'libs/core/src/a.ts':
    "import { b } from './b';\nimport { config } from '../../config/src';\nexport const a = () => [b, config];\n",
  'libs/core/src/b.ts': "import { a } from './a';\nexport const b = () => a;\n",
  // A lib missing from the declared graph, and an alias that resolves nowhere.
  'libs/ghost/src/index.ts':
    "import { now } from '@app/core';\nimport { nothing } from '@app/nowhere';\nexport const ghost = [now, nothing];\n",
};

let lint: Promise<LintAnswer[]>;
let fixtureCruise: Promise<CruiseAnswer>;
let repoCruise: Promise<CruiseAnswer>;

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'lint-rules-'));
  const fixtureDir = join(workDir, 'fixture');
  writeTree(fixtureDir, fixtureFiles);
  // ESLint and dependency-cruiser run at once, each in its own node; every test awaits what it needs.
  lint = askProbe<LintAnswer[]>('eslint', 'lint', Object.values(lintCases));
  const cruises = askProbe<CruiseAnswer[]>('cruise', 'cruise', [
    { baseDir: fixtureDir, dirs: ['libs', 'apps'] },
    { baseDir: repoRoot, dirs: ['libs', 'apps'] },
  ]);
  fixtureCruise = cruises.then(([fixture]) => fixture);
  repoCruise = cruises.then(([, repo]) => repo);
  // Keep unhandled rejections quiet until a test awaits them.
  for (const answer of [lint, fixtureCruise, repoCruise]) answer.catch(() => undefined);
});

afterAll(async () => {
  await Promise.allSettled([lint, fixtureCruise, repoCruise]);
  rmSync(workDir, { recursive: true, force: true });
});

async function messagesOf(name: keyof typeof lintCases): Promise<LintMessage[]> {
  const answers = await lint;
  return answers[Object.keys(lintCases).indexOf(name)].messages;
}
const errorsOf = async (name: keyof typeof lintCases) =>
  (await messagesOf(name)).filter((m) => m.severity === 2).map((m) => `${m.ruleId}@${m.line}`);

describe('no timer outside the scheduler adapter (ESLint)', () => {
  it('refuses setTimeout in a lib file, pointing to the Scheduler port', async () => {
    const messages = await messagesOf('setTimeoutInLib');
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ ruleId: 'no-restricted-globals', severity: 2, line: 1 });
    expect(messages[0].message).toContain('Scheduler port');
    expect(messages[0].message).toContain('libs/common/src/time/system-scheduler.ts');
  });

  it('accepts the same code in libs/common/src/time/system-scheduler.ts', async () => {
    expect(await messagesOf('setTimeoutInAdapter')).toEqual([]);
  });

  it('refuses it in the app and in libs/core as well; a spec file is exempt', async () => {
    expect(await errorsOf('setTimeoutInApp')).toEqual(['no-restricted-globals@1']);
    expect(await errorsOf('setTimeoutInCore')).toEqual(['no-restricted-globals@1']);
    expect(await messagesOf('setTimeoutInSpec')).toEqual([]);
  });

  it('refuses globalThis./global. timers, node:timers imports and dynamic imports', async () => {
    expect(await errorsOf('viaGlobalThis')).toEqual([
      'no-restricted-properties@1',
      'no-restricted-properties@2',
    ]);
    expect(await errorsOf('fromTimersModule')).toEqual([
      'no-restricted-imports@1',
      'no-restricted-imports@2',
    ]);
    expect(await errorsOf('dynamicTimersImport')).toEqual(['no-restricted-syntax@1']);
  });

  it('lets the real adapter pass only where it lives; ManualScheduler needs no exemption', async () => {
    expect((await errorsOf('adapterElsewhere')).length).toBeGreaterThanOrEqual(5);
    expect(await messagesOf('adapterInPlace')).toEqual([]);
    expect(await messagesOf('manualScheduler')).toEqual([]);
  });

  it('keeps the purity bans of libs/core beside the timer ban', async () => {
    const messages = await messagesOf('corePurity');
    expect(messages.map((m) => `${m.ruleId}@${m.line}`)).toEqual([
      'no-restricted-imports@1',
      'no-restricted-imports@2',
    ]);
    expect(messages[0].message).toContain('libs/core is pure');
    expect(messages[1].message).toContain('Scheduler port');
  });
});

describe('the declared, acyclic graph between the libs (dependency-cruiser)', () => {
  const violation = (v: CruiseViolation) => `${v.rule}: ${v.from} -> ${v.to}`;

  it('reports an undeclared edge, a new cycle between libs, a cycle inside a lib, and nothing else', async () => {
    const { violations } = await fixtureCruise;
    expect(violations.every((v) => v.severity === 'error')).toBe(true);
    expect(
      violations
        .filter((v) => v.rule !== 'no-circular')
        .map(violation)
        .sort(),
    ).toEqual(
      [
        // libs/core imports no other lib (through an alias or a relative path alike).
        'lib-core-undeclared-import: libs/core/src/index.ts -> libs/runtime/src/index.ts',
        'lib-core-undeclared-import: libs/core/src/a.ts -> libs/config/src/index.ts',
        // alerts -> runtime is not declared (runtime -> alerts is).
        'lib-alerts-undeclared-import: libs/alerts/src/alert.ts -> libs/runtime/src/index.ts',
        // A lib missing from the declared graph, and an alias that resolves nowhere.
        'lib-undeclared: libs/ghost/src/index.ts -> libs/core/src/index.ts',
        'not-to-unresolvable: libs/ghost/src/index.ts -> @app/nowhere',
      ].sort(),
    );
    // Each cycle as the set of its files (dependency-cruiser names a cycle by one of its edges).
    const cycles = new Set(
      violations
        .filter((v) => v.rule === 'no-circular')
        .map((v) => [...new Set([v.from, ...(v.cycle ?? [])])].sort().join(' ')),
    );
    expect([...cycles].sort()).toEqual(
      [
        // The new cycle between two libs: runtime -> alerts -> runtime.
        'libs/alerts/src/alert.ts libs/runtime/src/index.ts',
        // The one the undeclared edge closes: core -> runtime -> config -> core.
        'libs/config/src/index.ts libs/core/src/index.ts libs/runtime/src/index.ts',
        // A cycle between two files of libs/core.
        'libs/core/src/a.ts libs/core/src/b.ts',
      ].sort(),
    );
  });

  it("finds no violation in the repository's own libs and apps", async () => {
    const { modules, violations } = await repoCruise;
    expect(modules).toBeGreaterThan(100);
    expect(
      violations.map((v) => `${violation(v)}${v.cycle ? ` (cycle: ${v.cycle.join(' -> ')})` : ''}`),
    ).toEqual([]);
  });

  it('refuses to load a declared graph with a cycle', () => {
    const source = readFileSync(join(repoRoot, '.dependency-cruiser.cjs'), 'utf8');
    const cyclic = source.replace(/^(\s*)core: \[\],$/m, "$1core: ['runtime'],");
    expect(cyclic).not.toEqual(source);
    const file = join(workDir, 'cyclic.dependency-cruiser.cjs');
    writeFileSync(file, cyclic);
    expect(() => jest.requireActual(file)).toThrow(/the declared graph has a cycle: core -> runtime -> core/);
  });
});
