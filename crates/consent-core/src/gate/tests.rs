use super::decode::AsciiOnly;
use super::elements::{judge_element, ElementEdit};
use super::*;

fn is_blocked(url: &str, rules: &[Rule]) -> bool {
    url_is_blocked(url, rules, &AsciiOnly)
}

fn element_is_blocked<const N: usize>(attributes: [(&str, &str); N], rules: &[Rule]) -> bool {
    judge_element("script", &attributes, rules, &AsciiOnly) == [ElementEdit::Remove]
}

const TAGS: Tags<'static> = Tags {
    ga4: Some("G-TEST123"),
    gtm: Some("GTM-ABC12"),
};

#[test]
fn nothing_granted_blocks_every_google_host_and_loads_nothing() {
    let p = plan(Choices::NONE, TAGS);
    assert!(!p.injects_tags());
    for url in [
        "https://www.googletagmanager.com/gtag/js?id=G-1",
        "https://www.google-analytics.com/g/collect",
        "https://stats.g.doubleclick.net/x",
        "//WWW.GOOGLETAGMANAGER.COM/gtm.js",
    ] {
        assert!(is_blocked(url, p.blocked), "{url}");
    }
    assert!(!is_blocked("/images/logo.svg", p.blocked));
}

#[test]
fn analytics_only_loads_ga4_and_gtm_and_blocks_ads() {
    let p = plan(
        Choices {
            analytics: true,
            marketing: false,
        },
        TAGS,
    );
    assert_eq!(
        (p.ga4.as_deref(), p.gtm.as_deref()),
        (Some("G-TEST123"), Some("GTM-ABC12"))
    );
    assert!(is_blocked(
        "https://googleads.g.doubleclick.net/pagead",
        p.blocked
    ));
    assert!(!is_blocked(
        "https://www.googletagmanager.com/gtag/js?id=G-1",
        p.blocked
    ));
}

#[test]
fn marketing_only_loads_gtm_but_not_ga4() {
    let p = plan(
        Choices {
            analytics: false,
            marketing: true,
        },
        TAGS,
    );
    assert_eq!(
        (p.ga4.as_deref(), p.gtm.as_deref()),
        (None, Some("GTM-ABC12"))
    );
    assert!(is_blocked(
        "https://www.googletagmanager.com/gtag/js?id=G-1",
        p.blocked
    ));
    assert!(is_blocked(
        "https://region1.google-analytics.com/g/collect",
        p.blocked
    ));
    assert!(!is_blocked(
        "https://www.googletagmanager.com/gtm.js?id=GTM-1",
        p.blocked
    ));
    assert!(!is_blocked("https://ad.doubleclick.net/x", p.blocked));
}

#[test]
fn an_element_is_judged_by_every_attribute_value() {
    let p = plan(Choices::NONE, TAGS);
    let gtm = "https://www.googletagmanager.com/gtm.js?id=GTM-1";
    assert!(element_is_blocked(
        [
            ("type", "text/rocketlazyloadscript"),
            ("data-rocket-src", gtm)
        ],
        p.blocked
    ));
    assert!(element_is_blocked(
        [("src", "//WWW.Google-Analytics.com/analytics.js")],
        p.blocked
    ));
    assert!(element_is_blocked(
        [("srcset", "/a.png 1x, https://ad.doubleclick.net/p.gif 2x")],
        p.blocked
    ));
    assert!(!element_is_blocked(
        [("src", "/app.js"), ("async", "")],
        p.blocked
    ));
    assert!(!element_is_blocked([], p.blocked));
    assert!(loads_google_tag(
        "j.src='https://www.googletagmanager.com/gtm.js?id='+i"
    ));
    assert!(!loads_google_tag("console.log('googletagmanager')"));
}

#[test]
fn an_inline_script_is_held_whole_and_judged_across_chunks() {
    let blocked = blocked_rules(Choices::NONE);
    let mut gate = InlineGate::default();
    assert_eq!(
        gate.next("var u='https://www.googletag", 28, false, blocked),
        ChunkAction::Hold
    );
    // The window carries the end of the chunk before: the split host is seen.
    assert_eq!(
        gate.next("www.googletagmanager.com/gtm.js';", 20, true, blocked),
        ChunkAction::Drop
    );
    assert_eq!(gate, InlineGate::default(), "ready for the next script");
    assert_eq!(
        gate.next("console.log(1)", 14, true, blocked),
        ChunkAction::Pass
    );
    assert_eq!(gate.next("a", 1, false, blocked), ChunkAction::Hold);
    assert_eq!(gate.next("ab", 1, true, blocked), ChunkAction::ReleaseHeld);
}

