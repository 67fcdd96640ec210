import { type CloudEvent, WebIntegrationTypes } from '@tenantcast/sdk';

const CREATED: ReadonlySet<string> = new Set(WebIntegrationTypes.created);
const UPDATED: ReadonlySet<string> = new Set(WebIntegrationTypes.updated);
const DELETED: ReadonlySet<string> = new Set(WebIntegrationTypes.deleted);

/** A web integration's origins as an event states them: a list to set, or null to forget. */
export interface OriginsChange {
  integration: string;
  origins: string[] | null;
}

function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;
}

/** Reads an update's `newValue` of `validOrigins`: a JSON array, or a comma-separated list. */
function parseOriginsText(text: string): string[] {
  try {
    const parsed = stringList(JSON.parse(text));
    if (parsed !== undefined) return parsed;
  } catch {
    // Not JSON: a comma-separated list.
  }
  return text
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
}

/**
 * What a web-integration event says about the tenant's allowed browser origins, which the gateway's
 * origin policy enforces: created events set `validOrigins`; updated events set them when they carry
 * `validOrigins` or an update of property `validOrigins`; deleted events drop the integration.
 */
export function originsChange(event: CloudEvent): OriginsChange | undefined {
  const data = event.data as { id?: unknown; validOrigins?: unknown; updates?: unknown } | undefined;
  if (data === undefined || data === null || typeof data.id !== 'string') return undefined;
  const integration = data.id;
  if (DELETED.has(event.type)) return { integration, origins: null };
  if (!CREATED.has(event.type) && !UPDATED.has(event.type)) return undefined;
  const direct = stringList(data.validOrigins);
  if (direct !== undefined) return { integration, origins: direct };
  if (UPDATED.has(event.type) && Array.isArray(data.updates)) {
    const update = [...data.updates].reverse().find((u) => (u as { property?: unknown })?.property === 'validOrigins') as
      | { newValue?: unknown }
      | undefined;
    if (typeof update?.newValue === 'string') return { integration, origins: parseOriginsText(update.newValue) };
  }
  return undefined;
}
