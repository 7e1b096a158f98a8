//! Drawing one frame of `distccmon-top` with ratatui: a header line, then the panels
//! top to bottom: the farm (every helper of the host list, see [`super::farm`]), hosts (jobs by phase, jobs finished per minute with the last minute drawn
//! in 5-second bars, recent failures), helpers (with `--stats`), the jobs running now, and
//! recent failures and fallbacks with their reasons.
//!
//! [`draw`] fills whatever area it is given (the terminal, or a test backend);
//! [`frame_height`] is the height at which nothing is cut off, used by `--once`.

use std::time::Duration;

use dcc_state::{Event, EventKind, Phase};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};

use super::farm::FarmRow;
use super::model::{BUCKETS, HostRow, Model, PHASE_COLUMNS, short_age};
use super::stats::Helper;

/// Everything a frame shows.
#[derive(Debug)]
pub struct View<'a> {
    pub model: &'a Model,
    pub helpers: &'a [Helper],
    /// The farm panel's rows; none: no panel.
    pub farm: &'a [FarmRow],
    /// The state directory, for the header.
    pub dir: &'a str,
    /// False for `--once` (no key help in the header).
    pub live: bool,
}

/// How many event rows `--once` prints at most.
pub const ONCE_EVENTS: usize = 20;

/// Column titles for [`PHASE_COLUMNS`], and shorter ones for narrow terminals.
const PHASE_TITLES: [&str; 6] = [
    "Blocked", "Connect", "Preproc", "Send", "Compile", "Receive",
];
const PHASE_TITLES_SHORT: [&str; 6] = ["Blk", "Conn", "Cpp", "Send", "Comp", "Recv"];
/// Below this width the phase titles are short; below [`NARROW`] the bars go too.
const MEDIUM: u16 = 110;
const NARROW: u16 = 90;
/// Bars for the throughput history, lowest first.
const BARS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The height that shows every panel in full (events up to [`ONCE_EVENTS`]).
pub fn frame_height(v: &View<'_>) -> u16 {
    let hosts = v.model.host_rows().len().max(1);
    let jobs = v.model.jobs().len().max(1);
    let events = v.model.event_rows().len().clamp(1, ONCE_EVENTS);
    let helpers = if v.helpers.is_empty() {
        0
    } else {
        v.helpers.len() + 3
    };
    let h = 1 + farm_height(v) + (hosts + 3) + helpers + (jobs + 3) + (events + 3);
    u16::try_from(h).unwrap_or(u16::MAX)
}

/// Draw the whole screen into the frame.
pub fn draw(f: &mut Frame<'_>, v: &View<'_>) {
    let area = f.area();
    let hosts = v.model.host_rows();
    let host_h = hosts.len().max(1) + 3;
    let helper_h = if v.helpers.is_empty() {
        0
    } else {
        v.helpers.len() + 3
    };
    let farm_h = farm_height(v);
    let fixed = 1 + farm_h + host_h + helper_h;
    let rest = usize::from(area.height).saturating_sub(fixed);
    let mut n_events = v.model.event_rows().len();
    if !v.live {
        n_events = n_events.min(ONCE_EVENTS);
    }
    let need_jobs = v.model.jobs().len().max(1) + 3;
    let need_events = n_events.max(1) + 3;
    // Events get what they need if everything fits, else up to half; jobs get the rest
    // (so the list of jobs, which changes most, has the spare room).
    let events_h = if need_jobs + need_events <= rest {
        need_events
    } else {
        need_events.min((rest / 2).max(4))
    };
    let len = |n: usize| Constraint::Length(u16::try_from(n).unwrap_or(u16::MAX));
    let [
        head,
        farm_area,
        host_area,
        helper_area,
        jobs_area,
        events_area,
    ] = Layout::vertical([
        Constraint::Length(1),
        len(farm_h),
        len(host_h),
        len(helper_h),
        Constraint::Fill(1),
        len(events_h),
    ])
    .areas(area);
    f.render_widget(header(v), head);
    if !v.farm.is_empty() {
        f.render_widget(farm_table(v.farm), farm_area);
    }
    f.render_widget(hosts_table(&hosts, area.width), host_area);
    if !v.helpers.is_empty() {
        f.render_widget(helpers_table(v.helpers), helper_area);
    }
    f.render_widget(jobs_table(v.model), jobs_area);
    f.render_widget(events_table(v.model, events_area), events_area);
}

