//! The setup wizard's checks and what it writes: the office's domains, the LAN subnet
//! (the relay's trusted networks), the outgoing route (by default the provider's
//! submission port with its credentials, because most Japanese providers block outbound
//! port 25 — OP25B) and the staff's relay accounts, gathered as a draft and written as
//! one settings version at the end. Each check answers a [`Problem`] the panel shows next
//! to the field in the user's language.

use ipnet::IpNet;
use mamori_core::password::PasswordProblem;
use mamori_core::values::Domain;
use serde::Serialize;

/// The most office domains, accounts and characters a field takes.
pub const MAX_DOMAINS: usize = 20;
/// The most relay accounts the wizard makes.
pub const MAX_ACCOUNTS: usize = 200;

/// What is wrong with a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A required field is empty.
    Required,
    /// Not a domain name (the value).
    NotADomain(String),
    /// More than [`MAX_DOMAINS`].
    TooManyDomains,
    /// Not a subnet such as 192.168.1.0/24.
    NotASubnet,
    /// A subnet that is public or too wide for an office LAN.
    NotAPrivateSubnet,
    /// Not a host name or address.
    NotAHost,
    /// Not a port number.
    NotAPort,
    /// Not an e-mail address of an office domain.
    NotAnOfficeAddress,
    /// An account of that name is already in the draft.
    DuplicateAccount,
    /// Too many accounts.
    TooManyAccounts,
    /// The two passwords differ.
    PasswordsDiffer,
    /// The password breaks the policy.
    Password(PasswordProblem),
}

/// The outgoing route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Route {
    /// The provider's submission server with AUTH (the default).
    Provider {
        /// Its host.
        host: String,
        /// Its port (587 STARTTLS or 465 implicit TLS).
        port: u16,
        /// The login.
        username: String,
        /// The password (kept only in the draft, then in the settings service's secret file).
        #[serde(skip)]
        password: String,
    },
    /// Straight to each domain's MX on port 25 (only where the provider allows it).
    Direct,
}

/// One relay account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    /// The login, an address of an office domain.
    pub username: String,
    /// Its Argon2id hash.
    pub password_hash: String,
}

/// What the wizard has gathered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Draft {
    /// The office's own domains.
    pub domains: Vec<String>,
    /// The LAN subnet.
    pub lan: Option<String>,
    /// The outgoing route.
    pub route: Option<Route>,
    /// Relay accounts.
    pub accounts: Vec<Account>,
}

/// Parses the domains field: one a line (or separated by spaces or commas).
pub fn domains(text: &str) -> Result<Vec<String>, Problem> {
    let mut out: Vec<String> = Vec::new();
    for word in text.split(|c: char| c.is_whitespace() || c == ',' || c == '、') {
        let word = word.trim().trim_start_matches('@');
        if word.is_empty() {
            continue;
        }
        let d: Domain = word
            .parse()
            .map_err(|_| Problem::NotADomain(word.chars().take(80).collect()))?;
        if !d.as_str().contains('.') {
            return Err(Problem::NotADomain(word.chars().take(80).collect()));
        }
        if !out.iter().any(|o| o == d.as_str()) {
            out.push(d.as_str().to_string());
        }
        if out.len() > MAX_DOMAINS {
            return Err(Problem::TooManyDomains);
        }
    }
    if out.is_empty() {
        return Err(Problem::Required);
    }
    Ok(out)
}

/// Parses the LAN subnet: a private IPv4 network of /8 to /30, or an IPv6 ULA /48 to /64;
/// a host address with a prefix is taken as its network (`192.168.1.10/24`).
pub fn lan(text: &str) -> Result<IpNet, Problem> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Problem::Required);
    }
    let net: IpNet = text.parse().map_err(|_| Problem::NotASubnet)?;
    let net = net.trunc();
    let ok = match net {
        IpNet::V4(n) => n.addr().is_private() && (8..=30).contains(&n.prefix_len()),
        IpNet::V6(n) => {
            (n.addr().segments()[0] & 0xfe00) == 0xfc00 && (48..=64).contains(&n.prefix_len())
        }
    };
    if ok {
        Ok(net)
    } else {
        Err(Problem::NotAPrivateSubnet)
    }
}

/// Checks a host name or address.
pub fn host(text: &str) -> Result<String, Problem> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Problem::Required);
    }
    if text.parse::<std::net::IpAddr>().is_ok() {
        return Ok(text.to_string());
    }
    let d: Domain = text.parse().map_err(|_| Problem::NotAHost)?;
    Ok(d.as_str().to_string())
}

