// Caps for tar artifacts, in their own module so the fetch path can read the defaults without
// loading the tar package (it is imported only when an archive is actually extracted).
export interface ArchiveLimits {
  /** Maximum number of entries (default 10 000). */
  maxEntries: number;
  /** Maximum sum of entry sizes, i.e. extracted bytes (default 32 GiB). */
  maxBytes: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = Object.freeze({ maxEntries: 10_000, maxBytes: 32 * 1024 ** 3 });
