// Small file-system helpers shared by the log, rebuild and backup.

import { open, stat } from 'node:fs/promises';

export async function pathExists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/**
 * fsyncs a file or a directory. A directory's own fsync is what makes a rename or a new entry in it
 * durable: the fsync of a file does not cover its name.
 */
export async function syncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
