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

/// A rate as [`percent`], or "no data" when it has no denominator.
fn rate(t: &Texts, share: Option<f64>) -> String {
    share.map_or_else(|| t.dash_no_data.to_owned(), percent)
}

/// Didomi's 2024 average consent rate among people who chose, when Reject is a button on
/// the first layer (Didomi support, "consent rate per CMP format"): the reference line.
pub const REFERENCE_ACCEPT_RATE: f64 = 0.776;

/// The change from the previous period in points, in words with an arrow (never colour
/// alone): "▲ up 3 points from 41 %".
fn change(lang: Lang, now: Option<f64>, before: Option<f64>) -> String {
    let t = lang.texts();
    let (Some(now), Some(before)) = (now, before) else {
        return t.dash_no_comparison.to_owned();
    };
    let points = ((now - before) * 100.0 * 10.0).round() / 10.0;
    let template = if points > 0.0 {
        t.dash_up
    } else if points < 0.0 {
        t.dash_down
    } else {
        t.dash_same
    };
    template
        .replace("{points}", &localise(lang, &format!("{:.1}", points.abs())))
        .replace("{before}", &percent(before))
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
    if viewer.role == "admin" {
        body.push_str(&crate::dashboard::privacy::privacy_links(t));
    }
    body.push_str(&range_form(t, report));
    body.push_str(&big_numbers(lang, report));
    body.push_str(&banner_numbers(lang, report));
    body.push_str(&coverage_chart(lang, report));
    body.push_str(&consent_chart(lang, report));
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

/// One big number: its label, its value and, under it, the change from the previous period.
fn big(label: &str, value: &str, change: Option<&str>) -> String {
    let e = escape_html;
    let change = change.map_or_else(String::new, |c| {
        format!(r#"<small class="change">{}</small>"#, e(c))
    });
    format!(
        "<p><span>{}</span><strong>{}</strong>{change}</p>",
        e(label),
        e(value)
    )
}

/// The previous period's counts, or nothing when it was not read.
fn before_count(t: &Texts, report: &Report, pick: fn(&Counts) -> u64) -> Option<String> {
    report.previous.as_ref().map(|p| {
        t.dash_before_count
            .replace("{n}", &pick(&p.total).to_string())
    })
}

/// The change of one rate, or nothing when the previous period was not read.
fn rate_change(lang: Lang, report: &Report, pick: fn(&Counts) -> Option<f64>) -> Option<String> {
    report
        .previous
        .as_ref()
        .map(|p| change(lang, pick(&report.total), pick(&p.total)))
}

fn compared(t: &Texts, report: &Report) -> String {
    report.previous.as_ref().map_or_else(String::new, |p| {
        format!(
            r#"<p class="read">{}</p>"#,
            escape_html(
                &t.dash_previous
                    .replace("{from}", &p.range.from)
                    .replace("{to}", &p.range.to)
            )
        )
    })
}

fn big_numbers(lang: Lang, report: &Report) -> String {
    let t = lang.texts();
    let e = escape_html;
    let c = report.total;
    let read = match c.coverage.analytics {
        None => t.dash_no_views.to_owned(),
        Some(analytics) => {
            let factor = if analytics > 0.0 {
                localise(lang, &format!("{:.1}", 1.0 / analytics))
            } else {
                "∞".to_owned()
            };
            t.dash_coverage_read
                .replace("{pct}", &percent(analytics))
                .replace("{factor}", &factor)
        }
    };
    let apart = c.page_views.excluded.unwrap_or_default();
    let excluded = t
        .dash_excluded
        .replace("{bots}", &apart.bots.to_string())
        .replace("{prefetch}", &apart.prefetch.to_string());
    let numbers = [
        big(
            t.dash_page_views,
            &c.page_views.total.to_string(),
            before_count(t, report, |c| c.page_views.total).as_deref(),
        ),
        big(
            t.dash_decisions,
            &c.decisions.total.to_string(),
            before_count(t, report, |c| c.decisions.total).as_deref(),
        ),
        big(
            t.dash_coverage_ga4,
            &rate(t, c.coverage.analytics),
            rate_change(lang, report, |c| c.coverage.analytics).as_deref(),
        ),
        big(
            t.dash_coverage_ads,
            &rate(t, c.coverage.marketing),
            rate_change(lang, report, |c| c.coverage.marketing).as_deref(),
        ),
    ]
    .concat();
    format!(
        concat!(
            r#"<section class="card" aria-labelledby="totals"><h2 id="totals" class="sr-only">{views}</h2><div class="big">{numbers}</div>"#,
            r#"{compared}<p class="read">{read}</p><p class="read" id="excluded">{excluded}</p></section>"#
        ),
        views = e(t.dash_page_views),
        numbers = numbers,
        compared = compared(t, report),
        read = e(&read),
        excluded = e(&excluded),
    )
}

/// The banner's figures: impressions, interaction, no choice, accept rate against the
/// published reference.
fn banner_numbers(lang: Lang, report: &Report) -> String {
    let t = lang.texts();
    let e = escape_html;
    let b = report.total.banner;
    let numbers = [
        big(
            t.dash_impressions,
            &b.impressions.to_string(),
            before_count(t, report, |c| c.banner.impressions).as_deref(),
        ),
        big(
            t.dash_interaction,
            &rate(t, b.interaction_rate),
            rate_change(lang, report, |c| c.banner.interaction_rate).as_deref(),
        ),
        big(
            t.dash_no_choice,
            &rate(t, b.no_choice_rate),
            rate_change(lang, report, |c| c.banner.no_choice_rate).as_deref(),
        ),
        big(
            t.dash_accept_rate,
            &rate(t, b.accept_rate),
            rate_change(lang, report, |c| c.banner.accept_rate).as_deref(),
        ),
    ]
    .concat();
    let reference = t.dash_reference.replace("{pct}", &localise(lang, "77.6 %"));
    format!(
        concat!(
            r#"<section class="card" aria-labelledby="banner"><h2 id="banner">{title}</h2><div class="big">{numbers}</div>"#,
            r#"<p class="read">{read}</p><p class="read" id="reference">{reference}</p></section>"#
        ),
        title = e(t.dash_banner),
        numbers = numbers,
        read = e(t.dash_banner_read),
        reference = e(&reference),
    )
}

/// Spanish writes a decimal comma.
fn localise(lang: Lang, number: &str) -> String {
    match lang {
        Lang::Es => number.replace('.', ","),
        Lang::En => number.to_owned(),
    }
}

/// A `YYYY-MM-DD` day as the page's language writes it short: "7 Dec", "7 dic".
fn short_day(lang: Lang, day: &str) -> String {
    const EN: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const ES: [&str; 12] = [
        "ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic",
    ];
    let month = day
        .get(5..7)
        .and_then(|m| m.parse::<usize>().ok())
        .and_then(|m| m.checked_sub(1))
        .filter(|m| *m < 12);
    let date = day.get(8..10).and_then(|d| d.parse::<u8>().ok());
    match (month, date) {
        (Some(m), Some(d)) => match lang {
            Lang::En => format!("{d} {}", EN[m]),
            Lang::Es => format!("{d} {}", ES[m]),
        },
        _ => day.to_owned(),
    }
}

/// The line charts' drawing, in SVG user units: drawn narrow and shown at most 520 px wide
/// (`svg.line`), so their labels stay at least 12 px on a phone.
const LINE_W: f64 = 400.0;
/// The plot's left edge (room for "100 %").
const PLOT_X: f64 = 56.0;
/// The plot's height.
const PLOT_H: f64 = 220.0;
/// Labels.
const FONT: f64 = 17.0;
/// One legend row.
const LEGEND_ROW: f64 = 24.0;
/// The bar charts are drawn narrow and shown at most 480 px wide (`svg.bars`), so their
/// labels stay at least 12 px on a phone and under 20 px on a desktop.
const BARS_W: f64 = 360.0;

/// One line of a line chart: its name (legend, tooltips), its stroke, and a value per day
/// (`None`: no data, a gap).
struct Series<'a> {
    name: &'a str,
    colour: &'static str,
    dash: &'static str,
    values: Vec<Option<f64>>,
}

/// Where a line chart's plot lies, in SVG user units.
struct Plot {
    /// The plot's top edge (below the legend).
    top: f64,
    /// The plot's width.
    width: f64,
    /// How many days it spans.
    days: usize,
}

impl Plot {
    fn x(&self, i: usize) -> f64 {
        #[allow(clippy::cast_precision_loss)] // at most 400 days
        if self.days > 1 {
            PLOT_X + i as f64 * self.width / (self.days - 1) as f64
        } else {
            PLOT_X + self.width / 2.0
        }
    }

    fn y(&self, share: f64) -> f64 {
        self.top + PLOT_H - share.clamp(0.0, 1.0) * PLOT_H
    }
}

/// The legend, one row per line (and the reference), above the plot.
fn legend(out: &mut String, rows: &[(&str, &str, &str)]) {
    for (i, (name, colour, dash)) in rows.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let y = i as f64 * LEGEND_ROW + FONT;
        let _ = write!(
            out,
            r##"<g class="legend"><line x1="0" y1="{ly:.1}" x2="36" y2="{ly:.1}" stroke="{colour}" stroke-width="3" stroke-dasharray="{dash}"/><text x="44" y="{y:.1}" font-size="{FONT}" fill="#1a1a2e">{name}</text></g>"##,
            ly = y - FONT / 3.0,
            name = escape_html(name),
        );
    }
}

