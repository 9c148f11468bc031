//! "Sign in with browser" end to end against the demo server: the desk's authorization code flow
//! with PKCE and a loopback redirect, with an HTTP client standing in for the person at the
//! system browser (it loads the server's sign-in page, fills it in, and follows the redirect).

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use frontdesk_core::keychain::{tokens_entry, Keychain, MemoryKeychain};
use frontdesk_core::session::Device;
use frontdesk_core::{
    Config, ConfigKey, ConfigLayers, CoreError, Desk, DeskOptions, PinnedDayClock, Surface,
};
use frontdesk_store::DataDir;
use practice_studio::client::{OpenBrowser, Tokens};
use practice_studio_server::{RunningServer, Server, Today};

async fn demo_server() -> RunningServer {
    Server::builder()
        .bind("127.0.0.1:0")
        .demo(true)
        .demo_patients(20)
        .today(Today::Fixed("2026-11-23".parse().expect("date")))
        .start()
        .await
        .expect("demo server starts")
}

fn desk(url: &str, home: &tempfile::TempDir, keychain: Arc<dyn Keychain>) -> Desk {
    let mut flags = BTreeMap::new();
    flags.insert(ConfigKey::ApiUrl, ("--api-url".to_owned(), url.to_owned()));
    let layers = ConfigLayers {
        managed_file: None,
        user_file: Some(home.path().join("user.toml")),
        env: BTreeMap::new(),
        flags,
    };
    let desk = Desk::new(DeskOptions {
        config: Config::load(&layers).expect("config"),
        clock: Arc::new(PinnedDayClock::new("2026-11-23".parse().expect("date"))),
        surface: Surface::Browser,
    })
    .expect("desk");
    desk.attach_device(Device {
        data_dir: Arc::new(DataDir::open(home.path().join("desk")).expect("data dir")),
        keychain,
    });
    desk
}

fn unescape(value: &str) -> String {
    value
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Every `<input type="hidden" name=… value=…>` of the page.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .filter_map(|rest| {
            let (name, rest) = rest.split_once('"')?;
            let value = rest.split_once("value=\"")?.1.split_once('"')?.0;
            Some((name.to_owned(), unescape(value)))
        })
        .collect()
}

/// The person at the browser: opens the page the desk asked for, signs in (or cancels), and the
/// browser follows the server's redirect to the desk's loopback address.
async fn person_at_the_browser(
    url: url::Url,
    email: &str,
    password: &str,
    decision: &str,
) -> Result<(), String> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let page = http
        .get(url.clone())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let cookies: Vec<String> = page
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next().map(str::to_owned))
        .collect();
    let html = page.text().await.map_err(|e| e.to_string())?;
    let mut form = hidden_fields(&html);
    form.push(("email".into(), email.into()));
    form.push(("password".into(), password.into()));
    form.push(("decision".into(), decision.into()));
    let mut action = url.clone();
    action.set_query(None);
    let answer = http
        .post(action)
        .header(reqwest::header::COOKIE, cookies.join("; "))
        .form(&form)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let location = answer
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            format!(
                "the sign-in page answered {} without a redirect",
                answer.status()
            )
        })?
        .to_owned();
    if !location.starts_with("http://127.0.0.1:") {
        return Err(format!("the redirect goes elsewhere: {location}"));
    }
    http.get(location).send().await.map_err(|e| e.to_string())?;
    Ok(())
}

type Opened = Arc<Mutex<Vec<url::Url>>>;

fn browser(email: &'static str, decision: &'static str, opened: Opened) -> OpenBrowser {
    Arc::new(move |url: url::Url| {
        opened.lock().expect("lock").push(url.clone());
        let signing_in: Pin<Box<dyn Future<Output = Result<(), String>> + Send>> =
            Box::pin(person_at_the_browser(url, email, "demo-password", decision));
        signing_in
    })
}

#[tokio::test]
async fn a_clinician_signs_in_through_the_browser_with_pkce_and_a_loopback_redirect() {
    let server = demo_server().await;
    let home = tempfile::tempdir().expect("tempdir");
    let keychain = Arc::new(MemoryKeychain::default());
    let desk = desk(&server.url(), &home, keychain.clone());
    let opened: Opened = Arc::default();
    desk.set_browser_opener(browser("clinician@demo.clinic", "allow", opened.clone()));

    let me = desk.sign_in_with_browser().await.expect("signed in");
    assert_eq!(me.role, "clinician");
    assert!(me.may("read:records"));

    // What the desk asked the browser for: the public client, S256, a loopback redirect.
    let url = opened.lock().expect("lock")[0].clone();
    let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(url.path(), "/oauth/authorize");
    assert_eq!(query["client_id"], "frontdesk");
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["code_challenge"].len(), 43);
    assert!(query["redirect_uri"].starts_with("http://127.0.0.1:"));
    assert!(!query["state"].is_empty());

    // The tokens are the user's, in the keychain only.
    let stored = keychain
        .get(&tokens_entry("clinician@demo.clinic"))
        .expect("keychain")
        .expect("tokens kept");
    let tokens: Tokens = serde_json::from_slice(&stored).expect("tokens");
    assert!(tokens.refresh_token.is_some());
    assert!(!url.as_str().contains(tokens.access_token.expose()));

    // The session works: the cache fills and the clinician reads records from the API.
    let patient = loop {
        if let Some(hit) = desk.search_patients("a").await.expect("search").first() {
            break hit.id.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    desk.patient_records(&patient).await.expect("records");

    // An opened record names its author, from the cached providers, not by id.
    let mut named = None;
    for hit in desk.search_patients("a").await.expect("search") {
        if let Some(summary) = desk
            .patient_records(&hit.id)
            .await
            .expect("records")
            .first()
        {
            named = Some(desk.open_record(&summary.id).await.expect("record"));
            break;
        }
    }
    let view = named.expect("some cached patient has a record");
    let author = view.provider_name.expect("the author's name");
    assert!(
        !author.contains(view.record.provider_id.as_str()),
        "{author}"
    );
    assert!(author.contains(' '), "a first and last name: {author}");
}

#[tokio::test]
async fn a_sign_in_cancelled_in_the_browser_signs_nobody_in() {
    let server = demo_server().await;
    let home = tempfile::tempdir().expect("tempdir");
    let keychain = Arc::new(MemoryKeychain::default());
    let desk = desk(&server.url(), &home, keychain.clone());
    desk.set_browser_opener(browser("reception@demo.clinic", "deny", Arc::default()));
    let error = desk.sign_in_with_browser().await.expect_err("cancelled");
    assert!(matches!(error, CoreError::BrowserSignIn(_)), "{error:?}");
    assert!(error.to_string().contains("cancelled"), "{error}");
    assert!(desk.session().await.is_none());
    assert!(keychain
        .get(&tokens_entry("reception@demo.clinic"))
        .expect("keychain")
        .is_none());
}
