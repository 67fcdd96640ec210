// Reading the Prometheus text exposition format that the apps serve at /metrics, on their metrics
// listener (RELAY_METRICS_PORT, GATEWAY_METRICS_PORT), not on their public one.

/** A sample's value from a Prometheus text exposition, or undefined when the series is absent; `labels` must all be on it. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const present = (match[2] ?? '').split(',').filter(Boolean);
    if (wanted.every((w) => present.includes(w)) && (wanted.length > 0 || present.length === 0)) return Number(match[3]);
  }
  return undefined;
}

/** Fetches `<metricsUrl>/metrics` (an app's metrics listener, e.g. a test fixture's `metricsUrl`); throws unless it answers 200. */
export async function scrapeMetrics(metricsUrl: string): Promise<string> {
  const res = await fetch(`${metricsUrl}/metrics`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${metricsUrl}/metrics answered ${res.status}: ${text.slice(0, 200)}`);
  return text;
}

/** Fetches `<metricsUrl>/metrics` and reads one sample of it with `metricValue`. */
export async function scrapeMetric(metricsUrl: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  return metricValue(await scrapeMetrics(metricsUrl), name, labels);
}
