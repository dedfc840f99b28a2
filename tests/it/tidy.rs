//! Tidy: the layers of `src/` that ARCHITECTURE.md draws, held by a test (after rust-analyzer's
//! `tidy` tests). Pure file reading: no app, no database.
//!
//! The test reads every `.rs` file under `src/` and finds (with the scanner of `tidy/scan.rs`),
//! for each top-level module (the `mod`s declared in `src/lib.rs`, discovered there, not listed
//! here), the other top-level modules it names through `crate::<name>`: in `use` lines
//! (`use crate::x::…`, `use crate::{x, y::z}`) and in inline paths (`crate::x::f()`). Comments (`//`, `///`, `//!`, `/* */`), string and
//! character literals are blanked first, so a doc link or a URL is not an import. Test code is
//! left out: every item under `#[cfg(test)]` (in practice the `mod tests { … }` at the end of a
//! file) is blanked up to its closing brace or semicolon; the file of an out-of-line
//! `#[cfg(test)] mod x;` would still be read (there is none). Not seen: paths through
//! `super::super::…`, and whatever a macro of another module expands to.
//!
//! The rules, each its own test:
//! 1. the top-level modules form no cycle;
//! 2. `config` imports nothing of the crate (no exception);
//! 3. a module imports only modules of a lower layer in [`LAYERS`], or of its own layer where
//!    [`SAME_LAYER`] allows it, and every module has a layer;
//! 4. the edges (`api`, `cli`) do not import `store`: they reach the database through domain
//!    services.
//!
//! Edges in [`KNOWN_VIOLATIONS`] are tolerated for now. A listed edge that no longer exists or no
//! longer breaks a rule fails the test too, so the list can only shrink.

mod scan;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use scan::{blank_comments_and_literals, blank_test_code, crate_references, declared_modules};

/// The layer of each top-level module: a module may import only modules of a lower layer.
/// Names that do not exist (yet) are fine here; a module of `src/lib.rs` missing here fails.
const LAYERS: &[(&str, u32)] = &[
    // Settings types, the clock, ids, logging, the public wire types: they import nothing of the
    // layers above (`config` nothing at all).
    ("config", 0),
    ("clock", 0),
    ("ids", 0),
    ("secrets", 0),
    ("data_dir", 0),
    ("telemetry", 0),
    ("wire", 0),
    // Infrastructure: the database, object storage, the process's metrics.
    ("store", 1),
    ("storage", 1),
    ("metrics", 1),
    // Channels: one contract for local, ark and relay. The secrets kept in the database,
    // sealed with `secrets.key`.
    ("providers", 2),
    ("keyring", 2),
    // Domain services that tasks use: accounts, keys and credits; the asset library. And the
    // admin audit trail, which the admin API appends to and reads (`assets::review` appends its
    // decisions through the store: the two modules share a layer).
    ("assets", 3),
    ("accounts", 3),
    ("audit", 3),
    // The task lifecycle: submit, accept, dispatch, workers, the state machine, sweeps, view.
    ("tasks", 4),
    // Webhook delivery: sends the task view (`tasks::view`) of a task's terminal state.
    ("webhooks", 5),
    // Edges: the HTTP API and the Rust client of it.
    ("api", 6),
    ("client", 6),
    // Wiring: the command line and the application that runs API, workers and sweeps.
    ("cli", 7),
    ("app", 7),
];

/// Imports allowed within one layer: (from, to, why).
const SAME_LAYER: &[(&str, &str, &str)] = &[(
    "cli",
    "app",
    "`reelay serve` and `reelay worker` build and run the Application",
)];

/// The edge modules, which reach the database only through domain services.
const WITHOUT_STORE: &[&str] = &["api", "cli"];

/// Edges that break a rule and are tolerated for now (from, to). Remove an entry when its edge
/// is gone; never add one: move the type down instead.
const KNOWN_VIOLATIONS: &[(&str, &str)] = &[];

// ---------------------------------------------------------------------------------------------
// The rules.

