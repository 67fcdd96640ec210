import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { build } from 'esbuild';

// Bundles the console for the relay to serve at /console/: index.html, app-<hash>.js and
// app-<hash>.css, nothing inline (the relay's CSP is `script-src 'self'; style-src 'self'`).

const here = import.meta.dirname;

/** Where `pnpm build` puts the console: the relay serves this folder at /console/. */
export const CONSOLE_DIST = join(here, 'dist');

/** Builds the console into `outDir` (emptied first); resolves with the names of the files written. */
export async function buildConsole(outDir: string = CONSOLE_DIST): Promise<{ js: string; css: string }> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: { app: join(here, 'src/main.tsx') },
    outdir: outDir,
    entryNames: '[name]-[hash]',
    bundle: true,
    minify: true,
    sourcemap: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    // The workspace's SDK from its sources, as the tests run it; its `browser` field leaves `ws` out.
    conditions: ['source'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((path) => basename(path));
  const js = outputs.find((name) => name.endsWith('.js'));
  const css = outputs.find((name) => name.endsWith('.css'));
  if (js === undefined || css === undefined) throw new Error(`esbuild wrote ${outputs.join(', ')}: expected app-<hash>.js and .css`);
  const template = await readFile(join(here, 'src/index.html'), 'utf8');
  await writeFile(join(outDir, 'index.html'), template.replace('{{css}}', css).replace('{{js}}', js));
  return { js, css };
}

if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) {
  const { js, css } = await buildConsole();
  process.stdout.write(`console built: ${CONSOLE_DIST}/{index.html,${js},${css}}\n`);
}
