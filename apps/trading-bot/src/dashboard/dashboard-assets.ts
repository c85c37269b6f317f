import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The bundle `npm run build` writes (apps/dashboard/build.mjs): name -> content type. */
const ASSET_TYPES: Readonly<Record<string, string>> = {
  'dashboard.js': 'text/javascript; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
};

export interface DashboardAsset {
  body: Buffer;
  contentType: string;
}

/**
 * The dashboard's built files, found by walking up from this file to the `dist/dashboard` the
 * build writes: the same answer from the sources (tests), from dist/ and in the container.
 */
export class DashboardAssets {
  private readonly cache = new Map<string, DashboardAsset>();

  constructor(readonly dir: string | undefined = findAssetsDir(__dirname)) {}

  get built(): boolean {
    return this.dir !== undefined && existsSync(join(this.dir, 'dashboard.js'));
  }

  /** One of the known assets (never a path from the request), or undefined. */
  get(name: string): DashboardAsset | undefined {
    const contentType = ASSET_TYPES[name];
    if (contentType === undefined || this.dir === undefined) return undefined;
    const cached = this.cache.get(name);
    if (cached !== undefined) return cached;
    const path = join(this.dir, name);
    if (!existsSync(path)) return undefined;
    const asset = { body: readFileSync(path), contentType };
    this.cache.set(name, asset);
    return asset;
  }
}

function findAssetsDir(from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'dist', 'dashboard');
    if (existsSync(join(candidate, 'dashboard.js'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}
