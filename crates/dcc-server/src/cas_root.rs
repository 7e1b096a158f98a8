//! DIST 0x303 (docs/decisions/content-addressed-files.md): build a job's root from the
//! content-addressed store and rewrite the command so the helper's compiler searches exactly
//! the master's chain under that root. Synchronous filesystem work: call off the async
//! workers.

use std::path::{Path, PathBuf};

use dcc_include::{Kind, Manifest, Origin};
use dcc_proto::cas::{ChainDir, ChainKind};
use dcc_store::{Hash, Store, StoreError};

use crate::pump::{PumpError, Tree};

#[derive(Debug, thiserror::Error)]
pub enum CasRootError {
    #[error(transparent)]
    Tree(#[from] PumpError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("manifest path {0:?} is not UTF-8")]
    NotUtf8(PathBuf),
    #[error("search chain entry {0:?} is not in the manifest")]
    NotInManifest(String),
}

fn utf8(p: &Path) -> Result<&str, CasRootError> {
    p.to_str()
        .ok_or_else(|| CasRootError::NotUtf8(p.to_owned()))
}

/// The hashes of the files the helper must have: every `shipped` file, in manifest order.
pub fn shipped_hashes(m: &Manifest) -> Vec<Hash> {
    m.files()
        .filter(|(_, e)| e.origin == Origin::Shipped)
        .filter_map(|(_, e)| match e.kind {
            Kind::File { hash, .. } => Some(hash),
            _ => None,
        })
        .collect()
}

/// Create the manifest's tree under `tree`'s root: `shipped` directories, links and files
/// (hard links from `store`, which must hold every shipped hash, pinned by the caller), and
/// the `system` directories empty (the compiler's own files stay the helper's).
pub fn build_root(tree: &mut Tree, m: &Manifest, store: &Store) -> Result<(), CasRootError> {
    // BTreeMap order puts a directory before everything under it.
    for (path, e) in &m.entries {
        let name = utf8(path)?;
        match (&e.kind, e.origin) {
            (Kind::Dir, _) => {
                tree.make_dir(name)?;
            }
            (_, Origin::System) => {}
            (Kind::Symlink { target }, Origin::Shipped) => {
                tree.write_link(name, utf8(target)?)?;
            }
            (Kind::File { hash, .. }, Origin::Shipped) => {
                let dest = tree.new_file_path(name)?;
                store.link_into(hash, &dest)?;
            }
        }
    }
    Ok(())
}

/// The options that make the helper's compiler search the master's chain under `root`:
/// `-nostdinc`, then each entry in order with the option of its kind. Directories and files
/// the manifest marks `system` (the compiler's own) are named as they are, since the helper's
/// compiler has its own copy there; everything else under the root. Every entry must be in
/// the manifest (a directory the scanner did not list would be searched on the helper's
/// disk).
pub fn chain_args(
    root: &Path,
    chain: &[ChainDir],
    m: &Manifest,
) -> Result<Vec<String>, CasRootError> {
    let mut out = vec!["-nostdinc".to_owned()];
    for d in chain {
        let Some(e) = m.entries.get(Path::new(&d.path)) else {
            return Err(CasRootError::NotInManifest(d.path.clone()));
        };
        let path = match e.origin {
            Origin::System => d.path.clone(),
            Origin::Shipped => format!("{}{}", root.display(), d.path),
        };
        let opt = match d.kind {
            ChainKind::Quote => "-iquote",
            ChainKind::Bracket => "-I",
            ChainKind::System => "-isystem",
            ChainKind::After => "-idirafter",
            ChainKind::Include => "-include",
        };
        out.push(opt.to_owned());
        out.push(path);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dcc_include::Entry;

    fn manifest(entries: &[(&str, Origin, Kind)]) -> Manifest {
        let mut m = Manifest::default();
        for (p, origin, kind) in entries {
            m.entries.insert(
                PathBuf::from(p),
                Entry {
                    origin: *origin,
                    kind: kind.clone(),
                },
            );
        }
        m
    }

    #[test]
    fn chain_entry_missing_from_the_manifest_is_refused() {
        let m = manifest(&[("/usr/include", Origin::Shipped, Kind::Dir)]);
        let chain = [ChainDir {
            kind: ChainKind::Bracket,
            path: "/opt/elsewhere".into(),
        }];
        assert!(matches!(
            chain_args(Path::new("/r"), &chain, &m),
            Err(CasRootError::NotInManifest(_))
        ));
    }

    #[test]
    fn shipped_entries_go_under_the_root_and_the_compilers_own_stay() {
        let m = manifest(&[
            ("/usr/include", Origin::Shipped, Kind::Dir),
            ("/usr/lib/gcc/x/12/include", Origin::System, Kind::Dir),
            (
                "/usr/include/stdc-predef.h",
                Origin::Shipped,
                Kind::File {
                    size: 0,
                    hash: [0; 32],
                },
            ),
        ]);
        let chain = [
            ChainDir {
                kind: ChainKind::System,
                path: "/usr/lib/gcc/x/12/include".into(),
            },
            ChainDir {
                kind: ChainKind::After,
                path: "/usr/include".into(),
            },
            ChainDir {
                kind: ChainKind::Include,
                path: "/usr/include/stdc-predef.h".into(),
            },
        ];
        assert_eq!(
            chain_args(Path::new("/r"), &chain, &m).unwrap(),
            [
                "-nostdinc",
                "-isystem",
                "/usr/lib/gcc/x/12/include",
                "-idirafter",
                "/r/usr/include",
                "-include",
                "/r/usr/include/stdc-predef.h"
            ]
        );
    }

    #[test]
    fn hostile_manifest_paths_and_links_stay_inside_the_root() {
        let store_dir = tempfile::tempdir().unwrap();
        let store = Store::open(store_dir.path(), 1 << 20).unwrap();
        for m in [
            manifest(&[("/a/../../etc", Origin::Shipped, Kind::Dir)]),
            manifest(&[(
                "/a/l",
                Origin::Shipped,
                Kind::Symlink {
                    target: PathBuf::from("../../../../etc"),
                },
            )]),
            manifest(&[("/a/x.gch", Origin::Shipped, Kind::Dir)]),
        ] {
            let root = tempfile::tempdir().unwrap();
            let mut tree = Tree::new(root.path().to_path_buf());
            assert!(build_root(&mut tree, &m, &store).is_err(), "{m:?}");
        }
        // A file whose blob the store lacks is an error, not an empty file.
        let root = tempfile::tempdir().unwrap();
        let mut tree = Tree::new(root.path().to_path_buf());
        let m = manifest(&[(
            "/a.h",
            Origin::Shipped,
            Kind::File {
                size: 1,
                hash: [7; 32],
            },
        )]);
        assert!(matches!(
            build_root(&mut tree, &m, &store),
            Err(CasRootError::Store(StoreError::Missing(_)))
        ));
    }
}
