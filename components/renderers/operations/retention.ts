/**
 * Which of a stack's backup archives stay on the host: the seeds' daily/weekly/monthly scheme
 * (grandfather-father-son), plus the newest few whatever their age (several deploys a day each
 * leave one). Pure: shell lines and the same rule in TypeScript (tests compare the two).
 */
import { shq } from "../shell";

export interface Retention {
  /** The newest archives kept, whatever their dates. */
  keep: number;
  /** The newest archive of each of the last `daily` days that have one. */
  daily: number;
  /** … of each of the last `weekly` ISO weeks that have one. */
  weekly: number;
  /** … of each of the last `monthly` months that have one. */
  monthly: number;
}

/** Archive names end in `-YYYYMMDDTHHMMSSZ.tar`: their day, ISO week and month, in UTC. */
function periods(stamp: string): { day: string; week: string; month: string } {
  // ISO week: the week (Monday first) belongs to the year its Thursday is in.
  const thursday = new Date(Date.UTC(+stamp.slice(0, 4), +stamp.slice(4, 6) - 1, +stamp.slice(6, 8)));
  thursday.setUTCDate(thursday.getUTCDate() - ((thursday.getUTCDay() + 6) % 7) + 3);
  const jan4 = new Date(Date.UTC(thursday.getUTCFullYear(), 0, 4));
  const week = 1 + Math.round(((thursday.getTime() - jan4.getTime()) / 86400_000 - 3 + ((jan4.getUTCDay() + 6) % 7)) / 7);
  return { day: stamp.slice(0, 8), week: `${thursday.getUTCFullYear()}-W${String(week).padStart(2, "0")}`, month: stamp.slice(0, 6) };
}

/** The archives (names `<prefix>-<stamp>.tar`) the rule keeps, in TypeScript. */
export function keptArchives(names: string[], r: Retention): string[] {
  const newestFirst = [...names].sort().reverse();
  const seen = { day: new Set<string>(), week: new Set<string>(), month: new Set<string>() };
  const limit = { day: r.daily, week: r.weekly, month: r.monthly };
  return newestFirst.filter((name, i) => {
    const p = periods(name.slice(-20, -12));
    let keep = i < r.keep;
    for (const k of ["day", "week", "month"] as const) {
      if (!seen[k].has(p[k]) && seen[k].size < limit[k]) {
        seen[k].add(p[k]);
        keep = true;
      }
    }
    return keep;
  });
}

/**
 * Shell lines applying the rule to `$dir`: `$names` holds this stack's archive names (one a line,
 * already filtered by its name pattern). Removes each archive the rule does not keep, with its
 * `.sha256`, saying so. ISO weeks come from GNU date.
 */
export function retentionLines(r: Retention): string[] {
  const why = `not among the newest ${r.keep}, nor the newest of one of the last ${r.daily} days, ${r.weekly} weeks or ${r.monthly} months`;
  return [
    'n=0; days=" "; weeks=" "; months=" "; nd=0; nw=0; nm=0',
    "printf '%s\\n' \"$names\" | sort -r | while read -r old; do",
    '  [ -n "$old" ] || continue',
    "  n=$((n + 1)); stamp=${old%??????Z.tar}; stamp=${stamp##*-}; stamp=${stamp%T}",
    '  day=$stamp; month=${stamp%??}; week=$(date -u -d "${stamp%????}-${month#????}-${stamp#??????}" +%G-W%V)',
    `  keep=no; [ "$n" -gt ${r.keep} ] || keep=yes`,
    `  case $days in *" $day "*) ;; *) if [ "$nd" -lt ${r.daily} ]; then nd=$((nd + 1)); days="$days$day "; keep=yes; fi ;; esac`,
    `  case $weeks in *" $week "*) ;; *) if [ "$nw" -lt ${r.weekly} ]; then nw=$((nw + 1)); weeks="$weeks$week "; keep=yes; fi ;; esac`,
    `  case $months in *" $month "*) ;; *) if [ "$nm" -lt ${r.monthly} ]; then nm=$((nm + 1)); months="$months$month "; keep=yes; fi ;; esac`,
    '  if [ "$keep" = no ]; then',
    '    rm -f "$dir/$old" "$dir/$old.sha256"',
    `    echo "backup: removed $old (${why})"`,
    "  fi",
    "done",
    `echo ${shq(`backup: retention kept the newest ${r.keep} and the newest of each of the last ${r.daily} days, ${r.weekly} weeks and ${r.monthly} months`)}`,
  ];
}