#[test]
fn the_top_level_modules_form_no_cycle() {
    let graph = Graph::read();
    let tolerated: BTreeSet<(&str, &str)> = KNOWN_VIOLATIONS.iter().copied().collect();
    if let Some(cycle) = graph.cycle_without(&tolerated) {
        let mut steps = String::new();
        for pair in cycle.windows(2) {
            steps.push_str(&format!(
                "\n  {} -> {}: {}",
                pair[0],
                pair[1],
                graph.sites(&pair[0], &pair[1])
            ));
        }
        panic!(
            "the top-level modules form a cycle: {}{steps}\n\
             Break it where an arrow points up a layer: move the type it imports down into a \
             module of the lower layer, don't add the import.\n\n{}",
            cycle.join(" -> "),
            graph.report()
        );
    }
}

#[test]
fn config_imports_nothing_of_the_crate() {
    let graph = Graph::read();
    assert!(
        !KNOWN_VIOLATIONS.iter().any(|(from, _)| *from == "config"),
        "config has no exception: remove its entries from KNOWN_VIOLATIONS"
    );
    let imports: Vec<String> = graph
        .edges_from("config")
        .map(|(to, sites)| format!("\n  config -> {to}: {}", sites.join(", ")))
        .collect();
    assert!(
        imports.is_empty(),
        "config is the bottom layer and imports nothing of the crate, but:{}\n\
         Move the type down into config (settings types and their validation live there) and \
         have `{}` import it from config; don't add the import.\n\n{}",
        imports.concat(),
        graph
            .edges_from("config")
            .map(|(to, _)| to)
            .collect::<Vec<_>>()
            .join("`, `"),
        graph.report()
    );
}

