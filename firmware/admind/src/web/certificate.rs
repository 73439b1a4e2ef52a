//! The panel's certificate: what is served (fingerprint, end, where it comes from) for
//! every role; for administrators, after the password again, an uploaded chain and key —
//! checked (PEM, key and certificate belong together, valid for more than a day), kept
//! under the panel's TLS directory, and served from the next connection on — or back to
//! the self-signed one. The audit log records each change, with the new fingerprint,
//! before it takes effect.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Extension, Form, Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use mamori_panel::i18n::fill;
use mamori_panel::session::Session;
use mamori_panel::users::Role;
use serde::Deserialize;

use super::{Chrome, Peer, checked, csrf_form, or_answer, render, render_status, require, source};
use crate::state::{Panel, lock};
use crate::tls;

/// The largest upload: a chain and a key are a few kilobytes.
pub const MAX_CERT_BODY: usize = 256 << 10;

#[derive(Template)]
#[template(path = "certificate.html")]
struct CertificatePage {
    c: Chrome,
    admin: bool,
    ask_password: bool,
    fingerprint: String,
    not_after: String,
    origin: &'static str,
    uploaded: bool,
    from_config: bool,
    done: Option<String>,
    error: Option<String>,
}

fn page(panel: &Panel, s: &Session) -> CertificatePage {
    let c = Chrome::new(Some(s), s.lang, |t| t.cert_title);
    let t = c.t;
    let cert = panel.cert.read().unwrap_or_else(|p| p.into_inner()).clone();
    let uploaded = !panel.cert_from_config && tls::uploaded_paths(&panel.tls_dir).0.exists();
    let now = mamori_core::clock::unix_now();
    CertificatePage {
        admin: s.role == Role::Administrator,
        ask_password: !s.recently_authenticated(now),
        fingerprint: cert.fingerprint,
        not_after: cert.not_after,
        origin: if panel.cert_from_config {
            t.cert_from_config
        } else if uploaded {
            t.cert_uploaded
        } else {
            t.cert_self_signed
        },
        uploaded,
        from_config: panel.cert_from_config,
        done: None,
        error: None,
        c,
    }
}

pub(crate) async fn show(State(panel): State<Arc<Panel>>, headers: HeaderMap) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Auditor));
    render(&page(&panel, &s))
}

/// Puts `cert` and `config` in force: recorded first (`event`), then `keep` (the files for
/// the next start), then served from the next connection on.
fn swap(
    panel: &Panel,
    s: &Session,
    peer: &Peer,
    event: &str,
    (cert, config): (tls::PanelCert, Arc<rustls::ServerConfig>),
    keep: impl FnOnce() -> Result<(), String>,
) -> Result<String, String> {
    panel
        .audit
        .record(
            event,
            serde_json::json!({"by": s.user, "source": source(peer).to_string(),
                "fingerprint": cert.fingerprint, "not_after": cert.not_after}),
        )
        .map_err(|e| format!("the audit log cannot be written: {e}"))?;
    keep()?;
    if let Some(live) = panel.live_tls.get() {
        *live.write().unwrap_or_else(|p| p.into_inner()) = config;
    }
    let fingerprint = cert.fingerprint.clone();
    *panel.cert.write().unwrap_or_else(|p| p.into_inner()) = cert;
    *lock(&panel.dashboard_cache) = None;
    tracing::warn!(%fingerprint, by = %s.user, "the panel's certificate was replaced");
    Ok(fingerprint)
}

pub(crate) async fn upload(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let t = s.lang.texts();
    let Ok(form) = super::upload::read(multipart).await else {
        let mut p = page(&panel, &s);
        p.error = Some(t.cert_too_big.into());
        return render_status(StatusCode::PAYLOAD_TOO_LARGE, &p);
    };
    if !super::csrf_ok(&s, &form.text("_csrf")) {
        return super::csrf_refused(s.lang);
    }
    let mut p = page(&panel, &s);
    if panel.cert_from_config {
        p.error = Some(t.cert_config_fixed.into());
        return render_status(StatusCode::CONFLICT, &p);
    }
    let reauth = super::reauthenticate(
        &panel,
        &id,
        &s,
        &form.text("current"),
        source(&peer),
        "certificate upload",
        false,
    )
    .await;
    if let Err(why) = reauth {
        p.error = Some(why);
        return render_status(StatusCode::FORBIDDEN, &p);
    }
    let (Some(chain), Some(key)) = (form.file("cert"), form.file("key")) else {
        p.error = Some(t.cert_both_needed.into());
        return render_status(StatusCode::BAD_REQUEST, &p);
    };
    let pair = match tls::check_upload(&chain.bytes, &key.bytes) {
        Ok(pair) => pair,
        Err(e) => {
            p.error = Some(fill(t.cert_refused, e));
            return render_status(StatusCode::BAD_REQUEST, &p);
        }
    };
    // Recorded, then kept for the next start, then served.
    let keep =
        || tls::keep_upload(&panel.tls_dir, &chain.bytes, &key.bytes).map_err(|e| e.to_string());
    match swap(&panel, &s, &peer, "panel_certificate_uploaded", pair, keep) {
        Ok(fingerprint) => {
            let mut p = page(&panel, &s);
            p.done = Some(fill(t.cert_done, fingerprint));
            render(&p)
        }
        Err(why) => {
            p.error = Some(why);
            render_status(StatusCode::INTERNAL_SERVER_ERROR, &p)
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct SelfSignedForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    current: String,
}

/// Back to the self-signed certificate (the uploaded pair is removed).
pub(crate) async fn self_signed(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<SelfSignedForm>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let t = s.lang.texts();
    let mut p = page(&panel, &s);
    if panel.cert_from_config {
        p.error = Some(t.cert_config_fixed.into());
        return render_status(StatusCode::CONFLICT, &p);
    }
    let reauth = super::reauthenticate(
        &panel,
        &id,
        &s,
        &f.current,
        source(&peer),
        "certificate change",
        false,
    )
    .await;
    if let Err(why) = reauth {
        p.error = Some(why);
        return render_status(StatusCode::FORBIDDEN, &p);
    }
    let names = vec![panel.hostname.clone(), "localhost".to_string()];
    let made = tls::load_or_make(None, &panel.tls_dir, &names);
    let pair = match made {
        Ok(pair) => pair,
        Err(e) => {
            p.error = Some(fill(t.cert_refused, e));
            return render_status(StatusCode::INTERNAL_SERVER_ERROR, &p);
        }
    };
    match swap(
        &panel,
        &s,
        &peer,
        "panel_certificate_self_signed",
        pair,
        || Ok(()),
    ) {
        Ok(fingerprint) => {
            let (cert, key) = tls::uploaded_paths(&panel.tls_dir);
            for path in [cert, key] {
                if let Err(e) = std::fs::remove_file(&path)
                    && e.kind() != std::io::ErrorKind::NotFound
                {
                    tracing::error!(path = %path.display(), error = %e, "removing the uploaded certificate failed");
                }
            }
            let mut p = page(&panel, &s);
            p.done = Some(fill(t.cert_done, fingerprint));
            render(&p)
        }
        Err(why) => {
            p.error = Some(why);
            render_status(StatusCode::INTERNAL_SERVER_ERROR, &p)
        }
    }
}

csrf_form!(SelfSignedForm);
