/**
 * Every process a scenario starts is registered here, so that the orchestrator can end whatever a
 * failed scenario left running, and kill the servers if it is itself interrupted.
 */
interface Stoppable {
  stop(): Promise<void>;
  /** Synchronous last resort, on exit. */
  kill(): void;
}

const live = new Set<Stoppable>();

export function register(item: Stoppable): () => void {
  live.add(item);
  return () => live.delete(item);
}

/** Stops everything still registered. */
export async function stopAll(): Promise<void> {
  const items = [...live];
  live.clear();
  await Promise.all(items.map((item) => item.stop().catch(() => item.kill())));
}

process.on('exit', () => {
  for (const item of live) item.kill();
});