/// Checks a port.
pub fn port(text: &str) -> Result<u16, Problem> {
    match text.trim().parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(Problem::NotAPort),
    }
}

/// Checks a new relay account: an address of one of `domains`, not already in `draft`,
/// with a password under the policy typed twice alike.
pub fn account(
    draft: &Draft,
    username: &str,
    password: &str,
    again: &str,
) -> Result<(String, String), Problem> {
    let existing: Vec<&str> = draft.accounts.iter().map(|a| a.username.as_str()).collect();
    new_account(&draft.domains, &existing, username, password, again)
}

/// Checks a new relay account against the office's `domains` and the `existing` account
/// names: an address of an office domain, new, at most [`MAX_ACCOUNTS`] in all, with a
/// password under the policy typed twice alike. Returns the name as kept (lower case).
pub fn new_account(
    domains: &[String],
    existing: &[&str],
    username: &str,
    password: &str,
    again: &str,
) -> Result<(String, String), Problem> {
    let username = username.trim().to_lowercase();
    if !is_office_address(domains, &username) {
        return Err(Problem::NotAnOfficeAddress);
    }
    if existing.contains(&username.as_str()) {
        return Err(Problem::DuplicateAccount);
    }
    if existing.len() >= MAX_ACCOUNTS {
        return Err(Problem::TooManyAccounts);
    }
    if password != again {
        return Err(Problem::PasswordsDiffer);
    }
    mamori_core::password::check(password, &[&username]).map_err(Problem::Password)?;
    Ok((username, password.to_string()))
}

/// Whether `address` (lower case) is a plain address of one of the office's `domains`.
pub fn is_office_address(domains: &[String], address: &str) -> bool {
    address.rsplit_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && local.len() <= 64
            && !local.contains(|c: char| c.is_whitespace() || c.is_control() || c == '"')
            && domains.iter().any(|d| d == domain)
    })
}

