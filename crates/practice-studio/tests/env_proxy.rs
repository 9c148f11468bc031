//! The usual proxy environment variables are honoured. In its own test binary: it sets a
//! process-wide variable that would reroute every other test's requests.

#![cfg(feature = "client")]

mod support;

use practice_studio::client::Client;
use support::{integration, FaultProxy, TestServer};

#[tokio::test]
async fn http_proxy_from_the_environment_is_used_unless_turned_off() {
    let api = TestServer::demo(5).await;
    let proxy = FaultProxy::start(&api.url()).await;
    // Set before any client of this process is built; nothing else runs in this binary.
    std::env::set_var("HTTP_PROXY", proxy.url());
    std::env::remove_var("NO_PROXY");
    std::env::remove_var("no_proxy");

    let through_env = Client::builder(api.url())
        .clock(api.clock.clone())
        .auth(integration("premium"))
        .build()
        .expect("client");
    through_env.me().await.expect("through the proxy");
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].absolute, "sent in proxy form");

    let direct = api.client(integration("premium"));
    direct.me().await.expect("direct");
    assert_eq!(proxy.seen().len(), 1, "no_proxy() ignores the environment");
}
