// Bundles the dashboard (apps/dashboard/src) into dist/dashboard: one script, one stylesheet
// (uPlot's included), served by the service at /dashboard/assets/*. Run by `npm run build`.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export async function buildDashboard(outdir = join(root, 'dist', 'dashboard')) {
  await build({
    entryPoints: { dashboard: join(root, 'apps/dashboard/src/main.ts') },
    outdir,
    bundle: true,
    minify: true,
    sourcemap: false,
    format: 'iife',
    target: ['es2022'],
    platform: 'browser',
    legalComments: 'none',
    logLevel: 'warning',
  });
  return outdir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildDashboard();
