import uPlot from 'uplot';

export interface CurvePoint {
  at: number;
  value: number;
}

/**
 * A time series chart: the curve, an optional horizontal limit (the cap) and optional markers
 * (cap triggers) drawn as points on the curve at their times.
 */
export function timeChart(
  target: HTMLElement,
  title: string,
  unit: string,
  points: CurvePoint[],
  options: { limit?: number; limitLabel?: string; markers?: number[] } = {},
): uPlot {
  const xs = points.map((p) => p.at / 1000);
  const ys = points.map((p) => p.value);
  const markerTimes = new Set((options.markers ?? []).map((at) => Math.round(at / 1000)));
  const marks = xs.map((x, i) =>
    markerTimes.has(Math.round(x)) || nearMarker(x, options.markers) ? ys[i] : null,
  );
  const series: uPlot.Series[] = [{}, { label: title, stroke: '#2563eb', width: 1.5 }];
  const data: uPlot.AlignedData = [xs, ys];
  if (options.limit !== undefined) {
    series.push({
      label: options.limitLabel ?? 'limit',
      stroke: '#dc2626',
      dash: [6, 4],
      width: 1,
      points: { show: false },
    });
    data.push(xs.map(() => options.limit ?? null));
  }
  if (options.markers !== undefined && options.markers.length > 0) {
    series.push({
      label: 'cap triggered',
      stroke: '#dc2626',
      width: 0,
      points: { show: true, size: 10, fill: '#dc2626' },
    });
    data.push(marks);
  }
  return new uPlot(
    {
      title,
      width: Math.max(320, target.clientWidth || 600),
      height: 220,
      series,
      axes: [{}, { label: unit }],
      scales: { x: { time: true } },
    },
    data,
    target,
  );
}

/** A marker between two samples belongs to the first sample after it. */
function nearMarker(x: number, markers: number[] | undefined): boolean {
  return (markers ?? []).some((at) => Math.abs(at / 1000 - x) < 1);
}
