// From a path in the validated value to where the user wrote it. With a cluster overlay the
// merged value mixes two places in the file: a field the overlay sets is reported at the overlay
// (spec.clusters.<name>...), everything else at the base.
import { nodePosition, type Source } from './source.js';
import { formatPath, walk, type Path, type SpecNode } from './tree.js';

export interface Where {
  line?: number;
  col?: number;
  /** The field path as the user would edit it. */
  path: string;
  /** True when the node lies inside the cluster overlay. */
  inOverlay: boolean;
}

export interface Locator {
  /** Position of the value at `path`, or of its deepest existing ancestor. `key` points at the field name instead. */
  locate(path: Path, opts?: { key?: boolean }): Where;
}

function pos(src: Source, node: SpecNode | undefined): { line?: number; col?: number } {
  const p = nodePosition(src, node);
  return p ? { line: p.line, col: p.col } : {};
}

export function baseLocator(src: Source): Locator {
  return {
    locate(path, opts = {}) {
      const f = walk(src.root, path);
      const node = opts.key && f && f.depth === path.length && f.key ? f.key : f?.node;
      return { ...pos(src, node), path: formatPath(path), inOverlay: false };
    },
  };
}

/** Locator for spec.clusters[cluster] merged over spec. */
export function overlayLocator(src: Source, cluster: string): Locator {
  const root = src.root;
  const overlayPath: Path = ['spec', 'clusters', cluster];
  const base = baseLocator(src);
  return {
    locate(path, opts = {}) {
      if (path[0] !== 'spec' || path.length < 2) return base.locate(path, opts);
      const rest = path.slice(1);
      const full = [...overlayPath, ...rest];
      const f = walk(root, full);
      if (f && f.depth >= overlayPath.length) {
        const matched = f.depth - overlayPath.length;
        // Matched the whole path in the overlay, or hit an overlay value that is not a mapping
        // (an array or scalar that replaced the base value wholesale): the value came from the overlay.
        const replaced = matched < rest.length && matched > 0 && f.node.kind !== 'map';
        if (matched === rest.length || replaced) {
          const node = opts.key && matched === rest.length && f.key ? f.key : f.node;
          return { ...pos(src, node), path: formatPath([...overlayPath, ...rest]), inOverlay: true };
        }
        // The overlay maps part of the way; the base may go deeper.
        const b = walk(root, path);
        if (!b || b.depth - 1 < matched) {
          return { ...pos(src, f.node), path: formatPath([...overlayPath, ...rest]), inOverlay: true };
        }
      }
      return base.locate(path, opts);
    },
  };
}
