//! Computed includes (`#include MACRO`), resolved as distcc's pump mode did: with every
//! definition of every macro seen anywhere in the unit's closure (plus the command line's and
//! the compiler's predefined ones), not only the one in force at the include. Each
//! combination of definitions gives a candidate; those that form a header name are all
//! searched. The real expansion is one of the candidates whenever the expansion follows the
//! simple model here (object-like and function-like macros, `#` and `##`); anything outside
//! the model (`__LINE__`, `__COUNTER__`, `__VA_OPT__`, `_Pragma`, `defined`, a known macro
//! left unexpanded) makes the scanner give up. A candidate that is fully expanded but not a
//! header name is dropped: gcc would fail on that branch, so a successful compile did not take
//! it (`#if defined(USER_H)` / `#include USER_H` with `USER_H` never defined).

use std::collections::{HashMap, HashSet};

use crate::lexer::{Define, Mode, Target, tokens};

/// Tokens of the expansion: text and whether space came before.
type Toks = Vec<(String, bool)>;

/// All definitions of each macro name.
pub type Defs = HashMap<String, Vec<Define>>;

/// Why an expansion failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fail {
    /// Outside the model, or no header name.
    Unresolved,
    /// More candidates than the limit.
    TooMany,
}

/// Candidates at most per expression.
pub const MAX_CANDIDATES: usize = 64;
/// Macro nesting at most.
const MAX_DEPTH: usize = 32;

fn lex_text(s: &str) -> Toks {
    let mut b = s.as_bytes().to_vec();
    b.push(b'\n');
    let (toks, _) = tokens(&b, 0, Mode::ALL);
    toks.iter()
        .map(|t| (String::from_utf8_lossy(t.text).into_owned(), t.space))
        .collect()
}

/// The header names `expr` may expand to.
pub fn candidates(expr: &str, defs: &Defs) -> Result<Vec<Target>, Fail> {
    let mut out = Vec::new();
    let mut budget = MAX_CANDIDATES * 16;
    let alts = expand(lex_text(expr), defs, &HashSet::new(), 0, &mut budget)?;
    for alt in alts {
        match header(&alt) {
            Some(t) if !out.contains(&t) => out.push(t),
            Some(_) => {}
            // Not a header name: if gcc took this branch it failed, so a successful compile
            // did not. That holds only if the expansion is gcc's: a macro name left
            // unexpanded (a function-like name without arguments, or one the simplified
            // recursion guard stopped) means the model may differ, so give up.
            None if alt.iter().any(|(t, _)| defs.contains_key(t)) => {
                return Err(Fail::Unresolved);
            }
            None => {}
        }
    }
    if out.len() > MAX_CANDIDATES {
        return Err(Fail::TooMany);
    }
    Ok(out)
}

fn header(t: &Toks) -> Option<Target> {
    match t.as_slice() {
        [(s, _)] if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') => {
            Some(Target::Quote(s[1..s.len() - 1].to_owned()))
        }
        [(open, _), inner @ .., (close, _)] if open == "<" && close == ">" && !inner.is_empty() => {
            let mut s = String::new();
            for (n, (tok, space)) in inner.iter().enumerate() {
                if n > 0 && *space {
                    s.push(' ');
                }
                s.push_str(tok);
            }
            Some(Target::Angle(s))
        }
        _ => None,
    }
}

/// Every full expansion of `toks` (one per combination of definitions).
fn expand(
    toks: Toks,
    defs: &Defs,
    off: &HashSet<String>,
    depth: usize,
    budget: &mut usize,
) -> Result<Vec<Toks>, Fail> {
    if depth > MAX_DEPTH {
        return Err(Fail::Unresolved);
    }
    // Find the first token that is a macro to expand.
    for i in 0..toks.len() {
        let name = toks[i].0.as_str();
        if matches!(
            name,
            "__LINE__"
                | "__COUNTER__"
                | "__VA_OPT__"
                | "_Pragma"
                | "defined"
                | "__INCLUDE_LEVEL__"
                // `#line` can rename the file, so its name is not the includer's path.
                | "__FILE__"
                | "__FILE_NAME__"
                | "__BASE_FILE__"
        ) {
            return Err(Fail::Unresolved);
        }
        if off.contains(name) {
            continue;
        }
        let Some(list) = defs.get(name) else { continue };
        let mut results = Vec::new();
        let mut off2 = off.clone();
        off2.insert(name.to_owned());
        let mut any = false;
        for d in list {
            let (replaced, after) = match &d.params {
                None => (lex_text(&d.body), i + 1),
                Some(params) => {
                    // A function-like name not followed by `(` is not an invocation.
                    if toks.get(i + 1).is_none_or(|t| t.0 != "(") {
                        continue;
                    }
                    let Some((args, end)) = split_args(&toks, i + 2) else {
                        return Err(Fail::Unresolved);
                    };
                    (substitute(d, params, &args, defs, off, depth, budget)?, end)
                }
            };
            any = true;
            let mut t: Toks = toks[..i].to_vec();
            let mut r = replaced;
            if let Some(first) = r.first_mut() {
                first.1 = toks[i].1;
            }
            t.extend(r);
            t.extend_from_slice(&toks[after..]);
            for alt in expand(t, defs, &off2, depth + 1, budget)? {
                if *budget == 0 {
                    return Err(Fail::TooMany);
                }
                *budget -= 1;
                results.push(alt);
            }
        }
        if any {
            return Ok(results);
        }
    }
    Ok(vec![toks])
}

