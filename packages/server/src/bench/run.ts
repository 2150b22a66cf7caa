/** `io-session bench`: the side-by-side benchmark lives in @io-session/bench. */
export async function runBench(args: string[]): Promise<void> {
  const { runBench: run } = await import('@io-session/bench');
  return run(args);
}
