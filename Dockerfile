# One image for every tenantcast app; compose picks the app with `command`.
FROM node:20-slim
WORKDIR /app
RUN npm i -g pnpm@12.4.2
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml tsconfig.json ./
COPY packages ./packages
COPY apps ./apps
RUN pnpm install --frozen-lockfile
USER node
CMD ["pnpm", "--filter", "@tenantcast/relay", "start"]
