import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { parseMongoUrl } from "../../components/build/connection";
import { CONTAINER, ContainerProps, envOf, envOrFile, serviceOf, uploadAt } from "../lib";

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

/**
 * The seeds' main incident: the API's MONGODB_URL and Mongo's root password drifted apart.
 * Every Mongo URL an API container gets (env or file) must carry Mongo's root user and password
 * and name the Mongo container on a network both are on. Messages never carry the values.
 */
export const mongoPasswordConsistency: StackValidationPolicy = {
  name: "mongo-password-consistency",
  description: "Each API's MongoDB connection string matches the Mongo container's root user, password and network name.",
  configSchema: { properties: {} },
  validateStack: (args, report) => {
    const containers = args.resources.filter((r) => r.type === CONTAINER);
    const mongos = containers.filter((r) => serviceOf(r.props as ContainerProps) === "mongo").map(mongoSide);
    for (const api of containers.filter((r) => serviceOf(r.props as ContainerProps) === "api")) {
      const props = api.props as ContainerProps;
      const urls = envOrFile(props, "MONGODB_URL");
      if (urls.length === 0) {
        report(`${api.name} has no MONGODB_URL (env or file).`, api.urn);
        continue;
      }
      if (mongos.length === 0) {
        report(`${api.name} connects to MongoDB, but the stack has no Mongo container to match it against.`, api.urn);
        continue;
      }
      const apiNetworks = new Set((props.networksAdvanced ?? []).map((n) => n.name));
      for (const { value, where } of urls) {
        const url = parseMongoUrl(value);
        if (!url) {
          report(`${api.name}: MONGODB_URL (${where}) is not a mongodb:// URL.`, api.urn);
          continue;
        }
        const target = mongos.find((m) => [...m.namesByNetwork].some(([net, names]) => apiNetworks.has(net) && names.has(url.host)));
        if (!target) {
          report(`${api.name}: MONGODB_URL (${where}) names host "${url.host}", which is no Mongo container's name or alias on a network ${api.name} is attached to.`, api.urn);
          continue;
        }
        const parts: string[] = [];
        if (target.user !== undefined && url.user !== target.user) parts.push("user");
        if (target.password === undefined) parts.push("password (Mongo's root password could not be read)");
        else if (url.password !== target.password) parts.push("password");
        if (parts.length) {
          report(`${api.name}: the ${parts.join(" and ")} in MONGODB_URL (${where}) differ${parts.length === 1 ? "s" : ""} from the root credentials of ${target.resource.name}.`, api.urn);
        }
      }
    }
  },
};
