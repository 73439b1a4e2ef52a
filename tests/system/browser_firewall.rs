//! The panel's firewall page in a real browser, with real packets: headless Chromium drives
//! `mamori admind` while `mamori firewalld` runs in the gateway of three network namespaces
//! (see `firewall_packets.rs`). An office manager opens a port from the Internet to a LAN
//! server and confirms it on the countdown page: the WAN host's connections reach the server,
//! and still do past the probation. Then the manager removes the rule and walks away without
//! confirming: the port closes at once, and when the probation runs out the rule is back by
//! itself — in the packets, on the pages, and in the settings history. Screenshots of each
//! step are kept in the test's output directory (`target/tmp/screenshots/`).

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};

use crate::browser::{Driver, click, fill, log_in, path, shot, text, wait_path, wait_text};
use crate::common::wait_for;
use crate::firewall_packets::{
    FAIL_WAIT, GW_WAN, LAN_HOST, OK_WAIT, Outcome, Server, Topology, WAN_HOST, ZONES, tcp,
};
use crate::netns::Firewalld;
use crate::panel_box::create_admin;
use crate::panel_firewall::FirewallPanel;

const ADMIN_PW: &str = "hanabi-to-yukata-2026";
/// The probation the panel asks of firewalld (`admin.firewall_confirm_secs`).
const PROBATION: Duration = Duration::from_secs(10);
/// The LAN server's port the rule opens to the Internet.
const PORT: u16 = 8443;
const RULE: &str = "web-in";

/// Chooses `value` in the `<select id=id>`.
async fn choose(c: &Client, id: &str, value: &str) {
    c.find(Locator::Id(id))
        .await
        .unwrap_or_else(|_| panic!("no #{id}"))
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("no option {value:?} in #{id}: {e}"));
}

/// Fills the password field matched by `css` if the page asks for the password again.
async fn password_if_asked(c: &Client, css: &str) {
    if let Ok(e) = c.find(Locator::Css(css)).await {
        e.send_keys(ADMIN_PW).await.unwrap();
    }
}

/// Whether `#id` is on the page.
async fn present(c: &Client, id: &str) -> bool {
    c.find(Locator::Id(id)).await.is_ok()
}

