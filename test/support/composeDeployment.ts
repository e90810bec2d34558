/**
 * Today's production, the seeds' way, on the test host: the stand-ins under `docker-compose`
 * (Debian's) with the app's compose layout — services mongodb, redis, api, web; volumes
 * mongodb_data, mongodb_config, redis_data (so `<project>_mongodb_data` …); Mongo's root password
 * from `envs/.env` (MONGO_INITDB_ROOT_PASSWORD, fixed in the volume at first init); Redis's on its
 * command line; the API's from the env file.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { requireTestHost } from "./testHost";
import { STANDIN_TAGS } from "./standins";

export interface ComposeSecrets {
  MONGODB_USER: string;
  MONGODB_PASSWORD: string;
  REDIS_PASSWORD: string;
  JWT_SECRET_KEY: string;
  SECRET_KEY: string;
  SAPTIVA_API_KEY: string;
}

const composeFile = (ports: { api: number; web: number }) => `version: "2.4"
services:
  mongodb:
    image: ${STANDIN_TAGS.mongo}
    container_name: \${COMPOSE_PROJECT_NAME}-mongodb
    restart: unless-stopped
    environment:
      MONGO_INITDB_ROOT_USERNAME: \${MONGODB_USER}
      MONGO_INITDB_ROOT_PASSWORD: \${MONGODB_PASSWORD}
      MONGO_INITDB_DATABASE: copilotos
    volumes:
      - mongodb_data:/data/db
      - mongodb_config:/data/configdb
  redis:
    image: ${STANDIN_TAGS.redis}
    container_name: \${COMPOSE_PROJECT_NAME}-redis
    restart: unless-stopped
    command: redis-server --appendonly yes --requirepass \${REDIS_PASSWORD}
    volumes:
      - redis_data:/data
  api:
    image: ${STANDIN_TAGS.api}
    container_name: \${COMPOSE_PROJECT_NAME}-api
    restart: unless-stopped
    env_file: envs/.env
    environment:
      NODE_ENV: production
      MONGODB_HOST: mongodb
      REDIS_HOST: redis
      # Seed 004's production checklist sets these; the app refuses any other Host (ALLOWED_HOSTS).
      ALLOWED_HOSTS: ${requireTestHost().target.address},localhost,127.0.0.1
      CORS_ORIGINS: http://${requireTestHost().target.address}:${ports.web}
    ports:
      - "${ports.api}:8001"
  web:
    image: ${STANDIN_TAGS.web}
    container_name: \${COMPOSE_PROJECT_NAME}-web
    restart: unless-stopped
    ports:
      - "${ports.web}:3000"
volumes:
  mongodb_data: {}
  mongodb_config: {}
  redis_data: {}
`;

export class ComposeDeployment {
  readonly dir: string;
  readonly envFile: string;

  constructor(
    readonly project: string,
    readonly secrets: ComposeSecrets,
    ports: { api: number; web: number },
  ) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-compose-"));
    fs.mkdirSync(path.join(this.dir, "envs"));
    this.envFile = path.join(this.dir, "envs", ".env");
    const env = Object.entries(secrets)
      .map(([k, v]) => `${k}=${v}\n`)
      .join("");
    fs.writeFileSync(this.envFile, env, { mode: 0o600 });
    // compose reads `.env` beside the file for ${...} substitution, as the seeds' setup does.
    fs.writeFileSync(path.join(this.dir, ".env"), `COMPOSE_PROJECT_NAME=${project}\n${env}`, { mode: 0o600 });
    fs.writeFileSync(path.join(this.dir, "docker-compose.yml"), composeFile(ports));
  }

  /** `docker-compose -p <project> <args>` against the test host's engine. */
  compose(...args: string[]): string {
    return execFileSync("docker-compose", ["-p", this.project, ...args], {
      cwd: this.dir,
      env: { ...process.env, DOCKER_HOST: `unix://${requireTestHost().remoteSocket}` },
      stdio: ["ignore", "pipe", "pipe"],
    }).toString();
  }

  /** The volume compose names `<project>_<name>`. */
  volume(name: "mongodb_data" | "mongodb_config" | "redis_data"): string {
    return `${this.project}_${name}`;
  }

  /** Removes the deployment's containers, network and volumes, and its files here. */
  remove(): void {
    try {
      this.compose("down", "-v", "--remove-orphans");
    } catch {
      // already gone
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