#[test]
fn a_script_past_the_bound_streams_on_and_a_late_host_drops_the_rest() {
    let blocked = blocked_rules(Choices::NONE);
    let mut gate = InlineGate::default();
    let big = MAX_HELD_SCRIPT / 2 + 1;
    assert_eq!(gate.next("x", big, false, blocked), ChunkAction::Hold);
    assert_eq!(
        gate.next("x", big, false, blocked),
        ChunkAction::ReleaseHeld,
        "bounded"
    );
    assert_eq!(
        gate.next("y", 10, false, blocked),
        ChunkAction::Pass,
        "streams"
    );
    assert_eq!(
        gate.next("googletagmanager.com", 10, false, blocked),
        ChunkAction::Drop
    );
    assert_eq!(
        gate.next("z", 10, true, blocked),
        ChunkAction::Drop,
        "the rest too"
    );
    assert_eq!(gate, InlineGate::default());
}

#[test]
fn link_headers_lose_the_links_to_blocked_hosts() {
    let blocked = blocked_rules(Choices::NONE);
    let header = r#"</app.css>; rel=preload; as=style, <https://www.googletagmanager.com/gtag/js?id=G-1>; rel=preload; as=script, <//www.google-analytics.com>; rel=preconnect, </a,b.js>; rel="modulepreload; x, y""#;
    assert_eq!(
        filter_link_header(header, blocked, &AsciiOnly).as_deref(),
        Some(r#"</app.css>; rel=preload; as=style, </a,b.js>; rel="modulepreload; x, y""#)
    );
    assert_eq!(
        filter_link_header(
            "<https://ad.doubleclick.net/x>; rel=preconnect",
            blocked,
            &AsciiOnly
        ),
        None
    );
    assert_eq!(
        filter_link_header(header, &[], &AsciiOnly).as_deref(),
        Some(header)
    );
}

#[test]
fn everything_granted_blocks_nothing() {
    let p = plan(Choices::ALL, TAGS);
    assert!(p.blocked.is_empty());
    let none = plan(
        Choices::ALL,
        Tags {
            ga4: None,
            gtm: None,
        },
    );
    assert!(!none.injects_tags(), "nothing configured, nothing loaded");
}

#[test]
fn consent_mode_defaults_come_before_the_update() {
    let s = consent_mode_script(
        Choices {
            analytics: true,
            marketing: false,
        },
        "n0nce",
    );
    let default = s.find("'default'").unwrap();
    let update = s.find("'update'").unwrap();
    assert!(default < update);
    for t in [
        "ad_storage",
        "ad_user_data",
        "ad_personalization",
        "analytics_storage",
        "functionality_storage",
        "personalization_storage",
        "security_storage",
    ] {
        assert!(s[default..update].contains(&format!("{t}:'denied'")), "{t}");
    }
    assert!(
        s[update..].contains("analytics_storage:'granted'")
            && s[update..].contains("ad_user_data:'denied'")
    );
    assert!(s.starts_with(r#"<script nonce="n0nce">"#));
}

#[test]
fn loaders_carry_the_nonce() {
    let p = plan(Choices::ALL, TAGS);
    let html = tag_loaders(&p, "abc");
    assert_eq!(html.matches(r#"nonce="abc""#).count(), 3);
    assert!(
        html.contains("gtag/js?id=G-TEST123")
            && html.contains("gtm.js?id=GTM-ABC12")
            && html.contains("j.nonce='abc'")
    );
    assert!(gtm_noscript("GTM-ABC12").contains("ns.html?id=GTM-ABC12"));
}

#[test]
fn csp_gets_the_nonce_and_hosts_only_where_restricted() {
    let p = plan(Choices::ALL, TAGS);
    let csp = extend_csp(
        "default-src 'self'; script-src 'self'; object-src 'none'",
        "N",
        &p,
    );
    assert!(
        csp.contains("script-src 'self' 'nonce-N' https://www.googletagmanager.com"),
        "{csp}"
    );
    assert!(csp.contains("object-src 'none'"), "{csp}");
    assert!(
        csp.contains("style-src 'self' 'nonce-N'"),
        "derived from default-src: {csp}"
    );
    assert!(
        csp.contains("connect-src 'self' https://www.googletagmanager.com"),
        "{csp}"
    );
    assert!(
        csp.contains("frame-src 'self' https://www.googletagmanager.com"),
        "{csp}"
    );

    let only_frames = extend_csp("frame-ancestors 'none'", "N", &p);
    assert_eq!(
        only_frames, "frame-ancestors 'none'",
        "nothing restricted, nothing added"
    );

    let none = plan(Choices::NONE, TAGS);
    let banner_only = extend_csp("script-src 'self'", "N", &none);
    assert_eq!(
        banner_only, "script-src 'self' 'nonce-N'",
        "the banner's script needs the nonce, no Google host"
    );

    let inline = extend_csp("script-src 'self' 'unsafe-inline'", "N", &none);
    assert_eq!(
        inline, "script-src 'self' 'unsafe-inline'",
        "a nonce would switch unsafe-inline off"
    );
    let strict = extend_csp("script-src 'none'", "N", &none);
    assert_eq!(
        strict, "script-src 'none'",
        "what the site forbade stays forbidden"
    );
}

#[test]
fn a_directive_that_forbids_everything_is_never_widened_and_is_reported() {
    let tags = plan(Choices::ALL, TAGS);
    let mut forbidding = Vec::new();
    let csp = extend_csp_noting(
        "default-src 'self'; img-src 'NONE'; connect-src; script-src 'self'",
        "N",
        &tags,
        &mut forbidding,
    );
    assert!(csp.contains("img-src 'NONE';"), "{csp}");
    assert!(
        csp.contains("connect-src;"),
        "an empty list is 'none': {csp}"
    );
    assert!(
        csp.contains("script-src 'self' 'nonce-N' https://www.googletagmanager.com"),
        "{csp}"
    );
    assert_eq!(forbidding, ["connect-src", "img-src"]);

    // Created from a default-src that forbids everything: not created, default-src named.
    let mut forbidding = Vec::new();
    let csp = extend_csp_noting("default-src 'none'", "N", &tags, &mut forbidding);
    assert_eq!(csp, "default-src 'none'");
    assert_eq!(forbidding, ["default-src"], "named once");

    // 'none' beside other sources means nothing: the list is extended as before.
    let mut forbidding = Vec::new();
    let csp = extend_csp_noting("img-src 'none' 'self'", "N", &tags, &mut forbidding);
    assert!(
        csp.starts_with("img-src 'self' https://www.googletagmanager.com"),
        "{csp}"
    );
    assert!(forbidding.is_empty());

    // Through the header: every policy reports.
    let mut forbidding = Vec::new();
    let header = extend_csp_header(
        "img-src 'none', script-src 'none'",
        "N",
        &tags,
        &mut forbidding,
    );
    assert_eq!(header, "img-src 'none', script-src 'none'");
    assert_eq!(forbidding, ["img-src", "script-src"]);
}

#[test]
fn csp_edge_cases_the_property_tests_found() {
    let gtm = plan(Choices::ALL, TAGS);
    let frames = extend_csp("default-src 'self'; child-src 'self'", "N", &gtm);
    assert!(
        frames.contains("frame-src 'self' https://www.googletagmanager.com"),
        "from child-src, not default-src: {frames}"
    );
    let mut forbidding = Vec::new();
    let no_frames = extend_csp_noting(
        "default-src 'self'; child-src 'none'",
        "N",
        &gtm,
        &mut forbidding,
    );
    assert!(!no_frames.contains("frame-src"), "{no_frames}");
    assert_eq!(forbidding, ["child-src"]);
    let none = plan(Choices::NONE, TAGS);
    assert_eq!(
        extend_csp("Script-Src 'self' 'UNSAFE-INLINE'", "N", &none),
        "script-src 'self' 'UNSAFE-INLINE'",
        "keywords are case-insensitive"
    );
    let odd = extend_csp("default-src 'self'\u{b}'self'", "N", &none);
    assert!(
        odd.starts_with("default-src 'self'\u{b}'self'"),
        "only ASCII whitespace separates: {odd}"
    );
}

#[test]
fn every_policy_of_a_header_is_extended_on_its_own() {
    let p = plan(Choices::NONE, TAGS);
    let header = "default-src 'self', script-src 'self' https://cdn.example; script-src-elem 'self', frame-ancestors 'none'";
    let out = extend_csp_header(header, "N", &p, &mut Vec::new());
    let policies: Vec<&str> = out.split(", ").collect();
    assert_eq!(policies.len(), 3, "{out}");
    assert!(policies[0].contains("script-src 'self' 'nonce-N'"), "{out}");
    assert!(
        policies[1].contains("script-src 'self' https://cdn.example 'nonce-N'")
            && policies[1].contains("script-src-elem 'self' 'nonce-N'"),
        "{out}"
    );
    assert_eq!(policies[2], "frame-ancestors 'none'");
}
