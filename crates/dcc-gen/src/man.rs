//! Man pages: clap_mangen renders NAME, SYNOPSIS, DESCRIPTION and OPTIONS from a
//! `clap::Command`; the sections clap has no place for (ENVIRONMENT, FILES, EXIT STATUS, SEE
//! ALSO, ...) are [`Section`]s rendered here with `roff`, after the options.

use clap_mangen::Man;
use roff::{Roff, bold, italic, roman};

/// One block of a section.
#[derive(Debug, Clone)]
pub enum Block {
    /// A paragraph.
    Para(&'static str),
    /// A tagged paragraph (`.TP`): a bold term and its text.
    Item(&'static str, &'static str),
    /// Lines shown verbatim (examples).
    Example(&'static str),
}

/// A man page section of our own.
#[derive(Debug, Clone)]
pub struct Section {
    pub heading: &'static str,
    pub blocks: Vec<Block>,
}

impl Section {
    pub fn new(heading: &'static str, blocks: Vec<Block>) -> Section {
        Section { heading, blocks }
    }
}

/// What a man page is made of.
#[derive(Debug, Clone)]
pub struct Page {
    pub command: clap::Command,
    /// "1" or "8".
    pub section: &'static str,
    pub extra: Vec<Section>,
}

fn render_sections(sections: &[Section]) -> String {
    let mut r = Roff::new();
    for s in sections {
        r.control("SH", [s.heading]);
        for b in &s.blocks {
            match b {
                Block::Para(text) => {
                    r.control("PP", []);
                    r.text([roman(*text)]);
                }
                Block::Item(term, text) => {
                    r.control("TP", []);
                    r.text([bold(*term)]);
                    r.text([roman(*text)]);
                }
                Block::Example(text) => {
                    r.control("PP", []);
                    r.control("nf", []);
                    r.control("RS", ["4"]);
                    for line in text.lines() {
                        r.text([italic(line)]);
                    }
                    r.control("RE", []);
                    r.control("fi", []);
                }
            }
        }
    }
    r.render()
}

/// The page as roff text. Deterministic: no date, the version from the workspace.
pub fn render(page: &Page) -> std::io::Result<String> {
    let man = Man::new(page.command.clone())
        .section(page.section)
        .source(format!("distcc-rs {}", env!("CARGO_PKG_VERSION")))
        .manual("distcc-rs");
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    if page.command.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out)?;
    }
    let mut text = String::from_utf8_lossy(&out).into_owned();
    text.push_str(&render_sections(&page.extra));
    Ok(text)
}
