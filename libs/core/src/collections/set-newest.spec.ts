import { setNewest } from './set-newest';

describe('setNewest', () => {
  it('keeps the newest entries up to the capacity, a re-set key counting as new', () => {
    const map = new Map<string, number>();
    setNewest(map, 'a', 1, 2);
    setNewest(map, 'b', 2, 2);
    setNewest(map, 'a', 3, 2); // a is now newer than b
    setNewest(map, 'c', 4, 2);
    expect([...map.entries()]).toEqual([
      ['a', 3],
      ['c', 4],
    ]);
  });
});