/// What the draft changes in the settings: the keys it sets (key and JSON value) and the
/// keys it removes. `password_file` is where the settings service keeps the provider's
/// password; `existing_accounts` are the relay accounts in force, which the wizard's new
/// ones join (an account of the same name is replaced).
pub fn settings(
    draft: &Draft,
    password_file: Option<&str>,
    existing_accounts: &[serde_json::Value],
) -> (Vec<(String, serde_json::Value)>, Vec<String>) {
    let mut set = vec![(
        "smtp.office_domains".to_string(),
        serde_json::json!(draft.domains),
    )];
    let mut unset = Vec::new();
    if let Some(lan) = &draft.lan {
        set.push((
            "smtp.trusted_networks".into(),
            serde_json::json!([lan, "127.0.0.0/8", "::1/128"]),
        ));
    }
    match &draft.route {
        Some(Route::Provider {
            host,
            port,
            username,
            ..
        }) => {
            let mut smarthost = serde_json::json!({
                "host": host,
                "port": port,
                "implicit_tls": *port == 465,
                "tls": "required",
            });
            if !username.is_empty() {
                smarthost["username"] = username.as_str().into();
            }
            if let Some(file) = password_file {
                smarthost["password_file"] = file.into();
            }
            set.push(("smtp.delivery.smarthost".into(), smarthost));
        }
        // Straight to each domain's MX: a provider's server set before goes.
        Some(Route::Direct) => unset.push("smtp.delivery.smarthost".into()),
        None => {}
    }
    if !draft.accounts.is_empty() {
        let mut accounts: Vec<serde_json::Value> = existing_accounts
            .iter()
            .filter(|a| {
                !draft
                    .accounts
                    .iter()
                    .any(|d| a["username"].as_str() == Some(d.username.as_str()))
            })
            .cloned()
            .collect();
        accounts.extend(draft.accounts.iter().map(|a| {
            serde_json::json!({"username": a.username, "password_hash": a.password_hash, "senders": [a.username]})
        }));
        set.push(("smtp.accounts".into(), serde_json::Value::Array(accounts)));
    }
    (set, unset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_as_people_type_them() {
        assert_eq!(
            domains("office.example.jp\n@Branch.Example.JP, office.example.jp").unwrap(),
            vec!["office.example.jp", "branch.example.jp"]
        );
        assert_eq!(domains("  \n"), Err(Problem::Required));
        assert!(matches!(domains("localhost"), Err(Problem::NotADomain(_))));
        assert!(matches!(
            domains("exa mple.jp;rm"),
            Err(Problem::NotADomain(_))
        ));
        let many: String = (0..30).map(|i| format!("d{i}.example.jp ")).collect();
        assert_eq!(domains(&many), Err(Problem::TooManyDomains));
    }

    #[test]
    fn the_lan_is_a_private_subnet() {
        assert_eq!(
            lan("192.168.1.10/24").unwrap().to_string(),
            "192.168.1.0/24"
        );
        assert_eq!(lan("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(
            lan("fd12:3456:789a::/64").unwrap().to_string(),
            "fd12:3456:789a::/64"
        );
        assert_eq!(lan("0.0.0.0/0"), Err(Problem::NotAPrivateSubnet));
        assert_eq!(lan("203.0.113.0/24"), Err(Problem::NotAPrivateSubnet));
        assert_eq!(lan("192.168.1.1/32"), Err(Problem::NotAPrivateSubnet));
        assert_eq!(lan("192.168.1.0"), Err(Problem::NotASubnet));
        assert_eq!(lan(""), Err(Problem::Required));
    }

    #[test]
    fn accounts_are_office_addresses_with_good_passwords() {
        let draft = Draft {
            domains: vec!["office.example.jp".into()],
            ..Draft::default()
        };
        let ok = account(
            &draft,
            "Tanaka@office.example.jp",
            "yama-kawa-umi-sora",
            "yama-kawa-umi-sora",
        );
        assert_eq!(ok.unwrap().0, "tanaka@office.example.jp");
        assert_eq!(
            account(
                &draft,
                "tanaka@gmail.com",
                "yama-kawa-umi-sora",
                "yama-kawa-umi-sora"
            ),
            Err(Problem::NotAnOfficeAddress)
        );
        assert_eq!(
            account(
                &draft,
                "tanaka@office.example.jp",
                "yama-kawa-umi-sora",
                "yama-kawa-umi-sorA"
            ),
            Err(Problem::PasswordsDiffer)
        );
        assert_eq!(
            account(
                &draft,
                "tanaka@office.example.jp",
                "password1234",
                "password1234"
            ),
            Err(Problem::Password(PasswordProblem::Common))
        );
    }

    #[test]
    fn the_draft_becomes_settings_keys() {
        let draft = Draft {
            domains: vec!["office.example.jp".into()],
            lan: Some("192.168.1.0/24".into()),
            route: Some(Route::Provider {
                host: "smtp.isp.example.jp".into(),
                port: 587,
                username: "u123".into(),
                password: "secret".into(),
            }),
            accounts: vec![Account {
                username: "tanaka@office.example.jp".into(),
                password_hash: "$argon2id$x".into(),
            }],
        };
        let existing = [
            serde_json::json!({"username": "sato@office.example.jp", "password_hash": "$argon2id$s"}),
            serde_json::json!({"username": "tanaka@office.example.jp", "password_hash": "$argon2id$old"}),
        ];
        let (keys, unset) = settings(
            &draft,
            Some("/var/lib/mamori/settings/secrets/smarthost"),
            &existing,
        );
        assert!(unset.is_empty());
        let json = serde_json::to_string(&keys).unwrap();
        assert!(
            !json.contains("secret\""),
            "the password itself is in no setting: {json}"
        );
        assert!(!json.contains("null"), "TOML has no null: {json}");
        assert_eq!(keys[1].1[0], "192.168.1.0/24");
        assert_eq!(
            keys[2].1["password_file"],
            "/var/lib/mamori/settings/secrets/smarthost"
        );
        // The accounts in force stay; one of the same name is replaced.
        let accounts = keys[3].1.as_array().unwrap();
        assert_eq!(accounts.len(), 2);
        assert_eq!(accounts[0]["username"], "sato@office.example.jp");
        assert_eq!(accounts[1]["password_hash"], "$argon2id$x");
        assert_eq!(accounts[1]["senders"][0], "tanaka@office.example.jp");
        // Without a password or login, those keys are left out, not null.
        let mut bare = draft.clone();
        bare.route = Some(Route::Provider {
            host: "smtp.isp.example.jp".into(),
            port: 25,
            username: String::new(),
            password: String::new(),
        });
        let (keys, _) = settings(&bare, None, &[]);
        assert!(!serde_json::to_string(&keys).unwrap().contains("null"));
        assert!(keys[2].1.get("username").is_none());
        // A direct route removes a provider's server set before.
        bare.route = Some(Route::Direct);
        let (keys, unset) = settings(&bare, None, &[]);
        assert_eq!(unset, vec!["smtp.delivery.smarthost".to_string()]);
        assert!(keys.iter().all(|(k, _)| k != "smtp.delivery.smarthost"));
    }
}
