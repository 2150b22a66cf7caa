export async function runWorkerCommand(): Promise<void> {
  process.stderr.write('io-session worker: arrives with issue 3\n');
  process.exit(2);
}