/// The axes: 0 to 100 % with grid lines up the side; the first, the last and up to two
/// days between along the bottom, never crowding.
fn axes(out: &mut String, lang: Lang, plot: &Plot, days: &[&str]) {
    out.push_str(r#"<g class="axis">"#);
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let y = plot.y(tick);
        let _ = write!(
            out,
            r##"<line x1="{PLOT_X}" y1="{y:.1}" x2="{x2:.1}" y2="{y:.1}" stroke="{stroke}"/><text x="{tx:.1}" y="{ty:.1}" font-size="{FONT}" fill="#4a4f63" text-anchor="end">{label}</text>"##,
            x2 = PLOT_X + plot.width,
            stroke = if tick == 0.0 { "#8a8fa3" } else { "#e3e5ec" },
            tx = PLOT_X - 6.0,
            ty = y + FONT / 3.0,
            label = percent(tick),
        );
    }
    let count = days.len().min(4);
    let mut ticks: Vec<usize> = match count {
        0 => Vec::new(),
        1 => vec![0],
        _ => (0..count)
            .map(|k| k * (days.len() - 1) / (count - 1))
            .collect(),
    };
    ticks.dedup();
    for (k, &i) in ticks.iter().enumerate() {
        let anchor = match (k, ticks.len()) {
            (_, 1) => "middle",
            (0, _) => "start",
            (k, len) if k == len - 1 => "end",
            _ => "middle",
        };
        let x = plot.x(i);
        let _ = write!(
            out,
            r##"<line x1="{x:.1}" y1="{y1:.1}" x2="{x:.1}" y2="{y2:.1}" stroke="#8a8fa3"/><text x="{x:.1}" y="{ty:.1}" font-size="{FONT}" fill="#4a4f63" text-anchor="{anchor}">{label}</text>"##,
            y1 = plot.top + PLOT_H,
            y2 = plot.top + PLOT_H + 5.0,
            ty = plot.top + PLOT_H + 6.0 + FONT,
            label = escape_html(&short_day(lang, days[i])),
        );
    }
    out.push_str("</g>");
}

