import { ALERTMANAGER_IMAGE, BLACKBOX_IMAGE, NODE_EXPORTER_IMAGE, PROMETHEUS_IMAGE, REDIS_EXPORTER_IMAGE } from "../components/config/images";
import * as path from "node:path";
import { markUnknowns, MOCK_PRIVATE_KEY_PREFIX, UNKNOWN, unknownsOf } from "../scripts/mockRuntime/mockValues";
import { check, SAPTIVA_KEY } from "./support/program";

describe("npm run check", () => {
  test("a swarm stack: its services with image, replicas or global, placement, host ports and secret files; its secrets by hashed name, never their value", async () => {
    const fixtures = path.join(__dirname, "fixtures");
    const r = await check("swarm", "--stack-dir", fixtures, "--secret", `copilotos:saptivaApiKey=${SAPTIVA_KEY}`);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(
      /docker:Service +copilotos-api +name=copilotos-swarm-api image=registry\.example\.com\/copilotos-api@\[known after deploy\] replicas=3 secrets=\[jwt_secret_key mongodb_password redis_password saptiva_api_key secret_key\] update=start-first\n/,
    );
    expect(r.stdout).toMatch(
      /docker:Service +copilotos-mongo +name=copilotos-swarm-mongo image=mongo@\[known after deploy\] replicas=1 on=\[node\.hostname == node-1\] /,
    );
    expect(r.stdout).toMatch(
      /docker:Service +copilotos-proxy +name=copilotos-swarm-proxy .* global on=\[node\.labels\.copilotos\.edge == true\] host-ports=8001->8001,3000->3000 /,
    );
    expect(r.stdout).toMatch(
      /docker:Secret +copilotos-secret-saptiva-api-key +name=copilotos-swarm-saptiva_api_key-[0-9a-f]{12} data=\[secret\] retainOnDelete\n/,
    );
    expect(r.stdout).not.toContain(SAPTIVA_KEY);
    // The fixture serves plain HTTP: tls-enabled's advisory, as on staging.
    expect(r.stdout).toMatch(/tls-enabled +copilotos-proxy +advisory +copilotos-proxy: the edge proxies serve plain HTTP only/);
    expect(r.stdout).toContain("0 mandatory, 1 advisory violation(s)");
  });

  test.each(["staging", "prod"])("%s: lists every resource, exits 0, prints no secret", async (stack) => {
    const r = await check(stack, "--secret", `copilotos:saptivaApiKey=${SAPTIVA_KEY}`, "--secret", "copilotos:host.privateKey=PRIVATE-KEY-TEXT-0123456789");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`Stack ${stack}: ${stack === "prod" ? 117 : 78} resources would be created`);
    for (const name of ["mongo", "redis", "proxy"]) expect(r.stdout).toContain(`name=copilotos-${stack}-${name} `);
    // An app container's name ends in a random suffix, which only the deploy draws.
    for (const name of ["api", "web"])
      expect(r.stdout).toContain(`name=copilotos-${stack}-${name}-[known after deploy] image=copilotos-${name}@[known after deploy] `);
    expect(r.stdout).toContain("image=nginx@[known after deploy] ");
    // No made-up digest is printed as if it were real.
    // (The monitoring's images are pinned by digest in config: those digests are real.)
    const pinned = [PROMETHEUS_IMAGE, ALERTMANAGER_IMAGE, BLACKBOX_IMAGE, NODE_EXPORTER_IMAGE, REDIS_EXPORTER_IMAGE];
    expect(pinned.reduce((out, ref) => out.replaceAll(ref, "<pinned>"), r.stdout)).not.toMatch(/sha256:[0-9a-f]|-[0-9a-f]{8}[ "]/);
    expect(r.stdout).toContain(`runningImages: {"mongo":"mongo@[known after deploy]",`);
    // Host scripts say where they run: user, host and port are shown, the key is not.
    // and each says what it does.
    expect(r.stdout).toMatch(
      new RegExp(
        `copilotos-api-route-switch +on=deploy@203\\.0\\.113\\.10:22 does="route: api to copilotos-${stack}-api-\\[known after deploy\\] \\(proxy reload, 15 s drain\\)"\n`,
      ),
    );
    const timeout = stack === "prod" ? 180 : 120;
    expect(r.stdout).toContain(`does="gate: api /api/health/ready through the proxy, ${timeout} s; the route back to the previous api on failure"\n`);
    expect(r.stdout).not.toContain(" runs=");
    // An output that does not apply to a single host is absent, not `undefined`.
    expect(r.stdout).not.toMatch(/undefined|\n {2}services:/);
    // The API's files read-only; its /tmp a volume of its own (anonymous); its root read-only.
    expect(r.stdout).toContain(`volumes=[copilotos-${stack}-api-files-[known after deploy]-1:/run/secrets:ro (its own):/tmp] read-only root\n`);
    expect(r.stdout).toContain("/run/secrets/mongodb_password=[secret]");
    const printed = r.stdout + r.stderr;
    expect(r.run!.secretValues.size).toBeGreaterThanOrEqual(6);
    for (const secret of r.run!.secretValues) expect(printed.includes(secret) ? `leaked a ${secret.length}-char secret` : "clean").toBe("clean");
    expect(printed).not.toContain(SAPTIVA_KEY);
    expect(printed).not.toContain("PRIVATE-KEY-TEXT");
    // Not redacted into uselessness: plain values stay readable.
    expect(r.stdout).toContain("host=ssh://deploy@203.0.113.10:22");
  });

  test("an aws stack: shows the AMI and subnet lookups, the policies pass, the host's private key is never printed", async () => {
    const r = await check(
      "aws",
      "--stack-dir",
      path.join(__dirname, "fixtures"),
      "--policy-config",
      path.join(__dirname, "..", "policies", "config.prod.json"),
    );
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('  ec2/getAmi: {"filters":[{"name":"name","values":["debian-12-amd64-*"]},');
    expect(r.stdout).toContain('  ec2/getSubnet: {"availabilityZone":"eu-west-1b","defaultForAz":true}');
    expect(r.stdout).toMatch(
      /aws:Instance +copilotos-host-aws-instance +type=t3\.small ami=\[known after deploy\] zone=eu-west-1b imds=v2 userData=\[secret\]\n/,
    );
    expect(r.stdout).toMatch(
      /aws:SecurityGroup +copilotos-host-aws-sg +in=22<-203\.0\.113\.7\/32 3000<-0\.0\.0\.0\/0,::\/0 8001<-0\.0\.0\.0\/0,::\/0 443<-0\.0\.0\.0\/0,::\/0 8443<-0\.0\.0\.0\/0,::\/0 80<-0\.0\.0\.0\/0,::\/0\n/,
    );
    expect(r.stdout).toMatch(/aws:Volume +copilotos-host-aws-data +size=30GiB zone=eu-west-1b encrypted=true protect retainOnDelete\n/);
    expect(r.stdout).toContain("0 mandatory, 0 advisory violation(s)");
    // The instance's address and the IDs are made up offline: shown as unknown, never as real-looking values.
    expect(r.stdout).toContain('dockerHost: "ssh://admin@[known after deploy]:22"');
    expect(r.stdout).not.toMatch(/198\.51\.100\.|\b(ami|vol|i|sg|eipalloc)-0[0-9a-f]{16}/);
    expect(r.stdout).not.toContain(MOCK_PRIVATE_KEY_PREFIX);
    const privateKey = [...r.run!.secretValues].find((v) => v.startsWith(MOCK_PRIVATE_KEY_PREFIX))!;
    expect(r.stdout).not.toContain(privateKey.split("\n")[1]);
  });

  test("a missing required secret gets a placeholder and a warning, never printed", async () => {
    const r = await check("staging");
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain("warning: copilotos:saptivaApiKey is not set; using a placeholder");
    expect(r.stdout).not.toContain("dry-run-placeholder");
    expect(r.stdout).toContain("/run/secrets/saptiva_api_key=[secret]");
  });

  test("--config overrides use --path syntax", async () => {
    const r = await check("staging", "--config", "copilotos:ports.web=3200", "--config", "copilotos:api.env.FEATURE_X=on");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/copilotos-proxy-container +name=copilotos-staging-proxy .* ports=0\.0\.0\.0:8101->8001,0\.0\.0\.0:3200->3000 /);
    expect(r.stdout).toContain("FEATURE_X=on");
  });

  test.each([
    [["--config", "copilotos:secretLength=16"], "copilotos:secretLength"],
    [["--config", "copilotos:ports.web=70000"], "copilotos:ports.web"],
    [["--config", "copilotos:images.mongo=mongo:latest"], "copilotos:images.mongo"],
    [["--config", "copilotos:imagez.api=x:1"], "copilotos:imagez"],
    [["--config", "copilotos:host.address="], "copilotos:host.address"],
    [["--secret", "copilotos:mongoPassword=too-short-SECRET-VALUE"], "copilotos:mongoPassword"],
  ])("broken config %j exits non-zero naming %s, and prints nothing as success", async (args, key) => {
    const r = await check("staging", ...args);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain(key);
    expect(r.stdout).toBe("");
    expect(r.stderr).not.toContain("too-short-SECRET-VALUE");
  });

  test.each([[[]], [["staging", "prod"]], [["nosuchstack"]], [["staging", "--bogus"]], [["staging", "--config", "novalue"]]])(
    "bad usage %j exits 2",
    async (args) => {
      const r = await check(...args);
      expect(r.exitCode).toBe(2);
      expect(r.stdout).toBe("");
    },
  );
});

