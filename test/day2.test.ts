/** Day-2 pieces of the graph: the migration step (config api.migrate) and registry-mode pruning (delivery.keep). */
import { migrateScript } from "../components/renderers/operations/migrate";
import { runStack } from "./support/program";

test("exact script: a one-off container of the new API's image, env and network, its secret files copied container to container, every word quoted", () => {
  expect(migrateScript({ container: "copilotos-staging-api-1a2b3c4d", command: ["python", "-m", "scripts.migrate", "--note", "it's; fine"] })).toBe(
    [
      "set -eu",
      "umask 077",
      "docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || { echo 'migrate: the Docker engine does not answer (docker version failed); nothing was done. Check that it runs and that DOCKER_HOST names it' >&2; exit 1; }",
      'api=copilotos-staging-api-1a2b3c4d; one="$api-migrate"',
      'envf=$(mktemp); trap \'rm -f "$envf"; docker rm -f "$one" >/dev/null 2>&1 || true\' EXIT',
      "trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM",
      'docker rm -f "$one" >/dev/null 2>&1 || true',
      'docker inspect --format \'{{range .Config.Env}}{{println .}}{{end}}\' "$api" > "$envf"',
      "net=$(docker inspect --format '{{range $k, $v := .NetworkSettings.Networks}}{{println $k}}{{end}}' \"$api\" | head -n 1)",
      "image=$(docker inspect --format '{{.Image}}' \"$api\")",
      'docker create --name "$one" --network "$net" --env-file "$envf" --entrypoint \'\' "$image" python -m scripts.migrate --note \'it\'\\\'\'s; fine\' >/dev/null',
      'docker cp "$api:/run" - | docker cp - "$one:/"',
      "echo 'migrate: running python -m scripts.migrate --note it'\\''s; fine in a one-off container of the new API'\\''s image'",
      'if ! docker start -a "$one"; then',
      "  echo 'migrate: python -m scripts.migrate --note it'\\''s; fine failed; the new API gets no traffic and the old one keeps serving' >&2",
      "  exit 1",
      "fi",
      'echo "migrate: done"',
      "",
    ].join("\n"),
  );
});

test("with api.migrate the migration runs after the new API container exists and before its ready gate; without it there is none", async () => {
  const r = await runStack("staging", ['copilotos:api.migrate=["python","-m","scripts.migrate"]']);
  const at = (name: string) => r.resources.findIndex((x) => x.name === name);
  expect(at("copilotos-api-migrate-run")).toBeGreaterThan(at("copilotos-api-container"));
  expect(at("copilotos-api-migrate-run")).toBeLessThan(at("copilotos-api-ready-wait"));
  expect(r.resources.find((x) => x.name === "copilotos-api-ready-wait")!.opts.dependsOn).toContain("copilotos-api-migrate");
  expect(String(r.resources[at("copilotos-api-migrate-run")].inputs.create)).toContain("python -m scripts.migrate >/dev/null");
  const plain = await runStack("staging");
  expect(plain.resources.some((x) => x.name.includes("migrate"))).toBe(false);
});

test("a migrate value that is not a list of words is refused naming the key", async () => {
  await expect(runStack("staging", ["copilotos:api.migrate=[]"])).rejects.toThrow(/copilotos:api\.migrate: must name a command/);
});

test("registry mode on a remote host prunes the app's older pulled versions (keep N), only its own repository; transfer mode prunes in the deliver CLI", async () => {
  const { hostPruneScript } = await import("../components/renderers/services/delivery");
  const { repositoryOf } = await import("../components/services/appImage");
  expect(repositoryOf("ghcr.io/acme/copilotos-api:1.2.3@sha256:" + "a".repeat(64))).toBe("ghcr.io/acme/copilotos-api");
  expect(repositoryOf("copilotos-web:0.9")).toBe("copilotos-web");
  const r = await runStack("staging", ["copilotos:delivery.mode=registry", "copilotos:delivery.keep=4"]);
  const prunes = r.resources.filter((x) => x.name.endsWith("-prune"));
  const { describedScript } = await import("../components/renderers/shell");
  expect(prunes.map((p) => [p.name, p.inputs.create])).toEqual(
    ["api", "web"].map((s) => [
      `copilotos-${s}-image-prune`,
      describedScript(`prune: keep the newest 4 versions of copilotos-${s} (one in use always stays)`, hostPruneScript(`copilotos-${s}`, 4)),
    ]),
  );
  const transfer = await runStack("staging", ["copilotos:delivery.mode=transfer"]);
  expect(transfer.resources.some((x) => x.name.endsWith("-prune"))).toBe(false);
});
