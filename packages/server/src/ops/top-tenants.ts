/**
 * The label value of the series that sums every tenant past the top N. Parentheses are not allowed
 * in tenant ids (`^[A-Za-z0-9._-]{1,128}$`), so no tenant's own series can take this name.
 */
export const OTHER_TENANTS = '(other)';

/**
 * Bounds a per-tenant metric to at most `max` + 1 series: the `max` tenants of the largest counts
 * (ties by tenant id, so that the set does not flap between scrapes), and `OTHER_TENANTS` with the
 * sum of the rest when there is a rest. A series per tenant would grow with the number of tenants
 * without bound, for Prometheus as for whoever reads the metrics.
 * @example
 * topTenants(new Map([['a', 3], ['b', 1], ['c', 2]]), 2) // [['a', 3], ['c', 2], ['(other)', 1]]
 */
export function topTenants(counts: ReadonlyMap<string, number>, max: number): [string, number][] {
  const entries = [...counts];
  if (entries.length <= max) return entries;
  entries.sort(([ta, a], [tb, b]) => b - a || (ta < tb ? -1 : ta > tb ? 1 : 0));
  const top = entries.slice(0, max);
  let rest = 0;
  for (let i = max; i < entries.length; i++) rest += entries[i]![1];
  top.push([OTHER_TENANTS, rest]);
  return top;
}
