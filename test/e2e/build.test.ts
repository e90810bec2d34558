/**
 * A build spec for real. The @pulumi/docker provider plugin cannot be installed here (no network),
 * so what runs is the build the program asks the provider for: the docker.Image inputs recorded from
 * the real program (context, dockerfile, target, build args, image name) are handed to this
 * machine's engine with the docker CLI, and the result is delivered to the test host under the tag
 * the program's delivery command names. Nothing is pulled: the base image is imported locally.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { busyboxImage } from "../support/testImages";
import { deliverImage } from "../../scripts/delivery/transfer";
import { runStack } from "../support/program";
import { host, remote, remoteTry } from "./support";

const BASE = "cpt-e2e/build-base:1";
const local = (...args: string[]) =>
  execFileSync("docker", args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, DOCKER_BUILDKIT: "0" } })
    .toString()
    .trim();

interface BuildInputs {
  imageName: string;
  build: { context: string; dockerfile: string; target?: string; args?: Record<string, string> };
}

/** The docker CLI call for a docker.Image's inputs, as the provider would build them. */
const buildArgv = (i: BuildInputs) => [
  "build",
  "-q",
  "-f",
  i.build.dockerfile,
  ...(i.build.target ? ["--target", i.build.target] : []),
  ...Object.entries(i.build.args ?? {}).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]),
  "-t",
  i.imageName,
  i.build.context,
];

let ctx: string;
beforeAll(() => {
  busyboxImage([], BASE);
  ctx = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-build-"));
  fs.mkdirSync(path.join(ctx, "api"));
  fs.writeFileSync(
    path.join(ctx, "api", "Dockerfile.prod"),
    `FROM ${BASE} AS test\nRUN echo never > /stage\nFROM ${BASE} AS runtime\nARG GREETING=unset\nRUN echo "$GREETING" > /greeting && echo runtime > /stage\n`,
  );
});
afterAll(() => {
  fs.rmSync(ctx, { recursive: true, force: true });
  for (const ref of ["copilotos-api:2026.11.23", BASE]) local("image", "rm", "-f", ref);
  const tag = remoteTry("image", "ls", "--format", "{{.Repository}}:{{.Tag}}", "copilotos-staging-api");
  if (tag) remote("image", "rm", "-f", ...tag.split("\n"));
});

test("the program's build spec builds (target, build args, tag) and is delivered under the stack's tag", async () => {
  const run = await runStack("staging", [
    `copilotos:images.api.context=${path.join(ctx, "api")}`,
    "copilotos:images.api.dockerfile=Dockerfile.prod",
    "copilotos:images.api.target=runtime",
    "copilotos:images.api.args.GREETING=hello-from-config",
    "copilotos:images.api.version=2026.11.23",
    "copilotos:delivery.mode=transfer",
  ]);
  const build = run.resources.find((r) => r.name === "copilotos-api-image-build")!.inputs as unknown as BuildInputs;
  const send = String(run.resources.find((r) => r.name === "copilotos-api-image-send")!.inputs.create);
  const [, image, tag] = /--image (\S+) --tag (\S+)/.exec(send)!;
  expect([image, tag]).toEqual(["copilotos-api:2026.11.23", "copilotos-staging-api:2026.11.23"]);

  const id = local(...buildArgv(build));
  expect(local("image", "inspect", "--format", "{{.Id}}", build.imageName)).toBe(id);
  const r = await deliverImage({ image, tag, target: host.target });
  expect(r.imageId).toBe(id);
  // The target stage ran with the configured build arg; the other stage did not.
  expect(remote("run", "--rm", tag, "cat", "/greeting", "/stage")).toBe("hello-from-config\nruntime");
});