/// One line: a path broken where there is no data, and a point per day with data whose
/// title is its value (a tooltip without script).
fn series_line(out: &mut String, lang: Lang, plot: &Plot, days: &[&str], line: &Series<'_>) {
    let mut path = String::new();
    let mut pen_down = false;
    let mut points = String::new();
    for (i, value) in line.values.iter().enumerate() {
        let Some(share) = value else {
            pen_down = false;
            continue;
        };
        let (x, y) = (plot.x(i), plot.y(*share));
        let _ = write!(path, "{}{x:.1},{y:.1}", if pen_down { "L" } else { "M" });
        pen_down = true;
        let _ = write!(
            points,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="3.5" fill="{colour}"><title>{day}: {name} {pct}</title></circle>"#,
            colour = line.colour,
            day = escape_html(&short_day(lang, days.get(i).copied().unwrap_or_default())),
            name = escape_html(line.name),
            pct = percent(*share),
        );
    }
    let _ = write!(
        out,
        r#"<g class="series"><path fill="none" stroke="{colour}" stroke-width="3" stroke-dasharray="{dash}" d="{path}"/>{points}</g>"#,
        colour = line.colour,
        dash = line.dash,
    );
}

impl<'a> Series<'a> {
    /// The line of `pick` over `days`, drawn with `(colour, dash)`.
    fn of(
        name: &'a str,
        (colour, dash): (&'static str, &'static str),
        days: &[(&str, Counts)],
        pick: fn(&Counts) -> Option<f64>,
    ) -> Self {
        Self {
            name,
            colour,
            dash,
            values: days.iter().map(|(_, c)| pick(c)).collect(),
        }
    }
}

