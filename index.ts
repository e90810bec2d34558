// Wiring only: typed config -> components -> stack outputs. No export carries a secret in plaintext.
import { AppStack } from "./components/appStack";
import { loadConfig } from "./components/config";

const config = loadConfig();
const app = new AppStack("copilotos", { config });

export const webUrl = app.webUrl;
export const apiHealthUrl = app.apiHealthUrl;
export const dockerHost = app.host.dockerHost;
/** How to reach the host over SSH (the restore and deliver CLIs need it for an aws host, whose address and host key the stack makes). */
export const sshHost = app.host.connection
  ? { address: app.host.connection.host, port: app.host.connection.port, user: app.host.connection.user, hostKey: app.host.connection.hostKey }
  : undefined;
export const network = app.networkName;
export const containers = {
  mongo: app.mongo.containerName,
  redis: app.redis.containerName,
  api: app.api.containerName,
  web: app.web.containerName,
  proxy: app.proxy.containerName,
};
export const volumes = { mongo: app.mongo.volumeName, redis: app.redis.volumeName };
/** Image refs of this update, as configured or built, and what each container runs (a digest or image ID): stack history keeps them, so a rollback knows what ran. */
export const images = {
  mongo: app.images.mongo.ref,
  redis: app.images.redis.ref,
  api: app.images.api.ref,
  web: app.images.web.ref,
  proxy: app.images.proxy.ref,
};
export const runningImages = {
  mongo: app.images.mongo.image,
  redis: app.images.redis.image,
  api: app.images.api.image,
  web: app.images.web.image,
  proxy: app.images.proxy.image,
};
