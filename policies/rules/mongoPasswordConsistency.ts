import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { parseMongoUrl } from "../../components/renderers/services/connection";
import { appSecretOf, ContainerProps, envOf, serviceOf, uploadAt, withFiles } from "../lib";
import { appSecretFile } from "../../components/renderers/services/appContract";
import { SERVICE, secretValue, serviceView } from "../swarmLib";

interface MongoSide {
  resource: PolicyResource;
  user?: string;
  password?: string;
  /** Names the container answers to: its name and its aliases, per network. */
  namesByNetwork: Map<string, Set<string>>;
}

function mongoSide(r: PolicyResource): MongoSide {
  const p = r.props as ContainerProps;
  const env = envOf(p);
  const password = env.MONGO_INITDB_ROOT_PASSWORD ?? uploadAt(p, env.MONGO_INITDB_ROOT_PASSWORD_FILE)?.trim();
  const namesByNetwork = new Map<string, Set<string>>();
  for (const n of p.networksAdvanced ?? []) namesByNetwork.set(n.name, new Set([...(n.aliases ?? []), ...(p.name ? [p.name] : [])]));
  return { resource: r, user: env.MONGO_INITDB_ROOT_USERNAME, password, namesByNetwork };
}

/** What the API connects with: a hand-typed MONGODB_URL (the app prefers it), else the parts it builds one from. */
interface ApiSide {
  where: string;
  user: string;
  password?: string;
  host: string;
  authSource: string;
}

/** The app's defaults when a part is unset (apps/api/src/core/secrets.py, get_database_url). */
const APP_DEFAULTS = { MONGODB_USER: "copilotos_user", MONGODB_HOST: "mongodb", MONGODB_AUTH_SOURCE: "admin" };

function apiSide(p: ContainerProps): ApiSide | string {
  const env = envOf(p);
  if (env.MONGODB_URL !== undefined) {
    const url = parseMongoUrl(env.MONGODB_URL);
    if (!url) return "MONGODB_URL (env MONGODB_URL) is not a mongodb:// URL.";
    const authSource = /[?&]authSource=([^&]*)/.exec(env.MONGODB_URL)?.[1] ?? url.database ?? "admin";
    return { where: "env MONGODB_URL", user: url.user, password: url.password, host: url.host, authSource: decodeURIComponent(authSource || "admin") };
  }
  const secret = appSecretOf(p, "MONGODB_PASSWORD");
  return {
    where: `MONGODB_USER/MONGODB_HOST env and the MONGODB_PASSWORD secret${secret ? ` (${secret.where})` : ""}`,
    user: env.MONGODB_USER ?? APP_DEFAULTS.MONGODB_USER,
    password: secret?.value,
    host: env.MONGODB_HOST ?? APP_DEFAULTS.MONGODB_HOST,
    authSource: env.MONGODB_AUTH_SOURCE ?? APP_DEFAULTS.MONGODB_AUTH_SOURCE,
  };
}

/**
 * The seeds' main incident: the API's Mongo credentials and Mongo's root password drifted apart.
 * What the API connects with (the parts it builds its URL from, or a hand-typed `MONGODB_URL`)
 * must carry Mongo's root user and password, authenticate against `admin`, and name the Mongo
 * container on a network both are on. Messages never carry the values.
 */
export const mongoPasswordConsistency: StackValidationPolicy = {
  name: "mongo-password-consistency",
  description:
    "Each API's MongoDB credentials (the parts it builds its URL from, or a hand-typed MONGODB_URL) match the Mongo container's root user, password and network name; on a swarm, the two Docker secrets hold one value.",
  configSchema: { properties: {} },
  validateStack: (args, report) => {
    // With the files each reads: Mongo's and the API's secrets are on volumes their writers filled.
    const containers = withFiles(args.resources);
    const mongos = containers.filter((r) => serviceOf(r.props as ContainerProps) === "mongo").map(mongoSide);
    for (const api of containers.filter((r) => serviceOf(r.props as ContainerProps) === "api")) {
      const props = api.props as ContainerProps;
      const side = apiSide(props);
      if (typeof side === "string") {
        report(`${api.name}: ${side}`, api.urn);
        continue;
      }
      if (side.password === undefined) {
        report(`${api.name} has no MONGODB_PASSWORD: the app finds none in /run/secrets, env or /etc/copilotos/secrets, and refuses to start.`, api.urn);
        continue;
      }
      if (mongos.length === 0) {
        report(`${api.name} connects to MongoDB, but the stack has no Mongo container to match it against.`, api.urn);
        continue;
      }
      const apiNetworks = new Set((props.networksAdvanced ?? []).map((n) => n.name));
      const target = mongos.find((m) => [...m.namesByNetwork].some(([net, names]) => apiNetworks.has(net) && names.has(side.host)));
      if (!target) {
        report(
          `${api.name}: ${side.where} name host "${side.host}", which is no Mongo container's name or alias on a network ${api.name} is attached to.`,
          api.urn,
        );
        continue;
      }
      const parts: string[] = [];
      if (target.user !== undefined && side.user !== target.user) parts.push("user");
      if (target.password === undefined) parts.push("password (Mongo's root password could not be read)");
      else if (side.password !== target.password) parts.push("password");
      if (parts.length) {
        report(
          `${api.name}: the ${parts.join(" and ")} in ${side.where} differ${parts.length === 1 ? "s" : ""} from the root credentials of ${target.resource.name}.`,
          api.urn,
        );
      }
      if (side.authSource !== "admin") {
        report(`${api.name}: ${side.where} authenticate against "${side.authSource}", but Mongo's root user lives in "admin".`, api.urn);
      }
    }
    swarmConsistency(args.resources, report);
  },
};

/** On a swarm: the Docker secret Mongo's root password comes from and the API's `mongodb_password` hold one value. */
function swarmConsistency(resources: PolicyResource[], report: (message: string, urn?: string) => void): void {
  const services = resources.filter((r) => r.type === SERVICE).map((r) => ({ r, v: serviceView(r.props) }));
  const mongo = services.find((s) => s.v.service === "mongo");
  const rootFile = mongo && (mongo.v.env.MONGO_INITDB_ROOT_PASSWORD_FILE ?? "").split("/").pop();
  const rootRef = mongo?.v.secrets.find((x) => x.file === rootFile);
  for (const api of services.filter((s) => s.v.service === "api")) {
    const ref = api.v.secrets.find((x) => x.file === appSecretFile("MONGODB_PASSWORD"));
    if (!ref) {
      report(`${api.r.name} has no mongodb_password secret: the app finds no MONGODB_PASSWORD and refuses to start.`, api.r.urn);
    } else if (!mongo || !rootRef) {
      report(`${api.r.name} connects to MongoDB, but no Mongo service reads its root password from a secret to match it against.`, api.r.urn);
    } else {
      const [a, b] = [secretValue(resources, ref), secretValue(resources, rootRef)];
      if (a !== undefined && b !== undefined && a !== b) {
        report(`${api.r.name}: its mongodb_password secret differs from the root password secret of ${mongo.r.name}.`, api.r.urn);
      }
    }
  }
}