/// A line chart over the days of the range: a legend, a 0–100 % axis, the days along the
/// bottom, a gap where there is no data, every point's value in its `<title>`, and
/// optionally a reference line with its label. Returns the SVG body and its height.
fn line_chart(
    lang: Lang,
    days: &[&str],
    series: &[Series<'_>],
    reference: Option<(f64, &str)>,
) -> (String, f64) {
    let mut out = String::new();
    let mut rows: Vec<(&str, &str, &str)> =
        series.iter().map(|s| (s.name, s.colour, s.dash)).collect();
    if let Some((_, label)) = reference {
        rows.push((label, "#6b7083", "2 4"));
    }
    legend(&mut out, &rows);
    #[allow(clippy::cast_precision_loss)]
    let plot = Plot {
        top: rows.len() as f64 * LEGEND_ROW + 16.0,
        width: LINE_W - PLOT_X - 8.0,
        days: days.len(),
    };
    axes(&mut out, lang, &plot, days);
    if let Some((share, _)) = reference {
        let _ = write!(
            out,
            r##"<line class="reference" x1="{PLOT_X}" y1="{y:.1}" x2="{x2:.1}" y2="{y:.1}" stroke="#6b7083" stroke-width="2" stroke-dasharray="2 4"/>"##,
            y = plot.y(share),
            x2 = PLOT_X + plot.width,
        );
    }
    for line in series {
        series_line(&mut out, lang, &plot, days, line);
    }
    (out, plot.top + PLOT_H + 10.0 + FONT)
}

/// Coverage per day as two lines over the range; a day without page views is a gap.
fn coverage_chart(lang: Lang, report: &Report) -> String {
    let t = lang.texts();
    let days = report.by("date");
    let labels: Vec<&str> = days.iter().map(|(d, _)| *d).collect();
    let (svg, height) = line_chart(
        lang,
        &labels,
        &[
            Series::of(t.dash_coverage_ga4, ("#12264f", "none"), &days, |c| {
                c.coverage.analytics
            }),
            Series::of(t.dash_coverage_ads, ("#0b57d0", "8 6"), &days, |c| {
                c.coverage.marketing
            }),
        ],
        None,
    );
    let rows = rows_of(days.iter(), |(day, c)| {
        format!(
            "<tr><th scope=\"row\">{day}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.page_views.total,
            rate(t, c.coverage.analytics),
            rate(t, c.coverage.marketing)
        )
    });
    chart_section(
        t,
        &Chart {
            id: "per-day",
            title: t.dash_per_day,
            read: t.dash_per_day_read,
            class: "line",
            width: LINE_W,
            height,
        },
        &svg,
        &(head_row(&[
            t.dash_day,
            t.dash_page_views,
            t.dash_coverage_ga4,
            t.dash_coverage_ads,
        ]) + &rows),
    )
}

/// The accept rate among those who chose and opt-in per purpose, per day, against the
/// published reference line.
fn consent_chart(lang: Lang, report: &Report) -> String {
    let t = lang.texts();
    let days = report.by("date");
    let labels: Vec<&str> = days.iter().map(|(d, _)| *d).collect();
    let reference_label = t
        .dash_reference_label
        .replace("{pct}", &localise(lang, "77.6 %"));
    let (svg, height) = line_chart(
        lang,
        &labels,
        &[
            Series::of(t.dash_accept_rate, ("#12264f", "none"), &days, |c| {
                c.banner.accept_rate
            }),
            Series::of(t.analytics_title, ("#0b57d0", "8 6"), &days, |c| {
                c.opt_in.analytics
            }),
            Series::of(t.marketing_title, ("#8a3b00", "1 5"), &days, |c| {
                c.opt_in.marketing
            }),
        ],
        Some((REFERENCE_ACCEPT_RATE, &reference_label)),
    );
    let rows = rows_of(days.iter(), |(day, c)| {
        format!(
            "<tr><th scope=\"row\">{day}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.banner.decisions,
            rate(t, c.banner.accept_rate),
            rate(t, c.opt_in.analytics),
            rate(t, c.opt_in.marketing)
        )
    });
    let read = format!(
        "{} {}",
        t.dash_consent_per_day_read,
        t.dash_reference.replace("{pct}", &localise(lang, "77.6 %"))
    );
    chart_section(
        t,
        &Chart {
            id: "consent-per-day",
            title: t.dash_consent_per_day,
            read: &read,
            class: "line",
            width: LINE_W,
            height,
        },
        &svg,
        &(head_row(&[
            t.dash_day,
            t.dash_decisions,
            t.dash_accept_rate,
            t.analytics_title,
            t.marketing_title,
        ]) + &rows),
    )
}

/// Horizontal bars: one label and one share per bar (`None`: no data, an empty bar).
fn bars(t: &Texts, items: &[(&str, Option<f64>)]) -> String {
    let mut out = String::new();
    for (i, (label, share)) in items.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let y = i as f64 * 44.0;
        let _ = write!(
            out,
            r##"<text x="0" y="{ty:.0}" font-size="15" fill="#1a1a2e">{label} · {pct}</text><rect x="0" y="{ry:.0}" width="{w:.1}" height="16" rx="3" fill="#12264f"/><rect x="0" y="{ry:.0}" width="{full}" height="16" rx="3" fill="none" stroke="#8a8fa3"/>"##,
            ty = y + 16.0,
            ry = y + 22.0,
            w = share.unwrap_or(0.0).clamp(0.0, 1.0) * BARS_W,
            full = BARS_W,
            label = escape_html(label),
            pct = escape_html(&rate(t, *share)),
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
        &Chart {
            id: "opt-in",
            title: t.dash_optin,
            read: &read,
            class: "bars",
            width: BARS_W,
            height: bars_height(items.len()),
        },
        &bars(t, &items),
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
        &Chart {
            id: "methods",
            title: t.dash_methods,
            read: t.dash_methods_read,
            class: "bars",
            width: BARS_W,
            height: bars_height(items.len()),
        },
        &bars(t, &items),
        &share_rows(t, &items),
    )
}

fn share_rows(t: &Texts, items: &[(&str, Option<f64>)]) -> String {
    let rows = rows_of(items.iter(), |(label, share)| {
        format!(
            "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
            escape_html(label),
            escape_html(&rate(t, *share))
        )
    });
    format!(
        "<tr><th scope=\"col\">{}</th><th scope=\"col\">%</th></tr>{rows}",
        escape_html(t.dash_group)
    )
}

/// What a chart section is: its id, title, how to read it, its SVG class and size.
struct Chart<'a> {
    id: &'a str,
    title: &'a str,
    read: &'a str,
    class: &'a str,
    width: f64,
    height: f64,
}

