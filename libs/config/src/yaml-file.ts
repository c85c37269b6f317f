import { parseDocument, type YAMLError } from 'yaml';
import type { ConfigFiles } from './config-files';

export type YamlFileResult = { ok: true; value: unknown } | { ok: false; expected: string };

/**
 * The file's one YAML document as plain values (JSON is YAML too). What goes wrong comes back
 * as words for a problem, never thrown. A parse error is told by its kind and position only:
 * the parser's own message quotes the source, which may hold a secret put there by mistake.
 */
export function readYamlFile(path: string, files: ConfigFiles): YamlFileResult {
  let text: string;
  try {
    text = files.readText(path);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { ok: false, expected: `a readable YAML or JSON file (${why})` };
  }
  const document = parseDocument(text);
  const [error] = document.errors;
  if (error !== undefined) return { ok: false, expected: `valid YAML or JSON (${describe(error)})` };
  try {
    return { ok: true, value: document.toJS() };
  } catch {
    // toJS throws on an alias without its anchor, or on too many aliases (a "billion laughs" file).
    return { ok: false, expected: 'valid YAML or JSON (an alias cannot be resolved)' };
  }
}

/** `duplicate key at line 2, column 1` from code DUPLICATE_KEY and the error's position. */
function describe(error: YAMLError): string {
  const kind = error.code.toLowerCase().replaceAll('_', ' ');
  const at = error.linePos?.[0];
  return at === undefined ? kind : `${kind} at line ${at.line}, column ${at.col}`;
}
