//! The `DISTCC_HOSTS` parser (grammar in the crate docs).
//!
//! Two layers: [`tokens`] splits the text on whitespace and comments, then each token is either a
//! global option or one host, parsed left to right by a small cursor the way distcc's
//! src/hosts.c does: host name, optional limit, optional port or SSH command, options. Every
//! delimiter is ASCII, so slicing at their byte positions keeps UTF-8 intact and nothing here
//! can panic.

use dcc_common::DEFAULT_PORT;

use crate::HostsError;
use crate::list::{
    Compression, DEFAULT_LOCAL_LIMIT, DEFAULT_REMOTE_LIMIT, HostKind, HostList, HostSpec,
};

/// Parse a host list (the value of `$DISTCC_HOSTS` or the contents of a hosts file).
///
/// Errors name the offending token and map to exit 106 ([`HostsError::exit_code`]). A list with
/// no hosts is [`HostsError::NoHosts`], unless it asks for `+zeroconf`. `--randomize` is only
/// recorded: see [`HostList::shuffle`].
pub fn parse(text: &str) -> Result<HostList, HostsError> {
    let mut list = HostList::default();
    for token in tokens(text) {
        // distcc src/hosts.c `dcc_parse_hosts`: the global options are matched by prefix, and
        // --localslots_cpp is tried before its own prefix --localslots.
        if token.starts_with("--randomize") {
            list.randomize = true;
        } else if let Some(rest) = token.strip_prefix("--localslots_cpp") {
            if let Some(n) = global_multiplier(token, rest)? {
                list.localslots_cpp = n;
            }
        } else if let Some(rest) = token.strip_prefix("--localslots") {
            if let Some(n) = global_multiplier(token, rest)? {
                list.localslots = n;
            }
        } else if token == "+zeroconf" {
            if !list.zeroconf {
                list.zeroconf = true;
                list.zeroconf_at = list.hosts.len();
            }
        } else {
            list.hosts.push(parse_host(token)?);
        }
    }
    if list.hosts.is_empty() && !list.zeroconf {
        return Err(HostsError::NoHosts);
    }
    Ok(list)
}

/// Token separators: C's `isspace` set. distcc cuts tokens at space, \t, \n, \r and \f and skips
/// \v only between tokens; we treat \v as a separator everywhere.
fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// The host and option tokens of a host list, comments removed.
fn tokens(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        loop {
            let first = rest.chars().next()?;
            if first == '#' {
                // A comment runs to the end of the line (\n or \r, as in distcc).
                let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
                rest = &rest[end..];
            } else if is_separator(first) {
                rest = &rest[first.len_utf8()..];
            } else {
                let end = rest
                    .find(|c| is_separator(c) || c == '#')
                    .unwrap_or(rest.len());
                let (token, tail) = rest.split_at(end);
                rest = tail;
                return Some(token);
            }
        }
    })
}

/// A read position inside one token.
struct Cursor<'a> {
    token: &'a str,
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    fn new(token: &'a str, rest: &'a str) -> Self {
        Cursor { token, rest }
    }

    fn peek(&self) -> Option<u8> {
        self.rest.as_bytes().first().copied()
    }

    /// Consume `b` if it comes next.
    fn eat(&mut self, b: u8) -> bool {
        match self.rest.strip_prefix(char::from(b)) {
            Some(tail) => {
                self.rest = tail;
                true
            }
            None => false,
        }
    }

    /// Consume and return everything up to the first of `stops` (ASCII) or the end.
    fn take_until(&mut self, stops: &[u8]) -> &'a str {
        let end = self
            .rest
            .bytes()
            .position(|b| stops.contains(&b))
            .unwrap_or(self.rest.len());
        let (part, tail) = self.rest.split_at(end);
        self.rest = tail;
        part
    }

    fn take_digits(&mut self) -> &'a str {
        let end = self
            .rest
            .bytes()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(self.rest.len());
        let (digits, tail) = self.rest.split_at(end);
        self.rest = tail;
        digits
    }

    fn owned_token(&self) -> String {
        self.token.to_owned()
    }

    /// An optional `/N` or `=N` (distcc src/hosts.c `dcc_parse_multiplier`). distcc reads N with
    /// `atoi`; we accept plain decimals only, so signs and overflow are "bad multiplier" too.
    fn multiplier(&mut self) -> Result<Option<u32>, HostsError> {
        if !(self.eat(b'/') || self.eat(b'=')) {
            return Ok(None);
        }
        match self.take_digits().parse::<u32>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(HostsError::BadMultiplier {
                token: self.owned_token(),
            }),
        }
    }

    /// A host name, or an IPv6 literal in brackets (returned without them).
    fn hostname(&mut self, kind: &'static str, stops: &[u8]) -> Result<&'a str, HostsError> {
        let host = if self.eat(b'[') {
            let inner = self.take_until(b"]/,");
            if !self.eat(b']') {
                return Err(HostsError::UnclosedBracket {
                    token: self.owned_token(),
                });
            }
            inner
        } else {
            self.take_until(stops)
        };
        if host.is_empty() {
            return Err(HostsError::MissingHostname {
                kind,
                token: self.owned_token(),
            });
        }
        Ok(host)
    }
}

/// `--localslots…` / `--localslots_cpp…`: `rest` is what follows the option name. Anything but
/// `/N` or `=N` there is ignored, as in distcc (`--localslotsjunk`).
fn global_multiplier(token: &str, rest: &str) -> Result<Option<u32>, HostsError> {
    Cursor::new(token, rest).multiplier()
}

