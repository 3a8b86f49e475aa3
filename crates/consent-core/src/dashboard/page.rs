//! The marketing dashboard at `/_consent/admin`, rendered on the server: big numbers, charts
//! as inline SVG (no chart library, no script, no request leaving the site), each with a
//! title, a description, a plain-words line on how to read it and its numbers as a table.

use crate::dashboard::report::{Counts, Report};
use crate::html::escape_html;
use crate::i18n::{Lang, Texts};
use crate::paths;
use std::fmt::Write as _;

/// Who is looking, as the page says.
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    /// Their e-mail.
    pub email: &'a str,
    /// `viewer` or `admin`.
    pub role: &'a str,
    /// The development identity (demo origin, Access not configured).
    pub development: bool,
}

/// `0.4123` as `41 %`.
#[must_use]
pub fn percent(share: f64) -> String {
    format!("{:.0} %", share * 100.0)
}

/// The dashboard page for `report`.
#[must_use]
pub fn dashboard_page(lang: Lang, report: &Report, viewer: Viewer<'_>) -> String {
    let t = lang.texts();
    let e = escape_html;
    let mut body = format!("<h1>{}</h1>", e(t.dash_title));
    if viewer.development {
        let _ = write!(
            body,
            r#"<p class="card" role="note"><strong>{}</strong></p>"#,
            e(t.dash_dev_notice)
        );
    }
    let _ = write!(
        body,
        "<p>{}</p>",
        e(&t.dash_signed_in
            .replace("{who}", viewer.email)
            .replace("{role}", viewer.role))
    );
    body.push_str(&range_form(t, report));
    body.push_str(&big_numbers(lang, report));
    body.push_str(&coverage_chart(lang, report));
    body.push_str(&opt_in_chart(lang, report));
    body.push_str(&methods_chart(lang, report));
    for (key, title) in [
        ("country", t.dash_by_country),
        ("language", t.dash_by_language),
        ("device", t.dash_by_device),
    ] {
        body.push_str(&breakdown_table(lang, report, key, title));
    }
    crate::visitor::pages::wide_page(lang, t.dash_title, &body)
}

fn range_form(t: &Texts, report: &Report) -> String {
    let e = escape_html;
    let q = report.range.query();
    format!(
        concat!(
            r#"<form class="card" method="get" action="{admin}"><fieldset class="range"><legend>{period}</legend>"#,
            r#"<label>{from} <input type="date" name="from" value="{f}" required></label> "#,
            r#"<label>{to} <input type="date" name="to" value="{to_v}" required></label> "#,
            r#"<button type="submit">{show}</button></fieldset>"#,
            r#"<p>{download} <a href="{admin}/stats.csv?{q}">CSV</a> · <a href="{admin}/stats.json?{q}">JSON</a></p></form>"#
        ),
        admin = paths::ADMIN,
        period = e(t.dash_period),
        from = e(t.dash_from),
        f = e(&report.range.from),
        to = e(t.dash_to),
        to_v = e(&report.range.to),
        show = e(t.dash_show),
        download = e(t.dash_download),
        q = e(&q),
    )
}

fn big_numbers(lang: Lang, report: &Report) -> String {
    let t = lang.texts();
    let e = escape_html;
    let c = report.total;
    let read = if c.page_views.total == 0 {
        t.dash_no_views.to_owned()
    } else {
        let factor = if c.coverage.analytics > 0.0 {
            localise(lang, &format!("{:.1}", 1.0 / c.coverage.analytics))
        } else {
            "∞".to_owned()
        };
        t.dash_coverage_read
            .replace("{pct}", &percent(c.coverage.analytics))
            .replace("{factor}", &factor)
    };
    let apart = c.page_views.excluded.unwrap_or_default();
    let excluded = t
        .dash_excluded
        .replace("{bots}", &apart.bots.to_string())
        .replace("{prefetch}", &apart.prefetch.to_string());
    format!(
        concat!(
            r#"<section class="card" aria-labelledby="totals"><h2 id="totals" class="sr-only">{views}</h2><div class="big">"#,
            r#"<p><span>{views}</span><strong>{v}</strong></p><p><span>{decisions}</span><strong>{d}</strong></p>"#,
            r#"<p><span>{ga4}</span><strong>{a}</strong></p><p><span>{ads}</span><strong>{m}</strong></p></div>"#,
            r#"<p class="read">{read}</p><p class="read" id="excluded">{excluded}</p></section>"#
        ),
        views = e(t.dash_page_views),
        v = c.page_views.total,
        decisions = e(t.dash_decisions),
        d = c.decisions.total,
        ga4 = e(t.dash_coverage_ga4),
        a = percent(c.coverage.analytics),
        ads = e(t.dash_coverage_ads),
        m = percent(c.coverage.marketing),
        read = e(&read),
        excluded = e(&excluded),
    )
}

