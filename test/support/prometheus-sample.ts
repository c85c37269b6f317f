/**
 * The value of one sample in Prometheus text: `series` is a name with the labels that matter,
 * `trading_signals_total{outcome="accepted"}`; labels it does not name (loop_id, account, ...)
 * are ignored, so a test says what it checks and survives new labels. Throws when none matches
 * and when several do (the query was not precise enough).
 */
export function sampleValue(text: string, series: string): number {
  const wanted = parseSeries(series);
  const matches: number[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const cut = line.lastIndexOf(' ');
    const sample = parseSeries(line.slice(0, cut));
    if (sample.name !== wanted.name) continue;
    if ([...wanted.labels].every(([key, value]) => sample.labels.get(key) === value))
      matches.push(Number(line.slice(cut + 1)));
  }
  if (matches.length === 0) throw new Error(`no ${series} in /metrics`);
  if (matches.length > 1) throw new Error(`${matches.length} samples match ${series}: name more labels`);
  return matches[0];
}

function parseSeries(series: string): { name: string; labels: Map<string, string> } {
  const brace = series.indexOf('{');
  if (brace < 0) return { name: series.trim(), labels: new Map() };
  const labels = new Map<string, string>();
  for (const match of series.slice(brace + 1, series.lastIndexOf('}')).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
    labels.set(match[1], match[2]);
  return { name: series.slice(0, brace), labels };
}
