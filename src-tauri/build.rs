fn main() {
    // The built UI is embedded when this crate compiles; without this, a rebuilt `ui/dist` alone
    // would leave the binary serving the old one.
    println!("cargo:rerun-if-changed=../ui/dist");
    // Release packages (`make package`, profile dist) pack the executable's relative relocations
    // (DT_RELR): about 1.4 MB less, still position-independent. The result needs glibc 2.36 or
    // later, so only the packages, which declare it, ask for it.
    println!("cargo:rerun-if-env-changed=FRONTDESK_PACK_RELATIVE_RELOCS");
    if std::env::var_os("FRONTDESK_PACK_RELATIVE_RELOCS").is_some_and(|v| v == "1")
        && std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux")
    {
        // GNU ld, not mold: mold 1.10 (Debian 12) writes DT_RELR without the GLIBC_ABI_DT_RELR
        // version glibc requires before it loads such a binary.
        println!("cargo:rustc-link-arg-bin=frontdesk=-fuse-ld=bfd");
        println!("cargo:rustc-link-arg-bin=frontdesk=-Wl,-z,pack-relative-relocs");
    }
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