/// Arguments of an invocation whose `(` is before `start`: the arguments and the index after
/// the closing `)`.
fn split_args(toks: &Toks, start: usize) -> Option<(Vec<Toks>, usize)> {
    let mut args = vec![Vec::new()];
    let mut depth = 0usize;
    for (k, t) in toks.iter().enumerate().skip(start) {
        match t.0.as_str() {
            "(" => depth += 1,
            ")" if depth == 0 => {
                if args.len() == 1 && args[0].is_empty() {
                    args.clear();
                }
                return Some((args, k + 1));
            }
            ")" => depth -= 1,
            "," if depth == 0 => {
                args.push(Vec::new());
                continue;
            }
            _ => {}
        }
        args.last_mut()?.push(t.clone());
    }
    None
}

/// The replacement list of `d` with `args`: `#p` stringified, `p` next to `##` raw, other
/// `p` fully expanded (every alternative), then `##` pasted.
fn substitute(
    d: &Define,
    params: &[String],
    args: &[Toks],
    defs: &Defs,
    off: &HashSet<String>,
    depth: usize,
    budget: &mut usize,
) -> Result<Toks, Fail> {
    let body = lex_text(&d.body);
    let arg = |name: &str| {
        params
            .iter()
            .position(|p| p == name)
            .map(|n| args.get(n).cloned().unwrap_or_default())
    };
    let mut out: Toks = Vec::new();
    let mut k = 0;
    while k < body.len() {
        let (t, space) = &body[k];
        if (t == "#" || t == "%:")
            && let Some(a) = body.get(k + 1).and_then(|n| arg(&n.0))
        {
            let mut s = String::from("\"");
            for (n, (tok, sp)) in a.iter().enumerate() {
                if n > 0 && *sp {
                    s.push(' ');
                }
                s.push_str(&tok.replace('\\', "\\\\").replace('"', "\\\""));
            }
            s.push('"');
            out.push((s, *space));
            k += 2;
            continue;
        }
        if let Some(a) = arg(t) {
            let pasted =
                body.get(k + 1).is_some_and(|n| n.0 == "##") || (k > 0 && body[k - 1].0 == "##");
            let a = if pasted {
                a
            } else {
                let alts = expand(a, defs, off, depth + 1, budget)?;
                // Several expansions of one argument: the model keeps one candidate per
                // body, so more than one is outside it.
                match alts.as_slice() {
                    [one] => one.clone(),
                    _ => return Err(Fail::Unresolved),
                }
            };
            let mut a = a;
            if let Some(f) = a.first_mut() {
                f.1 = *space;
            }
            out.extend(a);
            k += 1;
            continue;
        }
        out.push((t.clone(), *space));
        k += 1;
    }
    // Paste: `a ## b` becomes one token.
    let mut pasted: Toks = Vec::new();
    let mut k = 0;
    while k < out.len() {
        if out[k].0 == "##" {
            let next = out.get(k + 1).cloned().unwrap_or_default();
            match pasted.last_mut() {
                Some(prev) => prev.0.push_str(&next.0),
                None => pasted.push(next),
            }
            k += 2;
            continue;
        }
        pasted.push(out[k].clone());
        k += 1;
    }
    Ok(pasted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::{Directive, lex};

    fn defs(src: &str) -> Defs {
        let mut d = Defs::new();
        for x in lex(src.as_bytes()) {
            if let Directive::Define(def) = x {
                d.entry(def.name.clone()).or_default().push(def);
            }
        }
        d
    }

    fn q(s: &str) -> Target {
        Target::Quote(s.into())
    }

    #[test]
    fn object_like_every_definition() {
        let d = defs("#define H \"a.h\"\n#define H \"b.h\"\n#define H 1\n");
        assert_eq!(candidates("H", &d), Ok(vec![q("a.h"), q("b.h")]));
    }

    #[test]
    fn chains_and_function_like_with_stringify_and_paste() {
        let d = defs(
            "#define STR(x) #x\n#define XSTR(x) STR(x)\n#define NAME cfg\n\
             #define HDR(n) XSTR(n.h)\n#define ANG(a, b) <a##b.h>\n#define PLAT linux\n",
        );
        assert_eq!(candidates("HDR(NAME)", &d), Ok(vec![q("cfg.h")]));
        assert_eq!(
            candidates("ANG(sys_, io)", &d),
            Ok(vec![Target::Angle("sys_io.h".into())])
        );
        assert_eq!(candidates("XSTR(PLAT/x.h)", &d), Ok(vec![q("linux/x.h")]));
    }

    #[test]
    fn file_and_line_are_outside_the_model() {
        let d = defs("#define SELF __FILE__\n");
        assert_eq!(candidates("SELF", &d), Err(Fail::Unresolved));
        assert_eq!(candidates("__LINE__", &d), Err(Fail::Unresolved));
        // Never defined anywhere: a branch that includes it cannot be taken.
        assert_eq!(candidates("UNDEFINED", &d), Ok(vec![]));
    }

    #[test]
    fn self_reference_stops() {
        let d = defs("#define A A\n#define B <b.h>\n#define F(x) <x.h>\n");
        assert_eq!(candidates("F", &d), Err(Fail::Unresolved));
        assert_eq!(candidates("A", &d), Err(Fail::Unresolved));
    }

    #[test]
    fn combinatorial_explosion_is_bounded() {
        let mut src = String::new();
        let mut expr = String::new();
        for n in 0..12 {
            src.push_str(&format!("#define M{n} a\n#define M{n} b\n"));
            expr.push_str(&format!("M{n} "));
        }
        let d = defs(&src);
        assert_eq!(candidates(&expr, &d), Err(Fail::TooMany));
    }
}
