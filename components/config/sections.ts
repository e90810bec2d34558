/** Config sections of the operations side (the API's extras, logs, the state backend), parsed by the schema in index.ts. */
import { z } from "zod";
import { envMap, integer, jsonList, text } from "./values";

/** `copilotos:api`: extra env, and the migration command. */
export const apiSchema = z
  .strictObject({
    env: envMap.describe("extra env for the API container (overrides managed variables)"),
    migrate: z
      .preprocess(
        jsonList,
        z
          .array(text().max(4096, { error: "must be at most 4096 characters" }), { error: "must be a list of words, e.g. [python, -m, scripts.migrate]" })
          .min(1, { error: "must name a command" }),
      )
      .optional()
      .describe("command run in a one-off container of the new API image before it gets traffic (the seeds' `make db-migrate`); a failure stops the update"),
  })
  .prefault({});

/** `copilotos:logs`: every container's log driver and rotation. */
export const logsSchema = z
  .strictObject({
    driver: z
      .enum(["json-file", "local", "journald", "syslog", "none"], { error: "must be json-file, local, journald, syslog or none" })
      .default("json-file")
      .describe("Docker log driver of every container (journald/syslog: the host rotates)"),
    maxSizeMb: integer(1, 10240, "a whole number of MiB from 1 to 10240").default(10).describe("json-file/local: size of one log file (MiB)"),
    maxFiles: integer(1, 100, "a whole number from 1 to 100").default(3).describe("json-file/local: log files kept per container"),
  })
  .prefault({});

/** `copilotos:stateBackend`: whether `npm run preview|up` accept a local file backend. */
export const stateBackendSchema = z
  .enum(["any", "shared"], { error: 'must be "any" or "shared"' })
  .default("any")
  .describe("`shared`: `npm run preview|up` refuse a local file state backend (the secrets would live on one machine; prod sets it)");
