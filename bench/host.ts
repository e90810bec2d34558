/**
 * Benches against the real test host (test/support/testHost.ts; needs root):
 * - delivery: ours (layer-aware stream) vs the seeds' (docker save to a file, scp, docker load)
 *   over a 100 Mbit/s link (tc tbf on the host's veth), for a first delivery, a code-only update
 *   and an unchanged image; bytes are the link's transmit counter.
 * - backup: our backup + verification vs a bare tar of the same volume.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { backupScript } from "../components/renderers/operations/backup";
import { sshClientOptions } from "../components/renderers/hosts/ssh";
import { runHostStep } from "../scripts/stack/hostExec";
import { setupTestHost, teardownTestHost, TestHostState } from "../test/support/testHost";
import { busyboxImage, FAKE_MONGOSH, fakeMongoImage } from "../test/support/testImages";
import { deliverImage } from "../scripts/delivery/transfer";

const sh = (cmd: string, args: string[], env?: NodeJS.ProcessEnv) =>
  execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env }, maxBuffer: 1 << 26 })
    .toString()
    .trim();
const time = async (f: () => Promise<unknown> | unknown) => {
  const t = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t) / 1e9;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function withHost<T>(f: (h: Required<TestHostState>) => Promise<T>): Promise<T> {
  const state = await setupTestHost();
  if (!state.ok) throw new Error(`test host unavailable: ${state.reason}`);
  try {
    return await f(state as Required<TestHostState>);
  } finally {
    await teardownTestHost();
  }
}

export async function benchDelivery(): Promise<string> {
  return withHost(async (h) => {
    const t = h.target;
    const remote = (...a: string[]) => sh("docker", ["-H", `unix://${h.remoteSocket}`, ...a]);
    const txBytes = () => Number(fs.readFileSync(`/sys/class/net/${h.linkDevice}/statistics/tx_bytes`, "utf8"));
    sh("tc", ["qdisc", "add", "dev", h.linkDevice, "root", "tbf", "rate", "100mbit", "burst", "256kb", "latency", "50ms"]);
    const ctx = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-bench-"));
    try {
      console.log("building images: a 320 MB base and two 5 MB code layers on it");
      busyboxImage([], "cpt-bench/base:1", { files: { "/opt/base.bin": randomBytes(320e6) } });
      const layer = 5e6;
      for (const v of ["v1", "v2"]) {
        fs.writeFileSync(path.join(ctx, "code.bin"), randomBytes(layer));
        fs.writeFileSync(path.join(ctx, "Dockerfile"), "FROM cpt-bench/base:1\nCOPY code.bin /app/code.bin\n");
        sh("docker", ["build", "-q", "-t", `cpt-bench/app:${v}`, ctx], { DOCKER_BUILDKIT: "0" });
      }
      const layerMapFile = path.join(ctx, "save-layers.json");
      const ours = async (v: string, readStore = true) => {
        const b = txBytes();
        let sent = 0;
        const s = await time(
          async () =>
            (sent = (await deliverImage({ image: `cpt-bench/app:${v}`, tag: `copilotos-bench-api:${v}`, target: t, readStore, layerMapFile })).sentBytes),
        );
        return { seconds: s, wire: txBytes() - b, payload: sent };
      };
      const seed = async (v: string) => {
        const file = path.join(ctx, `app-${v}.tar`);
        const b = txBytes();
        const opts = sshClientOptions(t);
        const s = await time(() => {
          sh("docker", ["save", `cpt-bench/app:${v}`, "-o", file]);
          sh("scp", [...opts, "-P", String(t.port), file, `${t.user}@${t.address}:seed.tar`]);
          sh("ssh", [...opts, "-p", String(t.port), `${t.user}@${t.address}`, "docker load -q -i seed.tar && rm seed.tar"]);
        });
        const size = fs.statSync(file).size;
        fs.rmSync(file);
        return { seconds: s, wire: txBytes() - b, payload: size };
      };
      const line = (what: string, r: { seconds: number; wire: number; payload: number }) =>
        console.log(`${what}: seconds=${r.seconds.toFixed(2)} wire_bytes=${r.wire} payload_bytes=${r.payload}`);

      const a1 = await ours("v1");
      line("first   ours", a1);
      remote("image", "rm", "copilotos-bench-api:v1");
      const a2 = await seed("v1"); // the host now has v1 again, from the seeds' method
      line("first   seed", a2);
      const b1 = await ours("v2");
      line("update  ours", b1);
      remote("image", "rm", "copilotos-bench-api:v2");
      const b2 = await seed("v2");
      line("update  seed", b2);
      remote("image", "rm", "cpt-bench/app:v2"); // the seeds' load tagged it with the local name
      const b3 = await ours("v2", false); // nothing learned of docker save's layer names: two passes
      line("update  ours through docker save, first time", b3);
      remote("image", "rm", "copilotos-bench-api:v2");
      const b4 = await ours("v2", false); // the names known: one pass
      line("update  ours through docker save", b4);
      const c1 = await ours("v2");
      line("unchanged ours", c1);
      // One SSH round trip: a connection that runs nothing (the delivery makes two: inventory, load).
      const trips: number[] = [];
      for (let i = 0; i < 3; i++) trips.push(await time(() => runHostStep(t, "round trip", "true")));
      const rtt = median(trips);
      const wireLimit = (b1.payload * 8) / 100e6;
      console.log(`first: ratio=${(a1.seconds / a2.seconds).toFixed(2)}; update: new layer ${layer} bytes, ours/layer=${(b1.wire / layer).toFixed(3)}`);
      console.log(
        `update: ${b1.seconds.toFixed(2)} s = ${(b1.seconds / b2.seconds).toFixed(3)} x the seeds' (goal <= 0.1), ` +
          `${(b1.seconds / (5 * wireLimit + rtt)).toFixed(2)} x (5 x wire limit + one ssh round trip ${rtt.toFixed(2)} s) (goal <= 1); unchanged ${c1.seconds.toFixed(2)} s (goal < 1)`,
      );
      return (
        `delivery: update ratio=${(b1.seconds / b2.seconds).toFixed(3)} update_bytes=${b1.wire} unchanged_bytes=${c1.payload} ` +
        `update_s=${b1.seconds.toFixed(2)} wire_limit_s=${wireLimit.toFixed(2)} ssh_rtt_s=${rtt.toFixed(2)} unchanged_s=${c1.seconds.toFixed(2)} update_save_s=${b4.seconds.toFixed(2)} update_save_first_s=${b3.seconds.toFixed(2)}`
      );
    } finally {
      fs.rmSync(ctx, { recursive: true, force: true });
      for (const tag of ["cpt-bench/app:v1", "cpt-bench/app:v2", "cpt-bench/base:1"]) {
        try {
          sh("docker", ["image", "rm", "-f", tag]);
        } catch {
          // already gone
        }
      }
    }
  });
}

export async function benchBackup(runs: number): Promise<string> {
  return withHost(async (h) => {
    const remote = (...a: string[]) => sh("docker", ["-H", `unix://${h.remoteSocket}`, ...a]);
    const img = "cpt-bench/fake-mongo:1";
    fakeMongoImage(["-H", `unix://${h.remoteSocket}`], img, FAKE_MONGOSH, "x\n");
    const spec = {
      container: "copilotos-bench-mongo",
      volume: "copilotos-bench-mongo-data",
      dir: "~/bench-backups",
      prefix: "copilotos-bench-mongo",
      keep: 1,
      image: img,
    };
    remote("volume", "create", spec.volume);
    remote(
      "run",
      "--rm",
      "-v",
      `${spec.volume}:/d`,
      img,
      "sh",
      "-c",
      "echo c > /d/_mdb_catalog.wt && for i in 1 2 3 4 5 6 7 8; do head -c 60000000 /dev/urandom > /d/collection-$i.wt; done",
    );
    remote(
      "run",
      "-d",
      "--name",
      spec.container,
      "-v",
      `${spec.volume}:/data/db`,
      "-e",
      "MONGO_INITDB_ROOT_USERNAME=u",
      "-e",
      "MONGO_INITDB_ROOT_PASSWORD_FILE=/run/secrets/mongo_root_password",
      img,
    );
    const bare = `docker run --rm --network none -v ${spec.volume}:/data:ro --entrypoint tar ${img} -C /data -cf - . > "$HOME/bare.tar"; rm "$HOME/bare.tar"`;
    const ours: number[] = [];
    const plain: number[] = [];
    try {
      for (let i = 0; i < runs; i++) {
        plain.push(await time(() => runHostStep(h.target, "bare tar", bare)));
        ours.push(await time(() => runHostStep(h.target, "backup", backupScript(spec))));
      }
    } finally {
      remote("rm", "-f", spec.container);
      remote("volume", "rm", spec.volume);
      await runHostStep(h.target, "clean", 'rm -rf "$HOME/bench-backups"');
    }
    console.log(`backup of a 480 MB volume: ours=[${ours.map((s) => s.toFixed(2)).join(" ")}] bare=[${plain.map((s) => s.toFixed(2)).join(" ")}]`);
    const x = median(ours);
    const y = median(plain);
    return `backup: seconds=${x.toFixed(3)} bare_tar_seconds=${y.toFixed(3)} ratio=${(x / y).toFixed(2)}`;
  });
}
