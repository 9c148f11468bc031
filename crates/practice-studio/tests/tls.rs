//! TLS through rustls: a server whose certificate is signed by a clinic's own CA (as a
//! TLS-inspecting firewall's is) is trusted only when that CA is given as an extra CA.

#![cfg(feature = "client")]

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use practice_studio::client::{Client, Error, RetryPolicy};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A test-only CA and a server certificate for `127.0.0.1` signed by it (made with openssl;
/// the key protects nothing but this test).
const CA: &[u8] = include_bytes!("fixtures/test-ca.pem");
const SERVER_CERT: &[u8] = include_bytes!("fixtures/test-server.pem");
const SERVER_KEY: &[u8] = include_bytes!("fixtures/test-server.key");

/// An HTTPS server on loopback answering `/health` like the API.
async fn https_health_server() -> String {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(SERVER_CERT)
        .collect::<Result<_, _>>()
        .expect("certificate");
    let key = PrivateKeyDer::from_pem_slice(SERVER_KEY).expect("key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("https://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake: not an error here.
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let service = service_fn(|_request| async {
                    let body =
                        r#"{"status":"ok","version":"tls-test","demo":true,"today":"2026-11-23"}"#;
                    Ok::<_, std::convert::Infallible>(
                        hyper::Response::builder()
                            .header("content-type", "application/json")
                            .body(Full::new(Bytes::from_static(body.as_bytes())))
                            .expect("response"),
                    )
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    url
}

#[tokio::test]
async fn a_server_signed_by_an_extra_ca_is_trusted_only_with_that_ca() {
    let url = https_health_server().await;
    let trusting = Client::builder(&url)
        .no_proxy()
        .extra_ca_pem(CA)
        .build()
        .expect("client");
    let health = trusting
        .health()
        .await
        .expect("trusted through the extra CA");
    assert_eq!(health.version, "tls-test");

    let from_file = Client::builder(&url)
        .no_proxy()
        .extra_ca_file(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/test-ca.pem"
        ))
        .build()
        .expect("client");
    assert!(from_file.health().await.is_ok());

    let platform_roots_only = Client::builder(&url)
        .no_proxy()
        .retry(RetryPolicy::never())
        .build()
        .expect("client");
    let refused = platform_roots_only
        .health()
        .await
        .expect_err("unknown issuer");
    assert!(matches!(refused, Error::Network(_)), "{refused:?}");
}
