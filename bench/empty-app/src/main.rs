//! The smallest Tauri 2 app: one window, one static page. `make bench` measures its memory the
//! same way as the desk's, as the baseline the desk is compared with.

fn main() {
    // The desk turns WebKitGTK's compositing mode off (see `software_rendering` in the desk's
    // `src-tauri/src/lib.rs`); the baseline is measured with the same rendering, so the ratio
    // compares what each app does, not how WebKit paints. `EMPTY_APP_DEFAULT_RENDERING=1`
    // measures WebKit's default instead.
    if std::env::var_os("EMPTY_APP_DEFAULT_RENDERING").is_none()
        && std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none()
    {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
    if let Err(error) = tauri::Builder::default().run(tauri::generate_context!()) {
        eprintln!("empty-tauri-app: {error}");
        std::process::exit(1);
    }
}