/// Spanish writes a decimal comma.
fn localise(lang: Lang, number: &str) -> String {
    match lang {
        Lang::Es => number.replace('.', ","),
        Lang::En => number.to_owned(),
    }
}

const CHART_W: f64 = 720.0;
const CHART_H: f64 = 200.0;
/// The bar charts are drawn narrow and shown at most 480 px wide (`svg.bars`), so their
/// labels stay at least 12 px on a phone and under 20 px on a desktop.
const BARS_W: f64 = 360.0;

/// Coverage per day as two lines over the range.
fn coverage_chart(lang: Lang, report: &Report) -> String {
    let t = lang.texts();
    let days = report.by("date");
    #[allow(clippy::cast_precision_loss)] // at most 400 days
    let step = if days.len() > 1 {
        CHART_W / (days.len() - 1) as f64
    } else {
        0.0
    };
    let line = |pick: fn(&Counts) -> f64| -> String {
        days.iter()
            .enumerate()
            .map(|(i, (_, c))| {
                #[allow(clippy::cast_precision_loss)]
                let x = i as f64 * step;
                format!("{x:.1},{:.1}", CHART_H - pick(c) * CHART_H)
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let rows = rows_of(days.iter(), |(day, c)| {
        format!(
            "<tr><th scope=\"row\">{day}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.page_views.total,
            percent(c.coverage.analytics),
            percent(c.coverage.marketing)
        )
    });
    chart_section(
        t,
        "per-day",
        t.dash_per_day,
        t.dash_per_day_read,
        &format!(
            concat!(
                r##"<line x1="0" y1="{h}" x2="{w}" y2="{h}" stroke="#8a8fa3"/><line x1="0" y1="0" x2="{w}" y2="0" stroke="#e3e5ec"/>"##,
                r##"<polyline fill="none" stroke="#12264f" stroke-width="3" points="{a}"/>"##,
                r##"<polyline fill="none" stroke="#0b57d0" stroke-width="3" stroke-dasharray="8 6" points="{m}"/>"##
            ),
            w = CHART_W,
            h = CHART_H,
            a = line(|c| c.coverage.analytics),
            m = line(|c| c.coverage.marketing),
        ),
        &format!(
            "<tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr>{rows}",
            escape_html(t.dash_period),
            escape_html(t.dash_page_views),
            escape_html(t.dash_coverage_ga4),
            escape_html(t.dash_coverage_ads)
        ),
    )
}

/// Horizontal bars: one label and one share per bar.
fn bars(items: &[(&str, f64)]) -> String {
    let mut out = String::new();
    for (i, (label, share)) in items.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let y = i as f64 * 44.0;
        let _ = write!(
            out,
            r##"<text x="0" y="{ty:.0}" font-size="15" fill="#1a1a2e">{label} · {pct}</text><rect x="0" y="{ry:.0}" width="{w:.1}" height="16" rx="3" fill="#12264f"/><rect x="0" y="{ry:.0}" width="{full}" height="16" rx="3" fill="none" stroke="#8a8fa3"/>"##,
            ty = y + 16.0,
            ry = y + 22.0,
            w = share.clamp(0.0, 1.0) * BARS_W,
            full = BARS_W,
            label = escape_html(label),
            pct = percent(*share),
        );
    }
    out
}

fn opt_in_chart(lang: Lang, report: &Report) -> String {
    let t = lang.texts();
    let d = report.total.decisions;
    let share = |n| crate::dashboard::report::share(n, d.total);
    let items = [
        (t.analytics_title, share(d.analytics)),
        (t.marketing_title, share(d.marketing)),
        (t.dash_gpc, share(d.gpc)),
    ];
    let read = t
        .dash_optin_read
        .replace("{n}", &d.total.to_string())
        .replace("{a}", &d.analytics.to_string())
        .replace("{m}", &d.marketing.to_string())
        .replace("{g}", &d.gpc.to_string());
    chart_section(
        t,
        "opt-in",
        t.dash_optin,
        &read,
        &bars(&items),
        &share_rows(t, &items),
    )
}

fn methods_chart(lang: Lang, report: &Report) -> String {
    let t = lang.texts();
    let d = report.total.decisions;
    let other = d.total.saturating_sub(d.accept_all + d.reject_all + d.save);
    let share = |n| crate::dashboard::report::share(n, d.total);
    let items = [
        (t.accept_all, share(d.accept_all)),
        (t.reject_all, share(d.reject_all)),
        (t.customise, share(d.save)),
        (t.dash_other, share(other)),
    ];
    chart_section(
        t,
        "methods",
        t.dash_methods,
        t.dash_methods_read,
        &bars(&items),
        &share_rows(t, &items),
    )
}

fn share_rows(t: &Texts, items: &[(&str, f64)]) -> String {
    let rows = rows_of(items.iter(), |(label, share)| {
        format!(
            "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
            escape_html(label),
            percent(*share)
        )
    });
    format!(
        "<tr><th scope=\"col\">{}</th><th scope=\"col\">%</th></tr>{rows}",
        escape_html(t.dash_group)
    )
}

/// A chart with its title, its description for screen readers, how to read it, and its
/// numbers as a table.
fn chart_section(
    t: &Texts,
    id: &str,
    title: &str,
    read: &str,
    svg_body: &str,
    table_rows: &str,
) -> String {
    let e = escape_html;
    // The first row is the table's head.
    let split = table_rows.find("</tr>").map_or(0, |i| i + "</tr>".len());
    let (head, body) = table_rows.split_at(split);
    let (width, height, class) = if id == "per-day" {
        (CHART_W, CHART_H, "line")
    } else {
        #[allow(clippy::cast_precision_loss)] // a handful of bars
        let bars = table_rows.matches("<tr>").count().saturating_sub(1) as f64;
        (BARS_W, bars * 44.0 + 4.0, "bars")
    };
    format!(
        concat!(
            r#"<section class="card" aria-labelledby="{id}-title"><h2 id="{id}-title">{title}</h2>"#,
            r#"<svg class="{class}" viewBox="-4 -4 {w} {h}" role="img" aria-labelledby="{id}-svg-title {id}-desc" preserveAspectRatio="xMinYMin meet">"#,
            r#"<title id="{id}-svg-title">{title}</title><desc id="{id}-desc">{read}</desc>{body}</svg>"#,
            r#"<p class="read" id="{id}-read">{read}</p>"#,
            r#"<details><summary>{table}</summary><div class="table-wrap" tabindex="0" role="group" aria-label="{title}: {table}"><table class="numbers"><thead>{head}</thead><tbody>{rows}</tbody></table></div></details></section>"#
        ),
        id = id,
        title = e(title),
        class = class,
        w = width + 8.0,
        h = height + 8.0,
        read = e(read),
        body = svg_body,
        table = e(t.dash_table),
        head = head,
        rows = body,
    )
}

fn breakdown_table(lang: Lang, report: &Report, key: &str, title: &str) -> String {
    let t = lang.texts();
    let e = escape_html;
    let mut groups = report.by(key);
    groups.sort_by(|a, b| {
        b.1.page_views
            .total
            .cmp(&a.1.page_views.total)
            .then(a.0.cmp(b.0))
    });
    let label = |g: &str| match (key, g) {
        ("device", "mobile") => t.dash_mobile.to_owned(),
        ("device", "tablet") => t.dash_tablet.to_owned(),
        ("device", "desktop") => t.dash_desktop.to_owned(),
        _ => g.to_owned(),
    };
    let rows = rows_of(groups.iter(), |(g, c)| {
        format!(
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e(&label(g)),
            c.page_views.total,
            percent(c.coverage.analytics),
            percent(c.coverage.marketing),
            c.decisions.total
        )
    });
    format!(
        concat!(
            r#"<section class="card" aria-labelledby="by-{key}"><h2 id="by-{key}">{title}</h2><p class="read">{read}</p>"#,
            r#"<div class="table-wrap" tabindex="0" role="group" aria-label="{title}"><table class="numbers"><thead><tr><th scope="col">{group}</th><th scope="col">{views}</th><th scope="col">{ga4}</th><th scope="col">{ads}</th><th scope="col">{decisions}</th></tr></thead>"#,
            r#"<tbody>{rows}</tbody></table></div></section>"#
        ),
        key = key,
        title = e(title),
        read = e(t.dash_breakdown_read),
        group = e(t.dash_group),
        views = e(t.dash_page_views),
        ga4 = e(t.dash_coverage_ga4),
        ads = e(t.dash_coverage_ads),
        decisions = e(t.dash_decisions),
        rows = rows,
    )
}

/// Table rows: one `row(item)` per item, joined.
fn rows_of<T>(items: impl IntoIterator<Item = T>, row: impl Fn(T) -> String) -> String {
    items.into_iter().fold(String::new(), |mut out, item| {
        out.push_str(&row(item));
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::report::{DayRange, DecisionRow, ExcludedRow, PageViewRow};

    fn report() -> Report {
        let range =
            DayRange::from_query("from=2026-11-26&to=2026-11-27", 1_795_810_796_123).unwrap();
        let pv = |label: &str, consent: &str, n| PageViewRow {
            label: label.into(),
            consent: consent.into(),
            n,
        };
        let views = vec![
            pv("2026-11-26", "all", 41),
            pv("2026-11-27", "undecided", 59),
        ];
        let devices = vec![pv("mobile", "all", 41), pv("desktop", "undecided", 59)];
        let decisions = vec![DecisionRow {
            label: "2026-11-26".into(),
            method: "accept_all".into(),
            analytics: 1,
            marketing: 1,
            gpc: 0,
            n: 41,
        }];
        Report::build(
            range,
            &[views, vec![], vec![], devices],
            &[decisions, vec![], vec![], vec![]],
        )
    }

    #[test]
    fn the_page_says_how_to_read_coverage_in_plain_words() {
        let viewer = Viewer {
            email: "ana@sivocenter.com",
            role: "viewer",
            development: false,
        };
        let en = dashboard_page(Lang::En, &report(), viewer);
        assert!(
            en.contains("GA4 saw 41 % of page views: multiply GA4&#39;s page views by 2.4"),
            "{en}"
        );
        let es = dashboard_page(Lang::Es, &report(), viewer);
        assert!(es.contains(
            "GA4 vio el 41 % de las páginas vistas: multiplica las páginas vistas de GA4 por 2,4"
        ));
        assert!(!en.contains("Development mode"));
        assert!(en.contains(
            r#"<p class="read" id="excluded">Not page views, counted apart (GA4 would not count them either): known bots 0, prefetches and prerenders 0.</p>"#
        ));
        let excluded = report().with_excluded(&[
            ExcludedRow {
                label: "2026-11-26".into(),
                reason: "bot".into(),
                n: 12,
            },
            ExcludedRow {
                label: "2026-11-27".into(),
                reason: "prefetch".into(),
                n: 3,
            },
        ]);
        let es = dashboard_page(Lang::Es, &excluded, viewer);
        assert!(
            es.contains("bots conocidos 12, precargas y prerenderizados 3."),
            "{es}"
        );
        assert!(
            es.contains("<span>Páginas vistas</span><strong>100</strong>"),
            "not in the page views"
        );
    }

    #[test]
    fn charts_are_inline_svg_with_titles_and_table_fallbacks() {
        let html = dashboard_page(
            Lang::En,
            &report(),
            Viewer {
                email: "d@localhost",
                role: "admin",
                development: true,
            },
        );
        assert!(!html.contains("<script"), "no script");
        assert_eq!(html.matches("<svg").count(), 3);
        assert_eq!(
            html.matches("<svg").count(),
            html.matches("<title id=").count()
        );
        assert_eq!(
            html.matches("<details><summary>The numbers as a table")
                .count(),
            3
        );
        assert!(
            html.contains(r#"href="/_consent/admin/stats.csv?from=2026-11-26&amp;to=2026-11-27""#),
            "{html}"
        );
        assert!(html.contains("Development mode"));
        assert!(html.contains("<th scope=\"row\">Mobile</th><td>41</td><td>100 %</td>"));
    }
}