describe("npm run check with the policy pack", () => {
  test("the committed stacks pass every rule; staging, on plain HTTP, with tls-enabled's advisory", async () => {
    const prod = await check("prod");
    expect(prod.stdout).toContain("no violations");
    expect(prod.stdout).toContain("0 mandatory, 0 advisory violation(s)");
    const staging = await check("staging");
    expect(staging.exitCode).toBe(0);
    expect(staging.stdout).toMatch(/tls-enabled +copilotos-proxy-container +advisory/);
    expect(staging.stdout).toContain("0 mandatory, 1 advisory violation(s)");
  });

  test("a mandatory violation prints the table and exits non-zero; no secret in it", async () => {
    const other = `mongodb://copilotos:${"Z".repeat(40)}@mongodb:27017/copilotos?authSource=admin`;
    const r = await check("staging", "--config", `copilotos:api.env.MONGODB_URL=${other}`);
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toMatch(/mongo-password-consistency\s+copilotos-api-container\s+mandatory/);
    expect(r.stdout).not.toContain("Z".repeat(40));
  });

  test("advisory violations are listed but do not fail; --policy-config overrides the stack's file", async () => {
    const r = await check("staging", "--config", "copilotos:images.web=copilotos-web:latest");
    expect(r.exitCode).toBe(0);
    // no-mutable-image-tags, and tls-enabled's (staging serves plain HTTP).
    expect(r.stdout).toContain("0 mandatory, 2 advisory violation(s)");
    const strict = await check(
      "staging",
      "--config",
      "copilotos:images.web=copilotos-web:latest",
      "--policy-config",
      path.join(__dirname, "..", "policies", "config.prod.json"),
    );
    expect(strict.exitCode).toBe(3);
  });
});

describe("made-up values in a dry run", () => {
  const digest = `sha256:${"ab".repeat(32)}`;
  test("a digest keeps its repository, an app container's fingerprinted name its base, a configured value stays", () => {
    const known = new Map(
      unknownsOf("docker:index/remoteImage:RemoteImage", "img-id", {}, { repoDigest: `copilotos-api@${digest}`, imageId: digest }, new Map()),
    );
    for (const [v, s] of unknownsOf(
      "docker:index/container:Container",
      "c-id",
      { name: "copilotos-prod-api-1a2b3c4d", image: `copilotos-api@${digest}` },
      {},
      known,
    ))
      known.set(v, s);
    const text = `name=copilotos-prod-api-1a2b3c4d image=copilotos-api@${digest} configured=mongo@sha256:${"cd".repeat(32)} id=img-id`;
    expect(markUnknowns(text, known)).toBe(
      `name=copilotos-prod-api-${UNKNOWN} image=copilotos-api@${UNKNOWN} configured=mongo@sha256:${"cd".repeat(32)} id=${UNKNOWN}`,
    );
  });
});
