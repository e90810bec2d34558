import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { dockerLabels, fingerprint, labelMap, StackIdentity } from "../renderers/names";
import type { Upload } from "../renderers/services/containers";
import { filesFolders, filesLayout, filesMounts, LABEL_FILES_FOR, nestedMounts, VolumeMount, writerMounts } from "../renderers/services/files";

export interface ServiceFilesArgs {
  identity: StackIdentity;
  /** The service container's name (an app's without its suffix): the volumes and the writer are named after it. */
  base: string;
  /** The service's image: the writer is created from it, so it needs nothing else on the host. */
  image: pulumi.Input<string>;
  /** The files; each folder they are in becomes a volume. */
  uploads: Upload<pulumi.Input<string>>[];
  /** The service's other volume mounts: first in its volumes; those inside a files folder are mounted in the writer too. @default [] */
  mounts?: VolumeMount<pulumi.Input<string>>[];
}

export interface ServiceFiles {
  /** The service's volumes: its other mounts, then its files' folders, read-only. */
  volumes: pulumi.Output<VolumeMount[]>;
  /** What the service waits for: what its component waits for (`opts.dependsOn`) and the writer, once the files are in place. */
  dependsOn: pulumi.ResourceOptions["dependsOn"];
  /** The writer: created, never started. */
  writer: docker.Container;
}

/**
 * A read-only service's files (components/renderers/services/files.ts): one volume per folder and a
 * writer container (created, never started) that copies them in. Their names end in a RandomId drawn
 * anew whenever the files change (the fingerprint of paths, modes and contents; a truncated hash, so
 * neither it nor the names are secret), so new files go into new volumes beside the ones a running
 * container still reads, and a name is never reused (after a failed update the engine keeps the old
 * ones until the next successful one deletes them). The writer is replaced before the new one is
 * made when only the image changes (same name): it holds no data, the volumes do.
 */
export function serviceFiles(name: string, args: ServiceFilesArgs, opts: pulumi.CustomResourceOptions): ServiceFiles {
  const folders = filesFolders(args.uploads);
  const suffix = new random.RandomId(
    `${name}-files-suffix`,
    { byteLength: 4, keepers: { files: pulumi.unsecret(pulumi.output(args.uploads).apply((resolved) => fingerprint(resolved))) } },
    { parent: opts.parent },
  );
  const layout = suffix.hex.apply((hex) => filesLayout(args.base, hex, folders));
  // The volumes are the stack's; the writer is not one of its containers: `ops status`, the metrics
  // job and adopt list those by the stack's labels, and a container that never runs is none of theirs.
  const labels = dockerLabels({ ...labelMap(args.identity), [LABEL_FILES_FOR]: args.base });
  const writerLabels = dockerLabels({ [LABEL_FILES_FOR]: args.base });
  const volumes = folders.map(
    (_folder, i) =>
      new docker.Volume(`${name}-files-${i + 1}`, { name: layout.apply((l) => l.volumes[i].name), labels }, { parent: opts.parent, dependsOn: opts.dependsOn }),
  );
  // The layout once the volumes exist, so the writer and the service wait for them.
  const ready = pulumi.all([layout, pulumi.all(volumes.map((v) => v.name))]).apply(([l]) => l);
  const other = pulumi.output(args.mounts ?? []);
  const writer = new docker.Container(
    `${name}-files`,
    {
      name: layout.apply((l) => l.writer),
      image: args.image,
      // Never run: the image's command is replaced by one that does nothing, in case it has none.
      command: ["true"],
      start: false,
      mustRun: false,
      networkMode: "none",
      labels: writerLabels,
      volumes: pulumi.all([ready, other]).apply(([l, o]) => [...writerMounts(l), ...nestedMounts(folders, o)]),
      uploads: args.uploads,
      securityOpts: ["no-new-privileges:true"],
      capabilities: { drops: ["ALL"] },
    },
    { parent: opts.parent, dependsOn: opts.dependsOn, deleteBeforeReplace: true },
  );
  return {
    volumes: pulumi.all([ready, other]).apply(([l, o]) => [...o, ...filesMounts(l)]),
    dependsOn: andWriter(opts.dependsOn, writer),
    writer,
  };
}

/** `dependsOn` and the writer. */
function andWriter(dependsOn: pulumi.ResourceOptions["dependsOn"], writer: docker.Container): pulumi.ResourceOptions["dependsOn"] {
  if (dependsOn === undefined) return [writer];
  if (Array.isArray(dependsOn)) return [...(dependsOn as pulumi.Input<pulumi.Resource>[]), writer];
  if (pulumi.Resource.isInstance(dependsOn)) return [dependsOn, writer];
  const later = pulumi.output(dependsOn as pulumi.Input<pulumi.Resource | pulumi.Resource[]>);
  return later.apply((d) => [...(Array.isArray(d) ? d : [d]), writer]);
}
