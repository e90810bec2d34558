/** The names and mounts of a read-only service's files (components/renderers/services/files.ts): exact values. */
import { filesFolders, filesLayout, filesMounts, nestedMounts, writerMounts } from "../components/renderers/services/files";

const proxyFiles = [{ file: "/etc/nginx/nginx.conf" }, { file: "/etc/nginx/tls/key.pem" }, { file: "/etc/nginx/tls/cert.pem" }];

test("each folder of the files is one volume, sorted; the writer and the volumes are named after the service and the suffix", () => {
  expect(filesFolders(proxyFiles)).toEqual(["/etc/nginx", "/etc/nginx/tls"]);
  const layout = filesLayout("copilotos-prod-proxy", "1a2b3c4d", filesFolders(proxyFiles));
  expect(layout).toEqual({
    writer: "copilotos-prod-proxy-files-1a2b3c4d",
    volumes: [
      { name: "copilotos-prod-proxy-files-1a2b3c4d-1", path: "/etc/nginx" },
      { name: "copilotos-prod-proxy-files-1a2b3c4d-2", path: "/etc/nginx/tls" },
    ],
  });
  // The service reads them read-only; the writer writes them.
  expect(filesMounts(layout)).toEqual([
    { volumeName: "copilotos-prod-proxy-files-1a2b3c4d-1", containerPath: "/etc/nginx", readOnly: true },
    { volumeName: "copilotos-prod-proxy-files-1a2b3c4d-2", containerPath: "/etc/nginx/tls", readOnly: true },
  ]);
  expect(writerMounts(layout)).toEqual([
    { volumeName: "copilotos-prod-proxy-files-1a2b3c4d-1", containerPath: "/etc/nginx" },
    { volumeName: "copilotos-prod-proxy-files-1a2b3c4d-2", containerPath: "/etc/nginx/tls" },
  ]);
});

test("a file not inside a folder, a relative path or a suffix that is not 8 hex digits is refused, naming it", () => {
  expect(() => filesFolders([{ file: "/secret" }])).toThrow('a service file needs an absolute path inside a folder, not "/secret"');
  expect(() => filesFolders([{ file: "run/secrets/x" }])).toThrow('not "run/secrets/x"');
  expect(() => filesLayout("copilotos-prod-mongo", "XYZ", ["/run/secrets"])).toThrow('the files\' suffix is 8 hex digits, not "XYZ"');
});

test("the service's other mounts inside a files folder are the writer's too, read-only (their mount points are made there); others are not", () => {
  const mounts = [
    { volumeName: "routes", containerPath: "/etc/nginx/copilotos" },
    { volumeName: "tls", containerPath: "/etc/nginx/tls", readOnly: true },
    { volumeName: "webroot", containerPath: "/var/www/acme", readOnly: true },
    { volumeName: "lookalike", containerPath: "/etc/nginxish" },
    { volumeName: "same", containerPath: "/etc/nginx" },
  ];
  expect(nestedMounts(["/etc/nginx"], mounts)).toEqual([
    { volumeName: "routes", containerPath: "/etc/nginx/copilotos", readOnly: true },
    { volumeName: "tls", containerPath: "/etc/nginx/tls", readOnly: true },
  ]);
  expect(nestedMounts(["/run/secrets"], mounts)).toEqual([]);
});
