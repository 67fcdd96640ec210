// Reading the Prometheus text exposition format that the apps serve at /metrics.

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

/** Fetches `<baseUrl>/metrics` and reads one sample of it with `metricValue`. */
export async function scrapeMetric(baseUrl: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  return metricValue(await (await fetch(`${baseUrl}/metrics`)).text(), name, labels);
}
