// pnpm resolves a dependency's missing optional peer from any workspace project that has it
// (pnpm/pnpm#7830): valibot, under the relay's @bull-board/api, would get the root's typescript,
// and `pnpm deploy --prod` would put the compiler in the production image. valibot needs
// typescript only for its types.
module.exports = {
  hooks: {
    readPackage(manifest) {
      if (manifest.name === 'valibot') {
        delete manifest.peerDependencies?.typescript;
        delete manifest.peerDependenciesMeta?.typescript;
      }
      return manifest;
    },
  },
};
