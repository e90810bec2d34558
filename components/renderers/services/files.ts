/**
 * Where a service's files go when its root is read-only. The docker provider copies `uploads` in as a
 * tar extracted at `/`, which Docker refuses on a read-only root even for paths on a volume (it checks
 * the extraction point, `/`). So each folder of a service's files is a volume of its own, filled by a
 * writer: a container of the service's image that is created and never started, mounting those volumes
 * writable (Docker first copies the image's folder into an empty volume, then the uploads land). The
 * service mounts them read-only. Pure: names and mounts.
 */
import { posix } from "node:path";

/** A volume mount as the docker provider's Container takes it. */
export interface VolumeMount<T = string> {
  volumeName: T;
  containerPath: string;
  readOnly?: boolean;
}

export interface FilesLayout {
  /** The writer container: `<base>-files-<suffix>`. */
  writer: string;
  /** One volume per folder: `<base>-files-<suffix>-<n>`, folders sorted. */
  volumes: { name: string; path: string }[];
}

/** The folders the files are in, sorted; a file at `/` itself has none and is refused. */
export function filesFolders(files: { file: string }[]): string[] {
  const folders = files.map((f) => {
    const dir = posix.dirname(posix.normalize(f.file));
    if (!f.file.startsWith("/") || dir === "/") throw new Error(`a service file needs an absolute path inside a folder, not ${JSON.stringify(f.file)}`);
    return dir;
  });
  return [...new Set(folders)].sort();
}

/** Names of the writer and the folders' volumes ({@link filesFolders}), after the service container's base name and a suffix drawn for these files. */
export function filesLayout(base: string, suffix: string, folders: string[]): FilesLayout {
  if (!/^[0-9a-f]{8}$/.test(suffix)) throw new Error(`the files' suffix is 8 hex digits, not ${JSON.stringify(suffix)}`);
  return {
    writer: `${base}-files-${suffix}`,
    volumes: folders.map((path, i) => ({ name: `${base}-files-${suffix}-${i + 1}`, path })),
  };
}

const inside = (path: string, folder: string) => path !== folder && path.startsWith(`${folder}/`);

/**
 * The service's other mounts that lie inside a files folder (the proxy's routes under /etc/nginx):
 * the writer mounts them too, read-only, so their mount points are made in the folder's volume while
 * it is writable. Docker cannot make one in a read-only mount when the service starts.
 */
export function nestedMounts<T>(folders: string[], mounts: VolumeMount<T>[]): VolumeMount<T>[] {
  return mounts.filter((m) => folders.some((f) => inside(m.containerPath, f))).map((m) => ({ ...m, readOnly: true }));
}

/** The service's mounts of its files: each folder's volume, read-only. */
export function filesMounts(layout: FilesLayout): VolumeMount[] {
  return layout.volumes.map((v) => ({ volumeName: v.name, containerPath: v.path, readOnly: true }));
}

/** The writer's mounts: each folder's volume, writable. */
export function writerMounts(layout: FilesLayout): VolumeMount[] {
  return layout.volumes.map((v) => ({ volumeName: v.name, containerPath: v.path }));
}

/** The label of a service's files volumes and writer: the container they are for. The writer carries no other (not the stack's: `ops status`, the metrics job and adopt list the stack's containers by those). */
export const LABEL_FILES_FOR = "copilotos.files-for";
