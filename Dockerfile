# The operator image: `docker build -t konsumerator:<version> .`
# Runs the TypeScript sources through tsx (a runtime dependency), as `npx konsumerator` does.
FROM node:20-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY tsconfig.json ./
USER node
ENTRYPOINT ["node", "bin/konsumerator.js"]
CMD ["run"]
