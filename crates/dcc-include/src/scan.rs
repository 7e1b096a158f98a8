//! The closure walk: from the source and the `-include` files, every file any branch may
//! include, until nothing new turns up.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::args::{UnitArgs, parse};
use crate::cache::{Defines, DirectiveCache, FileFacts, Identity, Names};
use crate::lexer::{Define, Directive, IncludeKind, Target, lex};
use crate::macros::{self, Defs, Fail};
use crate::manifest::{Entry, Kind, Manifest, Origin};
use crate::outcome::{Outcome, Reason, Stats};
use crate::resolve::{Found, Walker, dir_of, join, search};
use crate::search_path::{SearchPath, probe_key, probe_keyed};
use crate::unit_memo::{Slot, unit_key};

/// Files younger than this are not memoised (see [`crate::cache`]).
const DEFAULT_RACY: std::time::Duration = std::time::Duration::from_secs(2);

/// Bounds on one scan.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Files in one unit's closure.
    pub max_files: usize,
    /// Bytes of one file.
    pub max_file_size: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_files: 20_000,
            max_file_size: 64 << 20,
        }
    }
}

/// The include scanner: its cache directory and limits. Cheap to build per compile.
#[derive(Debug, Clone, Default)]
pub struct Scanner {
    /// Where the probe answers and the per-file memo live (e.g. `$DISTCC_DIR/include-cache`);
    /// `None`: no memo across processes.
    pub cache_dir: Option<PathBuf>,
    /// Bounds.
    pub limits: Limits,
    /// Overrides the memo's racy window (tests use zero to see the memo at work at once).
    pub racy_window: Option<std::time::Duration>,
}

/// What one scan found, and its counters.
#[derive(Debug, Clone)]
pub struct Scan {
    /// The manifest, or why not.
    pub outcome: Outcome,
    /// Counters.
    pub stats: Stats,
    /// The compiler's search path the scan used (`None` when the unit's memo answered: the
    /// probe's answer is then in the same cache directory, see [`crate::search_path::probe`]).
    /// A client sends its chain from this, never from a second run of the compiler.
    pub search_path: Option<SearchPath>,
}

impl Scanner {
    /// Scan the unit that `argv` (a compile command, `argv[0]` the compiler) compiles in `cwd`
    /// with `compiler` (the driver to ask for its search path).
    pub fn scan(&self, compiler: &Path, argv: &[String], cwd: &Path) -> Scan {
        let mut stats = Stats::default();
        let mut search_path = None;
        let outcome = match self.run(compiler, argv, cwd, &mut stats, &mut search_path) {
            Ok(m) => Outcome::Complete(m),
            Err(r) => Outcome::GiveUp(r),
        };
        Scan {
            outcome,
            stats,
            search_path,
        }
    }

    fn run(
        &self,
        compiler: &Path,
        argv: &[String],
        cwd: &Path,
        stats: &mut Stats,
        search_path: &mut Option<SearchPath>,
    ) -> Result<Manifest, Reason> {
        let args = parse(argv, cwd)?;
        // A relative compiler path is relative to the compile's directory, not ours.
        let compiler = if compiler.is_relative() && compiler.components().count() > 1 {
            cwd.join(compiler)
        } else {
            compiler.to_path_buf()
        };
        let key = probe_key(&compiler, &args.probe_flags, args.lang)?;
        let slot = self
            .cache_dir
            .as_deref()
            .map(|d| Slot::new(d, &unit_key(&key, argv, cwd, &format!("{:?}", self.limits))));
        if let Some(m) = slot.as_ref().and_then(Slot::get) {
            stats.unit_memo = true;
            return Ok(m);
        }
        let (sp, cached) = probe_keyed(
            &compiler,
            &key,
            &args.probe_flags,
            args.lang,
            self.cache_dir.as_deref(),
        )?;
        stats.probe_cached = cached;
        *search_path = Some(sp.clone());
        let cache = self.cache_dir.as_deref().map(|d| {
            let mut c = DirectiveCache::new(d);
            c.racy = DEFAULT_RACY;
            if let Some(r) = self.racy_window {
                c.racy = r;
            }
            c
        });
        let mut w = Walk {
            chain: sp.chain().map(Path::to_path_buf).collect(),
            nquote: sp.quote.len(),
            sp,
            walker: Walker::default(),
            cache,
            limits: self.limits,
            facts: HashMap::new(),
            files: BTreeMap::new(),
            seen: HashSet::new(),
            work: Vec::new(),
            computed: Vec::new(),
            stats,
        };
        let m = w.closure(&args, cwd)?;
        if let Some(slot) = slot {
            let racy = self.racy_window.unwrap_or(DEFAULT_RACY);
            slot.put(
                &m,
                &w.walker,
                &mut w.files.iter().map(|(p, (id, _))| (p, id)),
                racy,
            );
        }
        Ok(m)
    }
}

/// A computed include waiting for the macro set: includer, where it was found, whether it
/// is an `_next` form, the tokens.
type Pending = (PathBuf, Found, bool, String);