fn title(s: &str) -> Line<'_> {
    Line::from(Span::styled(
        format!(" {s} "),
        Style::new().add_modifier(Modifier::BOLD),
    ))
}

fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

fn header(v: &View<'_>) -> Paragraph<'static> {
    let m = v.model;
    let running = m.jobs().len();
    let mut spans = vec![
        Span::styled("distccmon-top  ", Style::new().add_modifier(Modifier::BOLD)),
        Span::styled(format!("{running} running"), Style::new().fg(Color::Green)),
    ];
    // One reading (--once) has seen nothing finish: no throughput to speak of.
    if v.live {
        spans.push(Span::raw(format!("  {} done/min", m.per_minute())));
    }
    if v.live
        && m.warming_up()
        && let Some(started) = m.started
    {
        let watched = m.now.duration_since(started).unwrap_or_default();
        spans.push(Span::styled(
            format!(" (watching for {})", short_age(watched)),
            dim(),
        ));
    }
    if v.live {
        spans.push(Span::styled("   q: quit", dim()));
    }
    // Last, where a narrow terminal cuts it.
    spans.push(Span::styled(format!("   {}", v.dir), dim()));
    Paragraph::new(Line::from(spans))
}

fn phase_style(p: Phase) -> Style {
    Style::new().fg(match p {
        Phase::Blocked => Color::Yellow,
        Phase::Connect => Color::Cyan,
        Phase::Preprocess => Color::Blue,
        Phase::Send => Color::Magenta,
        Phase::Compile => Color::Green,
        Phase::Receive => Color::LightGreen,
        Phase::Startup | Phase::Done => Color::Gray,
    })
}

fn count(n: usize, style: Style) -> Cell<'static> {
    if n == 0 {
        Cell::from(Span::styled("0", dim()))
    } else {
        Cell::from(Span::styled(n.to_string(), style))
    }
}

/// The last minute as bars, scaled to the busiest bucket of any host.
fn bars(history: &[usize; BUCKETS], max: usize) -> String {
    history
        .iter()
        .map(|&n| {
            if n == 0 || max == 0 {
                BARS[0]
            } else {
                // At least the lowest bar for any job at all.
                BARS[(n * (BARS.len() - 1))
                    .div_ceil(max)
                    .clamp(1, BARS.len() - 1)]
            }
        })
        .collect()
}

fn hosts_table(rows: &[HostRow], width: u16) -> Table<'static> {
    let (titles, phase_w) = if width >= MEDIUM {
        (PHASE_TITLES, 7)
    } else {
        (PHASE_TITLES_SHORT, 4)
    };
    let with_bars = width >= NARROW;
    let mut header: Vec<Cell> = vec![Cell::from("HOST")];
    header.extend(titles.iter().map(|t| Cell::from(*t)));
    header.extend(["RUN", "DONE/MIN"].map(Cell::from));
    if with_bars {
        header.push(Cell::from("LAST MINUTE"));
    }
    header.push(Cell::from(if with_bars { "FAILS/10M" } else { "FAIL" }));
    let max = rows
        .iter()
        .flat_map(|r| r.history.iter().copied())
        .max()
        .unwrap_or(0);
    let mut body: Vec<Row> = rows
        .iter()
        .map(|r| {
            let mut cells = vec![Cell::from(r.host.clone())];
            for (i, &p) in PHASE_COLUMNS.iter().enumerate() {
                cells.push(count(r.phases[i], phase_style(p)));
            }
            cells.push(count(r.running, Style::new().add_modifier(Modifier::BOLD)));
            cells.push(count(r.per_minute, Style::new().fg(Color::Green)));
            if with_bars {
                cells.push(Cell::from(Span::styled(
                    format!("[{}]", bars(&r.history, max)),
                    Style::new().fg(Color::Green),
                )));
            }
            cells.push(count(r.failures, Style::new().fg(Color::Red)));
            Row::new(cells)
        })
        .collect();
    if body.is_empty() {
        body.push(Row::new([Cell::from(Span::styled("no jobs", dim()))]));
    }
    let mut widths = vec![Constraint::Fill(1)];
    widths.extend(titles.iter().map(|_| Constraint::Length(phase_w)));
    widths.extend([Constraint::Length(4), Constraint::Length(8)]);
    if with_bars {
        widths.push(Constraint::Length(14));
    }
    widths.push(Constraint::Length(if with_bars { 9 } else { 4 }));
    Table::new(body, widths)
        .header(Row::new(header).style(Style::new().add_modifier(Modifier::BOLD)))
        .block(Block::bordered().title(title("Hosts: jobs by phase, throughput")))
}

