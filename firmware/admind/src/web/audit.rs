//! The audit log page: each service's chain — the panel's own, the settings service's
//! (requests to it), the settings store's (every version, from the panel or the `mamori
//! settings` command), the relay's and the firewall's — with its verification state (intact, or where it breaks)
//! and its latest records. Open to every role (auditors read it). Administrators set there
//! how long the records are kept (`general.audit_retention`, `general.audit_max_mib`).

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Extension, Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use mamori_panel::i18n::fill;
use mamori_panel::session::Session;
use mamori_panel::users::Role;
use serde::Deserialize;
use serde_json::Value;

use super::{Chrome, ask, checked, csrf_form, or_answer, render, render_status, require};
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

/// The retention as the form shows it (administrators only).
struct Keep {
    /// Whole days (0: no age limit).
    days: String,
    /// MiB per chain.
    mib: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    c: Chrome,
    chains: Vec<Chain>,
    keep: Option<Keep>,
    keep_error: Option<String>,
    ask_password: bool,
    done: Option<String>,
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

/// `?done=retention`.
#[derive(Deserialize, Default)]
pub(crate) struct PageQuery {
    #[serde(default)]
    done: String,
}

pub(crate) async fn page(
    State(panel): State<Arc<Panel>>,
    headers: HeaderMap,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Response {
    let (_, s) = or_answer!(require(&panel, &headers, Role::Auditor));
    let mut p = audit_page(&panel, &s).await;
    if query.is_ok_and(|Query(q)| q.done == "retention") {
        p.done = Some(p.c.t.audit_keep_saved.into());
    }
    render(&p)
}

/// The retention in force, as `(days, MiB)`, from the settings' `general` section.
fn keep_in_force(general: &Value) -> (u64, u64) {
    let days = super::json::whole_days(&general["audit_retention"]);
    (days, general["audit_max_mib"].as_u64().unwrap_or(0))
}

async fn audit_page(panel: &Panel, s: &Session) -> AuditPage {
    let c = Chrome::new(Some(s), s.lang, |t| t.audit_title);
    let keep = if s.role == Role::Administrator {
        super::apply::settings_section(panel, s, "general")
            .await
            .ok()
            .map(|general| {
                let (days, mib) = keep_in_force(&general);
                Keep {
                    days: days.to_string(),
                    mib: mib.to_string(),
                }
            })
    } else {
        None
    };
    let request = serde_json::json!({"op": "audit_log", "limit": SHOWN});
    let store_request = serde_json::json!({"op": "store_audit_log", "limit": SHOWN});
    let (admind, settingsd, store, smtpd, firewalld, updated) = tokio::join!(
        own(panel),
        ask(&panel.sockets.settings, s, request.clone()),
        ask(&panel.sockets.settings, s, store_request),
        ask(&panel.sockets.smtpd, s, request.clone()),
        ask(&panel.sockets.firewalld, s, request.clone()),
        ask(&panel.sockets.updated, s, request),
    );
    let chains = vec![
        chain(&c, "admind", admind),
        chain(&c, "settingsd", settingsd),
        chain(&c, "settings", store),
        chain(&c, "smtpd", smtpd),
        chain(&c, "firewalld", firewalld),
        chain(&c, "updated", updated),
    ];
    AuditPage {
        c,
        chains,
        keep,
        keep_error: None,
        ask_password: !s.recently_authenticated(mamori_core::clock::unix_now()),
        done: None,
    }
}

#[derive(Deserialize)]
pub(crate) struct KeepForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    days: String,
    mib: String,
    #[serde(default)]
    current: String,
}

csrf_form!(KeepForm);

/// How long audit records are kept, and how much space each chain may take
/// (administrators; keeping less needs the password again: it erases evidence).
pub(crate) async fn retention(
    State(panel): State<Arc<Panel>>,
    Extension(peer): Extension<super::Peer>,
    headers: HeaderMap,
    form: Result<Form<KeepForm>, FormRejection>,
) -> Response {
    let (id, s) = or_answer!(require(&panel, &headers, Role::Administrator));
    let f = or_answer!(checked(&s, form));
    let mut p = audit_page(&panel, &s).await;
    let t = p.c.t;
    let before = p
        .keep
        .as_ref()
        .map(|k| (k.days.parse().unwrap_or(0), k.mib.parse().unwrap_or(0)));
    p.keep = Some(Keep {
        days: f.days.trim().to_string(),
        mib: f.mib.trim().to_string(),
    });
    let days =
        f.days.trim().parse::<u64>().ok().filter(|d| {
            *d == 0 || (mamori_core::general::MIN_AUDIT_RETENTION_DAYS..=3650).contains(d)
        });
    let mib = f
        .mib
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|m| (16..=65_536).contains(m));
    let (Some(days), Some(mib)) = (days, mib) else {
        p.keep_error = Some(t.audit_keep_bad.into());
        return render_status(StatusCode::BAD_REQUEST, &p);
    };
    let Some((days_before, mib_before)) = before else {
        p.keep_error = Some(fill(t.not_saved, "the settings service did not answer"));
        return render_status(StatusCode::SERVICE_UNAVAILABLE, &p);
    };
    // Keeping records for less time or in less space erases them: the password again.
    let fewer_days = days != 0 && (days_before == 0 || days < days_before);
    if (fewer_days || mib < mib_before)
        && let Err(why) = super::reauthenticate(
            &panel,
            &id,
            &s,
            &f.current,
            super::source(&peer),
            "audit retention",
            false,
        )
        .await
    {
        p.keep_error = Some(why);
        return render_status(StatusCode::FORBIDDEN, &p);
    }
    let value = super::json::days_setting(days);
    let set = vec![
        (
            "general.audit_retention".to_string(),
            Value::String(value.clone()),
        ),
        ("general.audit_max_mib".to_string(), Value::from(mib)),
    ];
    let subject = format!("{value}, {mib} MiB");
    let result = super::apply::audited_change(
        &panel,
        &s,
        super::source(&peer),
        ("panel_audit_retention", &subject),
        set,
        Vec::new(),
    )
    .await;
    if result.is_ok() {
        // The panel's own chain at once (the relay's with the new version; the settings
        // service's when it writes it; the firewall's when it next reads its settings).
        let retention = mamori_core::audit::Retention {
            max_age_secs: days * 86_400,
            max_bytes: mib << 20,
        };
        let audit = panel.audit.clone();
        let applied = tokio::task::spawn_blocking(move || audit.set_retention(retention)).await;
        if !matches!(applied, Ok(Ok(_))) {
            tracing::error!("the panel's audit retention could not be applied");
        }
    }
    let at: super::apply::ReasonAt<AuditPage> = |p| &mut p.keep_error;
    super::apply::answer(result, "/system/audit?done=retention", t, p, (at, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retention_reads_as_whole_days_and_mib() {
        let general = serde_json::json!({"audit_retention": "1year 1month 4days 6h 32m 54s", "audit_max_mib": 256});
        let (days, mib) = keep_in_force(&general);
        assert_eq!(mib, 256);
        // humantime writes 400 days back like this; whole days are kept.
        assert!((399..=401).contains(&days), "{days}");
        assert_eq!(
            keep_in_force(&serde_json::json!({"audit_retention": "0s"})),
            (0, 0)
        );
    }
}
