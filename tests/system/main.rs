//! System tests: the real `mamori` binary between real SMTP clients (swaks, Python's
//! smtplib, raw sockets) and Postfix's real `smtp-sink`. Each test names the threat or
//! promise it proves.

// Test harness code outside #[test] functions: a failed set-up should fail the test loudly.
#![allow(clippy::unwrap_used)]

mod acme;
mod boot;
mod browser;
mod browser_firewall;
mod cli_setup;
mod common;
mod config_check;
mod control;
mod crash;
mod delivery;
mod dlp;
mod encrypt;
mod firewall;
mod firewall_packets;
mod http_client;
mod links;
mod live_settings;
mod misdelivery;
mod mx;
mod my_number;
mod netns;
mod pacing;
mod panel;
mod panel_accounts;
mod panel_audit_keep;
mod panel_box;
mod panel_delivery;
mod panel_dlp;
mod panel_encrypt;
mod panel_firewall;
mod panel_fw_edit;
mod panel_hold;
mod panel_link_mode;
mod panel_links;
mod panel_logs;
mod panel_mail;
mod panel_misdelivery;
mod panel_reauth;
mod panel_system;
mod panel_time;
mod panel_update;
mod queue;
mod relay;
mod settings;
mod side_doors;
mod update;