fn farm_height(v: &View<'_>) -> usize {
    if v.farm.is_empty() {
        0
    } else {
        v.farm.len() + 3
    }
}

fn farm_table(rows: &[FarmRow]) -> Table<'static> {
    let header = Row::new(
        [
            "HELPER", "STATE", "SLOTS", "JOBS/MIN", "MINE", "FAILED", "WHY",
        ]
        .map(Cell::from),
    )
    .style(Style::new().add_modifier(Modifier::BOLD));
    let body: Vec<Row> = rows
        .iter()
        .map(|r| {
            let state = match r.state {
                "up" | "local" => Style::new().fg(Color::Green),
                _ => Style::new().fg(Color::Red),
            };
            Row::new([
                Cell::from(r.host.clone()),
                Cell::from(Span::styled(r.state, state)),
                Cell::from(format!("{}/{}", r.slots_busy, r.slots)),
                count(r.per_minute, Style::new()),
                count(usize::try_from(r.mine).unwrap_or(usize::MAX), Style::new()),
                count(
                    usize::try_from(r.failed).unwrap_or(usize::MAX),
                    Style::new().fg(Color::Red),
                ),
                Cell::from(Span::styled(r.why.clone(), dim())),
            ])
        })
        .collect();
    let widths = [
        Constraint::Length(22),
        Constraint::Length(11),
        Constraint::Length(6),
        Constraint::Length(9),
        Constraint::Length(6),
        Constraint::Length(7),
        Constraint::Fill(1),
    ];
    Table::new(body, widths)
        .header(header)
        .block(Block::bordered().title(title(
            "Farm: this master's helpers (mine: jobs sent since --zero-stats)",
        )))
}

fn helpers_table(helpers: &[Helper]) -> Table<'static> {
    let header = Row::new(
        [
            "HELPER", "LOAD", "OK", "ERROR", "TIMEOUT", "OVERLOAD", "BAD REQ", "LOADAVG",
        ]
        .map(Cell::from),
    )
    .style(Style::new().add_modifier(Modifier::BOLD));
    let body: Vec<Row> = helpers
        .iter()
        .map(|h| {
            let name = Cell::from(h.addr.clone());
            // No counters: dashes, and the reason in the wide last column.
            let without = |why: Span<'static>| {
                let mut cells = vec![name.clone()];
                cells.extend((0..6).map(|_| Cell::from(Span::styled("-", dim()))));
                cells.push(Cell::from(why));
                Row::new(cells)
            };
            match &h.last {
                None => without(Span::styled("polling…", dim())),
                Some(Err(e)) => without(Span::styled(e.clone(), Style::new().fg(Color::Red))),
                Some(Ok(s)) => Row::new([
                    name,
                    Cell::from(format!("{}/{}", s.current_load, s.max_kids)),
                    count(s.compile_ok as usize, Style::new().fg(Color::Green)),
                    count(s.compile_error as usize, Style::new().fg(Color::Yellow)),
                    count(s.compile_timeout as usize, Style::new().fg(Color::Red)),
                    count(s.rej_overload as usize, Style::new().fg(Color::Red)),
                    count(s.rej_bad_req as usize, Style::new().fg(Color::Red)),
                    Cell::from(format!("{:.2}", s.load1)),
                ]),
            }
        })
        .collect();
    let widths = [
        Constraint::Length(20),
        Constraint::Length(6),
        Constraint::Length(7),
        Constraint::Length(6),
        Constraint::Length(7),
        Constraint::Length(8),
        Constraint::Length(7),
        Constraint::Fill(1),
    ];
    Table::new(body, widths)
        .header(header)
        .block(Block::bordered().title(title("Helpers (stats port)")))
}

