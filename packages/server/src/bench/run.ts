export async function runBench(_args: string[]): Promise<void> {
  process.stderr.write('io-session bench: the benchmark arrives with issue 4\n');
  process.exit(2);
}
