/**
 * Docker image references, parsed the way the Docker distribution grammar reads them:
 * `[domain[:port]/]path[:tag][@sha256:<64 hex>]`. Pure: no I/O.
 */

const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const DOMAIN_PART = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = `${DOMAIN_PART}(?:\\.${DOMAIN_PART})*(?::[0-9]+)?`;
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "sha256:[a-f0-9]{64}";
const REFERENCE = new RegExp(`^(?:(${DOMAIN})/)?(${COMPONENT}(?:/${COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`);

export interface ImageRef {
  /** Registry host (and port) when the reference names one, e.g. `registry.local:5000`. */
  domain?: string;
  /** Repository path, e.g. `library/mongo` or `copilotos-api`. */
  path: string;
  tag?: string;
  digest?: string;
}

/** Parses an image reference; returns `undefined` when it is not a valid reference. */
export function parseImageRef(ref: string): ImageRef | undefined {
  const m = REFERENCE.exec(ref);
  if (!m) return undefined;
  const [, , , tag, digest] = m;
  let domain: string | undefined = m[1];
  let path = m[2];
  // Docker's rule: the first component is a registry only if it looks like a host.
  if (domain && !/[.:]/.test(domain) && domain !== "localhost") {
    path = `${domain}/${path}`;
    domain = undefined;
  }
  if (domain === undefined && /[A-Z]/.test(path)) return undefined;
  return { domain, path, tag, digest };
}

/** True when the reference pins nothing stable: no tag and no digest, or the `latest` tag without a digest. */
export function isMutableImageRef(ref: ImageRef): boolean {
  if (ref.digest) return false;
  return ref.tag === undefined || ref.tag === "latest";
}
