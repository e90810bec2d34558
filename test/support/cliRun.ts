/** A CLI's entry (`backup`, `restore`, `ops`: `(argv, io) => exit code`) run with its output captured. */
export async function captured(
  run: (argv: string[], io: { out: (s: string) => void; err: (s: string) => void }) => Promise<number>,
  argv: string[],
): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join(""), err: err.join("") };
}
