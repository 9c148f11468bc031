// No console window on Windows release builds; on Linux this changes nothing.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    frontdesk_app::main()
}
