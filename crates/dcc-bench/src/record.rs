//! Raw samples, one JSON object per line (`results.jsonl`): every run of every benchmark is
//! written as it happens, and `bench/report.py` computes medians and ratios from them. Keeping
//! raw samples (never a pre-digested single time) lets anyone recompute the table.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use crate::error::{Result, io};

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Num(f64),
    Int(i64),
    Bool(bool),
}

/// One sample: a flat object whose first field is `section`.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    fields: Vec<(String, Value)>,
}

impl Record {
    pub fn new(section: &str) -> Record {
        Record {
            fields: vec![("section".into(), Value::Str(section.into()))],
        }
    }

    /// A text field.
    pub fn s(mut self, key: &str, v: impl Into<String>) -> Record {
        self.fields.push((key.into(), Value::Str(v.into())));
        self
    }

    /// A measured number (seconds, milliseconds, bytes per second...).
    pub fn n(mut self, key: &str, v: f64) -> Record {
        self.fields.push((key.into(), Value::Num(v)));
        self
    }

    /// A count.
    pub fn i(mut self, key: &str, v: impl TryInto<i64>) -> Record {
        let v = v.try_into().unwrap_or(i64::MAX);
        self.fields.push((key.into(), Value::Int(v)));
        self
    }

    pub fn b(mut self, key: &str, v: bool) -> Record {
        self.fields.push((key.into(), Value::Bool(v)));
        self
    }

    /// The record as one line of JSON (no trailing newline).
    pub fn to_json(&self) -> String {
        let mut s = String::from("{");
        for (n, (k, v)) in self.fields.iter().enumerate() {
            if n > 0 {
                s.push_str(", ");
            }
            quote(&mut s, k);
            s.push_str(": ");
            match v {
                Value::Str(t) => quote(&mut s, t),
                // JSON has no NaN or infinity.
                Value::Num(x) if x.is_finite() => {
                    let _ = write!(s, "{x}");
                }
                Value::Num(_) => s.push_str("null"),
                Value::Int(x) => {
                    let _ = write!(s, "{x}");
                }
                Value::Bool(x) => {
                    let _ = write!(s, "{x}");
                }
            }
        }
        s.push('}');
        s
    }
}

fn quote(out: &mut String, t: &str) {
    out.push('"');
    for c in t.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Where records go: appended to a file, flushed per record (a run that breaks half-way keeps
/// what it measured).
#[derive(Debug)]
pub struct Sink {
    file: std::fs::File,
}

impl Sink {
    pub fn open(path: &Path) -> Result<Sink> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io(format!("open {}", path.display())))?;
        Ok(Sink { file })
    }

    pub fn write(&mut self, r: &Record) -> Result<()> {
        let mut line = r.to_json();
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .map_err(io("write a result record"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_line_quotes_and_numbers() {
        let r = Record::new("loopback")
            .s("config", "ours \"a\"\n")
            .n("wall_s", 1.5)
            .n("bad", f64::NAN)
            .i("units", 32u32)
            .b("ok", true);
        assert_eq!(
            r.to_json(),
            r#"{"section": "loopback", "config": "ours \"a\"\n", "wall_s": 1.5, "bad": null, "units": 32, "ok": true}"#
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        let r = Record::new("x").s("k", "\u{1}\\");
        assert_eq!(r.to_json(), r#"{"section": "x", "k": "\u0001\\"}"#);
    }

    #[test]
    fn sink_appends_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("r.jsonl");
        let mut s = Sink::open(&p).expect("open");
        s.write(&Record::new("a")).expect("write");
        s.write(&Record::new("b")).expect("write");
        let text = std::fs::read_to_string(&p).expect("read");
        assert_eq!(text, "{\"section\": \"a\"}\n{\"section\": \"b\"}\n");
    }
}
