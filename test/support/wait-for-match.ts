/**
 * Resolve with what `find` returns once it returns something, checked now and on every call of
 * the waiters the caller runs when new data arrives; reject after `timeoutMs` with `miss()`.
 */
export function waitForMatch<T>(
  find: () => T | undefined,
  waiters: Set<() => void>,
  timeoutMs: number,
  miss: () => string,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const found = find();
      if (found === undefined) return;
      waiters.delete(check);
      clearTimeout(timer);
      resolve(found);
    };
    const timer = setTimeout(() => {
      waiters.delete(check);
      reject(new Error(miss()));
    }, timeoutMs);
    waiters.add(check);
    check();
  });
}
