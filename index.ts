// Wiring only: typed config -> components -> stack outputs. No export carries a secret in plaintext.
import { AppStack } from "./components/appStack";
import { loadConfig } from "./components/config";

const config = loadConfig();
const app = new AppStack("copilotos", { config });

export const webUrl = app.webUrl;
export const apiHealthUrl = app.apiHealthUrl;
export const dockerHost = app.host.dockerHost;
export const network = app.networkName;
export const containers = {
  mongo: app.mongo.containerName,
  redis: app.redis.containerName,
  api: app.api.containerName,
  web: app.web.containerName,
};
export const volumes = { mongo: app.mongo.volumeName, redis: app.redis.volumeName };
/** Image refs of this update: stack history keeps them, so a rollback knows what ran. */
export const images = config.images;
