/**
 * Cancellation: when one of several parallel requests fails for good, the others are stopped
 * instead of going on (and retrying) after the caller has given up.
 */

/** Waits `ms`, or rejects as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Like Promise.all, but when one task fails the others are aborted (through the signal each task
 * is given) and awaited, so nothing is left running; then the first error is thrown.
 */
export async function allOrAbort<T>(tasks: Array<(signal: AbortSignal) => Promise<T>>, parent?: AbortSignal): Promise<T[]> {
  const controller = new AbortController();
  const onParentAbort = () => controller.abort(parent!.reason);
  if (parent?.aborted) controller.abort(parent.reason);
  parent?.addEventListener('abort', onParentAbort, { once: true });
  let firstError: { error: unknown } | undefined;
  try {
    const settled = await Promise.allSettled(
      tasks.map((task) =>
        task(controller.signal).catch((error: unknown) => {
          if (!firstError) {
            firstError = { error };
            controller.abort(new Error('cancelled: another part failed'));
          }
          throw error;
        }),
      ),
    );
    if (firstError) throw firstError.error;
    return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
  } finally {
    parent?.removeEventListener('abort', onParentAbort);
  }
}
