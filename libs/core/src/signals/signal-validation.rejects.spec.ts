import { parseSignalBody, type FieldError } from './signal-validation';

const RECEIVED_AT = Date.UTC(2026, 10, 24, 10, 0, 5);
const VALID = { id: 'sig-001', instrument: 'EURUSD', side: 'buy', volume: 0.1 };

/** The errors of a refused body; fails the test when the body was accepted. */
const refuse = (body: unknown, maxVolume = 100): FieldError[] => {
  const result = parseSignalBody(body, maxVolume, RECEIVED_AT, 'inbox');
  if (result.ok)
    throw new Error(`expected ${JSON.stringify(body)} to be refused, got ${JSON.stringify(result.signal)}`);
  return result.errors;
};
const fields = (body: unknown, maxVolume = 100): string[] =>
  refuse(body, maxVolume)
    .map((e) => e.field)
    .sort();

describe('parseSignalBody: bodies that are refused, every offending field named', () => {
  it.each([
    ['empty', ''],
    ['65 characters', 'a'.repeat(65)],
    ['a space', 'sig 001'],
    ['a slash', 'sig/001'],
    ['a trailing newline', 'sig-001\n'],
    ['a non-ASCII letter', 'sïg'],
  ])('refuses an id that is %s', (_label, id) => {
    expect(fields({ ...VALID, id })).toEqual(['id']);
  });

  it.each([
    ['a number', 42],
    ['null', null],
  ])('refuses an id that is %s', (_label, id) => {
    expect(fields({ ...VALID, id })).toEqual(['id']);
  });

  it.each([
    ['empty', ''],
    ['33 characters', 'A'.repeat(33)],
    ['with a colon (allowed in ids, not instruments)', 'EUR:USD'],
    ['with a space', 'EUR USD'],
  ])('refuses an instrument that is %s', (_label, instrument) => {
    expect(fields({ ...VALID, instrument })).toEqual(['instrument']);
  });

  it.each(['BUY', 'long', '', 'close_all'])('refuses side %j', (side) => {
    expect(fields({ ...VALID, side })).toEqual(['side']);
  });

  it.each([
    ['zero', 0],
    ['negative', -0.1],
    ['above MAX_VOLUME', 100.01],
  ])('refuses a buy volume that is %s, naming MAX_VOLUME in the message', (_label, volume) => {
    expect(refuse({ ...VALID, volume })).toEqual([
      { field: 'volume', message: 'must be > 0 and <= MAX_VOLUME (100)' },
    ]);
  });

  it('measures volume against the MAX_VOLUME it is given', () => {
    expect(fields({ ...VALID, side: 'sell', volume: 5 }, 2)).toEqual(['volume']);
    expect(refuse({ ...VALID, side: 'sell', volume: 5 }, 2)[0].message).toContain('2');
  });

  it.each([
    ['missing', undefined],
    ['a string', '0.1'],
    ['null', null],
    ['infinite (not JSON, but a caller may pass it)', Infinity],
    ['NaN', NaN],
  ])('refuses a buy/sell volume that is %s', (_label, volume) => {
    expect(fields({ ...VALID, volume })).toEqual(['volume']);
    expect(fields({ ...VALID, side: 'sell', volume })).toEqual(['volume']);
  });

  it('requires id, instrument and side, naming each missing one', () => {
    expect(fields({ volume: 1 })).toEqual(['id', 'instrument', 'side']);
  });

  it.each([
    ['zero', 0],
    ['negative', -1.08],
    ['a string', '1.08'],
  ])('refuses sl and tp that are %s', (_label, value) => {
    expect(fields({ ...VALID, sl: value })).toEqual(['sl']);
    expect(fields({ ...VALID, tp: value })).toEqual(['tp']);
    expect(fields({ ...VALID, sl: value, tp: value })).toEqual(['sl', 'tp']);
  });

  it.each([
    ['a date without time', '2026-11-24'],
    ['a time without zone', '2026-11-24T10:00:00'],
    ['a unix number as text', '1795000000000'],
    ['free text', 'yesterday'],
    ['a month 13', '2026-13-01T10:00:00Z'],
    ['hour 25', '2026-11-24T25:00:00Z'],
    ['the 30th of February', '2026-02-30T10:00:00Z'],
    ['the 31st of April', '2026-04-31T10:00:00Z'],
    ['the 29th of February of a common year', '2026-02-29T10:00:00Z'],
  ])('refuses created_at that is %s', (_label, created_at) => {
    expect(fields({ ...VALID, created_at })).toEqual(['created_at']);
  });

  it('refuses created_at that is a number rather than an ISO-8601 string', () => {
    expect(fields({ ...VALID, created_at: 1_795_000_000_000 })).toEqual(['created_at']);
  });

  it('refuses unknown fields by name, each of them', () => {
    expect(refuse({ ...VALID, comment: 'hi' })).toEqual([{ field: 'comment', message: 'unknown field' }]);
    expect(fields({ ...VALID, symbol: 'EURUSD', createdAt: '2026-11-24T10:00:00Z' })).toEqual([
      'createdAt',
      'symbol',
    ]);
  });

  it('names every offending field at once, unknown fields included', () => {
    expect(
      fields({
        id: 'bad id',
        instrument: '',
        side: 'hold',
        volume: 1,
        sl: -1,
        tp: 0,
        created_at: 'soon',
        magic: 7,
      }),
    ).toEqual(['created_at', 'id', 'instrument', 'magic', 'side', 'sl', 'tp']);
    expect(fields({ id: 'bad id', instrument: 'EURUSD', side: 'buy', volume: 0, extra: true })).toEqual([
      'extra',
      'id',
      'volume',
    ]);
  });

  it('names a bad or missing volume even when the shape of the body is already wrong', () => {
    expect(fields({ id: 'bad id!', instrument: '', side: 'hold', volume: -1 })).toEqual([
      'id',
      'instrument',
      'side',
      'volume',
    ]);
    expect(fields({ id: 'bad id!', instrument: 'EURUSD', side: 'buy' })).toEqual(['id', 'volume']);
    expect(fields({ id: 'bad id!', instrument: 'EURUSD', side: 'close', volume: -1 })).toEqual(['id']);
    expect(refuse({ id: 'ok', instrument: 'EURUSD', side: 'buy', volume: 'x' })).toEqual([
      { field: 'volume', message: 'must be > 0 and <= MAX_VOLUME (100)' },
    ]);
  });

  it.each([
    ['null', null],
    ['an array', [VALID]],
    ['a string', JSON.stringify(VALID)],
    ['a number', 1],
  ])('refuses a body that is %s as a whole, under the name `body`', (_label, body) => {
    expect(fields(body)).toEqual(['body']);
  });
});
