/**
 * Live updates from the service's event stream: `onChange` runs at most once per `minGapMs`
 * however many events arrive (a burst of trades on 2,000 accounts is one refresh, not 2,000).
 */
export function followEvents(url: string, onChange: () => void, minGapMs = 500): () => void {
  let pending = false;
  let last = 0;
  const fire = () => {
    pending = false;
    last = Date.now();
    onChange();
  };
  const schedule = () => {
    if (pending) return;
    pending = true;
    window.setTimeout(fire, Math.max(0, last + minGapMs - Date.now()));
  };
  const source = new EventSource(url);
  // Every named event: the stream sends `event: <type>` frames.
  for (const type of LIVE_EVENT_TYPES) source.addEventListener(type, schedule);
  source.addEventListener('open', () => document.body.classList.remove('offline'));
  source.addEventListener('error', () => document.body.classList.add('offline'));
  return () => source.close();
}

/** The events that change what the pages show. */
const LIVE_EVENT_TYPES = [
  'signal_received',
  'signal_rejected',
  'trade_executed',
  'trade_failed',
  'positions_closed',
  'position_closed',
  'drawdown_warning',
  'drawdown_cap_triggered',
  'drawdown_reduction',
  'drawdown_recovered',
  'halted',
  'resumed',
  'heartbeat_stale',
  'heartbeat_recovered',
];