/// A chart with its title, its description for screen readers, how to read it, and its
/// numbers as a table.
fn chart_section(t: &Texts, chart: &Chart<'_>, svg_body: &str, table_rows: &str) -> String {
    let e = escape_html;
    // The first row is the table's head.
    let split = table_rows.find("</tr>").map_or(0, |i| i + "</tr>".len());
    let (head, body) = table_rows.split_at(split);
    format!(
        concat!(
            r#"<section class="card" aria-labelledby="{id}-title"><h2 id="{id}-title">{title}</h2>"#,
            r#"<svg class="{class}" viewBox="-4 -4 {w} {h}" role="img" aria-labelledby="{id}-svg-title {id}-desc" preserveAspectRatio="xMinYMin meet">"#,
            r#"<title id="{id}-svg-title">{title}</title><desc id="{id}-desc">{read}</desc>{body}</svg>"#,
            r#"<p class="read" id="{id}-read">{read}</p>"#,
            r#"<details><summary>{table}</summary><div class="table-wrap" tabindex="0" role="group" aria-label="{title}: {table}"><table class="numbers"><thead>{head}</thead><tbody>{rows}</tbody></table></div></details></section>"#
        ),
        id = chart.id,
        title = e(chart.title),
        class = chart.class,
        w = chart.width + 8.0,
        h = chart.height + 8.0,
        read = e(chart.read),
        body = svg_body,
        table = e(t.dash_table),
        head = head,
        rows = body,
    )
}