#[test]
fn no_top_level_module_imports_a_higher_layer() {
    let graph = Graph::read();
    let without_layer: Vec<&String> = graph
        .modules
        .iter()
        .filter(|module| layer(module).is_none())
        .collect();
    assert!(
        without_layer.is_empty(),
        "src/lib.rs declares {without_layer:?}, which the layer table does not know: add it to \
         LAYERS in tests/it/tidy.rs (with the layer its imports allow)"
    );
    let mut problems = String::new();
    for ((from, to), sites) in &graph.edges {
        if breaks_layers(from, to) && !is_known(from, to) {
            problems.push_str(&format!(
                "\n  {from} (layer {}) imports {to} (layer {}): {}",
                layer(from).unwrap_or_default(),
                layer(to).unwrap_or_default(),
                sites.join(", ")
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "a module imports one of its own or a higher layer:{problems}\n\
         Move the type down to a layer below the importer (or into it), don't add the import. \
         A same-layer import needs a reason in SAME_LAYER.\n\n{}",
        graph.report()
    );
}

#[test]
fn edges_reach_the_store_only_through_domain_services() {
    let graph = Graph::read();
    let mut problems = String::new();
    for from in WITHOUT_STORE {
        if let Some(sites) = graph.edges.get(&(from.to_string(), "store".to_string())) {
            if !is_known(from, "store") {
                problems.push_str(&format!("\n  {from} -> store: {}", sites.join(", ")));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "an edge module imports the store:{problems}\n\
         Call (or add) a function of the domain service that owns the table (tasks, billing, \
         assets, webhooks), don't add the import.\n\n{}",
        graph.report()
    );
}

#[test]
fn every_known_violation_still_exists() {
    let graph = Graph::read();
    let mut seen = BTreeSet::new();
    let mut stale = String::new();
    for &(from, to) in KNOWN_VIOLATIONS {
        assert!(
            seen.insert((from, to)),
            "({from:?}, {to:?}) is listed twice in KNOWN_VIOLATIONS"
        );
        let key = (from.to_string(), to.to_string());
        if !graph.edges.contains_key(&key) {
            stale.push_str(&format!(
                "\n  ({from:?}, {to:?}): {from} no longer imports {to}"
            ));
        } else if broken_rules(from, to).is_empty() {
            stale.push_str(&format!(
                "\n  ({from:?}, {to:?}): the import breaks no rule any more"
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "KNOWN_VIOLATIONS lists edges that are fixed:{stale}\n\
         Remove them from the list in tests/it/tidy.rs: it only shrinks.\n\n{}",
        graph.report()
    );
}

/// Handlers read the query string and path parameters through `api::extract::{Query, Path}`,
/// whose rejections answer in the envelope of the request's door; axum's own answer `text/plain`.
#[test]
fn handlers_read_query_and_path_through_the_enveloped_extractors() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let api = root.join("src/api");
    let mut files = Vec::new();
    rust_files(&api, &mut files);
    let mut offenders = Vec::new();
    for file in files {
        if file == api.join("extract.rs") {
            continue;
        }
        let source = std::fs::read(&file).expect("read a source file");
        let code = String::from_utf8_lossy(&blank_test_code(blank_comments_and_literals(&source)))
            .to_string();
        let mut imported = Vec::new();
        for (at, _) in code.match_indices("axum::extract::") {
            let rest = &code[at + "axum::extract::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let group = group.split('}').next().unwrap_or("");
                imported.extend(group.split(',').map(|name| name.trim().to_string()));
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                imported.push(name);
            }
        }
        if imported.iter().any(|name| {
            matches!(name.as_str(), "Path" | "Query")
                || name.starts_with("Path<")
                || name.starts_with("Query<")
                || name.ends_with("QueryRejection")
                || name.ends_with("PathRejection")
        }) {
            offenders.push(
                file.strip_prefix(root)
                    .expect("under root")
                    .display()
                    .to_string(),
            );
        }
    }
    assert!(
        offenders.is_empty(),
        "these files use axum's Query or Path; use api::extract::{{Query, Path}}: {offenders:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The rules as functions of one edge.

/// The SQL that writes a task's status (`store::tasks::transitions`) is called only by the state
/// machine, `tasks::state`: whoever else needs a task moved asks the state machine.
#[test]
fn only_the_state_machine_calls_the_task_transitions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let allowed = [
        src.join("tasks/state.rs"),
        src.join("store/tasks/mod.rs"),
        src.join("store/tasks/transitions.rs"),
    ];
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut callers = Vec::new();
    for file in files {
        if allowed.contains(&file) {
            continue;
        }
        let source = std::fs::read(&file).expect("read a source file");
        let code = blank_test_code(blank_comments_and_literals(&source));
        if String::from_utf8_lossy(&code).contains("transitions") {
            callers.push(
                file.strip_prefix(root)
                    .expect("under root")
                    .display()
                    .to_string(),
            );
        }
    }
    assert!(
        callers.is_empty(),
        "these files reach store::tasks::transitions; call tasks::state instead: {callers:?}"
    );
}

fn layer(module: &str) -> Option<u32> {
    LAYERS
        .iter()
        .find(|(name, _)| *name == module)
        .map(|(_, layer)| *layer)
}

fn is_known(from: &str, to: &str) -> bool {
    KNOWN_VIOLATIONS.contains(&(from, to))
}

/// `from` may not import `to` by the layer table (a module without a layer breaks it too).
fn breaks_layers(from: &str, to: &str) -> bool {
    match (layer(from), layer(to)) {
        (Some(from_layer), Some(to_layer)) if from_layer > to_layer => false,
        (Some(from_layer), Some(to_layer)) if from_layer == to_layer => !SAME_LAYER
            .iter()
            .any(|(allowed_from, allowed_to, _)| *allowed_from == from && *allowed_to == to),
        _ => true,
    }
}

/// The rules an import of `to` by `from` breaks (the cycle rule is about paths, not edges: an
/// edge in a cycle breaks the layer rule too).
fn broken_rules(from: &str, to: &str) -> Vec<&'static str> {
    let mut broken = Vec::new();
    if from == "config" {
        broken.push("config imports nothing");
    }
    if breaks_layers(from, to) {
        broken.push("layers");
    }
    if WITHOUT_STORE.contains(&from) && to == "store" {
        broken.push("edges without store");
    }
    broken
}

// ---------------------------------------------------------------------------------------------
// The module graph.

/// Which top-level module imports which, and where.
struct Graph {
    /// The modules `src/lib.rs` declares, in its order.
    modules: Vec<String>,
    /// (from, to) → `src/<file>:<line>` of the first mention in each file that makes the edge.
    edges: BTreeMap<(String, String), Vec<String>>,
}

impl Graph {
    fn read() -> Graph {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let src = root.join("src");
        let lib = std::fs::read(src.join("lib.rs")).expect("read src/lib.rs");
        let modules = declared_modules(&blank_test_code(blank_comments_and_literals(&lib)));
        assert!(
            modules.len() > 3,
            "found only {modules:?} in src/lib.rs: the scanner is broken"
        );
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let mut edges: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for file in files {
            let relative = file.strip_prefix(&src).expect("under src");
            let first = relative
                .components()
                .next()
                .expect("a file name")
                .as_os_str()
                .to_string_lossy();
            let owner = first.strip_suffix(".rs").unwrap_or(first.as_ref());
            if !modules.iter().any(|module| module == owner) {
                continue; // lib.rs, main.rs (the binary names the library `reelay::`)
            }
            let source = std::fs::read(&file).expect("read a source file");
            let code = blank_test_code(blank_comments_and_literals(&source));
            let shown = file
                .strip_prefix(root)
                .expect("under the manifest dir")
                .display()
                .to_string();
            let mut first_mention: BTreeMap<String, usize> = BTreeMap::new();
            for (name, offset) in crate_references(&code) {
                if name != owner && modules.contains(&name) {
                    first_mention.entry(name).or_insert(offset);
                }
            }
            for (name, offset) in first_mention {
                let line = code[..offset].iter().filter(|&&b| b == b'\n').count() + 1;
                edges
                    .entry((owner.to_string(), name))
                    .or_default()
                    .push(format!("{shown}:{line}"));
            }
        }
        Graph { modules, edges }
    }

    fn edges_from<'a>(&'a self, from: &'a str) -> impl Iterator<Item = (&'a str, &'a [String])> {
        self.edges
            .iter()
            .filter(move |((edge_from, _), _)| edge_from == from)
            .map(|((_, to), sites)| (to.as_str(), sites.as_slice()))
    }

    fn sites(&self, from: &str, to: &str) -> String {
        self.edges
            .get(&(from.to_string(), to.to_string()))
            .map(|sites| sites.join(", "))
            .unwrap_or_default()
    }

    /// A cycle (its first module repeated at the end) among the edges not in `tolerated`.
    fn cycle_without(&self, tolerated: &BTreeSet<(&str, &str)>) -> Option<Vec<String>> {
        fn visit(
            module: &str,
            next: &BTreeMap<&str, Vec<&str>>,
            done: &mut BTreeSet<String>,
            path: &mut Vec<String>,
        ) -> Option<Vec<String>> {
            if let Some(start) = path.iter().position(|on_path| on_path == module) {
                let mut cycle = path[start..].to_vec();
                cycle.push(module.to_string());
                return Some(cycle);
            }
            if done.contains(module) {
                return None;
            }
            path.push(module.to_string());
            for to in next.get(module).into_iter().flatten() {
                if let Some(cycle) = visit(to, next, done, path) {
                    return Some(cycle);
                }
            }
            path.pop();
            done.insert(module.to_string());
            None
        }
        let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (from, to) in self.edges.keys() {
            if !tolerated.contains(&(from.as_str(), to.as_str())) {
                next.entry(from).or_default().push(to);
            }
        }
        let mut done = BTreeSet::new();
        self.modules
            .iter()
            .find_map(|module| visit(module, &next, &mut done, &mut Vec::new()))
    }

    /// Every edge with the files that make it; `!` marks an edge that breaks a rule, `~` one
    /// that does and is tolerated in KNOWN_VIOLATIONS.
    fn report(&self) -> String {
        let mut report = String::from(
            "The module graph (`!` breaks a rule, `~` breaks one and is a known violation):\n",
        );
        for ((from, to), sites) in &self.edges {
            let broken = broken_rules(from, to);
            let mark = match (broken.is_empty(), is_known(from, to)) {
                (true, _) => ' ',
                (false, true) => '~',
                (false, false) => '!',
            };
            let layers = |module: &str| {
                layer(module).map_or_else(|| "no layer".to_string(), |layer| layer.to_string())
            };
            let rules = if broken.is_empty() {
                String::new()
            } else {
                format!(" [{}]", broken.join(", "))
            };
            report.push_str(&format!(
                "{mark} {from} ({}) -> {to} ({}){rules}: {}\n",
                layers(from),
                layers(to),
                sites.join(", ")
            ));
        }
        report
    }
}

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read a source directory")
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
}