struct Walk<'s> {
    sp: SearchPath,
    chain: Vec<PathBuf>,
    nquote: usize,
    walker: Walker,
    cache: Option<DirectiveCache>,
    limits: Limits,
    /// Directives per physical file.
    facts: HashMap<PathBuf, Rc<FileFacts>>,
    /// Physical file → (identity when read, hash).
    files: BTreeMap<PathBuf, (Identity, [u8; 32])>,
    /// Paths (as gcc writes them) and where they were found, already queued.
    seen: HashSet<(PathBuf, Found)>,
    work: Vec<(PathBuf, Found)>,
    computed: Vec<Pending>,
    stats: &'s mut Stats,
}

impl Walk<'_> {
    fn closure(&mut self, args: &UnitArgs, cwd: &Path) -> Result<Manifest, Reason> {
        self.visit(args.source.clone(), Found::Absolute);
        // The compiler's own pre-includes come first, found by name on the bracket chain.
        for p in self.sp.preinclude.clone() {
            match p.file_name().and_then(|n| n.to_str()) {
                Some(name) => {
                    let r = search(&mut self.walker, &self.chain, self.nquote, name);
                    self.found(r);
                }
                None => self.visit(p, Found::Absolute),
            }
        }
        for f in &args.forced {
            if f.starts_with('/') {
                self.found(Some((PathBuf::from(f), Found::Absolute)));
                continue;
            }
            let here = join(cwd, f);
            let r = if self.walker.is_file(&here) {
                Some((here, Found::Local))
            } else {
                search(&mut self.walker, &self.chain, 0, f)
            };
            self.found(r);
        }
        self.drain()?;
        self.computed_includes(args)?;
        for d in self.chain.clone() {
            if self.walker.is_dir(&d) {
                self.walker.walk(&d)?;
            }
        }
        Ok(self.manifest(args))
    }

    fn visit(&mut self, p: PathBuf, f: Found) {
        if self.seen.insert((p.clone(), f)) {
            self.work.push((p, f));
        }
    }

    fn found(&mut self, r: Option<(PathBuf, Found)>) {
        match r {
            Some((p, f)) => self.visit(p, f),
            None => self.stats.not_found += 1,
        }
    }

    fn drain(&mut self) -> Result<(), Reason> {
        while let Some((path, found)) = self.work.pop() {
            let phys = self.walker.walk(&path)?;
            let facts = self.load(&phys)?;
            for d in &facts.directives {
                let (next, target) = match d {
                    Directive::Include { kind, target } => {
                        (*kind == IncludeKind::IncludeNext, target)
                    }
                    Directive::HasInclude { next, target } => (*next, target),
                    Directive::Define(_) => continue,
                    Directive::NonUtf8 => return Err(Reason::NonUtf8(path)),
                };
                match target {
                    Target::Computed(e) => {
                        self.computed.push((path.clone(), found, next, e.clone()))
                    }
                    t => {
                        let r = self.resolve(&path, found, next, t);
                        self.found(r);
                    }
                }
            }
        }
        Ok(())
    }

    /// Where an include of `t` from `includer` (found as `found`) lands.
    fn resolve(
        &mut self,
        includer: &Path,
        found: Found,
        next: bool,
        t: &Target,
    ) -> Option<(PathBuf, Found)> {
        let (name, quote) = match t {
            Target::Quote(n) => (n.as_str(), true),
            Target::Angle(n) => (n.as_str(), false),
            Target::Computed(_) => return None,
        };
        if name.starts_with('/') {
            let p = PathBuf::from(name);
            return self.walker.is_file(&p).then_some((p, Found::Absolute));
        }
        match (next, found) {
            (true, Found::Chain(i)) => return search(&mut self.walker, &self.chain, i + 1, name),
            (true, Found::Local) => return search(&mut self.walker, &self.chain, 0, name),
            _ => {}
        }
        if quote {
            let p = join(&dir_of(includer), name);
            if self.walker.is_file(&p) {
                return Some((p, Found::Local));
            }
            search(&mut self.walker, &self.chain, 0, name)
        } else {
            search(&mut self.walker, &self.chain, self.nquote, name)
        }
    }

    /// The facts of a physical file: from this scan, the disk memo, or by reading it.
    fn load(&mut self, phys: &Path) -> Result<Rc<FileFacts>, Reason> {
        if let Some(f) = self.facts.get(phys) {
            return Ok(f.clone());
        }
        let unreadable = |e: std::io::Error| Reason::Unreadable {
            path: phys.to_path_buf(),
            error: e.to_string(),
        };
        let meta = std::fs::metadata(phys).map_err(unreadable)?;
        // A FIFO or a device could block or never end, and a helper could not recreate it.
        if !meta.is_file() {
            return Err(Reason::Unreadable {
                path: phys.to_path_buf(),
                error: "not a regular file".to_owned(),
            });
        }
        let id = Identity::of(&meta);
        if id.size > self.limits.max_file_size {
            return Err(Reason::FileTooLarge {
                path: phys.to_path_buf(),
                limit: self.limits.max_file_size,
            });
        }
        let cached = self.cache.as_ref().and_then(|c| c.get(phys, &id));
        let facts = match cached {
            Some(f) => {
                self.stats.cache_hits += 1;
                f
            }
            None => {
                let mut file = std::fs::File::open(phys).map_err(unreadable)?;
                let mut buf = Vec::with_capacity(id.size as usize);
                (&mut file)
                    .take(self.limits.max_file_size + 1)
                    .read_to_end(&mut buf)
                    .map_err(unreadable)?;
                let after = file.metadata().map_err(unreadable)?;
                if Identity::of(&after) != id || buf.len() as u64 != id.size {
                    return Err(Reason::Changed(phys.to_path_buf()));
                }
                self.stats.lexed += 1;
                let f = FileFacts::new(*blake3::hash(&buf).as_bytes(), lex(&buf));
                if let Some(c) = &self.cache {
                    c.put(phys, &id, &f);
                }
                f
            }
        };
        if self.files.len() >= self.limits.max_files {
            return Err(Reason::TooManyFiles(self.limits.max_files));
        }
        self.files.insert(phys.to_path_buf(), (id, facts.hash));
        let f = Rc::new(facts);
        self.facts.insert(phys.to_path_buf(), f.clone());
        Ok(f)
    }

    /// Resolve computed includes with every definition seen, until no new file appears
    /// (a new file may bring new definitions).
    fn computed_includes(&mut self, args: &UnitArgs) -> Result<(), Reason> {
        if self.computed.is_empty() {
            return Ok(());
        }
        let predefined = FileFacts::new([0; 32], lex(self.sp.predefined.as_bytes())).defines;
        let command_line = Defines::Parsed(
            args.defines
                .iter()
                .map(|(n, p, b)| Define {
                    name: n.clone(),
                    params: p.clone(),
                    body: b.clone(),
                })
                .collect(),
        );
        let mut done: HashSet<(PathBuf, Found, bool, Target)> = HashSet::new();
        while !self.computed.is_empty() {
            // Only the macros the expressions can reach: their names, then the names in
            // those macros' bodies, until no new name turns up.
            let mut names: HashSet<String> = HashSet::new();
            let mut todo: Vec<String> = self.computed.iter().flat_map(|c| idents(&c.3)).collect();
            let mut defs = Defs::new();
            while !todo.is_empty() {
                let fresh = Names::new(todo.drain(..).filter(|n| names.insert(n.clone())));
                if fresh.is_empty() {
                    break;
                }
                let mut found = Vec::new();
                for d in [&predefined, &command_line]
                    .into_iter()
                    .chain(self.facts.values().map(|f| &f.defines))
                {
                    d.named(&fresh, &mut found);
                }
                for d in found {
                    todo.extend(idents(&d.body));
                    let list = defs.entry(d.name.clone()).or_default();
                    if !list.contains(&d) {
                        list.push(d);
                    }
                }
            }
            let before = self.seen.len();
            for (includer, found, next, expr) in self.computed.clone() {
                let ts = macros::candidates(&expr, &defs).map_err(|e| match e {
                    Fail::Unresolved => Reason::ComputedInclude {
                        file: includer.clone(),
                        expr: expr.clone(),
                    },
                    Fail::TooMany => Reason::TooManyExpansions {
                        file: includer.clone(),
                        expr: expr.clone(),
                    },
                })?;
                for t in ts {
                    if done.insert((includer.clone(), found, next, t.clone())) {
                        let r = self.resolve(&includer, found, next, &t);
                        self.found(r);
                    }
                }
            }
            let computed_before = self.computed.len();
            self.drain()?;
            if self.seen.len() == before && self.computed.len() == computed_before {
                break;
            }
        }
        Ok(())
    }

    fn manifest(&self, args: &UnitArgs) -> Manifest {
        let origin = |p: &Path| {
            if self.sp.is_compiler_owned(p) {
                Origin::System
            } else {
                Origin::Shipped
            }
        };
        let mut entries = BTreeMap::new();
        for d in &self.walker.dirs {
            entries.insert(
                d.clone(),
                Entry {
                    origin: origin(d),
                    kind: Kind::Dir,
                },
            );
        }
        for (l, t) in &self.walker.links {
            entries.insert(
                l.clone(),
                Entry {
                    origin: origin(l),
                    kind: Kind::Symlink { target: t.clone() },
                },
            );
        }
        for (p, (id, hash)) in &self.files {
            entries.insert(
                p.clone(),
                Entry {
                    origin: origin(p),
                    kind: Kind::File {
                        size: id.size,
                        hash: *hash,
                    },
                },
            );
        }
        Manifest {
            source: args.source.clone(),
            entries,
        }
    }
}

/// The identifiers in a piece of normalised directive text.
fn idents(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
        .filter(|w| w.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '$'))
        .map(str::to_owned)
        .collect()
}
