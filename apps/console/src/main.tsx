import { render } from 'preact';
import { App } from './app.tsx';
import './styles.css';

// The console's entry point: everything renders into #app (index.html has no inline script).
const root = document.getElementById('app');
if (root !== null) {
  // Preact 11 keeps the element's children: drop the "Loading" placeholder first.
  root.replaceChildren();
  render(<App />, root);
}
