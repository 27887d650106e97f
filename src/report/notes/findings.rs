//! Words for the connection findings: conflicts between the policy's
//! `[smarthost]` and the smart host deliveries in the logs, and client
//! addresses that no `[[nat]]` entry translates.

use super::{attempts, hosts, pick, Entry, Params};
use crate::report::text::{count_en, thousands, Lang};

pub(super) const ENTRIES: &[Entry] = &[
    ("tls_port_undocumented", tls_port_undocumented),
    ("port_conflict", port_conflict),
    ("tls_conflict", tls_conflict),
    ("tls_unverified", tls_unverified),
    ("auth_conflict", auth_conflict),
    ("auth_failed", auth_failed),
    ("relay_denied", relay_denied),
    ("private_address_without_nat", private_address_without_nat),
];

fn tls_port_undocumented(lang: Lang, p: &Params<'_>) -> Option<String> {
    let port = p.number("port")?;
    let tls_port = p.number("tls_port")?;
    Some(pick(
        lang,
        format!(
            "the policy says TLS on port {port}, but Google documents TLS (STARTTLS) on port \
             {tls_port} only; the replay still takes the connection as TLS"
        ),
        format!(
            "ポリシーではポート {port} で TLS を使うとしていますが、Google が TLS (STARTTLS) を記載しているのはポート {tls_port} だけです。再生処理ではこの接続を TLS として扱っています。"
        ),
    ))
}

fn port_conflict(lang: Lang, p: &Params<'_>) -> Option<String> {
    let hosts = hosts(lang, p)?;
    let port = p.number("port")?;
    let mut phrases = Vec::new();
    for other in p.0.get("other_ports")?.as_array()? {
        let other_port = other.get("port")?.as_u64()?;
        let count = other.get("attempts")?.as_u64()?;
        phrases.push(match lang {
            Lang::En => format!("{} to port {other_port}", attempts(lang, count)),
            Lang::Ja => format!("ポート {other_port} への配送の試行 {} 件", thousands(count)),
        });
    }
    Some(match lang {
        Lang::En => format!(
            "the policy says port {port}, but the logs show {} of {hosts}",
            phrases.join(" and ")
        ),
        Lang::Ja => format!(
            "ポリシーではポート {port} としていますが、ログには {hosts} の{}があります。",
            phrases.join("と")
        ),
    })
}

fn tls_conflict(lang: Lang, p: &Params<'_>) -> Option<String> {
    let hosts = hosts(lang, p)?;
    let count = attempts(lang, p.number("attempts")?);
    Some(match (p.text("evidence")?, lang) {
        ("starttls_demanded", Lang::En) => format!(
            "the policy says TLS, but {hosts} answered {count} with \"Must issue a STARTTLS command \
             first\", so the MTA sent in plain text"
        ),
        ("starttls_demanded", Lang::Ja) => format!(
            "ポリシーでは TLS を使うとしていますが、{hosts} は{count}に「Must issue a STARTTLS command first」と応答しています。MTA は平文で送っていました。"
        ),
        ("no_handshake", Lang::En) => format!(
            "the policy says TLS, but {count} on new connections to {hosts} show no TLS handshake \
             while the log shows the SMTP client's handshakes with other peers"
        ),
        ("no_handshake", Lang::Ja) => format!(
            "ポリシーでは TLS を使うとしていますが、{hosts} への新しい接続での{count}に TLS ハンドシェイクの記録がありません。SMTP クライアントが他の接続先と行ったハンドシェイクはログに記録されています。"
        ),
        ("tls_seen", Lang::En) => {
            format!("the policy says no TLS, but {count} to {hosts} went over TLS")
        }
        ("tls_seen", Lang::Ja) => format!(
            "ポリシーでは TLS を使わないとしていますが、{hosts} への{count}は TLS で行われています。"
        ),
        _ => return None,
    })
}

fn tls_unverified(lang: Lang, p: &Params<'_>) -> Option<String> {
    let hosts = hosts(lang, p)?;
    Some(pick(
        lang,
        format!(
            "the logs show no TLS handshake of the SMTP client at all, so TLS to {hosts} cannot be \
             checked; Postfix logs it with smtp_tls_loglevel = 1 or more"
        ),
        format!(
            "ログに SMTP クライアントの TLS ハンドシェイクが 1 件もないため、{hosts} への TLS を確認できません。Postfix は smtp_tls_loglevel = 1 以上でハンドシェイクを記録します。"
        ),
    ))
}

fn auth_conflict(lang: Lang, p: &Params<'_>) -> Option<String> {
    let hosts = hosts(lang, p)?;
    let count = attempts(lang, p.number("attempts")?);
    Some(pick(
        lang,
        format!(
            "the policy gives no auth_user, but the logs show the MTA trying SMTP AUTH with {hosts} \
             ({count} failed)"
        ),
        format!(
            "ポリシーに auth_user がありませんが、ログには MTA が {hosts} に SMTP 認証を試みた記録があります ({count}が失敗)。"
        ),
    ))
}

fn auth_failed(lang: Lang, p: &Params<'_>) -> Option<String> {
    let hosts = hosts(lang, p)?;
    let count = attempts(lang, p.number("attempts")?);
    let user = p.text("auth_user")?;
    Some(pick(
        lang,
        format!(
            "{hosts} refused SMTP AUTH for {count}; the replay still takes the smarthost as \
             authenticated as {user}"
        ),
        format!(
            "{hosts} は{count}で SMTP 認証を拒否しました。再生処理ではスマートホストが {user} として認証できたものとして扱っています。"
        ),
    ))
}

fn relay_denied(lang: Lang, p: &Params<'_>) -> Option<String> {
    let hosts = hosts(lang, p)?;
    let count = attempts(lang, p.number("attempts")?);
    Some(pick(
        lang,
        format!(
            "{hosts} already answered {count} with \"Mail relay denied\" or \"Invalid credentials \
             for relay\"; check the allowed IP ranges and smarthost.egress_ip"
        ),
        format!(
            "{hosts} はすでに{count}に「Mail relay denied」または「Invalid credentials for relay」と応答しています。許可する IP アドレス範囲と smarthost.egress_ip を確認してください。"
        ),
    ))
}

fn private_address_without_nat(lang: Lang, p: &Params<'_>) -> Option<String> {
    let addresses = p.list("addresses")?;
    let clients = p.number("clients")?;
    let messages = p.number("messages")?;
    let more = clients.saturating_sub(addresses.len() as u64);
    Some(match lang {
        Lang::En => {
            let mut listed: Vec<String> = addresses.iter().map(|address| address.to_string()).collect();
            if more > 0 {
                listed.push(format!("and {more} more"));
            }
            format!(
                "private client addresses that no [[nat]] entry translates: {} ({}, {}); the relay \
                 never sees such an address, so add [[nat]] entries for them",
                listed.join(", "),
                count_en(clients, "client"),
                count_en(messages, "relay-bound message")
            )
        }
        Lang::Ja => {
            let mut listed = addresses.join("、");
            if more > 0 {
                listed.push_str(&format!(" ほか {} 件", thousands(more)));
            }
            format!(
                "どの [[nat]] エントリでも変換されないプライベート アドレスのクライアントがあります: {listed} (クライアント {} 件、リレー宛てのメッセージ {} 通)。リレーにはこのようなアドレスからの接続は届かないため、これらのアドレスの [[nat]] エントリを追加してください。",
                thousands(clients),
                thousands(messages)
            )
        }
    })
}
