//! Opening the system browser for "Sign in with browser": `$BROWSER` when set (the usual
//! convention: a command, `%s` standing for the address or the address appended), else
//! `xdg-open`. The address carries no secret (the PKCE verifier never leaves the desk); it is not
//! logged anyway.

use std::process::{Command, Stdio};
use std::sync::Arc;

use practice_studio::client::OpenBrowser;

/// The command line that opens `url`.
fn command_line(browser: Option<&str>, url: &str) -> Vec<String> {
    let chosen = browser
        .and_then(|b| b.split(':').map(str::trim).find(|b| !b.is_empty()))
        .unwrap_or("xdg-open");
    let mut words: Vec<String> = chosen.split_whitespace().map(str::to_owned).collect();
    if words.iter().any(|w| w.contains("%s")) {
        for word in &mut words {
            *word = word.replace("%s", url);
        }
    } else {
        words.push(url.to_owned());
    }
    words
}

/// The opener the desk uses.
pub fn opener() -> OpenBrowser {
    Arc::new(|url: url::Url| {
        Box::pin(async move {
            let browser = std::env::var("BROWSER").ok();
            let words = command_line(browser.as_deref(), url.as_str());
            let (program, args) = words.split_first().ok_or("no browser command")?;
            let mut child = Command::new(program)
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("{program}: {e}"))?;
            // Reaped off the async workers; the sign-in waits for the redirect, not for this.
            std::thread::spawn(move || child.wait());
            Ok(())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::command_line;

    #[test]
    fn the_browser_variable_decides_how_the_address_is_opened() {
        let url = "http://127.0.0.1:8080/oauth/authorize?x=1";
        assert_eq!(command_line(None, url), vec!["xdg-open", url]);
        assert_eq!(command_line(Some(""), url), vec!["xdg-open", url]);
        assert_eq!(
            command_line(Some("firefox --new-tab"), url),
            vec!["firefox", "--new-tab", url]
        );
        assert_eq!(
            command_line(Some("chromium --app=%s:firefox"), url),
            vec!["chromium".to_owned(), format!("--app={url}")]
        );
    }
}
