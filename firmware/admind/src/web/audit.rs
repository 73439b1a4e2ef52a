//! The audit log page: each service's chain — the panel's own, the settings service's
//! (requests to it), the settings store's (every version, from the panel or the `mamori
//! settings` command), the relay's and the firewall's — with its verification state (intact, or where it breaks)
//! and its latest records. Open to every role (auditors read it).

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use mamori_panel::i18n::fill;
use mamori_panel::users::Role;

use super::{Chrome, ask, or_answer, render, require};
use crate::state::Panel;

/// How many records of each chain the page shows.
const SHOWN: usize = 50;

/// One record, as shown.
struct Record {
    time: String,
    event: String,
    by: String,
    details: String,
}

/// One service's chain.
struct Chain {
    daemon: &'static str,
    intact: bool,
    status: String,
    records: Vec<Record>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    c: Chrome,
    chains: Vec<Chain>,
}

fn record(v: &serde_json::Value) -> Record {
    let text = |k: &str| v[k].as_str().unwrap_or("").to_string();
    let mut rest = v.as_object().cloned().unwrap_or_default();
    for k in ["seq", "time", "event", "prev", "by"] {
        rest.remove(k);
    }
    let mut details = serde_json::Value::Object(rest).to_string();
    if details.chars().count() > 300 {
        details = details.chars().take(300).collect::<String>() + "…";
    }
    Record {
        time: text("time"),
        event: text("event"),
        by: text("by"),
        details,
    }
}

fn chain(c: &Chrome, daemon: &'static str, answer: Result<serde_json::Value, String>) -> Chain {
    match answer {
        Ok(data) => {
            let intact = data["chain"]["intact"] == true;
            let status = if intact {
                fill(
                    c.t.chain_intact,
                    data["chain"]["records"].as_u64().unwrap_or(0),
                )
            } else {
                fill(
                    c.t.chain_broken,
                    data["chain"]["error"].as_str().unwrap_or("?"),
                )
            };
            let records = data["recent"]
                .as_array()
                .map(|a| a.iter().map(record).collect())
                .unwrap_or_default();
            Chain {
                daemon,
                intact,
                status,
                records,
            }
        }
        Err(why) => Chain {
            daemon,
            intact: false,
            status: fill(c.t.chain_unreachable, why),
            records: Vec::new(),
        },
    }
}

/// The panel's own chain, read here.
async fn own(panel: &Panel) -> Result<serde_json::Value, String> {
    let audit = panel.audit.clone();
    tokio::task::spawn_blocking(move || {
        mamori_core::audit::summary(&audit, SHOWN).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

pub(crate) async fn page(State(panel): State<Arc<Panel>>, headers: HeaderMap) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Auditor));
    let c = Chrome::new(Some(&s), s.lang, |t| t.audit_title);
    let request = serde_json::json!({"op": "audit_log", "limit": SHOWN});
    let store_request = serde_json::json!({"op": "store_audit_log", "limit": SHOWN});
    let (admind, settingsd, store, smtpd, firewalld) = tokio::join!(
        own(&panel),
        ask(&panel.sockets.settings, &s, request.clone()),
        ask(&panel.sockets.settings, &s, store_request),
        ask(&panel.sockets.smtpd, &s, request.clone()),
        ask(&panel.sockets.firewalld, &s, request),
    );
    let chains = vec![
        chain(&c, "admind", admind),
        chain(&c, "settingsd", settingsd),
        chain(&c, "settings", store),
        chain(&c, "smtpd", smtpd),
        chain(&c, "firewalld", firewalld),
    ];
    render(&AuditPage { c, chains })
}
