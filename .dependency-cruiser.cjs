/**
 * The declared dependency graph between the libs (run by `npm run lint`: depcruise ... libs apps).
 *
 * Each lib under libs/ names the libs it may import (through `@app/<lib>`, `@app/<lib>/*` or a
 * relative path: the rules look at the resolved file). Anything else is an error. The graph is
 * checked to be acyclic when this file loads, so with every edge declared no import cycle between
 * libs can exist; `no-circular` also forbids cycles between files inside a lib or an app.
 *
 * Adding an edge: add it here, in a change of its own that says why. Never declare a cycle.
 */

/** @type {Record<string, string[]>} lib -> the libs it may import. */
const LIB_DEPENDENCIES = {
  core: [],
  config: ['core'],
  common: ['core', 'config'],
  state: ['core', 'config', 'common'],
  drawdown: ['core', 'config'],
  alerts: ['core', 'config', 'common'],
  signals: ['core', 'config', 'common'],
  control: ['core', 'config', 'common'],
  mt5: ['core', 'config', 'common', 'state'],
  runtime: ['core', 'config', 'common', 'alerts', 'drawdown'],
  analytics: ['core', 'config', 'common', 'alerts', 'drawdown', 'signals'],
};
// Apps (apps/*) are the composition root: they may import every declared lib, no lib imports an app.

const LIBS = Object.keys(LIB_DEPENDENCIES);

/** Refuses a graph that names an unknown lib or has a cycle (depth-first search, three colours). */
function assertDeclaredGraphIsAcyclic(graph) {
  for (const [lib, deps] of Object.entries(graph))
    for (const dep of deps)
      if (!(dep in graph))
        throw new Error(`.dependency-cruiser.cjs: ${lib} -> ${dep}: ${dep} is not declared`);
  const state = new Map();
  const visit = (lib, path) => {
    if (state.get(lib) === 'done') return;
    if (state.get(lib) === 'open')
      throw new Error(
        `.dependency-cruiser.cjs: the declared graph has a cycle: ${[...path, lib].join(' -> ')}`,
      );
    state.set(lib, 'open');
    for (const dep of graph[lib]) visit(dep, [...path, lib]);
    state.set(lib, 'done');
  };
  for (const lib of Object.keys(graph)) visit(lib, []);
}
assertDeclaredGraphIsAcyclic(LIB_DEPENDENCIES);

const alternatives = (names) => `(${names.join('|')})`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...LIBS.map((lib) => ({
      name: `lib-${lib}-undeclared-import`,
      severity: 'error',
      comment:
        LIB_DEPENDENCIES[lib].length === 0
          ? `libs/${lib} imports no other lib (declared graph in .dependency-cruiser.cjs).`
          : `libs/${lib} may import only ${LIB_DEPENDENCIES[lib].join(', ')} (declared graph in .dependency-cruiser.cjs).`,
      from: { path: `^libs/${lib}/` },
      to: { path: '^libs/[^/]+/', pathNot: `^libs/${alternatives([lib, ...LIB_DEPENDENCIES[lib]])}/` },
    })),
    {
      name: 'lib-undeclared',
      severity: 'error',
      comment:
        'A lib missing from the declared graph: add it to LIB_DEPENDENCIES in .dependency-cruiser.cjs.',
      from: { path: `^libs/(?!${alternatives(LIBS)}/)[^/]+/` },
      to: { path: '^libs/' },
    },
    {
      name: 'lib-imports-app',
      severity: 'error',
      comment: 'Libs never import an app: apps are the composition root.',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'app-imports-other-app',
      severity: 'error',
      comment: 'An app does not import another app; shared code goes to a lib.',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/', pathNot: '^apps/$1/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycle: not between libs, not between the files of a lib or an app.',
      from: { path: '^(libs|apps)/' },
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment:
        'Every import resolves (an `@app/*` alias that does not resolve through tsconfig.json would slip past the graph).',
      from: { path: '^(libs|apps)/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist|coverage)/' },
    // Type-only imports are dependencies too: a port imported for its type still ties the libs.
    tsPreCompilationDeps: true,
    // Resolves the `@app/<lib>` and `@app/<lib>/*` aliases declared there.
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
