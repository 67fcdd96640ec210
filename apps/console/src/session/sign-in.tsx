import { useState } from 'preact/hooks';

/** The sign-in form: a token pasted by hand, or a message when a link's token has expired. */
export function SignIn(props: { message: string | undefined; onSignIn: (token: string) => void }) {
  const [token, setToken] = useState('');
  return (
    <main class="sign-in">
      <h1>tenantcast console</h1>
      {props.message !== undefined && <p role="status">{props.message}</p>}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          props.onSignIn(token);
        }}
      >
        <label for="token">Token</label>
        <textarea
          id="token"
          name="token"
          rows={4}
          autocomplete="off"
          spellcheck={false}
          value={token}
          onInput={(e) => setToken((e.target as HTMLTextAreaElement).value)}
        />
        <button type="submit">Sign in</button>
      </form>
      <p class="hint">A portal link signs you in by itself. The token stays in this tab only.</p>
    </main>
  );
}
