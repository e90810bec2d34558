/**
 * What a restore keeps inside the Mongo volume beside Mongo's own files, and how a backup archives
 * the volume without it. Pure: names, and script lines for a throwaway container with the volume at /data.
 */

/** Inside the Mongo volume: the archive is unpacked here first, and the data it replaces kept here after. */
export const RESTORE_STAGING = ".copilotos-restore-new";
export const RESTORE_PREVIOUS = ".copilotos-previous";

/** A loop over the current folder's entries (dot files too) but a restore's two: `action` runs with "$e" for each. */
export const forEachMongoEntry = (action: string) =>
  `for e in * .[!.]* ..?*; do case $e in ${RESTORE_PREVIOUS}|${RESTORE_STAGING}) ;; *) if [ -e "$e" ]; then ${action}; fi ;; esac; done`;

/**
 * The volume as a tar stream on stdout, an entry `./<name>` for each of its files, without a
 * restore's kept or half-unpacked data (not Mongo's: a backup taken after a restore would carry the
 * data that restore replaced, and double in size). A volume with nothing else gives an empty
 * archive (two zero blocks; tar refuses to write one), which the backup's catalog check refuses.
 */
export const ARCHIVE_VOLUME = [
  "set -e; cd /data; set --",
  forEachMongoEntry('set -- "$@" "./$e"'),
  'if [ "$#" -eq 0 ]; then exec head -c 1024 /dev/zero; fi',
  'exec tar -cf - "$@"',
].join("; ");
