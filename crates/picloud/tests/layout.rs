//! The layout rules of ARCHITECTURE.md, checked on the tree:
//!
//! - no source file in `crates/*/src` is 800 lines or longer;
//! - the files of each crate form layers: no file reaches (through
//!   `crate::`, `super::` or a child module's name) a file that reaches
//!   back to it, directly or through others.
//!
//! A reference is a path in code (comments left out) that names a module of
//! the crate: `use crate::a::b`, `crate::a::f()`, `use crate::{a, b::c}`,
//! `super::x`, or `child::f()` in the file that declares `mod child`. It
//! points at the file of the longest module that path names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use regex::Regex;

const MAX_LINES: usize = 800;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("a source folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The module path of a file under `src` (`lib.rs` and `main.rs`: the root;
/// `bin/*.rs`: none, they are crates of their own).
fn module_of(src: &Path, file: &Path) -> Option<Vec<String>> {
    let rel = file.strip_prefix(src).ok()?;
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.first().is_some_and(|p| p == "bin") {
        return None;
    }
    let last = parts.pop()?;
    match last.as_str() {
        "lib.rs" | "main.rs" | "mod.rs" => {}
        other => parts.push(other.trim_end_matches(".rs").to_owned()),
    }
    Some(parts)
}

/// The code of a file without its comments (line comments, doc comments
/// and block comments) and its unit tests (an inline `#[cfg(test)] mod`,
/// which is a module of its own), strings left as they are.
fn code_of(text: &str) -> String {
    let tests = Regex::new(r"#\[cfg\(test\)\]\s*mod\s+[a-z_]+\s*\{").expect("regex");
    let text = match tests.find(text) {
        Some(m) => &text[..m.start()],
        None => text,
    };
    let block = Regex::new(r"(?s)/\*.*?\*/").expect("regex");
    let text = block.replace_all(text, "");
    text.lines()
        .map(|l| match l.trim_start().starts_with("//") {
            true => "",
            false => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths a `use` tree names: `a::{b, c::{d, e}}` → `a::b`, `a::c::d`,
/// `a::c::e`.
fn expand_use(tree: &str) -> Vec<String> {
    let alias = Regex::new(r"\s+as\s+").expect("regex");
    let tree = alias.replace_all(tree, "@as@");
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    fn go(prefix: &str, tree: &str, out: &mut Vec<String>) {
        match tree.find('{') {
            None => out.push(format!("{prefix}{tree}")),
            Some(open) => {
                let head = &tree[..open];
                let inner = &tree[open + 1..tree.len() - 1];
                let (mut depth, mut start) = (0, 0);
                for (i, c) in inner.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            go(&format!("{prefix}{head}"), &inner[start..i], out);
                            start = i + 1;
                        }
                        _ => {}
                    }
                }
                if start < inner.len() {
                    go(&format!("{prefix}{head}"), &inner[start..], out);
                }
            }
        }
    }
    let mut out = Vec::new();
    go("", &tree, &mut out);
    out.into_iter().map(|p| p.replace("@as@", " as ")).collect()
}

struct Crate {
    name: String,
    /// Module path → file.
    modules: BTreeMap<Vec<String>, PathBuf>,
    /// (module, name) → the path a `pub use` there re-exports under that
    /// name, from the crate root.
    reexports: BTreeMap<(Vec<String>, String), Vec<String>>,
}

/// `use` statements: (whether `pub`, the tree).
fn use_statements(code: &str) -> Vec<(bool, String)> {
    let stmt =
        Regex::new(r"(?s)(?:^|[;{}\n])\s*(pub(?:\([a-z ]+\))?\s+)?use\s+([^;]*);").expect("regex");
    stmt.captures_iter(code)
        .map(|m| (m.get(1).is_some(), m[2].to_owned()))
        .collect()
}

/// `a::b::c` relative to `base` (`crate::`, `super::`, `self::` or a child
/// module), as a path from the crate root.
fn absolute(base: &[String], path: &str) -> Vec<String> {
    let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let mut out = match segments.first() {
        Some(&"crate") => Vec::new(),
        _ => base.to_vec(),
    };
    for s in segments
        .iter()
        .skip(usize::from(segments.first() == Some(&"crate")))
    {
        match *s {
            "self" => {}
            "super" => {
                out.pop();
            }
            s => out.push(s.to_owned()),
        }
    }
    out
}

impl Crate {
    fn new(name: String, modules: BTreeMap<Vec<String>, PathBuf>) -> Crate {
        let mut reexports = BTreeMap::new();
        for (module, file) in &modules {
            let code = code_of(&std::fs::read_to_string(file).expect("a source file"));
            for (public, tree) in use_statements(&code) {
                if !public {
                    continue;
                }
                for path in expand_use(&tree) {
                    let (path, alias) = match path.split_once(" as ") {
                        Some((p, a)) => (p.to_owned(), Some(a.to_owned())),
                        None => (path.clone(), None),
                    };
                    let target = absolute(module, &path);
                    let Some(last) = alias.or_else(|| target.last().cloned()) else {
                        continue;
                    };
                    reexports.insert((module.clone(), last), target);
                }
            }
        }
        Crate {
            name,
            modules,
            reexports,
        }
    }

    /// The file that holds what `path` (from the crate root) names: the
    /// longest module it names, following re-exports.
    fn resolve(&self, path: &[String], hops: usize) -> Option<&PathBuf> {
        let mut found = self.modules.get(&Vec::new());
        let mut module = Vec::new();
        for (i, segment) in path.iter().enumerate() {
            let mut next = module.clone();
            next.push(segment.clone());
            if self.modules.contains_key(&next) {
                module = next;
                found = self.modules.get(&module);
                continue;
            }
            if hops < 8
                && let Some(target) = self.reexports.get(&(module.clone(), segment.clone()))
            {
                let mut rest = target.clone();
                rest.extend(path[i + 1..].iter().cloned());
                return self.resolve(&rest, hops + 1).or(found);
            }
            break;
        }
        found
    }

    /// Each file's references to the other files of the crate (a `pub use`
    /// re-exports; it is not a reference).
    fn references(&self) -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
        let reexport = Regex::new(r"(?s)\bpub(?:\([a-z ]+\))?\s+use\s+[^;]*;").expect("regex");
        let path =
            Regex::new(r"\b((?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)+)").expect("regex");
        let child = Regex::new(r"(?m)^\s*(?:pub(?:\([a-z ]+\))?\s+)?mod\s+([a-z_][a-z0-9_]*)\s*;")
            .expect("regex");
        let mut out = BTreeMap::new();
        for (module, file) in &self.modules {
            let full = code_of(&std::fs::read_to_string(file).expect("a source file"));
            let code = reexport.replace_all(&full, "");
            let mut targets = BTreeSet::new();
            let mut add = |p: &str| {
                if let Some(target) = self.resolve(&absolute(module, p), 0)
                    && target != file
                {
                    targets.insert(target.clone());
                }
            };
            for (_, tree) in use_statements(&code) {
                for p in expand_use(&tree) {
                    let p = p.split(" as ").next().unwrap_or_default().to_owned();
                    add(&p);
                }
            }
            for m in path.captures_iter(&code) {
                add(&m[1]);
            }
            for m in child.captures_iter(&code) {
                let name = &m[1];
                let used = Regex::new(&format!(r"(?:^|[^:A-Za-z0-9_]){name}::"))
                    .expect("regex")
                    .is_match(&code);
                if used {
                    add(name);
                }
            }
            out.insert(file.clone(), targets);
        }
        out
    }
}

