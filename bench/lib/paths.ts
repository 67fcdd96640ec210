import { fileURLToPath } from 'node:url';

/** The repository root: every child runs from here. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Git-ignored output: latest.json, server logs, CPU profiles. */
export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));
