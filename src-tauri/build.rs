fn main() {
    // The built UI is embedded when this crate compiles; without this, a rebuilt `ui/dist` alone
    // would leave the binary serving the old one.
    println!("cargo:rerun-if-changed=../ui/dist");
    // Declaring the app's commands lets the capability file allow exactly these and nothing else.
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(&["run_command", "save_as"]));
    if let Err(error) = tauri_build::try_build(attributes) {
        panic!(
            "tauri build step failed: {error:#}\n\
             (the UI must be built first: `make build` runs `npm run build` in ui/ before cargo)"
        );
    }
}
