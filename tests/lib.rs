//! # frontdesk-tests
//!
//! No code of its own: this package holds the tests that span crates (the architecture rules of
//! `shared/DESIGN.md` read from `cargo metadata`, and cross-crate flows). The browser and
//! real-window end-to-end suites live beside it in `tests/e2e/` (Node: Playwright, WebdriverIO).
