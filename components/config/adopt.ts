/**
 * `copilotos:adopt`: a running `docker compose` deployment the stack takes over (npm run adopt
 * writes it). Volumes are taken by name and never created or deleted by the stack.
 */
import { z } from "zod";
import { APP_COMPOSE_SERVICES } from "../renderers/operations/adopt";
import { text } from "./values";

/** A compose project name, as compose itself allows: lowercase letters, digits, `_ -`, starting with a letter or digit. */
export const COMPOSE_PROJECT_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const composeProject = () => text().regex(COMPOSE_PROJECT_PATTERN, { error: "must be a compose project name: lowercase letters, digits, _ - (at most 63)" });
/** A Docker volume name (Docker's own rule), at most 255 characters. */
const volume = () => text().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/, { error: "must be a Docker volume name: letters, digits, _ . - (at most 255)" });
/** A compose service name. */
const service = (fallback: string) =>
  text()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, { error: "must be a compose service name: letters, digits, _ . -" })
    .default(fallback);

export const adoptSchema = z
  .strictObject({
    composeProject: composeProject().describe("the compose project (`com.docker.compose.project`) whose containers the cut-over stops"),
    volumes: z
      .strictObject({
        mongo: volume().describe("Mongo's existing data volume, e.g. `copilotos-prod_mongodb_data`"),
        redis: volume().describe("Redis's existing data volume, e.g. `copilotos-prod_redis_data`"),
      })
      .describe("existing volumes the stack takes over by name (never created, never deleted by the stack)"),
    services: z
      .strictObject({
        mongo: service(APP_COMPOSE_SERVICES.mongo).describe("compose service of Mongo"),
        redis: service(APP_COMPOSE_SERVICES.redis).describe("compose service of Redis"),
        api: service(APP_COMPOSE_SERVICES.api).describe("compose service of the API"),
        web: service(APP_COMPOSE_SERVICES.web).describe("compose service of the web app"),
      })
      .prefault({})
      .describe("compose service names (the app's compose file: mongodb, redis, api, web)"),
    attempt: text()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/, { error: "must be a short token: letters, digits, _ . : - (at most 64)" })
      .default("1")
      .describe("any new value runs the cut-over again (after a hand-back)"),
  })
  .optional()
  .describe("a running compose deployment to take over (set by `npm run adopt`)");
