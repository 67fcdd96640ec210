/** The relay's answer at /console/config.json: where the console's live connection goes. */
export interface ConsoleConfig {
  /** The gateway's WebSocket URL (`ws://` or `wss://`), the relay setting CONSOLE_GATEWAY_URL. */
  gatewayUrl: string;
  /** The relay's public URL; API calls go to the page's own origin. */
  relayUrl?: string;
}

/** Fetches the console's configuration from the relay that serves it. */
export async function loadConfig(): Promise<ConsoleConfig> {
  const response = await fetch('/console/config.json', { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`The console's configuration is unavailable (HTTP ${response.status} from /console/config.json).`);
  return (await response.json()) as ConsoleConfig;
}