/// A spec with the defaults of distcc's `calloc`'d hostdef.
fn host(token: &str, kind: HostKind, limit: u32) -> HostSpec {
    HostSpec {
        spec: token.to_owned(),
        kind,
        limit,
        compression: Compression::None,
        cpp: false,
        down: false,
        gssapi_auth: None,
        secure: false,
    }
}

fn parse_host(token: &str) -> Result<HostSpec, HostsError> {
    // distcc src/hosts.c: exactly "localhost" or "localhost/…"; "localhost:3632" is TCP.
    if let Some(rest) = token.strip_prefix("localhost")
        && (rest.is_empty() || rest.starts_with('/'))
    {
        // distcc src/hosts.c `dcc_parse_localhost` stops after the limit: whatever follows,
        // options included, is ignored.
        let limit = Cursor::new(token, rest)
            .multiplier()?
            .unwrap_or(DEFAULT_LOCAL_LIMIT);
        return Ok(host(token, HostKind::Local, limit));
    }
    if let Some((user, after)) = token.split_once('@') {
        parse_ssh(token, user, after)
    } else {
        parse_tcp(token)
    }
}

/// `[USER]@HOST[/LIMIT][:COMMAND][OPTIONS]`.
fn parse_ssh(token: &str, user: &str, after: &str) -> Result<HostSpec, HostsError> {
    let mut c = Cursor::new(token, after);
    let hostname = c.hostname("SSH", b"/:,")?;
    let limit = c.multiplier()?.unwrap_or(DEFAULT_REMOTE_LIMIT);
    // The command runs up to ',', so it keeps '/', ':' and '@' (distcc src/hosts.c).
    let command = if c.eat(b':') {
        Some(c.take_until(b",")).filter(|s| !s.is_empty())
    } else {
        None
    };
    let kind = HostKind::Ssh {
        user: Some(user).filter(|s| !s.is_empty()).map(str::to_owned),
        host: hostname.to_owned(),
        command: command.map(str::to_owned),
    };
    let mut spec = host(token, kind, limit);
    options(&mut c, &mut spec)?;
    Ok(spec)
}

/// `HOST[:PORT][/LIMIT][OPTIONS]` or the old style `HOST[/LIMIT][:PORT][/LIMIT][OPTIONS]`.
fn parse_tcp(token: &str) -> Result<HostSpec, HostsError> {
    let mut c = Cursor::new(token, token);
    let hostname = c.hostname("tcp", b"/:,")?;
    let mut limit = c.multiplier()?.unwrap_or(DEFAULT_REMOTE_LIMIT);
    let mut port = DEFAULT_PORT;
    if c.eat(b':') {
        let digits = c.take_digits();
        // distcc src/hosts.c `dcc_parse_tcp_host`: after the port only the end, '/' or ','.
        let tail_ok = matches!(c.peek(), None | Some(b'/' | b','));
        port = match digits.parse::<u16>() {
            Ok(p) if p > 0 && tail_ok => p,
            _ => {
                return Err(HostsError::BadPort {
                    token: token.to_owned(),
                });
            }
        };
    }
    // distcc parses a limit before and after the port; a second one wins (`angry/4:300/5`).
    if let Some(n) = c.multiplier()? {
        limit = n;
    }
    let kind = HostKind::Tcp {
        host: hostname.to_owned(),
        port,
    };
    let mut spec = host(token, kind, limit);
    options(&mut c, &mut spec)?;
    Ok(spec)
}

/// `{,OPTION}` (distcc src/hosts.c `dcc_parse_options`). The list ends at the first character
/// that is not ','; whatever follows is ignored, as in distcc.
fn options(c: &mut Cursor<'_>, spec: &mut HostSpec) -> Result<(), HostsError> {
    let started = c.rest;
    let (mut lzo, mut zstd) = (false, false);
    while c.eat(b',') {
        let rest = c.rest;
        // Prefix matches, as distcc's `str_startswith`: ",lzox" is ",lzo".
        if let Some(tail) = rest.strip_prefix("lzo") {
            lzo = true;
            c.rest = tail;
        } else if let Some(tail) = rest.strip_prefix("down") {
            spec.down = true;
            c.rest = tail;
        } else if let Some(tail) = rest.strip_prefix("cpp") {
            spec.cpp = true;
            c.rest = tail;
        } else if let Some(tail) = rest.strip_prefix("auth") {
            c.rest = tail;
            let name = if c.eat(b'=') {
                Some(c.take_until(b"/:,"))
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            } else {
                None
            };
            spec.gssapi_auth = Some(name);
        } else if let Some(tail) = rest.strip_prefix("zstd") {
            zstd = true;
            c.rest = tail;
        } else if let Some(tail) = rest.strip_prefix("secure") {
            spec.secure = true;
            c.rest = tail;
        } else {
            return Err(HostsError::UnknownOption {
                token: c.owned_token(),
                options: started.to_owned(),
            });
        }
    }
    spec.compression = match (lzo, zstd) {
        (true, true) => {
            return Err(HostsError::ConflictingCompression {
                token: c.owned_token(),
            });
        }
        (true, false) => Compression::Lzo,
        (false, true) => Compression::Zstd,
        // No protocol has cpp without compression: distcc refuses `,cpp` alone (src/hosts.c
        // `dcc_get_protover_from_features`); we take it as `,cpp,lzo`, protocol 3, which is
        // what such a host list means (docs/decisions/remote-preprocessing.md).
        (false, false) if spec.cpp => Compression::Lzo,
        (false, false) => Compression::None,
    };
    Ok(())
}

#[cfg(test)]
mod tests;
