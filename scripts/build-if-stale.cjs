// Build the service when the compiled entry is missing or older than any source file.
// Used by `npm start` and by jest's global setup (the process-level tests run the compiled service).
const { spawnSync } = require('node:child_process');
const { existsSync, mkdirSync, readdirSync, rmSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const entry = join(root, 'dist/apps/trading-bot/apps/trading-bot/src/main.js');
/** The dashboard's bundle (apps/dashboard/build.mjs), built by the same `npm run build`. */
const dashboardBundle = join(root, 'dist/dashboard/dashboard.js');

function newestSource(dir) {
  let newest = 0;
  for (const item of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, item.name);
    if (item.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (item.name.endsWith('.ts') && !item.name.endsWith('.spec.ts'))
      newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function buildIfStale() {
  const stale =
    !existsSync(entry) ||
    !existsSync(dashboardBundle) ||
    statSync(entry).mtimeMs < Math.max(newestSource(join(root, 'apps')), newestSource(join(root, 'libs')));
  if (!stale) return;
  process.stdout.write('building the service (sources changed since the last build)...\n');
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) throw new Error(`npm run build failed with status ${build.status}`);
}

module.exports = { entry, buildIfStale };
if (require.main === module) buildIfStale();
