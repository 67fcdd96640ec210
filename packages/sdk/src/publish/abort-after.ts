/** A signal for one attempt, and how to let go of it once the attempt is over. */
export interface AttemptAbort {
  readonly signal: AbortSignal;
  /** Stops the timer and the link to the outer signal; call it when the attempt is over. */
  dispose(): void;
}

/**
 * A signal that aborts after `ms` (a `TimeoutError`) or when `outer` aborts (with its reason).
 * Built on a controller and a timer, not `AbortSignal.any([AbortSignal.timeout(ms), outer])`: Node 20
 * may garbage-collect that composite's timeout before it fires, and a request on a connection that
 * never answers then hangs for good (reproduced with `--expose-gc`; see abort-after.test.ts).
 */
export function abortAfter(ms: number, outer: AbortSignal): AttemptAbort {
  const controller = new AbortController();
  const onOuter = () => controller.abort(outer.reason);
  const timer = setTimeout(() => controller.abort(new DOMException(`The attempt took longer than ${ms} ms.`, 'TimeoutError')), ms);
  if (outer.aborted) onOuter();
  else outer.addEventListener('abort', onOuter, { once: true });
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      outer.removeEventListener('abort', onOuter);
    },
  };
}
