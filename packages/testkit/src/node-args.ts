/**
 * Node's flags for a child process that runs the workspace's TypeScript sources: tsx's loader, and
 * the `source` export condition, so that workspace packages resolve to their `src/` and not to a
 * build in `dist/`. A child spawned with an environment of its own does not inherit NODE_OPTIONS,
 * where `pnpm` and `npm` put that condition (pnpm-workspace.yaml, .npmrc).
 */
export const TSX_NODE_ARGS: readonly string[] = ['--conditions=source', '--import', 'tsx'];
