import { jsonbText } from './jsonb-text';

describe('jsonbText: JSON that PostgreSQL jsonb accepts', () => {
  it('replaces each NUL with U+FFFD and keeps everything else, a literal backslash-u0000 included', () => {
    const value = { reason: 'halt\u0000now', literal: 'a \\u0000 b', nested: ['\u0000', 'x'] };
    const text = jsonbText(value);
    expect(text).not.toMatch(/(?<!\\)(?:\\\\)*\\u0000/);
    expect(JSON.parse(text)).toEqual({
      reason: 'halt\ufffdnow',
      literal: 'a \\u0000 b',
      nested: ['\ufffd', 'x'],
    });
  });
});
