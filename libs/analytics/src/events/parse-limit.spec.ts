import { parseLimit } from './parse-limit';

describe('parseLimit of GET /api/v1/events', () => {
  it('defaults to 100 and takes 1..1000', () => {
    expect(parseLimit(undefined)).toBe(100);
    expect(parseLimit('1')).toBe(1);
    expect(parseLimit('1000')).toBe(1000);
  });

  it('refuses anything else', () => {
    for (const bad of ['0', '1001', '-1', '2.5', 'ten', '', ' 5', '1e2', ['1', '2']])
      expect(parseLimit(bad)).toBeNull();
  });
});
