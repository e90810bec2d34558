// Wiring only: typed config -> components -> stack outputs. No export carries a secret in plaintext.
import { AppStack } from "./components/appStack";
import { loadConfig } from "./components/config";
import { SwarmStack } from "./components/swarm/swarmStack";

const config = loadConfig();
// One Docker host (local, ssh, aws), or a Docker Swarm reached at a manager.
const app = config.host.kind === "swarm" ? undefined : new AppStack("copilotos", { config });
const swarm = config.host.kind === "swarm" ? new SwarmStack("copilotos", { config }) : undefined;
const stack = (app ?? swarm)!;
const offsite = app?.offsite ?? swarm?.offsite;

const conn = stack.host.connection;
// Only the outputs that apply to this stack: the SDK warns about (and drops) an undefined export.
export = {
  webUrl: stack.webUrl,
  apiHealthUrl: stack.apiHealthUrl,
  dockerHost: stack.host.dockerHost,
  /** How to reach the host over SSH (the restore and deliver CLIs need it for an aws host, whose address and host key the stack makes). */
  ...(conn ? { sshHost: { address: conn.host, port: conn.port, user: conn.user, hostKey: conn.hostKey } } : {}),
  network: stack.networkName,
  ...(app
    ? {
        containers: {
          mongo: app.mongo.containerName,
          redis: app.redis.containerName,
          api: app.api.containerName,
          web: app.web.containerName,
          proxy: app.proxy.containerName,
        },
        volumes: { mongo: app.mongo.volumeName, redis: app.redis.volumeName },
      }
    : {}),
  /** The off-host restic repository's password (a secret: `pulumi stack output --show-secrets backupRepositoryPassword`); without it its snapshots cannot be read. */
  ...(offsite ? { backupRepositoryPassword: offsite.password } : {}),
  /** On a swarm: the services, by stack service. */
  ...(swarm ? { services: swarm.services } : {}),
  /** Image refs of this update, as configured or built, and what each container runs (a digest or image ID): stack history keeps them, so a rollback knows what ran. */
  images: {
    mongo: stack.images.mongo.ref,
    redis: stack.images.redis.ref,
    api: stack.images.api.ref,
    web: stack.images.web.ref,
    proxy: stack.images.proxy.ref,
  },
  runningImages: {
    mongo: stack.images.mongo.image,
    redis: stack.images.redis.image,
    api: stack.images.api.image,
    web: stack.images.web.image,
    proxy: stack.images.proxy.image,
  },
};