fn crates() -> Vec<Crate> {
    let root = root();
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .expect("crates/")
        .map(|e| e.expect("crates entry").path())
        .filter(|p| p.join("src").is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let src = dir.join("src");
        let modules = rust_files(&src)
            .into_iter()
            .filter_map(|f| Some((module_of(&src, &f)?, f)))
            .collect();
        let name = dir
            .file_name()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        out.push(Crate::new(name, modules));
    }
    assert!(out.len() >= 6, "the crates were not found");
    out
}

/// A cycle through `start` in `graph`, if there is one.
fn cycle_through(
    graph: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
    start: &PathBuf,
) -> Option<Vec<PathBuf>> {
    // Depth-first, remembering the way back.
    let mut parent: BTreeMap<&PathBuf, &PathBuf> = BTreeMap::new();
    let mut stack = vec![start];
    while let Some(node) = stack.pop() {
        for next in graph.get(node).into_iter().flatten() {
            if next == start {
                let mut way = vec![node.clone()];
                let mut at = node;
                while let Some(p) = parent.get(at) {
                    way.push((*p).clone());
                    at = p;
                }
                way.reverse();
                return Some(way);
            }
            if next != start && !parent.contains_key(next) {
                parent.insert(next, node);
                stack.push(next);
            }
        }
    }
    None
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn the_reference_reader_sees_the_paths_it_should() {
    assert_eq!(
        expand_use("crate::{a, b::{c, d}, e::F as G}"),
        ["crate::a", "crate::b::c", "crate::b::d", "crate::e::F as G"]
    );
    assert_eq!(
        code_of("// crate::a\nlet x = 1; /* crate::b */"),
        "\nlet x = 1; "
    );
    // The executor's frame is below its SDK: the SDK reaches it, not the
    // other way round.
    let executor = crates()
        .into_iter()
        .find(|c| c.name == "executor-core")
        .expect("executor-core");
    let refs = executor.references();
    let file = |m: &str| executor.modules[&vec![m.to_owned()]].clone();
    let secrets = executor.modules[&vec!["sdk".to_owned(), "secrets".to_owned()]].clone();
    assert!(
        refs[&secrets].contains(&file("frame")),
        "{:?}",
        refs[&secrets]
    );
    assert!(refs[&file("sdk")].contains(&secrets) || refs[&file("sdk")].len() > 1);
    assert!(!refs[&file("frame")].contains(&file("sandbox")));
}

#[test]
fn no_source_file_is_800_lines_or_longer() {
    let mut long = Vec::new();
    for krate in crates() {
        for file in krate.modules.values() {
            let lines = std::fs::read_to_string(file)
                .expect("a source file")
                .lines()
                .count();
            if lines >= MAX_LINES {
                long.push(format!("{} ({lines} lines)", relative(file)));
            }
        }
    }
    assert!(
        long.is_empty(),
        "split these by job (ARCHITECTURE.md, \"Where do I put ...\"):\n{}",
        long.join("\n")
    );
}

#[test]
fn the_files_of_each_crate_form_layers() {
    let mut cycles = BTreeSet::new();
    for krate in crates() {
        let graph = krate.references();
        for file in graph.keys() {
            if let Some(way) = cycle_through(&graph, file) {
                // One report per cycle, whichever file it was found from.
                let mut names: Vec<String> = way.iter().map(|f| relative(f)).collect();
                let first = names
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, n)| *n)
                    .map(|(i, _)| i);
                names.rotate_left(first.unwrap_or(0));
                cycles.insert(names.join(" → "));
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "these files reach each other in a circle; move what both need into a lower module:\n{}",
        cycles.into_iter().collect::<Vec<_>>().join("\n")
    );
}
