import { readFileSync } from 'node:fs';

/**
 * How loadConfig reads files (ACCOUNTS_FILE and every `secret_file`): synchronous, and a port so
 * that tests give it files without touching the disk. `readText` throws when it cannot read.
 */
export interface ConfigFiles {
  readText(path: string): string;
}

export const nodeFiles: ConfigFiles = {
  readText: (path) => readFileSync(path, 'utf8'),
};

/** Files held in memory (tests); a missing one throws as readFileSync does, with code ENOENT. */
export function memoryFiles(files: Record<string, string>): ConfigFiles {
  return {
    readText: (path) => {
      if (Object.hasOwn(files, path)) return files[path];
      throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
    },
  };
}