/// The height of `n` bars.
#[allow(clippy::cast_precision_loss)] // a handful of bars
fn bars_height(n: usize) -> f64 {
    n as f64 * 44.0 + 4.0
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
            e(&rate(t, c.coverage.analytics)),
            e(&rate(t, c.coverage.marketing)),
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

/// A table's head row.
fn head_row(columns: &[&str]) -> String {
    let cells = rows_of(columns.iter(), |c| {
        format!("<th scope=\"col\">{}</th>", escape_html(c))
    });
    format!("<tr>{cells}</tr>")
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
        assert_eq!(html.matches("<svg").count(), 4);
        assert_eq!(
            html.matches("<svg").count(),
            html.matches("<title id=").count()
        );
        assert_eq!(
            html.matches("<details><summary>The numbers as a table")
                .count(),
            4
        );
        assert!(
            html.contains(r#"href="/_consent/admin/stats.csv?from=2026-11-26&amp;to=2026-11-27""#),
            "{html}"
        );
        assert!(html.contains("Development mode"));
        assert!(html.contains("<th scope=\"row\">Mobile</th><td>41</td><td>100 %</td>"));
    }

    fn three_days() -> (Report, Report) {
        let range =
            DayRange::from_query("from=2026-11-25&to=2026-11-27", 1_795_810_796_123).unwrap();
        let pv = |label: &str, consent: &str, n| PageViewRow {
            label: label.into(),
            consent: consent.into(),
            n,
        };
        let dec = |label: &str, method: &str, a, m, n| DecisionRow {
            label: label.into(),
            method: method.into(),
            analytics: a,
            marketing: m,
            gpc: 0,
            n,
        };
        // 2026-11-26 has no page views and no decisions: a gap, not 0 %.
        let views = vec![
            pv("2026-11-25", "all", 40),
            pv("2026-11-25", "undecided", 60),
            pv("2026-11-27", "all", 50),
            pv("2026-11-27", "undecided", 50),
        ];
        let decisions = vec![
            dec("2026-11-25", "accept_all", 1, 1, 8),
            dec("2026-11-25", "reject_all", 0, 0, 2),
            dec("2026-11-27", "accept_all", 1, 1, 9),
            dec("2026-11-27", "reject_all", 0, 0, 1),
        ];
        let report = Report::build(range.clone(), &[views], &[decisions]);
        let before = Report::build(
            range.previous(),
            &[vec![
                pv("2026-11-23", "all", 30),
                pv("2026-11-23", "undecided", 70),
            ]],
            &[vec![
                dec("2026-11-23", "accept_all", 1, 1, 7),
                dec("2026-11-23", "reject_all", 0, 0, 3),
            ]],
        );
        (report, before)
    }

    const VIEWER: Viewer<'static> = Viewer {
        email: "ana@sivocenter.com",
        role: "viewer",
        development: false,
    };

    #[test]
    fn an_admin_sees_links_to_the_privacy_pages_a_viewer_does_not() {
        let (report, _) = three_days();
        let admin = Viewer {
            role: "admin",
            ..VIEWER
        };
        for lang in Lang::ALL {
            let page = dashboard_page(lang, &report, admin);
            assert!(page.contains(&format!(r#"<a href="{}">"#, paths::ADMIN_RECORDS)));
            assert!(page.contains(&format!(r#"<a href="{}">"#, paths::ADMIN_AUDIT)));
            let page = dashboard_page(lang, &report, VIEWER);
            assert!(!page.contains(paths::ADMIN_RECORDS));
            assert!(!page.contains(paths::ADMIN_AUDIT));
        }
    }

    #[test]
    #[allow(clippy::too_many_lines)]
    fn line_charts_have_axes_a_legend_gaps_and_a_title_per_point() {
        let (report, _) = three_days();
        let en = dashboard_page(Lang::En, &report, VIEWER);
        let per_day = en
            .split(r#"aria-labelledby="per-day-title""#)
            .nth(1)
            .and_then(|s| s.split("</svg>").next())
            .unwrap();
        for tick in ["0 %", "25 %", "50 %", "75 %", "100 %"] {
            assert!(
                per_day.contains(&format!(">{tick}</text>")),
                "{tick}: {per_day}"
            );
        }
        for day in ["25 Nov", "26 Nov", "27 Nov"] {
            assert!(
                per_day.contains(&format!(">{day}</text>")),
                "{day}: {per_day}"
            );
        }
        assert!(
            per_day.contains(">GA4 coverage</text>") && per_day.contains(">Ads coverage</text>"),
            "a legend"
        );
        assert!(
            per_day.contains("<title>25 Nov: GA4 coverage 40 %</title>"),
            "{per_day}"
        );
        assert!(per_day.contains("<title>27 Nov: Ads coverage 50 %</title>"));
        assert!(
            !per_day.contains("26 Nov: GA4"),
            "no point on a day without data"
        );
        // Two points per line, each its own move: a gap between them, not a line to 0 %.
        let path = per_day
            .split(" d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(path.matches('M').count(), 2, "{path}");
        assert!(!path.contains('L'), "{path}");
        assert!(en.contains(
            "<th scope=\"row\">2026-11-26</th><td>0</td><td>no data</td><td>no data</td>"
        ));
        let consent = en
            .split(r#"aria-labelledby="consent-per-day-title""#)
            .nth(1)
            .and_then(|s| s.split("</svg>").next())
            .unwrap();
        assert!(
            consent.contains(">Didomi 2024, reject on first layer: 77.6 %</text>"),
            "{consent}"
        );
        assert!(consent.contains(r#"class="reference""#));
        assert!(
            consent.contains("<title>27 Nov: Accepted all, of those who chose 90 %</title>"),
            "{consent}"
        );
        let es = dashboard_page(Lang::Es, &report, VIEWER);
        assert!(
            es.contains(">26 nov</text>")
                && es.contains(">Didomi 2024, rechazo en primera capa: 77,6 %</text>")
        );
        assert!(es.contains("Didomi"), "the source, in both languages");
        assert!(!en.contains("<script"));
    }

    #[test]
    fn the_banner_figures_and_the_change_from_the_previous_period_are_in_words() {
        let (report, before) = three_days();
        let en = dashboard_page(Lang::En, &report.clone().with_previous(before), VIEWER);
        assert!(en.contains("<span>Banner impressions</span><strong>110</strong><small class=\"change\">previous period: 70</small>"), "{en}");
        // 20 banner decisions of 110 impressions; 10 of 70 before.
        assert!(en.contains("<span>Interaction rate</span><strong>18 %</strong><small class=\"change\">▲ up 3.9 points from 14 %</small>"), "{en}");
        assert!(en.contains("<span>Never chose</span><strong>82 %</strong><small class=\"change\">▼ down 3.9 points from 86 %</small>"));
        assert!(en.contains("<span>Accepted all, of those who chose</span><strong>85 %</strong><small class=\"change\">▲ up 15.0 points from 70 %</small>"));
        assert!(en.contains("<span>GA4 coverage</span><strong>45 %</strong><small class=\"change\">▲ up 15.0 points from 30 %</small>"));
        assert!(en.contains("Compared with the previous period, 2026-11-22 to 2026-11-24."));
        let es = dashboard_page(
            Lang::Es,
            &report.clone().with_previous(report.clone()),
            VIEWER,
        );
        assert!(
            es.contains("<small class=\"change\">= sin cambios desde 45 %</small>"),
            "{es}"
        );
        let empty = Report::build(report.range.previous(), &[], &[]);
        let en = dashboard_page(Lang::En, &report.clone().with_previous(empty), VIEWER);
        assert!(en.contains("<span>Interaction rate</span><strong>18 %</strong><small class=\"change\">no comparison: no data before</small>"));
        let none = Report::build(report.range.clone(), &[], &[]);
        let en = dashboard_page(Lang::En, &none, VIEWER);
        assert!(
            en.contains("<span>GA4 coverage</span><strong>no data</strong>"),
            "no data is not 0 %"
        );
        assert!(
            en.contains("<span>Accepted all, of those who chose</span><strong>no data</strong>")
        );
    }
}