fn jobs_table(m: &Model) -> Table<'static> {
    let header = Row::new(["PID", "FILE", "HOST[SLOT]", "PHASE", "AGE"].map(Cell::from))
        .style(Style::new().add_modifier(Modifier::BOLD));
    let mut body: Vec<Row> = m
        .jobs()
        .iter()
        .map(|j| {
            let host = if j.host.is_empty() {
                "-".to_owned()
            } else {
                format!("{}[{}]", j.host, j.slot)
            };
            let age = m.now.duration_since(j.since).unwrap_or(Duration::ZERO);
            Row::new([
                Cell::from(j.pid.to_string()),
                Cell::from(j.file.clone()),
                Cell::from(host),
                Cell::from(Span::styled(j.phase.name(), phase_style(j.phase))),
                Cell::from(short_age(age)),
            ])
        })
        .collect();
    if body.is_empty() {
        body.push(Row::new([
            Cell::from(""),
            Cell::from(Span::styled("no jobs running", dim())),
        ]));
    }
    let widths = [
        Constraint::Length(8),
        Constraint::Fill(2),
        Constraint::Fill(1),
        Constraint::Length(10),
        Constraint::Length(5),
    ];
    Table::new(body, widths)
        .header(header)
        .block(Block::bordered().title(title("Jobs running now")))
}

fn kind_style(k: EventKind) -> Style {
    match k {
        EventKind::Backoff => Style::new().fg(Color::Red),
        EventKind::Failed => Style::new().fg(Color::Yellow),
        EventKind::Local => Style::new().fg(Color::Magenta),
        EventKind::Error => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        // Still compiled remotely: only the preprocessing stayed on the master.
        EventKind::Cpp => Style::new().fg(Color::Cyan),
    }
}

fn events_table(m: &Model, area: Rect) -> Table<'static> {
    let header = Row::new(["AGE", "KIND", "HOST", "FILE", "REASON"].map(Cell::from))
        .style(Style::new().add_modifier(Modifier::BOLD));
    let room = usize::from(area.height.saturating_sub(3));
    let rows = m.event_rows();
    let shown = &rows[..rows.len().min(room)];
    // Columns as wide as what they show (within limits), so the reason gets the rest.
    let widest = |f: &dyn Fn(&Event) -> usize, title: usize, max: usize| {
        let w = shown.iter().map(|r| f(r.event)).max().unwrap_or(0);
        Constraint::Length(u16::try_from(w.clamp(title, max)).unwrap_or(4))
    };
    let widths = [
        Constraint::Length(4),
        Constraint::Length(if shown.iter().any(|r| r.then.is_some()) {
            13
        } else {
            7
        }),
        widest(&|e| e.host.chars().count(), 4, 24),
        widest(&|e| e.file.chars().count(), 4, 20),
        Constraint::Fill(1),
    ];
    let mut body: Vec<Row> = shown
        .iter()
        .map(|r| {
            let e = r.event;
            let age = m.now.duration_since(e.time).unwrap_or(Duration::ZERO);
            let host = if e.host.is_empty() { "-" } else { &e.host };
            Row::new([
                Cell::from(short_age(age)),
                Cell::from(Span::styled(r.label(), kind_style(e.kind))),
                Cell::from(host.to_owned()),
                Cell::from(e.file.clone()),
                Cell::from(e.reason.clone()),
            ])
        })
        .collect();
    if body.is_empty() {
        body.push(Row::new([
            Cell::from(""),
            Cell::from(Span::styled("none", dim())),
        ]));
    }
    Table::new(body, widths)
        .header(header)
        .block(Block::bordered().title(title("Recent failures and fallbacks")))
}
