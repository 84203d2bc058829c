# One image for every tickercast process; each service picks its app with its command:
#   node apps/ingress/src/main.ts | apps/ticker/… | apps/dispatcher/… | apps/simulator/…
# Node 24 runs the TypeScript sources directly (type stripping): there is no compile step.

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/shared/package.json packages/shared/
COPY packages/messages-client/package.json packages/messages-client/
COPY apps/ingress/package.json apps/ingress/
COPY apps/ticker/package.json apps/ticker/
COPY apps/dispatcher/package.json apps/dispatcher/
COPY apps/simulator/package.json apps/simulator/
# The image already has Node 24: skip the dev dependencies, including the npm-delivered node.
RUN npm ci --omit=dev --no-audit --no-fund

FROM deps AS check
# The build fails on a type error: the same check as `npm run typecheck`.
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run typecheck

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --chown=node:node package.json ./
COPY --chown=node:node packages ./packages
COPY --chown=node:node apps ./apps
# The check stage must have passed for this image to be built.
COPY --from=check /app/package.json /tmp/checked
USER node
EXPOSE 9000 9100
CMD ["node", "apps/ingress/src/main.ts"]
