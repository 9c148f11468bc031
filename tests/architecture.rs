//! DESIGN.md's dependency rules, checked against the real dependency graph (`cargo metadata`).

use std::collections::{BTreeSet, HashMap};

use cargo_metadata::{DependencyKind, Metadata, MetadataCommand, Package, PackageId};

fn metadata() -> Metadata {
    MetadataCommand::new()
        .manifest_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"))
        .exec()
        .expect("cargo metadata runs")
}

/// Every package a workspace member pulls in for its normal (non-dev, non-build) code, across
/// the whole resolved graph, with the features the workspace resolves for it.
fn normal_closure(meta: &Metadata, root: &str) -> BTreeSet<String> {
    let resolve = meta.resolve.as_ref().expect("resolved graph");
    let nodes: HashMap<&PackageId, _> = resolve.nodes.iter().map(|n| (&n.id, n)).collect();
    let packages: HashMap<&PackageId, &Package> =
        meta.packages.iter().map(|p| (&p.id, p)).collect();
    let root_id = meta
        .workspace_packages()
        .into_iter()
        .find(|p| p.name.as_str() == root)
        .unwrap_or_else(|| panic!("no workspace package {root}"))
        .id
        .clone();
    let mut seen = BTreeSet::new();
    let mut stack = vec![root_id];
    while let Some(id) = stack.pop() {
        let Some(node) = nodes.get(&id) else { continue };
        for dep in &node.deps {
            let normal = dep
                .dep_kinds
                .iter()
                .any(|k| k.kind == DependencyKind::Normal);
            if normal && seen.insert(packages[&dep.pkg].name.to_string()) {
                stack.push(dep.pkg.clone());
            }
        }
    }
    seen
}

#[test]
fn the_server_never_depends_on_a_frontdesk_crate() {
    let meta = metadata();
    let closure = normal_closure(&meta, "practice-studio-server");
    let offenders: Vec<_> = closure
        .iter()
        .filter(|n| n.starts_with("frontdesk"))
        .collect();
    assert!(offenders.is_empty(), "server depends on {offenders:?}");
}

#[test]
fn the_server_uses_the_sdk_without_its_http_client() {
    let meta = metadata();
    let server = meta
        .workspace_packages()
        .into_iter()
        .find(|p| p.name.as_str() == "practice-studio-server")
        .expect("server package");
    let sdk = server
        .dependencies
        .iter()
        .find(|d| d.name == "practice-studio" && d.kind == DependencyKind::Normal)
        .expect("server depends on practice-studio");
    assert!(
        !sdk.features.iter().any(|f| f == "client"),
        "server enables the SDK's client feature: {:?}",
        sdk.features
    );
    // The server has an HTTP client of its own (reqwest) for one thing: delivering webhooks. It
    // never goes through the SDK's client, which the feature check above keeps out.
}

/// A package's normal dependencies as Cargo resolves them when building that package alone
/// (`cargo tree -p`). `cargo metadata` resolves features for the whole workspace at once, so the
/// SDK's `client` feature that the core turns on would put the HTTP stack under the store too,
/// although a build of the store never links it.
fn closure_built_alone(package: &str) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = std::process::Command::new(cargo)
        .args(["tree", "-p", package, "-e", "normal", "--prefix", "none"])
        .args(["--format", "{p}", "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_store_has_no_http_client() {
    let closure = closure_built_alone("frontdesk-store");
    // The store may use the SDK's wire model, never its HTTP client.
    assert!(closure.contains("sqlx"), "the tree was read: {closure:?}");
    for http in ["reqwest", "hyper", "ureq", "isahc", "surf"] {
        assert!(!closure.contains(http), "frontdesk-store pulls in {http}");
    }
    let meta = metadata();
    let store = meta
        .workspace_packages()
        .into_iter()
        .find(|p| p.name.as_str() == "frontdesk-store")
        .expect("store package");
    if let Some(sdk) = store
        .dependencies
        .iter()
        .find(|d| d.name == "practice-studio" && d.kind == DependencyKind::Normal)
    {
        assert!(
            !sdk.features.iter().any(|f| f == "client"),
            "the store enables the SDK's client feature: {:?}",
            sdk.features
        );
    }
}

#[test]
fn the_core_has_no_tauri_and_no_ui() {
    let meta = metadata();
    let closure = normal_closure(&meta, "frontdesk-core");
    let offenders: Vec<_> = closure
        .iter()
        .filter(|n| n.starts_with("tauri") || *n == "wry" || *n == "tao")
        .collect();
    assert!(
        offenders.is_empty(),
        "frontdesk-core pulls in {offenders:?}"
    );
}

#[test]
fn the_sdk_never_touches_a_database() {
    let meta = metadata();
    let closure = normal_closure(&meta, "practice-studio");
    for db in ["sqlx", "rusqlite", "libsqlite3-sys", "frontdesk-store"] {
        assert!(!closure.contains(db), "practice-studio pulls in {db}");
    }
}

#[test]
fn the_shell_links_the_server_only_through_the_demo_feature() {
    let meta = metadata();
    let shell = meta
        .workspace_packages()
        .into_iter()
        .find(|p| p.name.as_str() == "frontdesk")
        .expect("shell package");
    let server = shell
        .dependencies
        .iter()
        .find(|d| d.name == "practice-studio-server" && d.kind == DependencyKind::Normal)
        .expect("the shell declares the demo server");
    assert!(
        server.optional,
        "practice-studio-server must be optional in src-tauri"
    );
    let demo = shell.features.get("demo").expect("a `demo` feature");
    assert!(
        demo.iter().any(|f| f == "dep:practice-studio-server"),
        "{demo:?}"
    );
}
