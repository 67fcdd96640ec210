import { useEffect, useState } from 'preact/hooks';
import { Api } from './api.ts';
import { DeliveriesView } from './deliveries/deliveries-view.tsx';
import { EndpointsView } from './endpoints/endpoints-view.tsx';
import { EventsView } from './events/events-view.tsx';
import { type ConsoleConfig, loadConfig } from './session/config.ts';
import { SignIn } from './session/sign-in.tsx';
import {
  decodeToken,
  forgetToken,
  isExpired,
  storeToken,
  type TokenInfo,
  TokenRefused,
  takeToken,
  verifyWithRelay,
} from './session/token.ts';

const EXPIRED = 'Your link has expired; ask for a new one or sign in with a token';

/** The view named by the address bar's fragment: `#events`, `#endpoints`, `#deliveries/<endpoint id>`. */
function routeOf(hash: string): { view: 'events' | 'endpoints' | 'deliveries'; endpointId?: string } {
  if (hash.startsWith('#deliveries/')) return { view: 'deliveries', endpointId: decodeURIComponent(hash.slice('#deliveries/'.length)) };
  return hash === '#endpoints' ? { view: 'endpoints' } : { view: 'events' };
}

/** Reads the stored token: signed in, expired (with the message), or none. */
function initialSession(): { info?: TokenInfo; message?: string } {
  const token = takeToken();
  if (token === undefined) return {};
  const info = decodeToken(token);
  if (info === undefined) return { message: 'That is not a token: paste the whole token (three parts separated by dots).' };
  if (isExpired(info)) {
    forgetToken();
    return { message: EXPIRED };
  }
  return { info };
}

/** The console: sign-in, then one tenant's events, endpoints and deliveries. */
export function App() {
  const [session, setSession] = useState(initialSession);
  const [config, setConfig] = useState<ConsoleConfig | undefined>();
  const [configError, setConfigError] = useState<string | undefined>();
  const [route, setRoute] = useState(() => routeOf(location.hash));
  const [tenant, setTenant] = useState<string | undefined>();

  useEffect(() => {
    loadConfig().then(setConfig, (error: unknown) => setConfigError(String(error instanceof Error ? error.message : error)));
    // A portal link opened in a tab that shows the console already changes only the fragment.
    const onHash = () => {
      if (/(?:^#|&)token=/.test(location.hash)) setSession(initialSession());
      setRoute(routeOf(location.hash));
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const signIn = (token: string) => {
    const info = decodeToken(token);
    if (info === undefined) return setSession({ message: 'That is not a token: paste the whole token (three parts separated by dots).' });
    if (isExpired(info)) return setSession({ message: 'This token has expired; ask for a new one.' });
    storeToken(token);
    setSession({ info });
  };
  const signOut = () => {
    forgetToken();
    setTenant(undefined);
    setSession({ message: 'Signed out.' });
  };

  // What the token grants is the relay's word: an identity provider's token names its claims its own way.
  useEffect(() => {
    const decoded = session.info;
    if (decoded === undefined || decoded.verified === true) return;
    let live = true;
    verifyWithRelay(decoded).then(
      (verified) => live && setSession({ info: verified }),
      (error: unknown) => {
        if (!live || !(error instanceof TokenRefused)) return;
        forgetToken();
        setSession({ message: error.message });
      },
    );
    return () => {
      live = false;
    };
  }, [session.info?.token]);

  const info = session.info;
  if (info === undefined) return <SignIn message={session.message} onSignIn={signIn} />;
  if (info.verified !== true) return <p role="status">Checking the token…</p>;
  const everyTenant = info.tenants.includes('*');
  const current = everyTenant ? tenant : (tenant ?? info.tenants[0]);

  return (
    <>
      <header class="top">
        <p class="brand">tenantcast console</p>
        <nav aria-label="Console">
          <a href="#events" aria-current={route.view === 'events' ? 'page' : undefined}>
            Events
          </a>
          <a href="#endpoints" aria-current={route.view !== 'events' ? 'page' : undefined}>
            Endpoints
          </a>
        </nav>
        <TenantChoice tenants={info.tenants} current={current} onChoose={setTenant} />
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>
        {configError !== undefined && <p role="alert">{configError}</p>}
        {current === undefined ? (
          <p>Choose a tenant to see its events and endpoints.</p>
        ) : config === undefined ? (
          <p>Loading…</p>
        ) : (
          <TenantViews key={current} api={new Api(info.token, current)} config={config} route={route} />
        )}
      </main>
    </>
  );
}

function TenantViews(props: { api: Api; config: ConsoleConfig; route: ReturnType<typeof routeOf> }) {
  const { api, config, route } = props;
  if (route.view === 'deliveries' && route.endpointId !== undefined) return <DeliveriesView api={api} endpointId={route.endpointId} />;
  if (route.view === 'endpoints') return <EndpointsView api={api} />;
  return <EventsView api={api} gatewayUrl={config.gatewayUrl} />;
}

/** The tenant shown: fixed for a token over some tenants, a picker for one over every tenant ('*'). */
function TenantChoice(props: { tenants: string[]; current: string | undefined; onChoose: (tenant: string) => void }) {
  const [draft, setDraft] = useState(props.current ?? '');
  if (!props.tenants.includes('*')) {
    if (props.tenants.length === 1) return <p class="tenant">Tenant: {props.current}</p>;
    return (
      <label class="tenant">
        Tenant{' '}
        <select value={props.current} onChange={(e) => props.onChoose((e.target as HTMLSelectElement).value)}>
          {props.tenants.map((t) => (
            <option key={t}>{t}</option>
          ))}
        </select>
      </label>
    );
  }
  return (
    <form
      class="tenant"
      onSubmit={(e) => {
        e.preventDefault();
        if (draft.trim() !== '') props.onChoose(draft.trim());
      }}
    >
      <label>
        Tenant <input value={draft} onInput={(e) => setDraft((e.target as HTMLInputElement).value)} />
      </label>
      <button type="submit">Open tenant</button>
    </form>
  );
}
