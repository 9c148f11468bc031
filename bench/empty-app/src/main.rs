//! The smallest Tauri 2 app: one window, one static page. `make bench` measures its memory the
//! same way as the desk's, as the baseline the desk is compared with.

fn main() {
    if let Err(error) = tauri::Builder::default().run(tauri::generate_context!()) {
        eprintln!("empty-tauri-app: {error}");
        std::process::exit(1);
    }
}
