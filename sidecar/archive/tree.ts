// The archive's tree as it will be on disk, built from its headers alone, so every path and
// link can be judged before a byte is written. Checking link targets as text is not enough:
// `d/e/r -> ../..` is harmless text (it names the root), yet `up -> d/e/r/..` leaves the tree,
// because the kernel follows `r` before it applies the `..`; so does `a -> .` plus `up -> a/..`.
// So a symlink's target is walked through the tree as the kernel will walk it, and the walk
// may pass only through real directories: then `..` means what it says, and no link's meaning
// depends on another link (the tar extractor refuses a link through an existing link too).
//
// Rules (each refusal says which entry and why):
// - no entry goes through a symlink or a file (writing through a link is the classic escape);
// - a path appears once, except directories (a later entry never replaces an earlier one);
// - a hard link names an earlier regular file (linking a symlink would move its relative target);
// - every symlink is a relative path that, through real directories of the tree and never
//   above its root, names a regular file or a directory of the tree (no chains, no dangling).

export type Node = { kind: 'dir' } | { kind: 'file' } | { kind: 'symlink'; target: string };

export class TreeModel {
  readonly nodes = new Map<string, Node>([['', { kind: 'dir' }]]);
  private readonly links: string[] = [];

  /**
   * Add an entry at `rel` (normalised, '' is the root). Returns a reason when the entry is
   * refused, undefined when it is accepted.
   */
  add(rel: string, node: Node): string | undefined {
    const segs = rel === '' ? [] : rel.split('/');
    for (let i = 1; i < segs.length; i++) {
      const p = segs.slice(0, i).join('/');
      const at = this.nodes.get(p);
      if (at === undefined) this.nodes.set(p, { kind: 'dir' });
      else if (at.kind === 'symlink') return `goes through the symlink "${p}"`;
      else if (at.kind === 'file') return `goes through "${p}", which is a file`;
    }
    const prev = this.nodes.get(rel);
    if (prev !== undefined) {
      if (prev.kind === 'dir' && node.kind === 'dir') return undefined;
      return rel === '' ? 'replaces the archive root' : `appears twice (as a ${prev.kind}, then as a ${node.kind})`;
    }
    this.nodes.set(rel, node);
    if (node.kind === 'symlink') this.links.push(rel);
    return undefined;
  }

  /** A hard link at `rel` to `target`: allowed only to a regular file already in the tree. */
  addHardLink(rel: string, target: string): string | undefined {
    const t = this.nodes.get(target);
    if (t === undefined) return `links to "${target}", which is not earlier in the archive`;
    if (t.kind !== 'file') return `links to "${target}", which is a ${t.kind === 'dir' ? 'directory' : 'symlink'}; hard links must name a regular file`;
    return this.add(rel, { kind: 'file' });
  }

  /**
   * Where the symlink at `rel` leads, as a path relative to the root, or why it is refused.
   * Every step must stay inside the tree: going above the root and coming back depends on the
   * root's own name, which changes when the tree is renamed into place.
   */
  resolve(rel: string): { path: string; kind: 'file' | 'dir' } | { refused: string } {
    const link = this.nodes.get(rel);
    if (link?.kind !== 'symlink') return { refused: `"${rel}" is not a symlink` };
    if (link.target === '') return { refused: 'an empty target' };
    if (link.target.startsWith('/')) return { refused: `the absolute path "${link.target}"` };
    const cur = rel.split('/');
    cur.pop();
    const segs = link.target.split('/');
    for (const [i, seg] of segs.entries()) {
      const here = this.nodes.get(cur.join('/'));
      if (here?.kind === 'file') return { refused: `a path through "${cur.join('/')}", which is a file` };
      if (seg === '' || seg === '.') continue;
      if (seg === '..') {
        if (cur.length === 0) return { refused: 'a path that leaves the archive' };
        cur.pop();
        continue;
      }
      cur.push(seg);
      const node = this.nodes.get(cur.join('/'));
      if (node === undefined) return { refused: `"${cur.join('/')}", which is not in the archive` };
      if (node.kind === 'symlink') {
        return { refused: i === segs.length - 1 ? `another symlink ("${cur.join('/')}"); link to its target instead` : `a path through the symlink "${cur.join('/')}"` };
      }
    }
    const end = this.nodes.get(cur.join('/'));
    if (end === undefined || end.kind === 'symlink') return { refused: 'nothing' }; // unreachable: both refused above
    return { path: cur.join('/'), kind: end.kind };
  }

  /** Resolve every symlink; the first refusal as `[link, reason]`, or undefined. */
  checkLinks(): [string, string] | undefined {
    for (const l of this.links) {
      const r = this.resolve(l);
      if ('refused' in r) return [l, r.refused];
    }
    return undefined;
  }
}
