//! Comparing build outputs.

use std::path::Path;

/// Compare every file under `a` with the same relative path under `b`; both must hold the
/// same set of files. Returns the differences (empty = identical).
pub fn trees(a: &Path, b: &Path) -> Vec<String> {
    let list = |d: &Path| -> Vec<String> {
        let mut v = Vec::new();
        walk(d, d, &mut v);
        v.sort();
        v
    };
    let la = list(a);
    let lb = list(b);
    let mut diffs = Vec::new();
    if la != lb {
        diffs.push(format!("file sets differ:\n  {la:?}\n  {lb:?}"));
        return diffs;
    }
    for f in &la {
        let x = std::fs::read(a.join(f)).expect("read");
        let y = std::fs::read(b.join(f)).expect("read");
        if x != y {
            diffs.push(format!("{f} differs ({} vs {} bytes)", x.len(), y.len()));
        }
    }
    diffs
}

fn walk(root: &Path, d: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(d).expect("read_dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            walk(root, &p, out);
        } else {
            out.push(
                p.strip_prefix(root)
                    .expect("prefix")
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
}
