// Lives under test/ because the repository's top level is fixed; `root` points back at the repo.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig({
  test: {
    root,
    // Real servers and real ONNX Runtime sessions: give slow CI machines room, never a timing assertion.
    testTimeout: 30_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'golden', include: ['test/golden/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // Integration suites start MinIO/MLflow servers; run files one at a time on 2 cores.
          fileParallelism: false,
          testTimeout: 120_000,
        },
      },
    ],
  },
});