#[test]
fn browser_firewall_change_confirmed_and_one_left_to_roll_back() {
    let Some(t) = Topology::new("bfw") else {
        return;
    };
    let fw = Firewalld::start_with_settings(&t.gw, ZONES);
    let _lan = Server::start(&t.lan, "lan", &[&format!("tcp:{PORT}")]);
    // The WAN host gets a route to the LAN, so that only the firewall stands between.
    t.wan
        .sh(&format!("ip route add 192.168.77.0/24 via {GW_WAN}"));
    let panel = FirewallPanel::start(&fw, "firewall_confirm_secs = 10\n");
    let b = &panel.panel;
    create_admin(b, "tanaka", ADMIN_PW);
    let driver = Driver::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = b.base();
    let lan_sees_wan = format!("lan {WAN_HOST}");
    let from_wan = || tcp(&t.wan, LAN_HOST, PORT, OK_WAIT);
    let from_wan_briefly = || tcp(&t.wan, LAN_HOST, PORT, FAIL_WAIT);
    t.assert_dropped("WAN → LAN server before the rule", from_wan_briefly());

    rt.block_on(async {
        let c = driver.browser().await;
        log_in(&c, &base, "tanaka", ADMIN_PW).await;
        c.find(Locator::LinkText("ファイアウォール"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_path(&c, "/firewall").await;
        assert!(!present(&c, "error").await, "{}", c.source().await.unwrap());
        assert!(!present(&c, "pending").await, "nothing on probation yet");
        let zones = text(&c, "zones").await;
        assert!(zones.contains("eth1") && zones.contains("eth0"), "{zones}");
        assert!(
            !present(&c, &format!("rule-{RULE}")).await,
            "no such rule yet"
        );
        shot(&c, "20-firewall").await;

        // Step 1: open the LAN server's port to the Internet.
        fill(&c, "fw-name", RULE).await;
        choose(&c, "fw-direction", "forward").await;
        choose(&c, "fw-zone", "wan").await;
        choose(&c, "fw-dest-zone", "lan").await;
        choose(&c, "fw-protocol", "tcp").await;
        fill(&c, "fw-ports", &PORT.to_string()).await;
        choose(&c, "fw-action", "accept").await;
        password_if_asked(&c, "#fw-current").await;
        shot(&c, "21-firewall-rule-filled").await;
        click(&c, "add-rule").await;
        let applied = Instant::now();
        wait_path(&c, "/firewall/pending").await;
        // The countdown page: the seconds left, and the button.
        let left: u64 = text(&c, "countdown")
            .await
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("a number of seconds in #countdown"));
        assert!(
            (1..=PROBATION.as_secs()).contains(&left),
            "{left} s left of {PROBATION:?}"
        );
        assert!(present(&c, "confirm").await);
        shot(&c, "22-firewall-pending").await;
        // On probation it is in force already.
        t.assert_answer("WAN → LAN server on probation", from_wan(), &lan_sees_wan);
        assert!(
            applied.elapsed() < PROBATION - Duration::from_secs(2),
            "too slow to confirm in time: {:?}",
            applied.elapsed()
        );
        click(&c, "confirm").await;
        wait_path(&c, "/firewall").await;
        wait_text(&c, "done", "確定しました").await;
        assert!(
            present(&c, &format!("rule-{RULE}")).await,
            "{}",
            c.source().await.unwrap()
        );
        assert!(!present(&c, "pending").await, "confirmed, not pending");
        shot(&c, "23-firewall-confirmed").await;
        t.assert_answer("WAN → LAN server confirmed", from_wan(), &lan_sees_wan);

        // Past the probation the rule stays.
        let past = (applied + PROBATION + Duration::from_secs(3))
            .saturating_duration_since(Instant::now());
        tokio::time::sleep(past).await;
        t.assert_answer(
            "WAN → LAN server past the probation",
            from_wan(),
            &lan_sees_wan,
        );
        c.goto(&format!("{base}/firewall/pending")).await.unwrap();
        wait_path(&c, "/firewall/pending").await;
        assert!(present(&c, "no-pending").await, "nothing left to confirm");
        c.goto(&format!("{base}/firewall")).await.unwrap();
        wait_path(&c, "/firewall").await;
        assert!(!present(&c, "reverted").await, "nothing went back");
        let row = text(&c, &format!("rule-{RULE}")).await;
        assert!(
            row.contains("wan → lan") && row.contains(&PORT.to_string()) && row.contains("許可"),
            "{row}"
        );
        // The rule's packet counter (the eighth column) has seen the WAN host's connections.
        let packets = c
            .find(Locator::Css(&format!("#rule-{RULE} td:nth-child(8)")))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            packets.trim().parse::<u64>().is_ok_and(|n| n > 0),
            "packets {packets:?} in {row}"
        );
        shot(&c, "24-firewall-rule-stays").await;

        // Step 2: the rule removed, and the manager walks away without confirming.
        password_if_asked(&c, &format!("#rule-{RULE} input[name=current]")).await;
        click(&c, &format!("remove-rule-{RULE}")).await;
        let removed = Instant::now();
        wait_path(&c, "/firewall/pending").await;
        assert!(present(&c, "countdown").await && present(&c, "confirm").await);
        shot(&c, "25-firewall-removal-pending").await;
        t.assert_dropped(
            "WAN → LAN server with the rule removed on probation",
            from_wan_briefly(),
        );
        // The page left open counts down to the end and says the old rules are back; the
        // button can no longer be pressed.
        let mut seen = String::new();
        for _ in 0..250 {
            seen = text(&c, "countdown").await;
            if seen.contains("時間切れ") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            seen.contains("元の設定に戻りました"),
            "the countdown at {:?}: {seen:?}",
            removed.elapsed()
        );
        let button = c.find(Locator::Id("confirm")).await.unwrap();
        assert!(!button.is_enabled().await.unwrap(), "confirm still enabled");
        shot(&c, "26-firewall-countdown-expired").await;
        // And so it is: the port is open again by itself.
        let back = wait_for(Duration::from_secs(20), || {
            from_wan_briefly().outcome == Outcome::Answer(lan_sees_wan.clone())
        });
        assert!(
            back,
            "not rolled back {:?} after the removal\n{}\n--- firewalld log ---\n{}",
            removed.elapsed(),
            t.table(),
            fw.log()
        );
        eprintln!(
            "rolled back {:?} after the removal (probation {PROBATION:?})",
            removed.elapsed()
        );
        t.assert_answer(
            "WAN → LAN server after the roll-back",
            from_wan(),
            &lan_sees_wan,
        );

        // The pages, reloaded: nothing waits, the rule is listed again, and the settings
        // history says why it came back.
        c.refresh().await.unwrap();
        wait_path(&c, "/firewall/pending").await;
        assert!(
            present(&c, "no-pending").await,
            "{}",
            c.source().await.unwrap()
        );
        assert!(!present(&c, "confirm").await);
        shot(&c, "27-firewall-pending-reloaded").await;
        c.goto(&format!("{base}/firewall")).await.unwrap();
        wait_path(&c, "/firewall").await;
        let mut listed = false;
        for _ in 0..50 {
            if present(&c, &format!("rule-{RULE}")).await {
                listed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            c.refresh().await.unwrap();
        }
        assert!(
            listed,
            "the rule is not listed again in {}:\n{}",
            path(&c).await,
            c.source().await.unwrap()
        );
        assert!(!present(&c, "pending").await);
        assert!(!present(&c, "error").await);
        // The firewall page itself says the change went back, and when.
        let said = text(&c, "reverted").await;
        assert!(
            said.contains("時間内に確定されなかった") && said.contains("JST"),
            "{said}"
        );
        shot(&c, "28-firewall-rolled-back").await;
        c.goto(&format!("{base}/system/settings")).await.unwrap();
        wait_path(&c, "/system/settings").await;
        let versions = text(&c, "versions").await;
        let newest = c
            .find(Locator::Css("#versions tbody tr"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            newest.contains("was not confirmed in time"),
            "the newest version: {newest:?}\n{versions}"
        );
        shot(&c, "29-history-rolled-back").await;
        c.close().await.unwrap();
    });
    let audit = std::fs::read_to_string(b.data().join("admind/audit/admind/audit.jsonl")).unwrap();
    for event in [
        "panel_firewall_rule_added",
        "panel_firewall_confirmed",
        "panel_firewall_rule_removed",
    ] {
        assert!(audit.contains(event), "{event}: {audit}");
    }
}
