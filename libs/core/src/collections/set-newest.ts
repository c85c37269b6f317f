/**
 * Set `key` as the newest entry of an insertion-ordered map, then drop the oldest entries while
 * the map holds more than `capacity`: a bounded memory of recent things.
 */
export function setNewest<K, V>(map: Map<K, V>, key: K, value: V, capacity: number): void {
  map.delete(key);
  map.set(key, value);
  for (const oldest of map.keys()) {
    if (map.size <= capacity) break;
    map.delete(oldest);
  }
}
