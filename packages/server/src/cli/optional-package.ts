/** Whether `err` says that the package `name` itself is not installed (not a module it imports in turn). */
function isMissing(err: unknown, name: string): boolean {
  if (!(err instanceof Error) || (err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') return false;
  return err.message.includes(`'${name}'`);
}

/**
 * Loads a package that production installs do not carry (the bench, the development tools): when `name` is
 * not installed, prints `message` as one line on stderr and exits 2.
 */
export async function loadOptional<T>(
  load: () => Promise<T>,
  missing: { name: string; message: string },
): Promise<T> {
  try {
    return await load();
  } catch (err) {
    if (!isMissing(err, missing.name)) throw err;
    process.stderr.write(`${missing.message}\n`);
    process.exit(2);
  }
}
