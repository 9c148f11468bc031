//! Records the commit this desk is built from, for its About box (`AppStatus::commit`).
//!
//! `FRONTDESK_COMMIT` set by the packager wins (a build from a source archive has no `.git`);
//! otherwise `git rev-parse`, and "unknown" when neither is there. Cargo runs this again when the
//! checkout's HEAD moves (a commit, a checkout) or the variable changes.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=FRONTDESK_COMMIT");
    let commit = std::env::var("FRONTDESK_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(from_git)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=FRONTDESK_COMMIT={}", commit.trim());
}

fn from_git() -> Option<String> {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").ok()?;
    let out = Command::new("git")
        .args(["rev-parse", "--git-dir"])
        .current_dir(&manifest)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let git_dir = Path::new(&manifest).join(String::from_utf8(out.stdout).ok()?.trim());
    // HEAD names the branch; the branch's ref (loose, or in packed-refs) names the commit.
    println!("cargo:rerun-if-changed={}", git_dir.join("HEAD").display());
    println!(
        "cargo:rerun-if-changed={}",
        git_dir.join("packed-refs").display()
    );
    if let Ok(head) = std::fs::read_to_string(git_dir.join("HEAD")) {
        if let Some(reference) = head.trim().strip_prefix("ref: ") {
            println!(
                "cargo:rerun-if-changed={}",
                git_dir.join(reference).display()
            );
        }
    }
    let out = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(&manifest)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|c| !c.is_empty())
}
