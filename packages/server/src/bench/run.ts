import { loadOptional } from '../cli/optional-package.js';

/** What `io-session bench` needs of @io-session/bench. */
interface BenchPackage {
  runBench(args: string[]): Promise<void>;
}

// A variable, not a literal: TypeScript does not resolve it, so the server has no type or build dependency on
// the bench, which is not installed in production.
const BENCH_PACKAGE: string = '@io-session/bench';

/** `io-session bench`: the side-by-side benchmark lives in @io-session/bench, installed in a checkout only. */
export async function runBench(args: string[]): Promise<void> {
  const bench = await loadOptional(() => import(BENCH_PACKAGE) as Promise<BenchPackage>, {
    name: BENCH_PACKAGE,
    message:
      'io-session bench: the benchmark (@io-session/bench) is not installed; run it from a checkout of the ' +
      'repository after `npm ci` (`npm run bench`)',
  });
  return bench.runBench(args);
}
